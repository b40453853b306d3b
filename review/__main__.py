"""``python -m review``: see :mod:`review.cli`."""

import sys

from review.cli import close_event_loops, main

code = main()
close_event_loops()
sys.exit(code)
