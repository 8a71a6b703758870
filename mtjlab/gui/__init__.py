"""The PyQt5 + pyqtgraph bench application (the only place Qt is imported)."""

import logging

# pymeasure's display package warns at import that its optional network listeners
# (ZMQ, cloudpickle) are missing; mtjlab does not use them, so the warning is noise.
logging.getLogger("pymeasure.display.listeners").setLevel(logging.ERROR)
