"""``python -m mtjlab``: the same as the ``mtjlab`` command."""

import sys

from mtjlab.cli import main

if __name__ == "__main__":
    sys.exit(main())
