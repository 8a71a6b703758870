"""Configuration of mtjlab: bench files and training files (YAML, validated by pydantic).

Load with :func:`load_bench`, :func:`load_training` or :func:`load_config` (chooses by the
top-level ``kind``). Every problem raises :class:`~mtjlab.errors.ConfigError` with a
one-line message naming the file, the dotted field path, the reason and the value.
Packaged defaults (the chip presets ``ideal.yaml``, ``typical.yaml`` (the default),
``harsh.yaml`` and ``drifting.yaml``; ``lab-bench-example.yaml``, ``iris.yaml``) are found
with :func:`default_path`.
"""

from mtjlab.config.bench import (
    BenchConfig,
    ChipConfig,
    ChipPhysics,
    InstrumentConfig,
    LimitsConfig,
    MeasurementConfig,
    WiringConfig,
)
from mtjlab.config.instrument_models import (
    MODELS,
    ROLES,
    InstrumentModel,
    ModelName,
    Role,
    models_for_role,
)
from mtjlab.config.loading import (
    default_names,
    default_path,
    format_validation_error,
    is_model_bench,
    load_bench,
    load_config,
    load_default_bench,
    load_training,
    parse_bench,
    parse_training,
    read_yaml_mapping,
    resolve_bench_path,
    to_yaml,
    write_config,
)
from mtjlab.config.training import OptimiserConfig, TrainingConfig

__all__ = [
    "BenchConfig",
    "ChipConfig",
    "ChipPhysics",
    "InstrumentConfig",
    "InstrumentModel",
    "LimitsConfig",
    "MODELS",
    "MeasurementConfig",
    "ModelName",
    "OptimiserConfig",
    "ROLES",
    "Role",
    "TrainingConfig",
    "WiringConfig",
    "default_names",
    "default_path",
    "format_validation_error",
    "load_bench",
    "load_config",
    "load_default_bench",
    "load_training",
    "models_for_role",
    "parse_bench",
    "parse_training",
    "read_yaml_mapping",
    "is_model_bench",
    "resolve_bench_path",
    "to_yaml",
    "write_config",
]
