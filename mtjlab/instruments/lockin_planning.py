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

The physics model of a bench's chip (:class:`~.model_array.ModelNeuronArray`)
plans the same way from the same bench file (:func:`plan_on_model`), with the
figures the model knows: the probe sweep on the noiseless model, and the
noise density of its closed forms (docs/physics.md, eqs. N1, N2) at the
chosen frequency instead of a spread of readings.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from ..errors import MtjlabError
from .limits import SafetyLimits
from .noise_budget import SHARE, LockinLimits, LockinPlan, choose_frequency, plan_lockin, ripple_error
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


def integration_time_s(config: Any) -> float:
    """The read source-meter's integration time (s) on bench file ``config``: NPLC over the mains frequency."""
    wiring = config.wiring
    return wiring.source_nplc / wiring.line_frequency_hz


def lockin_limits_of(config: Any) -> LockinLimits:
    """What the lock-in of bench file ``config`` can do, without connecting to it: what
    :meth:`.Bench.lockin_limits` reads from its driver (range and sine from the model's table,
    the time-constant ladder from pymeasure's driver), within ``limits.max_modulation_v_rms``."""
    from pymeasure.instruments.srs import SR830, SR860

    from ..config.instrument_models import MODELS

    model = config.instrument("lockin").model
    spec = MODELS[model]
    ladder = {"SR830": SR830, "SR860": SR860}[model].TIME_CONSTANTS
    return LockinLimits(float(spec.freq_min_hz), float(spec.freq_max_hz), tuple(sorted(float(t) for t in ladder)),
                        float(spec.sine_min_v_rms), min(float(spec.sine_max_v_rms), config.limits.max_modulation_v_rms))


def planned_frequency(config: Any, limits: LockinLimits, slope_db_per_oct: int) -> float:
    """The frequency the plan of bench file ``config`` chooses (eq. L5): where its noise is to be known."""
    wiring = config.wiring
    return choose_frequency(integration_time_s(config), slope_db_per_oct,
                            float(config.measurement.derivative_tolerance), wiring.field_line_bandwidth_hz, limits,
                            wiring.line_frequency_hz)


def plan_from_figures(config: Any, limits: LockinLimits, slope_db_per_oct: int, input_scale_a: float,
                      peak_derivative_v_per_a: float, noise_density_v_per_rthz: float) -> LockinPlan:
    """:func:`~.noise_budget.plan_lockin` for bench file ``config`` with the response's figures (g, D, e_n)."""
    wiring = config.wiring
    safety = SafetyLimits.from_bench(config)
    return plan_lockin(tolerance=float(config.measurement.derivative_tolerance), slope_db_per_oct=slope_db_per_oct,
                       limits=limits, field_line_bandwidth_hz=wiring.field_line_bandwidth_hz,
                       integration_time_s=integration_time_s(config), line_frequency_hz=wiring.line_frequency_hz,
                       noise_density_v_per_rthz=noise_density_v_per_rthz, input_scale_a=input_scale_a,
                       peak_derivative_v_per_a=peak_derivative_v_per_a,
                       modulation_resistor_ohm=safety.modulation_resistor_ohm,
                       max_modulation_peak_a=largest_modulation_a(safety))


def plan_on_bench(array: Any, devices: list[str]) -> LockinPlan:
    """Measure the figures of the budget on the first device of ``devices`` that responds, and plan."""
    bench = array.bench
    config = bench.config
    tolerance = float(config.measurement.derivative_tolerance)
    limits = bench.lockin_limits()
    _, _, slope = bench.lockin_timing()
    frequency = planned_frequency(config, limits, slope)
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
    plan = plan_from_figures(config, limits, slope, input_scale_a, peak_derivative, noise_density)
    log.info("%s (measured on %s: g %.3g mA, peak dV/dI %.3g V/A, noise %.3g nV/rtHz)", plan.describe(), device,
             input_scale_a * 1e3, peak_derivative, noise_density * 1e9)
    return plan


