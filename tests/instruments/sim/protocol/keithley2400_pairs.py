"""pymeasure's Keithley 2400 protocol pairs, transcribed as data.

Source: pymeasure, ``tests/instruments/keithley/test_keithley2400.py`` (the version whose driver
sends long-form headers, ``:FORMAT:ELEMENTS ...`` at connection). Each entry is one test of that
file: its name and the (command, reply) pairs it expects, in order; ``None`` means no reply. The
replies of queries are the values the test's mock instrument gave (a fact about the reply's form,
not about any particular state). ``SKIP`` names the pairs we do not emulate, with the reason.
"""

INIT_COMMS = (":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)


def _one(command, reply=None):
    return [INIT_COMMS, (command, reply)]


PAIRS = {
    "test_id": _one("*IDN?", "KEITHLEY INSTRUMENTS INC., MODEL nnnn, xxxxxxx, yyyyy/zzzzz /a/d"),
    "test_next_error": _one("SYST:ERR?", '-113, "Undefined header"'),
    # source
    "test_source_enabled_getter": _one("OUTPUT?", 1),
    "test_source_enabled_setter": _one("OUTPUT 0"),
    "test_enable_source": _one("OUTPUT 1"),
    "test_disable_source": _one("OUTPUT 0"),
    "test_source_mode_getter": _one(":SOURCE:FUNCTION?", "current"),
    "test_source_mode_setter": _one(":SOURCE:FUNCTION voltage"),
    "test_auto_output_off_getter": _one(":SOURCE:CLEAR:AUTO?", 0),
    "test_auto_output_off_setter": _one(":SOURCE:CLEAR:AUTO 1"),
    "test_source_delay_getter": _one(":SOURCE:DELAY?", 0.1),
    "test_source_delay_setter": _one(":SOURCE:DELAY 0.1"),
    "test_source_delay_auto_enabled_getter": _one(":SOURCE:DELAY:AUTO?", 1),
    "test_source_delay_auto_enabled_setter": _one(":SOURCE:DELAY:AUTO 0"),
    "test_auto_zero_state_getter": _one(":SYSTEM:AZERO:STATUS?", "ONCE"),
    "test_auto_zero_setter": _one(":SYSTEM:AZERO:STATUS OFF"),
    "test_output_off_state_getter": _one(":OUTPUT:SMODE?", "HIMP"),
    "test_output_off_state_setter": _one(":OUTPUT:SMODE ZERO"),
    # measure
    "test_filter_enabled_getter": _one(":SENSE:AVERAGE?", 0),
    "test_filter_enabled_setter": _one(":SENSE:AVERAGE 1"),
    "test_repeat_filter_enabled_getter": _one(":SENSE:AVERAGE:TCONTROL?", "MOVING"),
    "test_repeat_filter_enabled_setter": _one(":SENSE:AVERAGE:TCONTROL REPEAT"),
    "test_filter_count_getter": _one(":SENSE:AVERAGE:COUNT?", 10),
    "test_filter_count_setter": _one(":SENSE:AVERAGE:COUNT 15"),
    "test_measure_all": [
        INIT_COMMS,
        (":SENSE:RESISTANCE:MODE MANUAL", None),
        (":SENSE:FUNCTION:ALL", None),
        (":READ?", "0.1,0.2,9.91e37,1234,5678\n"),
    ],
    # current
    "test_current": _one(":MEASURE:CURRENT?", "0.1,0.2,9.91e37,1234,5678\n"),
    "test_current_range_getter": _one(":SENSE:CURRENT:RANGE?", 0.5),
    "test_current_range_setter": _one(":SENSE:CURRENT:RANGE 0.5"),
    "test_current_range_auto_enabled_getter": _one(":SENSE:CURRENT:RANGE:AUTO?", 1),
    "test_current_range_auto_enabled_setter": _one(":SENSE:CURRENT:RANGE:AUTO 0"),
    "test_current_nplc_getter": _one(":SENSE:CURRENT:NPLCYCLES?", 1),
    "test_current_nplc_setter": _one(":SENSE:CURRENT:NPLCYCLES 0.1"),
    "test_compliance_current_getter": _one(":SENSE:CURRENT:PROTECTION?", 0.5),
    "test_compliance_current_setter": _one(":SENSE:CURRENT:PROTECTION 0.5"),
    "test_source_current_getter": _one(":SOURCE:CURRENT?", 0.5),
    "test_source_current_setter": _one(":SOURCE:CURRENT 0.5"),
    "test_source_current_range_getter": _one(":SOURCE:CURRENT:RANGE?", 0.5),
    "test_source_current_range_setter": _one(":SOURCE:CURRENT:RANGE 0.5"),
    "test_source_current_range_auto_enabled_getter": _one(":SOURCE:CURRENT:RANGE:AUTO?", 1),
    "test_source_current_range_auto_enabled_setter": _one(":SOURCE:CURRENT:RANGE:AUTO 0"),
    # voltage
    "test_voltage": _one(":MEASURE:VOLTAGE?", "0.1,0.2,9.91e37,1234,5678\n"),
    "test_voltage_range_getter": _one(":SENSE:VOLTAGE:RANGE?", 0.5),
    "test_voltage_range_setter": _one(":SENSE:VOLTAGE:RANGE 0.5"),
    "test_voltage_range_auto_enabled_getter": _one(":SENSE:VOLTAGE:RANGE:AUTO?", 1),
    "test_voltage_range_auto_enabled_setter": _one(":SENSE:VOLTAGE:RANGE:AUTO 0"),
    "test_voltage_nplc_getter": _one(":SENSE:VOLTAGE:NPLCYCLES?", 1),
    "test_voltage_nplc_setter": _one(":SENSE:VOLTAGE:NPLCYCLES 0.1"),
    "test_compliance_voltage_getter": _one(":SENSE:VOLTAGE:PROTECTION?", 0.5),
    "test_compliance_voltage_setter": _one(":SENSE:VOLTAGE:PROTECTION 0.5"),
    "test_source_voltage_getter": _one(":SOURCE:VOLTAGE?", 0.5),
    "test_source_voltage_setter": _one(":SOURCE:VOLTAGE 0.5"),
    "test_source_voltage_range_getter": _one(":SOURCE:VOLTAGE:RANGE?", 0.5),
    "test_source_voltage_range_setter": _one(":SOURCE:VOLTAGE:RANGE 0.5"),
    "test_source_voltage_range_auto_enabled_getter": _one(":SOURCE:VOLTAGE:RANGE:AUTO?", 1),
    "test_source_voltage_range_auto_enabled_setter": _one(":SOURCE:VOLTAGE:RANGE:AUTO 0"),
    # resistance
    "test_resistance": _one(":MEASURE:RESISTANCE?", "0.1,0.2,0.5,1234,5678\n"),
    "test_resistance_range_getter": _one(":SENSE:RESISTANCE:RANGE?", 0.5),
    "test_resistance_range_setter": _one(":SENSE:RESISTANCE:RANGE 0.5"),
    "test_resistance_range_auto_enabled_getter": _one(":SENSE:RESISTANCE:RANGE:AUTO?", 1),
    "test_resistance_range_auto_enabled_setter": _one(":SENSE:RESISTANCE:RANGE:AUTO 0"),
    "test_resistance_nplc_getter": _one(":SENSE:RESISTANCE:NPLCYCLES?", 1),
    "test_resistance_nplc_setter": _one(":SENSE:RESISTANCE:NPLCYCLES 0.1"),
    # trigger
    "test_trigger": _one("*TRG"),
    "test_reset_trigger": _one(":ABORT"),
    "test_clear_trigger": _one(":TRIGGER:CLEAR"),
    "test_trigger_count_getter": _one(":TRIGGER:COUNT?", 10),
    "test_trigger_count_setter": [INIT_COMMS, (":ARM:COUNT?", 7), (":TRIGGER:COUNT 10", None)],
    "test_arm_count_getter": _one(":ARM:COUNT?", 10),
    "test_arm_count_setter": [INIT_COMMS, (":TRIGGER:COUNT?", 7), (":ARM:COUNT 10", None)],
    "test_trigger_delay_getter": _one(":TRIGGER:DELAY?", 10),
    "test_trigger_delay_setter": _one(":TRIGGER:DELAY 10"),
    "test_arm_timer_getter": _one(":ARM:TIMER?", 10),
    "test_arm_timer_setter": _one(":ARM:TIMER 10"),
    "test_trigger_source_getter": _one(":TRIGGER:SOURCE?", "IMMEDIATE"),
    "test_trigger_source_setter": _one(":TRIGGER:SOURCE TLINK"),
    "test_arm_source_getter": _one(":ARM:SOURCE?", "IMMEDIATE"),
    "test_arm_source_setter": _one(":ARM:SOURCE TLINK"),
    "test_trigger_output_event_getter": _one(":TRIGGER:OUTPUT?", "SENSE"),
    "test_trigger_output_event_setter": _one(":TRIGGER:OUTPUT NONE"),
    "test_arm_output_event_getter": _one(":ARM:OUTPUT?", "TENTER"),
    "test_arm_output_event_setter": _one(":ARM:OUTPUT NONE"),
    "test_disable_output_triggers": [INIT_COMMS, (":ARM:OUTPUT NONE", None), (":TRIGGER:OUTPUT NONE", None)],
    "test_trigger_input_line_getter": _one(":TRIGGER:ILINE?", 0),
    "test_trigger_input_line_setter": _one(":TRIGGER:ILINE 1"),
    "test_arm_input_line_getter": _one(":ARM:ILINE?", 0),
    "test_arm_input_line_setter": _one(":ARM:ILINE 1"),
    "test_trigger_output_line_getter": _one(":TRIGGER:OLINE?", 0),
    "test_trigger_output_line_setter": _one(":TRIGGER:OLINE 1"),
    "test_arm_output_line_getter": _one(":ARM:OLINE?", 0),
    "test_arm_output_line_setter": _one(":ARM:OLINE 1"),
    "test_trigger_on_bus": [
        INIT_COMMS,
        (":TRIGGER:COUNT?", 1),
        (":ARM:COUNT 1", None),
        (":ARM:SOURCE BUS", None),
        (":TRIGGER:SOURCE IMMEDIATE", None),
    ],
    "test_trigger_on_external": [
        INIT_COMMS,
        (":ARM:SOURCE TLINK", None),
        (":TRIGGER:SOURCE TLINK", None),
        (":ARM:ILINE 1", None),
        (":TRIGGER:ILINE 1", None),
    ],
    # ui
    "test_display_enabled_getter": _one(":DISPLAY:ENABLE?", 1),
    "test_display_enabled_setter": _one(":DISPLAY:ENABLE 0"),
    # misc
    "test_four_wire_enabled_getter": _one(":SYSTEM:RSENSE?", 0),
    "test_four_wire_enabled_setter": _one(":SYSTEM:RSENSE 1"),
    "test_line_frequency_getter": _one(":SYSTEM:LFREQUENCY?", 50),
    "test_line_frequency_setter": _one(":SYSTEM:LFREQUENCY 60"),
    "test_line_frequency_auto_enabled_getter": _one(":SYSTEM:LFREQUENCY:AUTO?", 1),
    "test_line_frequency_auto_enabled_setter": _one(":SYSTEM:LFREQUENCY:AUTO 0"),
    "test_front_terminals_enabled_getter": _one(":ROUTE:TERMINALS?", "FRONT"),
    "test_front_terminals_enabled_setter": _one(":ROUTE:TERMINALS REAR"),
}

_NOT_A_RANGE = ("the mock's 0.5 is not a 2400 range: the instrument selects the range that holds it and reads back "
                "its full scale ({}; 2400 manual, section 18, RANGe; pymeasure's device test reads ranges back so)")
_NO_LINE_0 = "the mock's line 0 does not exist: Trigger Link lines are 1 to 4 (2400 manual, :ILINe/:OLINe), -222"

#: Pairs outside what the emulator reproduces, with the reason (reported, not deleted).
SKIP = {
    "test_auto_zero_state_getter": "ONCE is an action, not a state: the 2400 performs one auto zero and its query "
                                   "answers the state, 1 or 0 (2400 manual, :SYSTem:AZERo)",
    "test_current_range_getter": _NOT_A_RANGE.format("1.05 A"),
    "test_source_current_range_getter": _NOT_A_RANGE.format("1.05 A"),
    "test_voltage_range_getter": _NOT_A_RANGE.format("2.1 V"),
    "test_source_voltage_range_getter": _NOT_A_RANGE.format("2.1 V"),
    "test_resistance_range_getter": _NOT_A_RANGE.format("21 ohm"),
    "test_trigger_input_line_getter": _NO_LINE_0,
    "test_arm_input_line_getter": _NO_LINE_0,
    "test_trigger_output_line_getter": _NO_LINE_0,
    "test_arm_output_line_getter": _NO_LINE_0,
}


# ---------------------------------------------------------------------------------------------
# pymeasure, tests/instruments/keithley/test_keithley2400_with_device.py (the version for the
# driver with string-valued properties, pymeasure 0.16): tests meant for a real 2400, run here
# through the driver against the emulator.

#: test_reset: the state the driver reads after ``clear(); reset()`` (attribute -> value), with
#: the manual's table its comment cites.
RESET_STATE = {
    "source_enabled": False,  # 18-4
    "output_off_state": "normal",
    "front_terminals_enabled": True,  # 18-5
    "current_range": 1.05e-4,  # 18-6
    "current_range_auto_enabled": True,
    "current_nplc": 1,
    "compliance_current": 1.05e-4,
    "voltage_range": 21,
    "voltage_range_auto_enabled": True,
    "voltage_nplc": 1,
    "compliance_voltage": 21,
    "resistance_mode_auto_enabled": True,
    "resistance_range": 2.1e5,
    "resistance_range_auto_enabled": True,
    "resistance_nplc": 1,
    "repeat_filter_enabled": True,
    "filter_count": 10,
    "filter_enabled": False,
    "auto_output_off_enabled": False,  # 18-7
    "source_mode": "voltage",
    "source_delay": 0.001,  # "Different to manual"
    "source_delay_auto_enabled": True,
    "source_current_range": 1.05e-4,
    "source_current_range_auto_enabled": True,
    "source_current": 0,
    "source_voltage_range": 21,
    "source_voltage_range_auto_enabled": True,
    "source_voltage": 0,
    "auto_zero_enabled": True,  # 18-9
}

#: test_current_source and test_voltage_source: (source_mode, attribute, level).
SOURCE_TESTS = {
    "test_current_source": ("current", "source_current", 10e-3),
    "test_voltage_source": ("voltage", "source_voltage", 1),
}

#: test_setters_and_getters: (attribute, value) set after a reset and read back, no error.
SETTERS_AND_GETTERS = [
    ("source_enabled", True), ("source_enabled", False),
    ("source_mode", "voltage"), ("source_mode", "current"),
    ("source_delay", 0.1),
    ("source_delay_auto_enabled", True), ("source_delay_auto_enabled", False),
    ("auto_zero_enabled", True), ("auto_zero_enabled", True),
    ("output_off_state", "disconnected"), ("output_off_state", "normal"), ("output_off_state", "zero"),
    ("output_off_state", "guard"),
    ("auto_output_off_enabled", True), ("auto_output_off_enabled", False),
    ("filter_enabled", True), ("filter_enabled", False),
    ("repeat_filter_enabled", True), ("repeat_filter_enabled", False),
    ("filter_count", 10),
    ("current_range", 0.000105),
    ("current_range_auto_enabled", True), ("current_range_auto_enabled", False),
    ("current_nplc", 1.0),
    ("compliance_current", 0.01),
    ("source_current", 0.002),
    ("source_current_range", 0.0105),
    ("source_current_range_auto_enabled", True), ("source_current_range_auto_enabled", False),
    # ("voltage_range", 21),  # commented out in pymeasure: needs configuration after reset
    ("voltage_range_auto_enabled", True), ("voltage_range_auto_enabled", False),
    ("voltage_nplc", 1.0),
    ("compliance_voltage", 1.0),
    ("source_voltage", 1.5),
    ("source_voltage_range", 2.1),
    ("source_voltage_range_auto_enabled", True), ("source_voltage_range_auto_enabled", False),
    ("resistance_mode_auto_enabled", True), ("resistance_mode_auto_enabled", False),
    ("resistance_range", 2100.0),
    ("resistance_range_auto_enabled", True), ("resistance_range_auto_enabled", False),
    ("resistance_nplc", 1.0),
    ("trigger_delay", 0.5),
    ("arm_timer", 1.0),
    ("trigger_source", "immediate"), ("trigger_source", "trigger_link"),
    ("arm_source", "immediate"), ("arm_source", "trigger_link"), ("arm_source", "timer"),
    ("arm_source", "manual"), ("arm_source", "bus"),
    ("trigger_output_event", "source"), ("trigger_output_event", "delay"), ("trigger_output_event", "sense"),
    ("trigger_output_event", "none"),
    ("arm_output_event", "trigger_enter"), ("arm_output_event", "trigger_exit"), ("arm_output_event", "none"),
    ("trigger_input_line", 2), ("arm_input_line", 3), ("trigger_output_line", 4), ("arm_output_line", 1),
    ("display_enabled", True), ("display_enabled", False),
    ("four_wire_enabled", True), ("four_wire_enabled", False),
    ("line_frequency", 60),
    ("line_frequency_auto_enabled", True), ("line_frequency_auto_enabled", False),
    ("front_terminals_enabled", True), ("front_terminals_enabled", False),
]

#: Device tests outside what the emulator reproduces, with the reason.
DEVICE_SKIP = {}
