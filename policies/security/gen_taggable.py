"""Regenerate ``taggable_types.json``: the resource types of pulumi-aws that take ``tags`` and of pulumi-gcp that
take ``labels``, read from the installed SDKs (run after upgrading them)::

    python -m policies.security.gen_taggable
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
import sys
from pathlib import Path

import pulumi
import pulumi._types as ptypes

OUT = Path(__file__).with_name("taggable_types.json")
TOKEN_RE = re.compile(r"__init__\(\s*'([a-z0-9-]+:[^']+)'")


def scan(package: str, prop: str) -> list[str]:
    pkg = importlib.import_module(package)
    found: set[str] = set()
    for info in pkgutil.walk_packages(pkg.__path__, package + "."):
        if info.name.rsplit(".", 1)[-1].startswith("_") or info.name.count(".") != 2:
            continue
        try:
            mod = importlib.import_module(info.name)
        except Exception:
            continue
        for _, cls in inspect.getmembers(mod, inspect.isclass):
            if not issubclass(cls, pulumi.CustomResource) or cls.__module__ != info.name:
                continue
            rmod = sys.modules[cls.__module__]
            args = getattr(rmod, cls.__name__ + "InitArgs", None) or getattr(rmod, cls.__name__ + "Args", None)
            if args is None:
                continue
            try:
                names = set(ptypes.input_type_py_to_pulumi_names(args).values())
            except Exception:
                continue
            if prop not in names:
                continue
            m = TOKEN_RE.search(inspect.getsource(cls))
            if m:
                found.add(m.group(1))
    return sorted(found)


def main() -> None:
    data = {"aws": scan("pulumi_aws", "tags"), "gcp": scan("pulumi_gcp", "labels")}
    OUT.write_text(json.dumps(data, indent=0) + "\n")
    print(f"{OUT}: {len(data['aws'])} aws, {len(data['gcp'])} gcp types")


if __name__ == "__main__":
    main()
