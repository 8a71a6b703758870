"""What each action of a Keithley 2400 / 2450 costs on the lab clock, and the instrument facts
the trigger model and the data store depend on. One place, each with its source, so that the
bench documentation can cite them.

Sources: "2400 manual" is the Keithley Series 2400 SourceMeter User's Manual (2400S-900-01);
"2450 manual" the Model 2450 Interactive SourceMeter Reference Manual (2450-901-01).
"""

from __future__ import annotations

#: Source-delay-measure cycle timing (2400 manual, Appendix A, "Source-delay-measure cycle
#: timing", Cases I and III, one measure function): each A/D conversion takes NPLC / line
#: frequency plus AD_CONVERSION_OVERHEAD_S; with auto-zero on, a measure action makes three
#: conversions (signal, reference, zero), with it off one; the firmware adds its overhead per
#: action, by source function and auto-zero.
AD_CONVERSION_OVERHEAD_S = 185e-6
CONVERSIONS_PER_READING = {True: 3, False: 1}
FIRMWARE_OVERHEAD_S = {("CURR", True): 2.15e-3, ("VOLT", True): 1.8e-3,
                       ("CURR", False): 640e-6, ("VOLT", False): 300e-6}
#: Source configuration, per source action (Appendix A, Cases I-IV: 50 us max).
SOURCE_CONFIGURATION_S = 50e-6
#: Trigger latency: from a trigger event to the start of the device action, for an immediate
#: trigger (2400 manual, section 6, Figure 6-1: "Trigger Latency (100 us)") and for a Trigger
#: Link input (Appendix A, Cases I-IV, "externally via the Trigger Link": 225 us max).
TRIGGER_LATENCY_S = 100e-6
TRIGGER_LINK_LATENCY_S = 225e-6
#: Source auto delay by current range (A -> s), current source and voltage source
#: (2400 manual, section 3 "Source delay", Table 3-4: 1, 2 or 3 ms by range and function;
#: the same values are in the 2450 manual, section 2 "Source delay", table of auto delays).
AUTO_DELAY_CURRENT_SOURCE_S = {1e-6: 0.003, 1e-5: 0.002, 1e-4: 0.001, 1e-3: 0.001, 1e-2: 0.001,
                               1e-1: 0.001, 1.0: 0.002}
AUTO_DELAY_VOLTAGE_SOURCE_S = {1e-6: 0.003, 1e-5: 0.002, 1e-4: 0.001, 1e-3: 0.001, 1e-2: 0.001,
                               1e-1: 0.001, 1.0: 0.001}
#: The source delay the 2400 reads back after *RST, s (pymeasure's
#: tests/instruments/keithley/test_keithley2400_with_device.py, test_reset: 0.001,
#: "Different to manual", which lists 0).
RESET_SOURCE_DELAY_S = 0.001
#: Largest manual source delay and trigger delay, s (2400 manual, :SOURce:DELay and
#: :TRIGger:DELay, 0 to 999.9999 s).
MAX_DELAY_S = 999.9999
#: Arm-layer timer range, s (2400 manual, :ARM:TIMer, 0.001 to 99999.99 s).
ARM_TIMER_RANGE_S = (0.001, 99999.99)
#: Most points in a source list (2400 manual, :SOURce:LIST:CURRent, "up to 100").
MAX_LIST_POINTS = 100
#: Data store size and the largest arm count x trigger count (2400 manual, section 9 "Data
#: store": 1 to 2500 readings; :TRIGger:COUNt, the product of the counts cannot exceed 2500).
MAX_BUFFER_POINTS = 2500
MAX_TRIGGER_PRODUCT = 2500
#: Trigger Link lines the 2400 can use for input and output (2400 manual, :TRIGger:ILINe /
#: :OLINe, 1 to 4).
TRIGGER_LINK_LINES = (1, 2, 3, 4)
#: Storing a reading in the data store, s. The 2400 manual gives no separate figure (storage
#: runs alongside the next conversion), so it costs nothing here.
BUFFER_STORE_S = 0.0
#: Sustained GPIB transfer rate for a block of readings (:TRAC:DATA?, :FETC?), bytes/s. IEEE
#: 488.1's three-wire handshake tops out at 1 Mbyte/s; the 2400 is a 488.1 instrument and its
#: manual states no faster rate, so the charge below is a lower bound on the real transfer.
GPIB_BYTES_PER_S = 1.0e6


def measure_action_s(nplc: float, line_frequency_hz: float, source_function: str, auto_zero: bool) -> float:
    """Lab time of one measure action (s), Appendix A: conversions x (NPLC / f + 185 us) + firmware."""
    conversion_s = nplc / line_frequency_hz + AD_CONVERSION_OVERHEAD_S
    return CONVERSIONS_PER_READING[auto_zero] * conversion_s + FIRMWARE_OVERHEAD_S[(source_function, auto_zero)]


def transfer_time_s(reply: str) -> float:
    """Bus time of a reply of ``reply``'s length beyond the one transaction already charged."""
    return len(reply) / GPIB_BYTES_PER_S


def auto_delay_s(source_function: str, current_range_a: float) -> float:
    """The auto source delay (s) for a source function on a current range (2400 manual, Table 3-4)."""
    table = AUTO_DELAY_CURRENT_SOURCE_S if source_function == "CURR" else AUTO_DELAY_VOLTAGE_SOURCE_S
    for range_a in sorted(table):
        if current_range_a <= range_a * 1.05:
            return table[range_a]
    return table[max(table)]
