"""Helpers the emulator tests share: one exchange with an emulator, and a junction routed the way
the Bench routes it (within the bench's limits) and back."""

from __future__ import annotations

#: The read current (A) and the lock-in's sine (V rms) a routed junction gets by default.
READ_A, SINE_V = 1e-4, 0.14


def ask(emulator, line: str) -> str:
    """Send ``line`` and return the emulator's reply."""
    emulator.write(line)
    return emulator.read()


def route(lab, read_a=READ_A, sine_v=SINE_V):
    """Connect junction (0, 1) within the bench's limits: relay closed at zero, current ramped, then the sine."""
    lab.close_relay(0, 1)
    lab.set_read_source(level_a=0.0, compliance_v=0.5, output_on=True)
    for k in range(1, 11):
        lab.set_read_source(level_a=read_a * k / 10)
        lab.clock.sleep(0.01)
    lab.set_sine(sine_v)
    lab.clock.sleep(12 * lab.lockin.time_constant_s)


def unroute(lab):
    """Undo :func:`route`: the sine to its minimum, the current ramped down, every relay open."""
    lab.set_sine(0.004)
    level = lab.read.level_a
    for k in range(9, -1, -1):
        lab.set_read_source(level_a=level * k / 10)
        lab.clock.sleep(0.01)
    lab.set_read_source(output_on=False)
    lab.open_all_relays()
