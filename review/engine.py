"""Run any Pulumi Python program under the mock runtime, as ``pulumi preview`` would, and capture its graph.

Runs in the calling process: settings, config and the root stack are reset for every run, and modules the
program imported from its own directory are forgotten afterwards, so several programs can run one after another
in one interpreter (the test suite does, with our trusted programs). ``python -m review`` calls
:func:`capture_stack` only inside its child process (:mod:`review.isolate`, :mod:`review.child`).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import runpy
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.output import Unknown
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime import stack as pulumi_stack
from pulumi.runtime.sync_await import _sync_await

from .mocks import ReviewMocks
from .model import SECRET, UNKNOWN, Graph
from .project import InputError, ProgramError, Project, StackConfig, load_project, load_stack_config
from .secrets import SECRET_SIG, SECRET_SIG_KEY, build_graph

__all__ = ["InputError", "ProgramError", "capture_callable", "capture_program", "capture_stack", "run_callable",
           "run_stack"]


class CaptureMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, also keeping every full RegisterResource request (options live there)."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.requests: dict[str, Any] = {}
        self.order: list[str] = []
        self.responses: dict[str, Any] = {}
        self.stack_outputs: dict[str, Any] = {}
        self.stack_urn = ""
        self.arrival: dict[str, int] = {}
        self._arrivals = itertools.count()

    def RegisterResource(self, request: Any) -> Any:
        arrival = next(self._arrivals)  # requests may be answered out of order: keep the program's order
        resp = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = resp.urn
            return resp
        self.arrival[resp.urn] = arrival
        if request.additionalSecretOutputs:
            _mark_secret_outputs(resp, list(request.additionalSecretOutputs))
        self.requests[resp.urn] = request
        self.responses[resp.urn] = resp
        self.order.append(resp.urn)
        return resp

    def RegisterResourceOutputs(self, request: Any) -> Any:
        if request.urn == self.stack_urn or request.urn.split("::")[-2] == "pulumi:pulumi:Stack":
            self.stack_outputs = json_format.MessageToDict(request.outputs)
        return super().RegisterResourceOutputs(request)


def _mark_secret_outputs(resp: Any, names: list[str]) -> None:
    """Wrap the outputs named in ``additionalSecretOutputs`` as secrets, as the engine does."""
    from google.protobuf import struct_pb2

    fields = resp.object.fields
    for name in names:
        for key in (name, _camel(name)):
            if key not in fields:
                continue
            current = fields[key]
            if current.HasField("struct_value") and \
                    current.struct_value.fields.get(SECRET_SIG_KEY, struct_pb2.Value()).string_value == SECRET_SIG:
                break
            inner = struct_pb2.Value()
            inner.CopyFrom(current)
            wrapped = struct_pb2.Value()
            wrapped.struct_value.fields[SECRET_SIG_KEY].string_value = SECRET_SIG
            wrapped.struct_value.fields["value"].CopyFrom(inner)
            fields[key].CopyFrom(wrapped)
            break


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


class _LogCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _options(req: Any) -> dict[str, Any]:
    prop_deps = {k: list(v.urns) for k, v in req.propertyDependencies.items()}
    implicit = {u for urns in prop_deps.values() for u in urns}
    timeouts = json_format.MessageToDict(req.customTimeouts) if req.HasField("customTimeouts") else {}
    return {
        "protect": bool(req.protect),
        "retainOnDelete": bool(req.retainOnDelete),
        "dependsOn": [u for u in req.dependencies if u not in implicit],
        "ignoreChanges": list(req.ignoreChanges),
        "deleteBeforeReplace": bool(req.deleteBeforeReplace) if req.deleteBeforeReplaceDefined else None,
        "aliases": [json_format.MessageToDict(a) for a in req.aliases] + list(req.aliasURNs),
        "additionalSecretOutputs": list(req.additionalSecretOutputs),
        "replaceOnChanges": list(req.replaceOnChanges),
        "customTimeouts": timeouts,
        "importId": req.importId or None,
        "deletedWith": req.deletedWith or None,
    }


def _deserialize(struct: Any) -> dict[str, Any]:
    from pulumi.runtime import rpc

    with contextlib.suppress(Exception):
        pulumi_mocks._ensure_event_loop()
    data = rpc.deserialize_properties(struct, keep_unknowns=True)
    return _plain(data)


def _plain(value: Any) -> Any:
    """Engine values to JSON-able Python: secret wrappers kept (see :mod:`review.secrets`), unknowns as
    :data:`UNKNOWN`."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, pulumi.Asset | pulumi.Archive):
        return {"asset": getattr(value, "path", None) or getattr(value, "uri", None) or "(inline)"}
    return str(value)


