"""Lock-in settings from a noise budget: frequency, time constant, modulation amplitude, wait.

A derivative measured by the lock-in differs from the device's dV/dI by four
errors. Relative to the device's peak derivative ``D = max |dV/dI|`` (the scale
a neuron's derivative is read against), each gets a quarter of the tolerance
``eps`` asked for (``measurement.derivative_tolerance``); docs/bench.md,
"Lock-in settings", gives the derivations.

- **Aperture** (eq. L1). The first harmonic of ``V(I0 + A sin wt)`` is
  ``A V' + A^3 V'''/8 + O(A^5)``: a relative error ``A^2 |V'''| / (8 |V'|)``.
  A sigmoid response ``V = V0 + h tanh((I - I0)/g)`` has ``|V'''/V'| = 2/g^2`` at
  its centre, so ``eps_ap = A^2 / (4 g^2)`` and the largest amplitude within
  budget is ``A = g sqrt(eps)``.
- **Noise** (eq. L2). X carries the chip's voltage noise density ``e_n`` (V/sqrt(Hz),
  at the modulation frequency) over the filter's equivalent noise bandwidth:
  ``sigma_X = e_n sqrt(ENBW)``, ``ENBW = c_n / tau``. The signal at the peak is
  ``X = D A / sqrt(2)`` (V rms), so ``eps_n = sqrt(2) e_n sqrt(c_n / tau) / (D A)``.
  More amplitude means less noise and more aperture error: the amplitude is the
  largest the aperture allows, and tau the shortest that keeps the noise in budget.
- **Ripple** (eq. L3). Demodulation leaves a component at 2f of the size of the
  signal; an n-pole filter passes ``|H(2f)| = (1 + (4 pi f tau)^2)^(-n/2)`` of it.
- **Settling** (eq. L4). After a step the filter output still lacks
  ``1 - S(t/tau)`` of it, S the n-pole step response. A step is at most the full
  derivative scale, so the wait is the shortest ``t`` with ``1 - S <= eps/4``.

The frequency (eq. L5) is chosen so that the lock-in settles within one
source-meter integration (``12 tau <= t_int`` at 24 dB/oct): the two then cost
about the same and neither dominates the point, while staying at most a tenth
of the field line's bandwidth (the modulation reaches the device undistorted),
within the lock-in's range, and off the mains harmonics.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .timing import ENBW_TIMES_TAU, step_response_remaining

#: Share of the tolerance each of the four errors may take.
SHARE = 0.25
#: The modulation stays below this fraction of the field line's bandwidth (its
#: amplitude is then within 0.5 % of the DC value for a one-pole line).
BANDWIDTH_FRACTION = 0.1
#: Keep this far (Hz) from every harmonic of the mains, where pickup sits.
MAINS_CLEARANCE_HZ = 5.0


@dataclass(frozen=True)
class LockinLimits:
    """What the lock-in can do: reference frequency range (Hz), time-constant ladder (s), sine range (V rms)."""

    min_frequency_hz: float
    max_frequency_hz: float
    time_constants_s: tuple[float, ...]
    min_sine_v_rms: float
    max_sine_v_rms: float


@dataclass(frozen=True)
class LockinPlan:
    """Chosen settings and the error each part of the budget is predicted to contribute (relative to D)."""

    frequency_hz: float
    time_constant_s: float
    slope_db_per_oct: int
    modulation_peak_a: float
    settle_s: float
    tolerance: float
    noise_density_v_per_rthz: float
    input_scale_a: float
    peak_derivative_v_per_a: float
    aperture_error: float
    noise_error: float
    ripple_error: float
    settling_error: float

    @property
    def predicted_error(self) -> float:
        """The four errors added as independent (root sum of squares), relative to the peak derivative."""
        return math.sqrt(self.aperture_error**2 + self.noise_error**2 + self.ripple_error**2
                         + self.settling_error**2)

    def as_dict(self) -> dict[str, float]:
        values = asdict(self)
        values["predicted_error"] = self.predicted_error
        return values

    def describe(self) -> str:
        return (f"lock-in at {self.frequency_hz:g} Hz, tau {self.time_constant_s * 1e6:g} us "
                f"({self.slope_db_per_oct} dB/oct, wait {self.settle_s * 1e3:.3g} ms), modulation "
                f"{self.modulation_peak_a * 1e3:.3g} mA peak: predicted derivative error "
                f"{100 * self.predicted_error:.2g} % of the peak (asked {100 * self.tolerance:g} %)")


def aperture_error(amplitude_a: float, input_scale_a: float) -> float:
    """Eq. L1: relative first-harmonic error of a tanh response of input scale g at its centre."""
    return amplitude_a**2 / (4.0 * input_scale_a**2)


def noise_error(noise_density_v_per_rthz: float, time_constant_s: float, slope_db_per_oct: int,
                peak_derivative_v_per_a: float, amplitude_a: float) -> float:
    """Eq. L2: rms noise of X over the peak signal X = D A / sqrt(2)."""
    enbw_hz = ENBW_TIMES_TAU[int(slope_db_per_oct)] / time_constant_s
    signal_v_rms = peak_derivative_v_per_a * amplitude_a / math.sqrt(2.0)
    return noise_density_v_per_rthz * math.sqrt(enbw_hz) / signal_v_rms


def ripple_error(frequency_hz: float, time_constant_s: float, slope_db_per_oct: int) -> float:
    """Eq. L3: the 2f component an n-pole filter lets through, relative to the signal."""
    poles = int(slope_db_per_oct) // 6
    return (1.0 + (4.0 * math.pi * frequency_hz * time_constant_s) ** 2) ** (-poles / 2.0)


def settle_time_s(time_constant_s: float, slope_db_per_oct: int, remaining: float) -> float:
    """Eq. L4: the shortest wait after a step that leaves at most ``remaining`` of it (bisection on S)."""
    low, high = 0.0, 1.0
    while step_response_remaining(high, slope_db_per_oct) > remaining:
        high *= 2.0
    for _ in range(60):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if step_response_remaining(middle, slope_db_per_oct) > remaining else (low, middle)
    return high * time_constant_s


def choose_frequency(integration_time_s: float, slope_db_per_oct: int, tolerance: float,
                     field_line_bandwidth_hz: float, limits: LockinLimits, line_frequency_hz: float) -> float:
    """Eq. L5: the frequency at which the longest time constant on the lock-in's ladder that settles within
    one integration still meets the ripple budget (bounded by the line's bandwidth and the lock-in)."""
    wait_per_tau = settle_time_s(1.0, slope_db_per_oct, SHARE * tolerance)
    ladder = sorted(limits.time_constants_s)
    tau = max((t for t in ladder if t * wait_per_tau <= integration_time_s), default=ladder[0])
    poles = int(slope_db_per_oct) // 6
    # (1 + (4 pi f tau)^2)^(-n/2) <= eps/4  <=>  4 pi f tau >= sqrt((eps/4)^(-2/n) - 1)
    wanted = math.sqrt((SHARE * tolerance) ** (-2.0 / poles) - 1.0) / (4.0 * math.pi * tau)
    ceiling = min(limits.max_frequency_hz, BANDWIDTH_FRACTION * field_line_bandwidth_hz)
    frequency = float(math.floor(ceiling)) if wanted >= ceiling else float(
        math.ceil(max(wanted, limits.min_frequency_hz)))
    harmonic = round(frequency / line_frequency_hz) * line_frequency_hz
    if abs(frequency - harmonic) < MAINS_CLEARANCE_HZ:  # off the mains harmonic, downwards if at the top
        up = harmonic + MAINS_CLEARANCE_HZ
        frequency = up if up <= ceiling else harmonic - MAINS_CLEARANCE_HZ
    return frequency


def plan_lockin(*, tolerance: float, slope_db_per_oct: int, limits: LockinLimits, field_line_bandwidth_hz: float,
                integration_time_s: float, line_frequency_hz: float, noise_density_v_per_rthz: float,
                input_scale_a: float, peak_derivative_v_per_a: float, modulation_resistor_ohm: float,
                max_modulation_peak_a: float) -> LockinPlan:
    """The settings that keep each error within a quarter of ``tolerance`` (see the module docstring).

    ``noise_density_v_per_rthz``: the chip's measured noise at (or near) the
    chosen frequency; ``input_scale_a`` (g) and ``peak_derivative_v_per_a`` (D)
    describe the response (from a calibration or a probe sweep).
    """
    if not 0 < tolerance < 1:
        raise ValueError(f"derivative tolerance must be between 0 and 1, not {tolerance!r}")
    frequency = choose_frequency(integration_time_s, slope_db_per_oct, tolerance, field_line_bandwidth_hz, limits,
                                 line_frequency_hz)
    # Amplitude: the aperture's share, within what the sine output and the limits allow.
    sine_to_peak = math.sqrt(2.0) / modulation_resistor_ohm
    amplitude = input_scale_a * math.sqrt(4.0 * SHARE * tolerance)
    amplitude = min(amplitude, max_modulation_peak_a, limits.max_sine_v_rms * sine_to_peak)
    amplitude = max(amplitude, limits.min_sine_v_rms * sine_to_peak)
    # Time constant: the shortest on the ladder meeting both the ripple and the noise shares.
    candidates = sorted(limits.time_constants_s)
    tau = next((t for t in candidates
                if ripple_error(frequency, t, slope_db_per_oct) <= SHARE * tolerance
                and noise_error(noise_density_v_per_rthz, t, slope_db_per_oct, peak_derivative_v_per_a,
                                amplitude) <= SHARE * tolerance), candidates[-1])
    settle = settle_time_s(tau, slope_db_per_oct, SHARE * tolerance)
    return LockinPlan(
        frequency_hz=frequency, time_constant_s=tau, slope_db_per_oct=int(slope_db_per_oct),
        modulation_peak_a=amplitude, settle_s=settle, tolerance=tolerance,
        noise_density_v_per_rthz=noise_density_v_per_rthz, input_scale_a=input_scale_a,
        peak_derivative_v_per_a=peak_derivative_v_per_a,
        aperture_error=aperture_error(amplitude, input_scale_a),
        noise_error=noise_error(noise_density_v_per_rthz, tau, slope_db_per_oct, peak_derivative_v_per_a, amplitude),
        ripple_error=ripple_error(frequency, tau, slope_db_per_oct),
        settling_error=step_response_remaining(settle / tau, slope_db_per_oct),
    )
