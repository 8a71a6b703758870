"""``mtjlab gui [--bench FILE|model] [--run DIR]``: the lab window.

Nothing here imports Qt: the command first checks that PyQt5 and pyqtgraph
can be imported and that there is a display to draw on, and says in one line
how to fix it if not (exit 2); only then does it import :mod:`mtjlab.gui`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

from .errors import ConfigError, MtjlabError

MODEL = "model"


class GuiUnavailable(MtjlabError):
    """The GUI cannot start here (a missing package or no display)."""


def add_gui_parser(sub: argparse._SubParsersAction) -> None:
    gui = sub.add_parser("gui", help="the lab window: the bench, sweeps, training and replay")
    gui.add_argument("--bench", metavar="FILE|model", default="",
                     help="bench YAML file to connect (default: the packaged simulated bench; "
                          "'model': the physics model, no instruments)")
    gui.add_argument("--run", type=Path, metavar="DIR", help="a run directory to open in the Replay tab")
    gui.set_defaults(func=cmd_gui)


def check_gui_available() -> None:
    """Raise GuiUnavailable (one line naming the fix) unless the window can open here."""
    missing = [name for name in ("PyQt5", "pyqtgraph") if importlib.util.find_spec(name) is None]
    if missing:
        raise GuiUnavailable(f"gui: {' and '.join(missing)} not installed; install them with: "
                             f"pip install 'mtjlab[gui]'")
    headless = os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal", "vnc")
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if sys.platform.startswith("linux") and not (headless or has_display):
        raise GuiUnavailable("gui: no display to open a window on (DISPLAY is not set); run it on a desktop, "
                             "or set QT_QPA_PLATFORM=offscreen to run without one")


def cmd_gui(args: argparse.Namespace) -> int:
    bench = str(args.bench or "")
    if bench and bench != MODEL:
        from .safe_files import CONFIG_MAX_BYTES, check_regular_file

        check_regular_file(bench, what="a bench file", max_bytes=CONFIG_MAX_BYTES, error_class=ConfigError)
    if args.run is not None and not args.run.is_dir():
        raise ConfigError(f"{args.run}: not a run directory (no such folder)")
    check_gui_available()
    from .gui.app import run

    return run(bench, args.run)