def _raw_graph(project: str, stack: str, monitor: CaptureMonitor, logs: list[str]) -> dict[str, Any]:
    """The captured graph as plain JSON-able data, secret wrappers kept (what the child process returns)."""
    resources = []
    for urn in sorted(monitor.order, key=lambda u: monitor.arrival.get(u, 0)):
        req = monitor.requests[urn]
        resp = monitor.responses[urn]
        parent = req.parent or None
        if parent == monitor.stack_urn:
            parent = None
        resources.append({
            "urn": urn, "type": req.type, "name": req.name, "parent": parent, "custom": bool(req.custom),
            "provider": req.provider or None, "inputs": _deserialize(req.object), "options": _options(req),
            "id": resp.id or None, "outputs": _deserialize(resp.object) if resp.object else {},
            "property_dependencies": {k: list(v.urns) for k, v in req.propertyDependencies.items()},
        })
    return {"project": project, "stack": stack, "stack_urn": monitor.stack_urn, "resources": resources,
            "outputs": _plain(monitor.stack_outputs), "logs": list(logs)}


def _installed(file: str) -> bool:
    """True for a module installed in an environment (site-packages), wherever that environment lives."""
    parts = Path(file).parts
    return "site-packages" in parts or "dist-packages" in parts or file.startswith(sys.prefix + os.sep)


@contextlib.contextmanager
def _program_context(directory: Path) -> Iterator[None]:
    """cwd and sys.path as the Python language host sets them; forget the program's own modules after."""
    old_cwd = os.getcwd()
    old_path = list(sys.path)
    prefix = str(directory) + os.sep
    # Top-level names the program directory provides (sibling modules and packages) shadow any module of the
    # same name already imported from elsewhere, as they would in the program's own interpreter.
    local = {p.stem if p.suffix == ".py" else p.name for p in directory.iterdir()
             if (p.suffix == ".py" and p.stem != "__main__") or (p / "__init__.py").is_file()}
    shadowed = {name: mod for name, mod in sys.modules.items()
                if name.split(".")[0] in local and not (getattr(mod, "__file__", None) or "").startswith(prefix)
                and not _installed(getattr(mod, "__file__", None) or "")}
    for name in shadowed:
        del sys.modules[name]
    before = set(sys.modules)
    os.chdir(directory)
    sys.path.insert(0, str(directory))
    try:
        yield
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path
        for name in set(sys.modules) - before:
            mod = sys.modules.get(name)
            file = getattr(mod, "__file__", None) or ""
            if _installed(file):  # a virtualenv inside the program directory holds libraries, not the program
                continue
            if file.startswith(prefix) or name.split(".")[0] in local:
                del sys.modules[name]
        sys.modules.update(shadowed)


def _where(exc: BaseException, program_dir: Path | None) -> str:
    """``file:line`` of the innermost frame inside the program's directory (or the innermost frame)."""
    frames = traceback.extract_tb(exc.__traceback__)
    cause = exc
    while not frames and cause.__cause__ is not None:
        cause = cause.__cause__
        frames = traceback.extract_tb(cause.__traceback__)
    chosen = None
    if program_dir is not None:
        prefix = str(program_dir) + os.sep
        inside = [f for f in frames if f.filename.startswith(prefix)]
        if inside:
            chosen = inside[-1]
    if chosen is None and frames:
        chosen = frames[-1]
    if chosen is None:
        return ""
    path = chosen.filename
    if program_dir is not None and path.startswith(str(program_dir) + os.sep):
        path = os.path.relpath(path, program_dir)
    return f"{path}:{chosen.lineno}"


def _describe(exc: BaseException, program_dir: Path | None) -> str:
    if isinstance(exc, pulumi.RunError):
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    where = _where(exc, program_dir)
    at = f" ({where})" if where else ""
    if isinstance(exc, ModuleNotFoundError):
        return f"the program imports {exc.name!r}, which is not installed{at}"
    text = " ".join(str(exc).split()) or "(no message)"
    if len(text) > 300:
        text = text[:297] + "..."
    return f"the program raised {type(exc).__name__}: {text}{at}"


def _reset_runtime(project: str, stack: str, monitor: CaptureMonitor, config: Mapping[str, str],
                   secret_keys: list[str], logger: logging.Logger) -> None:
    pulumi_settings.ROOT.set(None)
    pulumi_mocks.set_mocks(monitor.mocks, project=project, stack=stack, preview=True, logger=logger,
                           monitor=monitor)
    pulumi_settings.ROOT.set(None)  # run_in_stack creates the real root stack, as the language host does
    pulumi_settings.SETTINGS.rpc_manager.clear()
    pulumi_settings.SETTINGS.outputs.clear()
    pulumi.runtime.set_all_config(dict(config), secret_keys)


