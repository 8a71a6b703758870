"""Training on a Bench someone else already holds (the GUI's worker): it is used, never opened or shut."""

from __future__ import annotations

import pytest

from mtjlab.config import TrainingConfig, load_default_bench
from mtjlab.instruments import bench as bench_module
from mtjlab.instruments.bench import Bench
from mtjlab.training.session import resume_training, run_training
from mtjlab.training.trainer import TrainingStopped

TINY = dict(folds=2, epochs=2, hidden=[2], train_samples=40, seed=1)


def stop_after(steps):
    def hook(trainer):
        trainer.subscribe(lambda e: trainer.request_stop() if e.kind == "step" and e.step >= steps else None)
    return hook


def test_a_connected_bench_is_used_as_it_is_and_left_to_its_owner(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the session opened a bench of its own")

    with Bench.open(load_default_bench()) as bench:
        monkeypatch.setattr(bench_module.Bench, "open", classmethod(refuse))
        shutdowns = []
        monkeypatch.setattr(bench, "shutdown", lambda *a, **k: shutdowns.append(True))
        with pytest.raises(TrainingStopped):
            run_training(TrainingConfig(**TINY), out=tmp_path / "run", bench=bench, on_trainer=stop_after(3))
        assert not shutdowns  # the owner decides when the bench is made safe
        assert bench.lab.coil.output_on  # still prepared: the bias field is on, as the owner left it running
        result = resume_training(tmp_path / "run", bench=bench)
        assert not shutdowns
        monkeypatch.undo()
    assert result.summary["folds"] == 1 and (tmp_path / "run" / "summary.json").exists()
    assert bench.lab.everything_safe()


def test_model_configs_ignore_the_connected_bench(tmp_path):
    class Untouchable:
        def __getattr__(self, name):
            raise AssertionError(f"the model run touched the bench ({name})")

    result = run_training(TrainingConfig(bench="model", **TINY), out=tmp_path / "run", bench=Untouchable())
    assert result.summary["bench"] == "model"
