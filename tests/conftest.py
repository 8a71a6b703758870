"""Test-wide settings: Qt and matplotlib run headless; every virtual lab is watched.

Every :class:`~mtjlab.instruments.sim.lab.VirtualLab` carries a safety monitor
(:mod:`mtjlab.instruments.sim.safety_monitor`). The autouse fixture below fails
any test after which a lab created in this process has recorded a violation the
suite has not seen yet, so every test on the simulated bench is also a safety
test. A test that drives the lab beyond the bench's limits on purpose says so
with ``@pytest.mark.unsafe_lab("reason")``: what it records is then dropped.
"""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")


def _listing(violations) -> str:
    shown = [f"  {v}" for v in violations[:20]]
    if len(violations) > 20:
        shown.append(f"  ... and {len(violations) - 20} more")
    return "\n".join(shown)


@pytest.fixture(autouse=True)
def safe_virtual_lab(request):
    """Fail the test if any virtual lab recorded a safety violation during it.

    Violations recorded between two tests (while wider-scoped fixtures were set
    up for this one, or torn down after the previous one) count for this test.
    """
    from mtjlab.instruments.sim import safety_monitor

    before = safety_monitor.take_new_violations()
    yield
    violations = before + safety_monitor.take_new_violations()
    if violations and request.node.get_closest_marker("unsafe_lab") is None:
        pytest.fail(f"{len(violations)} safety violation(s) in the virtual lab:\n{_listing(violations)}",
                    pytrace=False)