def plan_on_model(array: Any, config: Any, devices: list[str]) -> LockinPlan:
    """The plan a bench of ``config`` would make, from the physics model ``array`` of its chip
    (a :class:`~.model_array.ModelNeuronArray`): the probe sweep of :func:`plan_on_bench` on the
    noiseless model of the first device of ``devices`` that responds, and the chip's noise density
    at the loudest input of the sweep at the planned frequency (eqs. N1, N2)."""
    slope = int(config.wiring.lockin_slope_db_per_oct)
    limits = lockin_limits_of(config)
    frequency = planned_frequency(config, limits, slope)
    low, high = array.input_range_a
    inputs = np.linspace(PROBE_SPAN * low, PROBE_SPAN * high, PROBE_POINTS)
    for device in devices:
        outputs, derivatives = array.noiseless_response(device, inputs)
        shape = _response_scale(inputs, outputs, derivatives)
        if shape is not None:
            break
    else:
        raise MtjlabError("the lock-in settings could not be planned: no device of the model responded to the "
                          "probe sweep")
    input_scale_a, peak_derivative, _ = shape
    loudest_v = float(outputs[int(np.argmax(np.abs(outputs)))])  # where the 1/f noise is largest, as on a bench
    noise_density = array.noise_density_v_per_rthz(loudest_v, frequency)
    plan = plan_from_figures(config, limits, slope, input_scale_a, peak_derivative, max(noise_density, 1e-12))
    log.info("%s (from the model of %s: g %.3g mA, peak dV/dI %.3g V/A, noise %.3g nV/rtHz)", plan.describe(),
             device, input_scale_a * 1e3, peak_derivative, noise_density * 1e9)
    return plan


def apply_plan(bench: Any, plan: LockinPlan) -> None:
    """Put the plan's frequency, time constant and modulation on the bench (through its checks)."""
    bench.set_lockin(plan.frequency_hz, plan.time_constant_s)
    bench.set_modulation(plan.modulation_peak_a)


def applied_modulation_peak_a(config: Any, peak_a: float) -> float:
    """The modulation peak (A) the lock-in of bench file ``config`` puts out when :func:`apply_plan` asks for
    ``peak_a``: its sine as the driver formats it and the instrument rounds it
    (:meth:`.SRSLockIn.applied_amplitude_v`, through the modulation resistor)."""
    from ..config.instrument_models import MODELS
    from .adapters.lockin import SINE_FORMAT, SINE_RESOLUTION_V
    from .quantise import as_sent, on_grid

    model = config.instrument("lockin").model
    spec = MODELS[model]
    safety = SafetyLimits.from_bench(config)
    low, high = float(spec.sine_min_v_rms), float(spec.sine_max_v_rms)
    v_rms = peak_a * safety.modulation_resistor_ohm / math.sqrt(2.0)
    sent = as_sent(min(max(v_rms, low), high), SINE_FORMAT[model])
    return safety.modulation_peak_a(min(max(on_grid(sent, SINE_RESOLUTION_V[model]), low), high))


def largest_modulation_a(limits: SafetyLimits) -> float:
    """The largest modulation peak the limits allow with the input at zero (A)."""
    return min(limits.modulation_peak_a(limits.max_modulation_v_rms), limits.max_input_current_a)


def _response_scale(inputs: np.ndarray, outputs: Any, derivatives: Any) -> tuple[float, float, float] | None:
    """(g, D, loudest input) of a probe sweep: g = span / (2 D) of a tanh-shaped response, D its peak
    |dV/dI|, and the input where |V| (so the 1/f noise) is largest; None when it shows no response."""
    peak = float(np.max(np.abs(derivatives)))
    span = float(np.max(outputs) - np.min(outputs))
    if not (peak > 0 and span > 0 and math.isfinite(peak) and math.isfinite(span)):
        return None
    return span / (2.0 * peak), peak, float(inputs[int(np.argmax(np.abs(outputs)))])


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
    shape = _response_scale(inputs, outputs, derivatives)
    if shape is None:
        bench.set_input_current(0.0)
        return None
    input_scale_a, peak, loudest = shape
    bench.set_input_current(loudest)
    _, tau, slope = bench.lockin_timing()
    ys = []
    for _ in range(NOISE_SAMPLES):
        bench.clock.sleep(NOISE_SPACING_TAU * tau)
        ys.append(bench.read_point(settle=False).y_v_rms)
    bench.set_input_current(0.0)
    sigma_y = float(np.std(ys, ddof=1))
    noise_density = sigma_y / math.sqrt(ENBW_TIMES_TAU[slope] / tau)
    return input_scale_a, peak, max(noise_density, 1e-12)
