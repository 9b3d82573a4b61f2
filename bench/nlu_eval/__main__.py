"""``python -m bench.nlu_eval``: see the package docstring and ``--help``."""

import sys

from bench.nlu_eval.cli import main

sys.exit(main())
