"""The noise budget of :mod:`.noise_budget`, measured on the chip: the lock-in settings a bench uses.

With ``measurement.lockin_settings: auto`` (the default), a NeuronArray on a
Bench plans its lock-in once, when it is prepared:

1. the frequency from the source-meter's integration time, the field line's
   bandwidth and the lock-in's range (eq. L5), with the time constant the
   ripple allows there;
2. a probe sweep of one live device (:data:`PROBE_POINTS` inputs across the
   safe range) gives the response's scale: its peak derivative ``D`` and its
   output span, hence the input scale ``g = span / (2 D)`` of a tanh-shaped
   response (``span = 2h``, ``D = h/g``);
3. the chip's noise density at that frequency, from the scatter of the
   lock-in's Y output (the quadrature, where a resistive junction gives no
   signal) over :data:`NOISE_SAMPLES` independent readings at the input where
   the junction's voltage, and so its 1/f noise, is largest;
4. :func:`~.noise_budget.plan_lockin` with these figures, then the settings
   are applied (frequency, time constant, sine amplitude) and every later point
   waits the plan's settling time.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from ..errors import MtjlabError
from .noise_budget import SHARE, LockinPlan, choose_frequency, plan_lockin, ripple_error
from .timing import ENBW_TIMES_TAU

log = logging.getLogger(__name__)

#: Inputs of the probe sweep (odd, so that the centre of the range is one of them).
PROBE_POINTS = 9
#: Span of the probe sweep, as a fraction of the safe input range (as the calibration's).
PROBE_SPAN = 0.9
#: Independent lock-in readings for the noise estimate (their spread has ~18 % scatter).
NOISE_SAMPLES = 16
#: Readings of the noise estimate are this many time constants apart (independent).
NOISE_SPACING_TAU = 5.0


def integration_time_s(bench: Any) -> float:
    """The read source-meter's integration time (s): NPLC over the mains frequency."""
    wiring = bench.config.wiring
    return wiring.source_nplc / wiring.line_frequency_hz


def plan_on_bench(array: Any, devices: list[str]) -> LockinPlan:
    """Measure the figures of the budget on the first device of ``devices`` that responds, and plan."""
    bench = array.bench
    config = bench.config
    tolerance = float(config.measurement.derivative_tolerance)
    limits = bench.lockin_limits()
    _, _, slope = bench.lockin_timing()
    wiring = config.wiring
    frequency = choose_frequency(integration_time_s(bench), slope, tolerance, wiring.field_line_bandwidth_hz,
                                 limits, wiring.line_frequency_hz)
    probe_tau = next((t for t in sorted(limits.time_constants_s)
                      if ripple_error(frequency, t, slope) <= SHARE * tolerance), max(limits.time_constants_s))
    bench.set_lockin(frequency, probe_tau)
    for device in devices:
        figures = _probe(array, device)
        if figures is not None:
            break
    else:
        raise MtjlabError("the lock-in settings could not be planned: no device responded to the probe sweep")
    input_scale_a, peak_derivative, noise_density = figures
    plan = plan_lockin(tolerance=tolerance, slope_db_per_oct=slope, limits=limits,
                       field_line_bandwidth_hz=wiring.field_line_bandwidth_hz,
                       integration_time_s=integration_time_s(bench), line_frequency_hz=wiring.line_frequency_hz,
                       noise_density_v_per_rthz=noise_density, input_scale_a=input_scale_a,
                       peak_derivative_v_per_a=peak_derivative,
                       modulation_resistor_ohm=bench.limits.modulation_resistor_ohm,
                       max_modulation_peak_a=_largest_modulation_a(bench))
    log.info("%s (measured on %s: g %.3g mA, peak dV/dI %.3g V/A, noise %.3g nV/rtHz)", plan.describe(), device,
             input_scale_a * 1e3, peak_derivative, noise_density * 1e9)
    return plan


def apply_plan(bench: Any, plan: LockinPlan) -> None:
    """Put the plan's frequency, time constant and modulation on the bench (through its checks)."""
    bench.set_lockin(plan.frequency_hz, plan.time_constant_s)
    bench.set_modulation(plan.modulation_peak_a)


def _largest_modulation_a(bench: Any) -> float:
    """The largest modulation peak the limits allow with the input at zero (A)."""
    limits = bench.limits
    return min(limits.modulation_peak_a(limits.max_modulation_v_rms), limits.max_input_current_a)


def _probe(array: Any, device: str) -> tuple[float, float, float] | None:
    """(g, D, e_n) of ``device``: input scale (A), peak derivative (V/A), noise density (V/rtHz); None if dead."""
    bench = array.bench
    low, high = array.input_range_a
    inputs = np.linspace(PROBE_SPAN * low, PROBE_SPAN * high, PROBE_POINTS)
    outputs, derivatives = [], []
    for current in inputs:
        point = array.measure_point(device, float(current))
        if point.dead:
            bench.set_input_current(0.0)
            return None
        outputs.append(point.output_v)
        derivatives.append(abs(point.derivative_v_per_a))
    peak = max(derivatives)
    span = max(outputs) - min(outputs)
    if not (peak > 0 and span > 0 and math.isfinite(peak) and math.isfinite(span)):
        bench.set_input_current(0.0)
        return None
    loudest = float(inputs[int(np.argmax(np.abs(outputs)))])
    bench.set_input_current(loudest)
    _, tau, slope = bench.lockin_timing()
    ys = []
    for _ in range(NOISE_SAMPLES):
        bench.clock.sleep(NOISE_SPACING_TAU * tau)
        ys.append(bench.read_point(settle=False).y_v_rms)
    bench.set_input_current(0.0)
    sigma_y = float(np.std(ys, ddof=1))
    noise_density = sigma_y / math.sqrt(ENBW_TIMES_TAU[slope] / tau)
    return span / (2.0 * peak), peak, max(noise_density, 1e-12)
