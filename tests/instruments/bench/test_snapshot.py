"""The bench snapshot that goes into data files' metadata."""

from __future__ import annotations

import json

import pytest


def test_snapshot_has_identities_settings_calibration_and_limits(bench):
    bench.route("r2c3")
    bench.set_read_current(1e-4)
    bench.set_modulation(2e-4)
    snap = bench.snapshot()
    json.dumps(snap)  # plain data, ready for a file header
    assert snap["bench"] == "typical"
    assert "MODEL 2400" in snap["instruments"]["read_source"]["identity"]
    assert snap["instruments"]["switch"]["model"] == "Keithley707B"
    settings = snap["settings"]
    assert settings["routed"] == (2, 3) and settings["read_current_a"] == 1e-4
    # as the lock-in really set it (its sine has 2 mV steps)
    assert settings["modulation_peak_a"] == pytest.approx(bench.limits.modulation_peak_a(bench.readouts().modulation_v_rms))
    assert settings["modulation_peak_a"] == pytest.approx(2e-4, rel=0.02)
    assert settings["lockin_time_constant_s"] == pytest.approx(bench.config.wiring.lockin_time_constant_s)
    assert snap["calibration"]["coil_oe_per_a"] == bench.config.wiring.coil_oe_per_a
    assert snap["limits"]["max_bias_v"] == bench.config.limits.max_bias_v
    assert 0 < snap["lab_time_s"] <= bench.clock.now_s()
