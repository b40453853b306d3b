"""Entry point the Pulumi CLI runs (``pulumi preview --policy-pack policies/cost``): serve the pack (never returns).

The pack's code imports ``policies.common``, ``pricing`` and ``engine_values``. In a packaged copy
(``python -m policies.package cost OUTDIR``, see README.md) they sit beside this file, which the CLI's runner
puts first on ``sys.path``; in this repository's checkout they are two levels up.
"""

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if not (_HERE / "policies" / "common.py").is_file():  # a checkout: policies/cost/__main__.py
    sys.path.insert(0, str(_HERE.parent.parent))

from policies.cost import PACK  # noqa: E402

PACK.serve()