def run_callable(program: Callable[[], Any], *, project: str = "test", stack: str = "dev",
                 config: Mapping[str, Any] | None = None, secret_keys: list[str] | None = None,
                 region: str | None = None, directory: Path | None = None) -> Graph:
    """Run ``program`` (a function that declares resources) under the mocks and return its graph.

    ``config`` maps ``ns:key`` (or bare keys, in the project namespace) to values; non-strings are
    JSON-encoded as the engine does for structured config. Runs in this process: for trusted code (our
    components in tests); ``python -m review`` runs programs in a child process (:mod:`review.isolate`).
    """
    raw, cfg = capture_callable(program, project=project, stack=stack, config=config, secret_keys=secret_keys,
                                region=region, directory=directory)
    return build_graph(raw, dict(cfg.values), list(cfg.secret_keys))


def capture_callable(program: Callable[[], Any], *, project: str = "test", stack: str = "dev",
                     config: Mapping[str, Any] | None = None, secret_keys: list[str] | None = None,
                     region: str | None = None, directory: Path | None = None) -> tuple[dict[str, Any], StackConfig]:
    """Like :func:`run_callable`, but return the raw capture (secret wrappers kept) and the config used."""
    values: dict[str, Any] = {}
    for k, v in (config or {}).items():
        values[k if ":" in k else f"{project}:{k}"] = v
    cfg = StackConfig(values=values, secret_keys=sorted(secret_keys or []))
    engine_config = cfg.as_engine_config()
    aws_region = region or values.get("aws:region") or _region_from(values, project) or "us-east-1"
    mocks = ReviewMocks(region=str(aws_region),
                        gcp_project=str(values.get("gcp:project") or values.get(f"{project}:gcpProject")
                                        or "demo-project"),
                        gcp_region=str(values.get("gcp:region") or "us-central1"))
    monitor = CaptureMonitor(mocks)
    logger = logging.getLogger(f"review.program.{project}.{stack}")
    logger.propagate = False
    collector = _LogCollector()
    logger.handlers = [collector]
    _reset_runtime(project, stack, monitor, engine_config, cfg.secret_keys, logger)
    saved_env = os.environ.get("PULUMI_CONFIG")
    os.environ.pop("PULUMI_CONFIG", None)
    try:
        _sync_await(pulumi_stack.run_in_stack(program))
    except KeyboardInterrupt:
        raise
    except SystemExit as exc:
        if exc.code not in (0, None):
            code = exc.code if isinstance(exc.code, int) else 1
            raise ProgramError(f"the program called sys.exit({code}) ({_where(exc, directory)})") from None
    except BaseException as exc:
        raise ProgramError(_describe(exc, directory)) from exc
    finally:
        if saved_env is not None:
            os.environ["PULUMI_CONFIG"] = saved_env
        pulumi_settings.ROOT.set(None)
    return _raw_graph(project, stack, monitor, collector.messages), cfg


def _region_from(values: Mapping[str, Any], project: str) -> str | None:
    region = values.get(f"{project}:region")
    return region if isinstance(region, str) and region != SECRET else None


def run_stack(project: Project, stack: str, *, extra_config: Mapping[str, Any] | None = None) -> Graph:
    """Run a loaded project's program for one stack, in this process (trusted programs: tests)."""
    cfg = load_stack_config(project, stack)
    values = dict(cfg.values)
    values.update(extra_config or {})
    raw, used = capture_stack(project, stack, StackConfig(values=values, secret_keys=cfg.secret_keys))
    return build_graph(raw, dict(used.values), list(used.secret_keys))


def capture_stack(project: Project, stack: str, config: StackConfig) -> tuple[dict[str, Any], StackConfig]:
    """Run a loaded project's program for one stack with this config; the raw capture and the config used."""
    entry = project.main
    directory = project.program_dir

    def program() -> None:
        runpy.run_path(str(entry), run_name="__main__")

    with _program_context(directory):
        return capture_callable(program, project=project.name, stack=stack, config=config.values,
                                secret_keys=config.secret_keys, directory=directory)


def capture_program(directory: str | Path = ".", stack: str = "dev", *,
                    extra_config: Mapping[str, Any] | None = None) -> Graph:
    """Load ``DIR/Pulumi.yaml`` and ``DIR/Pulumi.STACK.yaml`` and run the program for STACK (in this process)."""
    return run_stack(load_project(directory), stack, extra_config=extra_config)
