"""Reading a Pulumi project directory and a stack's config the way the CLI does, without decrypting secrets."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .model import SECRET


class InputError(Exception):
    """Bad input to the review (a file, a flag, a config value); one line, exit 2."""


class ProgramError(Exception):
    """The program raised, misbehaved or ran out of time; the message says how (and where); exit 2."""


@dataclass
class Project:
    """A Pulumi project: its name, program directory and declared config."""

    name: str
    root: Path
    main: Path
    """The program's entry file (``__main__.py``)."""
    config_schema: dict[str, Any] = field(default_factory=dict)
    stack_config_dir: Path | None = None

    @property
    def program_dir(self) -> Path:
        """The directory the program runs in."""
        return self.main.parent

    def stack_file(self, stack: str) -> Path:
        """Path of ``Pulumi.<stack>.yaml``."""
        return (self.stack_config_dir or self.root) / f"Pulumi.{stack_name(stack)}.yaml"

    def stacks(self) -> list[str]:
        """Stacks that have a config file."""
        base = self.stack_config_dir or self.root
        return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in base.glob("Pulumi.*.yaml"))


MAX_YAML_BYTES = 4 * 1024 * 1024
MAX_YAML_NODES = 200_000
"""A project or stack file larger than this (bytes, or values once anchors are expanded) is refused."""

STACK_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")


def stack_name(stack: str) -> str:
    """The stack part of ``STACK``, ``ORG/STACK`` or ``ORG/PROJECT/STACK``, validated as the Pulumi CLI does.

    Each part is letters, digits, ``_``, ``.`` and ``-``, and not ``.`` or ``..``; the result names the
    ``Pulumi.<stack>.yaml`` file, so it can never reach another directory.
    """
    parts = stack.split("/") if isinstance(stack, str) else [""]
    if not 1 <= len(parts) <= 3 or any(not STACK_NAME_RE.fullmatch(p) or set(p) == {"."} for p in parts) \
            or len(stack) > 300:
        shown = json.dumps(stack)[:80]
        raise InputError(f"invalid stack name {shown}: use letters, digits, '_', '.' and '-' "
                         "(optionally ORG/PROJECT/STACK)")
    return parts[-1]


def _count_nodes(value: Any, budget: int) -> int:
    """Nodes in a decoded document, stopping once ``budget`` is exceeded (anchors can expand exponentially)."""
    stack, seen = [value], 0
    while stack and seen <= budget:
        item = stack.pop()
        seen += 1
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return seen


