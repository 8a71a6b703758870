"""Keithley 2450 protocol pairs, transcribed as data.

pymeasure has no mock-protocol test for the 2450; its facts about the instrument are in
``tests/instruments/keithley/test_keithley2450_with_device.py``, tests run on a real 2450: set a
value, read the same value back, no error. Each entry here is one of those tests written as the
(command, reply) pairs pymeasure 0.16's ``Keithley2450`` driver exchanges for it (the commands are
the driver's, the replies are what the test asserts the real instrument answers); ``None`` means
no reply. Every test starts with the driver's ``reset()``, as the test file's autouse fixture
does. Tests of driver attributes that pymeasure 0.16 does not have are kept with a ``SKIP`` reason.
"""

RESET = ("*RST;:stat:pres;:*CLS;", None)
#: The replies are the real instrument's values (compare exactly).
REPLIES_ARE_STATE = True


def _control(set_command, query, reply):
    return [RESET, (set_command, None), (query, reply)]


PAIRS = {
    "test_id": [RESET, ("*IDN?", "KEITHLEY INSTRUMENTS,MODEL 2450,xxxxxxxx,y.y.y")],
    "test_source_mode[voltage]": _control(":SOUR:FUNC VOLT", ":SOUR:FUNC?", "VOLT"),
    "test_source_mode[current]": _control(":SOUR:FUNC CURR", ":SOUR:FUNC?", "CURR"),
    "test_current_range[1e-08]": _control(":SENS:CURR:RANG:AUTO 0;:SENS:CURR:RANG 1e-08", ":SENS:CURR:RANG?", 1e-08),
    "test_current_range[1.0]": _control(":SENS:CURR:RANG:AUTO 0;:SENS:CURR:RANG 1", ":SENS:CURR:RANG?", 1.0),
    "test_current_nplc[0.01]": _control(":SENS:CURR:NPLC 0.01", ":SENS:CURR:NPLC?", 0.01),
    "test_current_nplc[10]": _control(":SENS:CURR:NPLC 10", ":SENS:CURR:NPLC?", 10),
    "test_compliance_current[1.05]": _control(":SOUR:VOLT:ILIM 1.05", ":SOUR:VOLT:ILIM?", 1.05),
    "test_compliance_current[1e-08]": _control(":SOUR:VOLT:ILIM 1e-08", ":SOUR:VOLT:ILIM?", 1e-08),
    **{f"test_source_current[{v:g}]": _control(f":SOUR:CURR:LEV {v:g}", ":SOUR:CURR?", v)
       for v in (-1.05, -0.5, 0, 0.5, 1.05)},
    "test_source_current_range[1e-08]": _control(":SOUR:CURR:RANG:AUTO 0;:SOUR:CURR:RANG 1e-08", ":SOUR:CURR:RANG?", 1e-08),
    "test_source_current_range[1.0]": _control(":SOUR:CURR:RANG:AUTO 0;:SOUR:CURR:RANG 1", ":SOUR:CURR:RANG?", 1.0),
    **{f"test_source_current_delay[{v}]": _control(f":SOUR:CURR:DEL {v}", ":SOUR:CURR:DEL?", v) for v in (0, 0.5, 1000)},
    **{f"test_source_current_delay_auto[{b}]": _control(f":SOUR:CURR:DEL:AUTO {int(b)}", ":SOUR:CURR:DEL:AUTO?", int(b))
       for b in (True, False)},
    **{f"test_voltage_range[{v:g}]": [RESET, (":SOUR:FUNC CURR", None), (":SOUR:CURR:RANG:AUTO 1", None),
                                      (":SOUR:CURR:VLIM 0.1", None), ("SYST:ERR?", '0,"No error"'),
                                      (f":SENS:VOLT:RANG:AUTO 0;:SENS:VOLT:RANG {v:g}", None), (":SENS:VOLT:RANG?", v)]
       for v in (20e-3, 200)},
    **{f"test_voltage_nplc[{v}]": _control(f":SENS:VOLT:NPLC {v}", ":SENS:VOLT:NPLC?", v) for v in (0.01, 10)},
    **{f"test_compliance_voltage[{v:g}]": _control(f":SOUR:CURR:VLIM {v:g}", ":SOUR:CURR:VLIM?", v) for v in (20e-3, 210)},
    **{f"test_source_voltage[{v}]": _control(f":SOUR:VOLT:LEV {v}", ":SOUR:VOLT?", v) for v in (-210, 0, 210)},
    **{f"test_source_voltage_range[{v:g}]": _control(f":SOUR:VOLT:RANG:AUTO 0;:SOUR:VOLT:RANG {v:g}", ":SOUR:VOLT:RANG?", v)
       for v in (20e-3, 200)},
    **{f"test_source_voltage_delay[{v}]": _control(f":SOUR:VOLT:DEL {v}", ":SOUR:VOLT:DEL?", v) for v in (0, 1000)},
    **{f"test_source_voltage_delay_auto[{b}]": _control(f":SOUR:VOLT:DEL:AUTO {int(b)}", ":SOUR:VOLT:DEL:AUTO?", int(b))
       for b in (True, False)},
    **{f"test_resistance_range[{v:g}]": _control(f":SENS:RES:RANG:AUTO 0;:SENS:RES:RANG {v:g}", ":SENS:RES:RANG?", v)
       for v in (2, 200e6)},
    **{f"test_resistance_nplc[{v}]": _control(f":SENS:RES:NPLC {v}", ":SENS:RES:NPLC?", v) for v in (0.01, 10)},
    "test_wires[2]": _control(":SENS:RES:RSENSE 0", ":SENS:RES:RSENSE?", 0),
    "test_wires[4]": _control(":SENS:RES:RSENSE 1", ":SENS:RES:RSENSE?", 1),
    **{f"test_buffer_points[{v}]": _control(f":TRAC:POIN {v}", ":TRAC:POIN?", v) for v in (10, 5211488)},
    **{f"test_current_filter_type[{t}]": _control(f":SENS:CURR:AVER:TCON {t}", ":SENS:CURR:AVER:TCON?", t)
       for t in ("REP", "MOV")},
    **{f"test_current_filter_count[{n}]": _control(f":SENS:CURR:AVER:COUNT {n}", ":SENS:CURR:AVER:COUNT?", n)
       for n in (1, 100)},
    "test_current_filter_state[ON]": _control(":SENS:CURR:AVER ON", ":SENS:CURR:AVER?", 1.0),
    "test_current_filter_state[OFF]": _control(":SENS:CURR:AVER OFF", ":SENS:CURR:AVER?", 0.0),
    **{f"test_voltage_filter_type[{t}]": _control(f":SENS:VOLT:AVER:TCON {t}", ":SENS:VOLT:AVER:TCON?", t)
       for t in ("REP", "MOV")},
    **{f"test_voltage_filter_count[{n}]": _control(f":SENS:VOLT:AVER:COUNT {n}", ":SENS:VOLT:AVER:COUNT?", n)
       for n in (1, 100)},
    **{f"test_current_output_off_state[{s}]": _control(f":OUTP:CURR:SMOD {s}", ":OUTP:CURR:SMOD?", s)
       for s in ("HIMP", "NORM", "ZERO", "GUAR")},
    **{f"test_voltage_output_off_state[{s}]": _control(f":OUTP:VOLT:SMOD {s}", ":OUTP:VOLT:SMOD?", s)
       for s in ("HIMP", "NORM", "ZERO", "GUAR")},
    "test_apply_voltage": [RESET, (":SOUR:FUNC VOLT", None), (":SOUR:VOLT:RANG:AUTO 0;:SOUR:VOLT:RANG 20", None),
                           (":SOUR:VOLT:ILIM 0.01", None), ("SYST:ERR?", '0,"No error"'), (":SOUR:FUNC?", "VOLT"),
                           (":SOUR:VOLT:RANG?", 20), (":SOUR:VOLT:ILIM?", 0.01)],
    "test_apply_current": [RESET, (":SOUR:FUNC CURR", None), (":SOUR:CURR:RANG:AUTO 0;:SOUR:CURR:RANG 0.001", None),
                           (":SOUR:CURR:VLIM 5", None), ("SYST:ERR?", '0,"No error"'), (":SOUR:FUNC?", "CURR"),
                           (":SOUR:CURR:RANG?", 0.001), (":SOUR:CURR:VLIM?", 5)],
    "test_enable_source": [RESET, ("OUTPUT ON", None), ("OUTPUT?", 1)],
    "test_disable_source": [RESET, ("OUTPUT OFF", None), ("OUTPUT?", 0)],
    "test_measure_voltage": [RESET, (":SENS:FUNC 'VOLT';:SENS:VOLT:NPLC 1.000000;", None), (":SENS:VOLT:RANG:AUTO 1;", None)],
    "test_measure_current": [RESET, (":SENS:FUNC 'CURR';:SENS:CURR:NPLC 1.000000;", None), (":SENS:CURR:RANG:AUTO 1;", None)],
    "test_measure_resistance": [RESET, (":SENS:FUNC 'RES';:SENS:RES:NPLC 1.000000;", None), (":SENS:RES:RANG:AUTO 1;", None)],
    "test_current_autozero": [],
    "test_current_autorange": [],
    "test_sense_count": [],
    "test_source_voltage_readback": [],
    "test_display_light_state": [],
    "test_error_count": [],
    "test_next_error": [RESET, ("SYST:ERR?", '0,"No error"')],
    "test_trace_actual_end": [],
    "test_auto_range_source_current": [RESET, (":SOUR:FUNC CURR", None), (":SOUR:FUNC?", "CURR"), (":SOUR:CURR:RANG:AUTO 1", None)],
    "test_auto_range_source_voltage": [RESET, (":SOUR:FUNC VOLT", None), (":SOUR:FUNC?", "VOLT"), (":SOUR:VOLT:RANG:AUTO 1", None)],
    "test_use_rear_terminals": [RESET, (":ROUT:TERM REAR", None)],
    "test_use_front_terminals": [RESET, (":ROUT:TERM FRON", None)],
    "test_autozero_once": [],
    "test_ramp_to_current": [
        RESET, (":SOUR:FUNC CURR", None), (":SOUR:CURR:RANG:AUTO 0;:SOUR:CURR:RANG 0.01", None), (":SOUR:CURR:VLIM 5", None),
        ("SYST:ERR?", '0,"No error"'), ("OUTPUT ON", None), (":SOUR:CURR?", 0),
        *[(f":SOUR:CURR:LEV {v:g}", None) for v in (0, 0.00025, 0.0005, 0.00075, 0.001)], (":SOUR:CURR?", 1e-3)],
    "test_ramp_to_voltage": [
        RESET, (":SOUR:FUNC VOLT", None), (":SOUR:VOLT:RANG:AUTO 0;:SOUR:VOLT:RANG 5", None), (":SOUR:VOLT:ILIM 0.01", None),
        ("SYST:ERR?", '0,"No error"'), ("OUTPUT ON", None), (":SOUR:VOLT?", 0),
        *[(f":SOUR:VOLT:LEV {v:g}", None) for v in (0, 0.25, 0.5, 0.75, 1.0)], (":SOUR:VOLT?", 1.0)],
}

_NOT_IN_DRIVER = "the attribute is not in pymeasure 0.16's Keithley2450 driver: its commands are not known here"
SKIP = {name: _NOT_IN_DRIVER for name in (
    "test_current_autozero", "test_current_autorange", "test_sense_count", "test_source_voltage_readback",
    "test_display_light_state", "test_error_count", "test_trace_actual_end", "test_autozero_once")}
