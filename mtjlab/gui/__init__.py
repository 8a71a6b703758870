"""The PyQt5 + pyqtgraph bench application (the only place Qt is imported)."""
