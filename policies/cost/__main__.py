"""Entry point the Pulumi CLI runs for ``--policy-pack policies/cost``: build the pack and serve it (never returns)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from policies.cost import PACK

PACK.serve()
