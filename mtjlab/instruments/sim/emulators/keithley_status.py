"""The 2400's reading: its data elements (:FORMat:ELEMents) and status word.

2400 manual, section 18, ":FORMat:ELEMents <item list>": the elements are VOLTage, CURRent,
RESistance, TIME and STATus; a reading holds the selected ones only, always in that order
whatever the order they were sent in. A value the instrument did not measure reads as its NAN,
+9.91e37; an overflow as +9.9e37.

The status word (same section, "STATus" element) is a float whose integer bits are:
"""

from __future__ import annotations

from dataclasses import dataclass

#: Status word bits (2400 manual, :FORMat:ELEMents, status word), bit number -> meaning.
STATUS_BITS = {
    0: "OFLO: measurement overflow",
    1: "Filter: the filter is enabled",
    2: "Front/Rear: front terminals selected",
    3: "Compliance: in real compliance",
    4: "OVP: over voltage protection limit reached",
    5: "Math: math expression (calc1) enabled",
    6: "Null: null (rel) enabled",
    7: "Limits: a limit test (calc2) enabled",
    8: "Limit results (with bit 9)",
    9: "Limit results (with bit 8)",
    10: "Auto-ohms: auto ohms enabled",
    11: "V-Meas: voltage measurement enabled",
    12: "I-Meas: current measurement enabled",
    13: "Ohms-Meas: resistance measurement enabled",
    14: "V-Sour: voltage source used",
    15: "I-Sour: current source used",
    16: "Range compliance: in range compliance",
    17: "Offset compensation: offset compensated ohms enabled",
    18: "Contact check failure",
    19: "Limit results (bits 19..21)",
    22: "Remote sense: 4-wire remote sense selected",
    23: "Pulse mode (2430 only)",
}
OVERFLOW_BIT, FILTER_BIT, FRONT_BIT, COMPLIANCE_BIT = 0, 1, 2, 3
AUTO_OHMS_BIT, V_MEAS_BIT, I_MEAS_BIT, R_MEAS_BIT, V_SOUR_BIT, I_SOUR_BIT, RANGE_COMPLIANCE_BIT = 10, 11, 12, 13, 14, 15, 16
REMOTE_SENSE_BIT = 22

#: The 2400's elements, in the order a reading holds them.
ELEMENTS = ("VOLT", "CURR", "RES", "TIME", "STAT")
_LONG = ("VOLTAGE", "CURRENT", "RESISTANCE", "TIME", "STATUS")
#: The 2400's NAN (not measured) and overflow readings.
NOT_MEASURED, OVERFLOW = 9.91e37, 9.9e37


def parse_elements(argument: str | None) -> tuple[str, ...]:
    """``VOLTAGE, CURRENT,...`` -> the selected elements in the manual's order (ValueError if unknown)."""
    chosen = set()
    for item in (argument or "").split(","):
        word = item.strip().upper()
        match = next((e for e, long in zip(ELEMENTS, _LONG) if word.startswith(e) and long.startswith(word)), None)
        if match is None:
            raise ValueError(f"unknown element {item!r}")
        chosen.add(match)
    return tuple(e for e in ELEMENTS if e in chosen)


@dataclass
class Reading:
    """One measure action's result, before formatting."""

    voltage_v: float
    current_a: float
    resistance_ohm: float
    time_s: float
    status: int

    def values(self, elements: tuple[str, ...]) -> list[float]:
        table = {"VOLT": self.voltage_v, "CURR": self.current_a, "RES": self.resistance_ohm,
                 "TIME": self.time_s, "STAT": float(self.status)}
        return [table[e] for e in elements]


def format_reading(reading: Reading, elements: tuple[str, ...]) -> str:
    return ",".join(f"{v:+.6E}" for v in reading.values(elements))


def status_word(*, overflow: bool, filter_on: bool, front: bool, compliance: bool, auto_ohms: bool,
                functions: list[str], source: str, range_compliance: bool, remote_sense: bool) -> int:
    """The status word of a reading (2400 manual, :FORMat:ELEMents STATus)."""
    bits = {
        OVERFLOW_BIT: overflow, FILTER_BIT: filter_on, FRONT_BIT: front, COMPLIANCE_BIT: compliance,
        AUTO_OHMS_BIT: auto_ohms and "RES" in functions,
        V_MEAS_BIT: "VOLT" in functions, I_MEAS_BIT: "CURR" in functions, R_MEAS_BIT: "RES" in functions,
        V_SOUR_BIT: source == "VOLT", I_SOUR_BIT: source == "CURR",
        RANGE_COMPLIANCE_BIT: range_compliance, REMOTE_SENSE_BIT: remote_sense,
    }
    return sum(1 << bit for bit, on in bits.items() if on)
