"""Package one policy pack as a self-contained directory the Pulumi CLI can run without this repository.

``python -m policies.package <pack> OUTDIR`` (``<pack>``: ``security``, ``cost`` or a path to ``policies/<name>``)
writes::

    OUTDIR/PulumiPolicy.yaml   the pack's, with ``virtualenv: venv`` (a virtualenv inside OUTDIR)
    OUTDIR/requirements.txt    the pack's declared requirements (what the vendored code imports from PyPI)
    OUTDIR/README.md           the pack's README
    OUTDIR/__main__.py         the pack's entry point (it finds the vendored packages beside itself)
    OUTDIR/policies/           the framework (``policies/common.py``), the pack's package and ``policy_names.json``
    OUTDIR/<package>/          every other package of this repository the pack imports, with its data files
                               (found by walking the imports: ``engine_values``; for cost, ``pricing`` and its
                               catalog)

Then ``cd OUTDIR && python -m venv venv && venv/bin/pip install -r requirements.txt`` and
``pulumi preview --policy-pack OUTDIR``. The command refuses (one line, exit 2) a pack whose vendored code imports
a third-party module its ``requirements.txt`` does not declare.

``policies/policy_names.json`` lists the policies of every pack of this repository at packaging time, so that the
``waiver-valid`` rule of a pack shipped alone still accepts a waiver that names another pack's policy.
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata
import json
import re
import shutil
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

POLICIES_DIR = Path(__file__).resolve().parent
REPO_ROOT = POLICIES_DIR.parent
FRAMEWORK = ("__init__.py", "common.py")
"""The files of ``policies/`` every pack needs (the shared framework), besides the pack's own package."""
POLICY_NAMES_FILE = "policy_names.json"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "venv", ".venv")


class PackageError(Exception):
    """The pack cannot be packaged (one line; exit 2)."""


def _imports(path: Path) -> set[str]:
    """Absolute module names a Python file imports (relative imports excluded)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def _local_top_level(root: Path) -> set[str]:
    """Top-level packages of the repository (directories with ``__init__.py``)."""
    return {p.name for p in root.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}


def _py_files(path: Path) -> list[Path]:
    return sorted(p for p in (path.rglob("*.py") if path.is_dir() else [path]) if "__pycache__" not in p.parts)


def vendored_paths(pack_dir: Path, root: Path = REPO_ROOT) -> list[Path]:
    """What the pack needs from the repository: its directory, the framework files and every local package its
    code imports (transitively), as paths under ``root``."""
    local = _local_top_level(root)
    policies = root / "policies"
    wanted: list[Path] = [pack_dir, *(policies / f for f in FRAMEWORK)]
    seen: set[Path] = set()
    queue = list(wanted)
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        for py in _py_files(path):
            for name in _imports(py):
                parts = name.split(".")
                if parts[0] not in local:
                    continue
                if parts[0] == "policies":
                    if len(parts) < 2:
                        continue
                    dep = policies / parts[1]
                    dep = dep if dep.is_dir() else policies / f"{parts[1]}.py"
                else:
                    dep = root / parts[0]
                if dep.exists() and dep not in seen and dep not in queue:
                    queue.append(dep)
                    wanted.append(dep)
    return sorted(set(wanted))


def _declared(requirements: Path) -> set[str]:
    """Normalised distribution names in a requirements file."""
    names = set()
    for line in requirements.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        m = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
        if m:
            names.add(re.sub(r"[-_.]+", "-", m.group(0)).lower())
    return names


def undeclared_imports(paths: Iterable[Path], requirements: Path, root: Path = REPO_ROOT) -> list[str]:
    """Third-party modules the files import whose distribution ``requirements`` does not name."""
    local = _local_top_level(root)
    dists = importlib.metadata.packages_distributions()
    declared = _declared(requirements)
    missing = set()
    for path in paths:
        for py in _py_files(path):
            for name in _imports(py):
                top = name.split(".")[0]
                if top in local or top in sys.stdlib_module_names or top == "__future__":
                    continue
                candidates = {re.sub(r"[-_.]+", "-", d).lower() for d in dists.get(top, [top])}
                if not candidates & declared:
                    missing.add(f"{top} ({', '.join(sorted(candidates))})")
    return sorted(missing)


def resolve_pack(pack: str) -> Path:
    """``security`` or ``policies/security`` -> the pack directory."""
    candidate = Path(pack)
    directory = candidate if candidate.is_dir() else POLICIES_DIR / pack
    directory = directory.resolve()
    if not (directory / "PulumiPolicy.yaml").is_file() or directory.parent != POLICIES_DIR:
        known = ", ".join(p.name for p in sorted(POLICIES_DIR.iterdir()) if (p / "PulumiPolicy.yaml").is_file())
        raise PackageError(f"{pack}: not a policy pack of this repository (packs: {known})")
    return directory


def package(pack: str, outdir: str | Path) -> Path:
    """Write the self-contained pack directory; returns it."""
    pack_dir = resolve_pack(pack)
    out = Path(outdir).resolve()
    if out.exists() and any(out.iterdir()):
        raise PackageError(f"{out}: exists and is not empty")
    for name in ("requirements.txt", "README.md", "__main__.py"):
        if not (pack_dir / name).is_file():
            raise PackageError(f"{pack_dir}: no {name}")
    paths = vendored_paths(pack_dir)
    missing = undeclared_imports(paths, pack_dir / "requirements.txt")
    if missing:
        raise PackageError(f"{pack_dir / 'requirements.txt'}: does not declare what the pack imports: "
                           f"{'; '.join(missing)}")
    out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        target = out / path.relative_to(REPO_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            shutil.copytree(path, target, ignore=_IGNORE)
        else:
            shutil.copy2(path, target)
    for name in ("requirements.txt", "README.md", "__main__.py"):
        shutil.copy2(pack_dir / name, out / name)
    meta = yaml.safe_load((pack_dir / "PulumiPolicy.yaml").read_text(encoding="utf-8")) or {}
    meta["runtime"] = {"name": "python", "options": {"virtualenv": "venv"}}
    (out / "PulumiPolicy.yaml").write_text(yaml.safe_dump(meta, sort_keys=False, width=120), encoding="utf-8")
    (out / "policies" / POLICY_NAMES_FILE).write_text(json.dumps(_all_policy_names(), indent=1) + "\n",
                                                      encoding="utf-8")
    return out


def _all_policy_names() -> list[str]:
    from policies.common import discover_packs

    return sorted({r.name for p in discover_packs() for r in p.rules})


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m policies.package <pack> OUTDIR``."""
    p = argparse.ArgumentParser(prog="python -m policies.package",
                                description="Write a policy pack and what it imports from this repository to OUTDIR, "
                                            "runnable by the Pulumi CLI without this repository.")
    p.add_argument("pack", help="pack name (security, cost) or its directory")
    p.add_argument("outdir", help="output directory (created; must be empty if it exists)")
    args = p.parse_args(argv)
    try:
        out = package(args.pack, args.outdir)
    except PackageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"packaged {args.pack} in {out}: cd {out} && python -m venv venv && venv/bin/pip install -r "
          f"requirements.txt; then pulumi preview --policy-pack {out}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO_ROOT))
    sys.exit(main())
