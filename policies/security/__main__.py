"""Entry point the Pulumi CLI runs (``pulumi preview --policy-pack policies/security``): serve the pack.

The CLI starts this file from the pack directory; the rules live in the repository's ``policies`` package, two
levels up, which is put on ``sys.path`` first. ``serve()`` prints the gRPC port and never returns.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from policies.security import PACK

PACK.serve()
