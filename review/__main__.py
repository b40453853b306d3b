"""``python -m review``: see :mod:`review.cli`."""

import sys

from review.cli import main

sys.exit(main())
