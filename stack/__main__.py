"""`python -m stack`: action server + engine + gateway, supervised (see `stack.cli`)."""

import sys

from stack.cli import run

sys.exit(run())
