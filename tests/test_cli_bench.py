"""``mtjlab bench check`` and ``mtjlab bench resources``; a missing VISA address."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import mtjlab
from mtjlab import cli
from mtjlab.config import load_default_bench
from mtjlab.errors import InstrumentError
from mtjlab.instruments.bench import Bench

DEFAULTS = Path(mtjlab.__file__).resolve().parent / "config" / "defaults"


def test_bench_check_on_the_simulated_bench_connects_exercises_and_leaves_it_safe(capsys):
    assert cli.main(["bench", "check"]) == 0
    out = capsys.readouterr().out
    for role in ("read_source", "input_source", "lockin", "field_supply", "gaussmeter", "switch"):
        assert f"{role}" in out and f"  {role:<13} ok:" in out
    assert "KEITHLEY INSTRUMENTS INC.,MODEL 2400" in out and "Model 707B" in out
    assert "everything ramped to zero and off, every relay open" in out
    assert "disagrees" not in out


def test_bench_check_of_a_real_bench_with_no_instruments_fails_in_one_line(capsys):
    status = cli.main(["bench", "check", str(DEFAULTS / "lab-bench-example.yaml"), "--visa-library", "@py"])
    err = capsys.readouterr().err.strip()
    assert status == 1  # an instrument fault: failed, not refused
    assert len(err.splitlines()) == 1
    assert err.startswith("mtjlab: read_source: cannot connect to GPIB0::24::INSTR")


@pytest.mark.unsafe_lab("starts from a read source someone left on, at the emulator's power-on compliance")
def test_a_visa_instrument_at_a_missing_address_fails_at_connect_naming_role_and_address(tmp_path):
    """One visa instrument among emulators: the error names it; the rest is left safe."""
    raw = load_default_bench().model_dump(mode="json", exclude_none=True)
    lockin = next(i for i in raw["instruments"] if i["role"] == "lockin")
    lockin.update(backend="visa", address="ASRL/dev/ttyMTJLAB_NONE::INSTR")
    config = type(load_default_bench()).model_validate(raw)
    bench = Bench(config, visa_library="@py")
    bench.lab.close_relay(0, 0)  # someone left the read source driving a junction
    bench.lab.set_read_source(level_a=1e-4, output_on=True)
    with pytest.raises(InstrumentError) as info:
        bench.connect()
    message = info.value.one_line()
    assert message.startswith("lockin: cannot connect to ASRL/dev/ttyMTJLAB_NONE::INSTR (SR830)")
    assert bench.lab.everything_safe()  # what did connect was made safe, relays opened


def test_bench_resources_lists_what_pyvisa_sees(capsys):
    assert cli.main(["bench", "resources", "--visa-library", "@py"]) == 0
    assert capsys.readouterr().out.startswith("VISA library:")


def test_bench_check_of_a_file_that_is_not_a_bench_fails_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bench.yaml"
    bad.write_text(yaml.safe_dump({"kind": "bench", "name": "x"}))
    assert cli.main(["bench", "check", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bench.yaml" in err