def _read_yaml(path: Path) -> Any:
    try:
        data = path.read_bytes()
        if len(data) > MAX_YAML_BYTES:
            raise InputError(f"{path}: larger than {MAX_YAML_BYTES // (1024 * 1024)} MB; not a Pulumi project or "
                             "stack file")
        doc = yaml.safe_load(data.decode("utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{path}{where}: invalid YAML: {' '.join(str(problem).split())}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except RecursionError:
        raise InputError(f"{path}: nested too deeply") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if _count_nodes(doc, MAX_YAML_NODES) > MAX_YAML_NODES:
        raise InputError(f"{path}: more than {MAX_YAML_NODES} values once YAML anchors are expanded")
    return doc


def load_project(directory: str | Path) -> Project:
    """Read ``DIR/Pulumi.yaml``; raise :class:`InputError` on anything the CLI would refuse."""
    root = Path(directory).resolve()
    if not root.is_dir():
        raise InputError(f"{directory}: no such directory")
    path = next((root / n for n in ("Pulumi.yaml", "Pulumi.yml") if (root / n).is_file()), None)
    if path is None:
        raise InputError(f"{root}: no Pulumi.yaml (not a Pulumi project directory)")
    doc = _read_yaml(path)
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a mapping with name and runtime")
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        raise InputError(f"{path}: 'name' is required")
    runtime = doc.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise InputError(f"{path}: runtime is {runtime_name!r}; the review runs Python programs only")
    main = root
    for key in ("main", "stackConfigDir"):
        if doc.get(key) is not None and (not isinstance(doc[key], str) or "\0" in doc[key]):
            raise InputError(f"{path}: '{key}' must be a path")
    try:
        if doc.get("main"):
            main = (root / str(doc["main"])).resolve()
        entry = main if main.is_file() else main / "__main__.py"
        found = entry.is_file()
    except (OSError, RuntimeError) as exc:
        raise InputError(f"{path}: 'main' cannot be read: {exc}") from None
    if not found:
        raise InputError(f"{path}: no program: {entry} does not exist")
    schema = doc.get("config") or {}
    if not isinstance(schema, dict):
        raise InputError(f"{path}: 'config' must be a mapping")
    scd = doc.get("stackConfigDir")
    return Project(
        name=name,
        root=root,
        main=entry,
        config_schema=schema,
        stack_config_dir=(root / scd).resolve() if scd else None,
    )


def _full_key(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _redact(value: Any) -> tuple[Any, bool]:
    """Replace ``secure:`` leaves with the placeholder; report whether any were found."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET, True
        found = False
        out = {}
        for k, v in value.items():
            out[k], f = _redact(v)
            found |= f
        return out, found
    if isinstance(value, list):
        found = False
        items = []
        for v in value:
            item, f = _redact(v)
            items.append(item)
            found |= f
        return items, found
    return value, False


_TYPES = {"string": str, "integer": int, "boolean": bool, "array": list}


def _check_type(key: str, value: Any, decl: dict[str, Any], where: str) -> None:
    want = decl.get("type")
    if want is None or value == SECRET:
        return
    py = _TYPES.get(want) if isinstance(want, str) else None
    if py is None:
        raise InputError(f"{where}: config {key} declares unknown type {want!r}")
    ok = isinstance(value, py) and not (py is int and isinstance(value, bool))
    if want == "string" and isinstance(value, (int, float, bool)):
        ok = False
    if not ok:
        shown = json.dumps(value, default=str)[:80]
        raise InputError(f"{where}: config {key} = {shown} is not of the declared type {want}")


@dataclass
class StackConfig:
    """A stack's config as the program will read it."""

    values: dict[str, Any]
    """``ns:key`` -> decoded value (objects stay objects), secrets redacted."""
    secret_keys: list[str]
    note: str | None = None
    """A remark for the user about how the config was read (e.g. the stack has no stack file)."""

    def as_engine_config(self) -> dict[str, str]:
        """What the engine hands the program: strings, objects JSON-encoded."""
        out = {}
        for k, v in self.values.items():
            if isinstance(v, str):
                out[k] = v
            elif isinstance(v, bool):
                out[k] = "true" if v else "false"
            else:
                out[k] = json.dumps(v, default=str)
        return out


def load_stack_config(project: Project, stack: str, *, require_file: bool = False) -> StackConfig:
    """Merge project defaults and ``Pulumi.<stack>.yaml``, enforcing declared types and required keys.

    A stack without a stack file runs with the project's defaults only, as ``pulumi preview`` does for a stack
    that has no config; :attr:`StackConfig.note` then says so and lists the stack files that exist
    (``require_file`` refuses instead).
    """
    path = project.stack_file(stack)
    doc: dict[str, Any] = {}
    note = None
    if path.is_file():
        loaded = _read_yaml(path) or {}
        if not isinstance(loaded, dict):
            raise InputError(f"{path}: expected a mapping with a 'config' key")
        doc = loaded
    else:
        known = ", ".join(project.stacks()) or "none"
        if require_file:
            raise InputError(f"unknown stack {stack!r}: {path.name} not found in {path.parent} (stacks: {known})")
        note = (f"stack {stack!r} has no {path.name} in {path.parent}: running with no stack config "
                f"(stack files: {known})")
    stack_values = doc.get("config") or {}
    if not isinstance(stack_values, dict):
        raise InputError(f"{path}: 'config' must be a mapping of keys to values")

    values: dict[str, Any] = {}
    secrets: set[str] = set()
    declared: dict[str, dict[str, Any]] = {}
    for key, decl in project.config_schema.items():
        full = _full_key(project.name, str(key))
        if isinstance(decl, dict) and ("type" in decl or "description" in decl or "default" in decl
                                       or "secret" in decl) and "value" not in decl:
            declared[full] = decl
            if "default" in decl:
                values[full] = decl["default"]
            if decl.get("secret"):
                secrets.add(full)
        elif isinstance(decl, dict) and "value" in decl:
            values[full] = decl["value"]
        else:
            values[full] = decl
    for key, raw in stack_values.items():
        full = _full_key(project.name, str(key))
        namespace = full.split(":", 1)[0]
        if namespace != project.name and _near(namespace, project.name):
            raise InputError(f"{path.name}: config key {key!r}: namespace {namespace!r} is one or two letters off the "
                             f"project's {project.name!r}, so the program would never read it; write "
                             f"{project.name}:{full.split(':', 1)[1]}")
        value, is_secret = _redact(raw)
        values[full] = value
        if is_secret:
            secrets.add(full)
    for full, decl in declared.items():
        if full not in values:
            raise InputError(f"{path.name}: missing required config {full} (declared in Pulumi.yaml)")
        _check_type(full, values[full], decl, path.name)
    return StackConfig(values=values, secret_keys=sorted(secrets), note=note)


_PROVIDER_NAMESPACES = frozenset({"aws", "awsx", "aws-native", "gcp", "google-native", "azure", "azure-native",
                                  "kubernetes", "random", "tls", "docker", "pulumi", "cloudflare", "datadog", "github",
                                  "command", "eks", "std", "vault", "postgresql", "mysql"})


def _near(a: str, b: str) -> bool:
    """``a`` looks like a typo of ``b``: at most one edit (Levenshtein) from a name of under 8 letters, two from a
    longer one. Provider namespaces (``aws``, ``gcp``, ``random``, ...) and names under 5 letters never are."""
    limit = 1 if len(b) < 8 else 2
    if a in _PROVIDER_NAMESPACES or min(len(a), len(b)) < 5 or abs(len(a) - len(b)) > limit:
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a.lower(), 1):
        cur = [i]
        for j, cb in enumerate(b.lower(), 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1] <= limit
