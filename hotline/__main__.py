"""`python -m hotline ...` is the command line (see hotline/cli.py)."""

import sys

from hotline.cli import main

sys.exit(main())
