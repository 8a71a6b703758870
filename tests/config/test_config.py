"""Tests of mtjlab.config: packaged defaults, one-line errors for malformed files, round trips."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from mtjlab.config import (
    BenchConfig,
    ChipPhysics,
    TrainingConfig,
    default_names,
    default_path,
    load_bench,
    load_config,
    load_default_bench,
    load_training,
    resolve_bench_path,
    to_yaml,
    write_config,
)
from mtjlab.errors import ConfigError, MtjlabError

FILE = "lab.yaml"


def _sim_bench() -> dict[str, Any]:
    return yaml.safe_load(default_path("typical.yaml").read_text(encoding="utf-8"))


def _training() -> dict[str, Any]:
    return yaml.safe_load(default_path("iris.yaml").read_text(encoding="utf-8"))


def _walk(data: Any, dotted: str) -> tuple[Any, str | int]:
    *parents, last = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    for part in parents:
        data = data[part]
    return data, last


def setv(dotted: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        parent, last = _walk(data, dotted)
        parent[last] = value
    return apply


def delv(dotted: str) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        parent, last = _walk(data, dotted)
        del parent[last]
    return apply


def both(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        for change in changes:
            change(data)
    return apply


def _dup_role(data: dict[str, Any]) -> None:
    data["instruments"][4] = dict(data["instruments"][0])


# (id, base "bench"/"training", change to the parsed default or raw YAML text,
#  expected field path in the message, expected reason fragment)
BAD_BENCH = [
    ("missing-name", delv("name"), "name", "field required"),
    ("missing-rows", delv("chip.rows"), "chip.rows", "field required"),
    ("wrong-type", setv("limits.max_bias_v", "high"), "limits.max_bias_v", "must be a number"),
    ("bool-number", setv("limits.max_field_oe", True), "limits.max_field_oe", "not true/false"),
    ("negative-limit", setv("limits.max_read_current_a", -1), "limits.max_read_current_a",
     "must be > 0 (got -1)"),
    ("unknown-model", setv("instruments.2.model", "SR999"), "instruments.2.model",
     "must be one of: Keithley2400, Keithley2450, SR830"),
    ("unknown-key", setv("chip.colz", 4), "chip.colz", "unknown field"),
    ("unknown-top-key", setv("limitz", {}), "limitz", "unknown field"),
    ("dup-device-id", setv("chip.device_ids", [f"d{i}" for i in range(15)] + ["d3"]),
     "chip.device_ids.15", "duplicate device id, also at index 3 (got 'd3')"),
    ("device-id-count", setv("chip.device_ids", ["a", "b"]), "chip.device_ids", "= 16 entries"),
    ("known-dead-unknown", setv("chip.known_dead", ["r9c9"]), "chip.known_dead.0",
     "not a device id"),
    ("dead-device-unknown", setv("chip.physics.dead_devices", {"r7c7": "short"}),
     "chip.physics.dead_devices.r7c7", "not a device id"),
    ("dead-device-kind", setv("chip.physics.dead_devices", {"r1c1": "broken"}),
     "chip.physics.dead_devices.r1c1", "must be one of: short, open"),
    ("above-own-range", setv("limits.max_read_current_a", 2.0), "limits.max_read_current_a",
     "above the Keithley2400's own range of 1.05 A (got 2.0)"),
    ("input-above-range", setv("limits.max_input_current_a", 2.0), "limits.max_input_current_a",
     "above the Keithley2400's own range of 1.05 A"),
    ("coil-above-range", setv("limits.max_coil_current_a", 10.0), "limits.max_coil_current_a",
     "KepcoBOP's own range of 6 A"),
    ("field-above-coil", setv("limits.max_field_oe", 500.0), "limits.max_field_oe",
     "coil_oe_per_a x limits.max_coil_current_a = 300 Oe"),
    ("modulation-above-lockin", setv("limits.max_modulation_v_rms", 6.0),
     "limits.max_modulation_v_rms", "SR830's own range of 5 V rms"),
    ("bias-breakdown", setv("limits.max_bias_v", 1.0), "limits.max_bias_v", "must be < 1.0 V"),
    ("model-wrong-role", setv("instruments.0.model", "SR830"), "instruments.0.model",
     "a read_source must be one of: Keithley2400, Keithley2450"),
    ("missing-role", delv("instruments.5"), "instruments", "no instrument with role switch"),
    ("duplicate-role", _dup_role, "instruments.4.role", "appears twice"),
    ("visa-no-address", setv("instruments.1.backend", "visa"), "instruments.1.address",
     "required when backend is visa"),
    ("bad-visa-address", setv("instruments.1.address", "GPIB::banana"), "instruments.1.address",
     "not a VISA resource string"),
    ("bad-backend", setv("instruments.1.backend", "serial"), "instruments.1.backend",
     "must be one of: sim, visa"),
    ("spread-ge-1", setv("chip.physics.tmr0_rel_spread", 1.0), "chip.physics.tmr0_rel_spread",
     "must be < 1"),
    ("sim-without-physics", delv("chip.physics"), "chip.physics", "backend sim"),
    ("rows-above-switch", setv("chip.rows", 10), "chip.rows", "Keithley707B's addressable"),
    ("rows-zero", setv("chip.rows", 0), "chip.rows", "must be >= 1"),
    ("rows-fraction", setv("chip.rows", 2.5), "chip.rows", "whole number"),
    ("slope", setv("wiring.lockin_slope_db_per_oct", 7), "wiring.lockin_slope_db_per_oct",
     "must be one of: 6, 12, 18, 24"),
    ("mains", setv("wiring.line_frequency_hz", 55), "wiring.line_frequency_hz", "50, 60"),
    ("nplc", setv("wiring.source_nplc", 20), "wiring.source_nplc", "must be <= 10"),
    ("lockin-frequency", setv("wiring.lockin_frequency_hz", 2e5), "wiring.lockin_frequency_hz",
     "SR830's own range"),
    ("read-current-above-limit", setv("measurement.read_current_a", 1e-3),
     "measurement.read_current_a", "above limits.max_read_current_a"),
    ("modulation-needs-too-much", setv("measurement.modulation_amplitude_a", 0.0019),
     "measurement.modulation_amplitude_a", "above limits.max_modulation_v_rms"),
    ("bias-field-above-limit", setv("measurement.bias_field_oe", -250.0),
     "measurement.bias_field_oe", "above limits.max_field_oe"),
    ("instruments-not-list", setv("instruments", {"role": "lockin"}), "instruments",
     "must be a list"),
    ("section-not-mapping", setv("wiring", 3), "wiring", "must be a mapping"),
    ("timeout-zero", setv("instruments.3.timeout_s", 0), "instruments.3.timeout_s", "> 0"),
    ("nan", setv("wiring.coil_remanence_oe", float("nan")), "wiring.coil_remanence_oe",
     "finite"),
    ("kind-training", setv("kind", "training"), "kind", "must be bench"),
    ("negative-remanence", setv("wiring.coil_remanence_oe", -0.5), "wiring.coil_remanence_oe",
     "must be >= 0 (got -0.5)"),
    ("remanence-beyond-field-limit", setv("wiring.coil_remanence_oe", 250.0), "wiring.coil_remanence_oe",
     "must be below limits.max_field_oe = 200 Oe"),
    ("huge-int-level", setv("limits.max_field_oe", 10**400), "limits.max_field_oe", "finite"),
    ("timeout-a-day", setv("instruments.3.timeout_s", 86400), "instruments.3.timeout_s", "must be <= 600"),
    ("coil-inductance-absurd", setv("wiring.coil_inductance_h", 1e300), "wiring.coil_inductance_h",
     "must be <= 100"),
    ("time-constant-absurd", setv("wiring.lockin_time_constant_s", 1e9), "wiring.lockin_time_constant_s",
     "must be <= 30000"),
    ("ramp-absurd", setv("limits.max_field_ramp_oe_per_s", 1e300), "limits.max_field_ramp_oe_per_s",
     "must be <= 100000"),
    ("chip-seed-negative", setv("chip.physics.seed", -1), "chip.physics.seed", "must be >= 0"),
    ("chip-seed-huge", setv("chip.physics.seed", 10**30), "chip.physics.seed", "must be <= 4.29497e+09"),
    ("temperature-absurd", setv("chip.physics.temperature_k", 1e6), "chip.physics.temperature_k",
     "must be <= 1000"),
]

BAD_TRAINING = [
    ("mnist-no-path", setv("dataset", "mnist"), "dataset_path", "required when dataset is mnist"),
    ("csv-no-path", setv("dataset", "csv"), "dataset_path", "required when dataset is csv"),
    ("three-hidden", setv("hidden", [8, 8, 8]), "hidden", "at most 2"),
    ("no-hidden", setv("hidden", []), "hidden", "at least 1 item (got [])"),
    ("hidden-zero", setv("hidden", [0]), "hidden.0", "must be >= 1"),
    ("hidden-huge", setv("hidden", [4, 5000]), "hidden.1", "must be <= 4096"),
    ("bad-dataset", setv("dataset", "cifar"), "dataset", "must be one of: iris, digits"),
    ("bad-method", setv("method", "magic"), "method", "must be one of: analog"),
    ("bad-optimiser", setv("optimiser.name", "lbfgs"), "optimiser.name", "sgd, adam"),
    ("momentum-1", setv("optimiser.momentum", 1.0), "optimiser.momentum", "must be < 1"),
    ("lr-negative", setv("optimiser.learning_rate", -0.1), "optimiser.learning_rate", "> 0"),
    ("epochs-text", setv("epochs", "ten"), "epochs", "must be an integer"),
    ("folds-1", setv("folds", 1), "folds", "must be >= 2"),
    ("unknown-key", setv("epoch", 3), "epoch", "unknown field"),
    ("label-not-csv", setv("label_column", "y"), "label_column", "only used with dataset csv"),
    ("path-with-iris", setv("dataset_path", "x.csv"), "dataset_path", "not used"),
    ("kind-bench", setv("kind", "bench"), "kind", "must be training"),
    ("seed-negative", setv("seed", -1), "seed", "must be >= 0 (got -1)"),
    ("seed-huge", setv("seed", 10**30), "seed", "must be <= 4.29497e+09"),
    ("seed-huger", setv("seed", 10**1500), "seed", "(got about 10**1500)"),
    ("epochs-absurd", setv("epochs", 10**12), "epochs", "must be <= 100000"),
    ("name-too-long", setv("name", "x" * 5000), "name", "at most 100 characters"),
]

RAW = [
    ("bad-yaml", "kind: bench\nname: x\nchip:\n  rows: 4\n cols: [4\n", "line 5", "not valid YAML"),
    ("tab-yaml", "kind: bench\n\tname: x\n", "line 2", "not valid YAML"),
    ("empty", "", "", "file is empty"),
    ("only-comment", "# nothing\n", "", "file is empty"),
    ("list-top", "- kind: bench\n- name: x\n", "", "top level must be a mapping"),
    ("scalar-top", "bench\n", "", "top level must be a mapping"),
    ("duplicate-key", "kind: bench\nname: a\nname: b\n", "line 3", "duplicate key 'name'"),
    ("python-tag", "kind: !!python/object/apply:os.system [echo hi]\n", "line 1",
     "not valid YAML"),
    ("alias-bomb", "kind: bench\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi")), "",
     "anchors and aliases expand to more than"),
    ("recursive-alias", "kind: bench\nx: &a [1, *a]\n", "line 2", "recursive structure"),
    ("deep-flow", "kind: bench\nx: " + "[" * 20000 + "]" * 20000 + "\n", "line 2",
     "nested more than 64 levels deep"),
    ("deep-block", "kind: bench\nx:\n" + "".join(" " * n + "- \n" for n in range(100)), "",
     "nested more than 64 levels deep"),
    ("int-too-long", "kind: bench\nlimits: {max_field_oe: 1" + "0" * 5000 + "}\n", "limits.max_field_oe",
     "more than 4000 digits"),
    ("bad-date", "kind: bench\nname: 2024-13-45\n", "", "not valid YAML (month must be in 1..12)"),
]


def _check_message(exc: ConfigError, path: str, reason: str) -> str:
    msg = str(exc)
    assert "\n" not in msg and "\r" not in msg, msg
    assert msg == exc.one_line()
    assert msg.startswith(f"{FILE}: "), msg
    if path:
        assert f": {path}: " in msg, msg
    assert reason in msg, msg
    assert "Traceback" not in msg and "pydantic" not in msg, msg
    return msg


def _write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: Any) -> str:
    monkeypatch.chdir(tmp_path)
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    Path(FILE).write_text(text, encoding="utf-8")
    return FILE


def test_packaged_defaults_load() -> None:
    presets = {"ideal.yaml", "typical.yaml", "harsh.yaml", "drifting.yaml"}
    assert presets | {"lab-bench-example.yaml", "iris.yaml"} <= set(default_names())
    assert load_bench(default_path("sim-bench.yaml")).name == "typical"  # the name earlier versions packaged
    for name in ("ideal", "harsh", "drifting"):
        assert load_bench(name).name == name  # a preset by its name
    sim = load_bench(default_path("ideal.yaml"))
    assert sim.uses_sim and sim.chip.rows == 4 and sim.chip.cols == 4
    assert sim.chip.known_dead == ["r1c2", "r3c0"]
    assert sim.chip.physics is not None
    assert sim.chip.physics.dead_devices == {"r1c2": "short", "r3c0": "open"}
    # the ideal preset documents the physics defaults, so it must match them
    assert sim.chip.physics == ChipPhysics(dead_devices={"r1c2": "short", "r3c0": "open"})
    assert load_bench("typical").chip.double_reference_rows == [3]
    assert [i.model for i in sim.instruments] == [
        "Keithley2400", "Keithley2400", "SR830", "KepcoBOP", "LakeShore425", "Keithley707B"]
    lab = load_config(default_path("lab-bench-example.yaml"))
    assert isinstance(lab, BenchConfig) and not lab.uses_sim and lab.chip.physics is None
    assert all(i.backend == "visa" and i.address for i in lab.instruments)
    iris = load_config(default_path("iris.yaml"))
    assert iris == TrainingConfig()
    assert load_default_bench() == load_bench("typical")


def test_chip_ids_and_positions() -> None:
    chip = load_default_bench().chip
    assert chip.ids()[:5] == ["r0c0", "r0c1", "r0c2", "r0c3", "r1c0"]
    assert chip.position("r3c1") == (3, 1)
    with pytest.raises(KeyError):
        chip.position("nope")


@pytest.mark.parametrize("change, path, reason", [c[1:] for c in BAD_BENCH],
                         ids=[c[0] for c in BAD_BENCH])
def test_bad_bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                   change: Callable[[dict[str, Any]], None], path: str, reason: str) -> None:
    data = _sim_bench()
    change(data)
    name = _write(tmp_path, monkeypatch, data)
    with pytest.raises(ConfigError) as info:
        load_bench(name)
    _check_message(info.value, path, reason)


@pytest.mark.parametrize("change, path, reason", [c[1:] for c in BAD_TRAINING],
                         ids=[c[0] for c in BAD_TRAINING])
def test_bad_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      change: Callable[[dict[str, Any]], None], path: str, reason: str) -> None:
    data = _training()
    change(data)
    name = _write(tmp_path, monkeypatch, data)
    with pytest.raises(ConfigError) as info:
        load_training(name)
    _check_message(info.value, path, reason)


@pytest.mark.parametrize("text, path, reason", [c[1:] for c in RAW], ids=[c[0] for c in RAW])
@pytest.mark.parametrize("loader", [load_bench, load_training, load_config])
def test_bad_raw_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loader: Any,
                       text: str, path: str, reason: str) -> None:
    name = _write(tmp_path, monkeypatch, text)
    with pytest.raises(ConfigError) as info:
        loader(name)
    _check_message(info.value, path, reason)


def test_exact_message_from_the_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _sim_bench()
    data["limits"]["max_bias_v"] = -1
    name = _write(tmp_path, monkeypatch, data)
    with pytest.raises(ConfigError, match=r"^lab\.yaml: limits\.max_bias_v: must be > 0 "
                                          r"\(got -1\)$"):
        load_bench(name)


@pytest.mark.parametrize("kind, reason", [(None, "kind: field required"),
                                          ("sweep", "kind: must be one of: bench, training"),
                                          (3, "kind: must be one of")])
def test_load_config_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          kind: Any, reason: str) -> None:
    data = _sim_bench()
    if kind is None:
        del data["kind"]
    else:
        data["kind"] = kind
    name = _write(tmp_path, monkeypatch, data)
    with pytest.raises(ConfigError) as info:
        load_config(name)
    _check_message(info.value, "kind", reason)
    if kind is None:  # the explicit loader accepts a file without kind
        assert load_bench(name).name == "typical"


def test_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for loader in (load_bench, load_training, load_config):
        with pytest.raises(ConfigError, match=r"^lab\.yaml: file not found$"):
            loader(FILE)
    with pytest.raises(ConfigError, match="is a folder"):
        load_bench(tmp_path)


def test_config_error_is_mtjlab_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _write(tmp_path, monkeypatch, "")
    with pytest.raises(MtjlabError):
        load_bench(name)


def test_every_section_forbids_unknown_keys(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for section in ("instruments.0", "wiring", "chip", "chip.physics", "limits", "measurement"):
        data = _sim_bench()
        parent, last = _walk(data, section)
        parent[last]["bogus_v"] = 1
        name = _write(tmp_path, monkeypatch, data)
        with pytest.raises(ConfigError) as info:
            load_bench(name)
        _check_message(info.value, f"{section}.bogus_v", "unknown field")


def test_valid_variants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _sim_bench()
    data["chip"]["device_ids"] = [f"J{i:02d}" for i in range(16)]
    data["chip"]["known_dead"] = ["J06"]
    data["chip"]["physics"]["dead_devices"] = {"J12": "open"}
    data["instruments"][1].update(backend="visa", address="TCPIP0::192.168.1.5::inst0::INSTR")
    data["instruments"][2].update(model="SR860", backend="visa", address="ASRL/dev/ttyUSB0::INSTR")
    data["instruments"][0].update(backend="visa",
                                  address="USB0::0x05E6::0x2450::04096331::INSTR")
    data["limits"]["max_read_current_a"] = "1e-4"  # PyYAML reads 1e-4 as text; accepted
    data["measurement"]["read_current_a"] = 5.0e-5
    name = _write(tmp_path, monkeypatch, data)
    bench = load_bench(name)
    assert bench.chip.ids()[6] == "J06" and bench.chip.position("J12") == (3, 0)
    assert bench.limits.max_read_current_a == pytest.approx(1e-4)
    assert bench.instrument("lockin").model == "SR860"
    assert bench.model_of("lockin").sine_max_v_rms == 2.0


def test_round_trip(tmp_path: Path) -> None:
    bench = load_default_bench()
    assert BenchConfig.model_validate(bench.model_dump()) == bench
    assert BenchConfig.model_validate(copy.deepcopy(bench.model_dump(mode="json"))) == bench
    target = tmp_path / "bench.yaml"
    write_config(bench, target)
    assert load_bench(target) == bench
    assert load_config(target) == bench
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind
    training = TrainingConfig(dataset="csv", dataset_path=Path("data/x.csv"), hidden=[8, 4])
    (tmp_path / "t.yaml").write_text(to_yaml(training), encoding="utf-8")
    assert load_training(tmp_path / "t.yaml") == training


def test_default_path_and_bench_resolution(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no packaged default"):
        default_path("nope.yaml")
    assert resolve_bench_path("model") is None
    assert resolve_bench_path("sim-bench.yaml") == default_path("typical.yaml")
    assert resolve_bench_path("harsh") == default_path("harsh.yaml")
    local = tmp_path / "mine.yaml"
    local.write_text("kind: bench\n", encoding="utf-8")
    assert resolve_bench_path("mine.yaml", relative_to=tmp_path) == local
    with pytest.raises(ConfigError, match=r"^run\.yaml: bench: file not found"):
        resolve_bench_path("absent.yaml", relative_to=tmp_path, source="run.yaml")


def test_a_harmless_alias_still_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "kind: training\nbench: model\nname: &n shared\noptimiser: &o {name: sgd}\nhidden: &h [4]\n"
    name = _write(tmp_path, monkeypatch, text)
    training = load_training(name)
    assert training.name == "shared" and training.optimiser.name == "sgd" and training.hidden == [4]


def test_error_messages_never_render_a_huge_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    items = ", ".join(["*big"] * 300)
    text = f"kind: bench\nbig: &big '{'x' * 5000}'\nname: [{items}]\n"
    name = _write(tmp_path, monkeypatch, text)
    with pytest.raises(ConfigError) as info:
        load_bench(name)
    assert len(str(info.value)) < 200, str(info.value)


@pytest.mark.parametrize("kind", ["fifo", "device", "too-large", "utf16", "latin1", "nul"])
def test_files_that_are_not_small_utf8_text_are_refused_without_reading_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    import os

    from mtjlab.safe_files import CONFIG_MAX_BYTES

    monkeypatch.chdir(tmp_path)
    path = FILE
    if kind == "fifo":
        os.mkfifo(path)  # opening it for reading would block forever without a writer
    elif kind == "device":
        path = "/dev/zero"
    elif kind == "too-large":
        with open(path, "wb") as stream:
            stream.truncate(CONFIG_MAX_BYTES + 1)  # sparse: costs no disk
    else:
        content = {"utf16": "kind: bench\n".encode("utf-16"), "latin1": "name: café\n".encode("latin-1"),
                   "nul": b"kind: bench\n\x00\x00"}[kind]
        Path(path).write_bytes(content)
    reason = {"fifo": "named pipe", "device": "character device", "too-large": "larger than the 1 MiB limit",
              "utf16": "UTF-16", "latin1": "not UTF-8", "nul": "NUL bytes"}[kind]
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: ") and reason in str(info.value), str(info.value)
    assert "\n" not in str(info.value)
