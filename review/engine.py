"""Run any Pulumi Python program under the mock runtime, as ``pulumi preview`` would, and capture its graph.

Runs in the calling process: settings, config and the root stack are reset for every run, and modules the
program imported from its own directory are forgotten afterwards, so several programs can run one after another
in one interpreter (the test suite does, with our trusted programs). ``python -m review`` calls
:func:`capture_stack` only inside its child process (:mod:`review.isolate`, :mod:`review.child`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import itertools
import logging
import os
import runpy
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.output import Unknown
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime import stack as pulumi_stack
from pulumi.runtime.proto import provider_pb2, resource_pb2, source_pb2
from pulumi.runtime.sync_await import _sync_await

from . import remote, wire
from .mocks import ACCOUNT_ID, ReviewMocks
from .model import SECRET, UNKNOWN, Graph
from .project import InputError, ProgramError, Project, StackConfig, load_project, load_stack_config
from .secrets import SECRET_SIG, SECRET_SIG_KEY, build_graph

__all__ = ["InputError", "ProgramError", "capture_callable", "capture_program", "capture_stack", "run_callable",
           "run_stack"]


class DuplicateURN(Exception):
    """Two resources with the same URN (type, name and parent): the real engine refuses the program."""


def _ident(id_: Any, name: str) -> str:
    """A mock's id as the protocol's string (a number or an object would fail to serialize)."""
    if isinstance(id_, str):
        return id_
    if isinstance(id_, bool) or id_ is None:
        return ""
    if isinstance(id_, int | float):
        return str(id_)
    return f"{name}-id"


class CaptureMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, keeping every full RegisterResource request (options live there).

    It decodes and encodes the engine's values with :mod:`review.wire` rather than the SDK's rpc module, so no
    resource object is built on the executor thread's own event loop; it answers remote components with
    :mod:`review.remote` and refuses a second resource with an existing URN, as the engine does.
    """

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.requests: dict[str, Any] = {}
        self.order: list[str] = []
        self.responses: dict[str, Any] = {}
        self.stack_outputs: dict[str, Any] = {}
        self.stack_urn = ""
        self.duplicate: str | None = None
        self._by_id: dict[str, dict[str, Any]] = {}
        self.arrival: dict[str, int] = {}
        self._arrivals = itertools.count()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The engine's URN: the parent's type qualifies the type, except for the root stack's."""
        if parent and parent == self.stack_urn:
            parent = ""
        return super().make_urn(parent, type_, name)

    def _record(self, urn: str, request: Any, id_: str, state: dict[str, Any]) -> Any:
        resp = resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=wire.encode(state))
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, id_, state)
        self.requests[urn] = request
        self.responses[urn] = resp
        if id_:
            self._by_id[id_] = state
        return resp

    def _claim(self, urn: str) -> None:
        if urn in self.requests or urn in self.order:
            self.duplicate = self.duplicate or urn
            raise DuplicateURN(f"duplicate resource URN {urn}")
        self.order.append(urn)
        self.arrival[urn] = next(self._arrivals)  # requests may be answered out of order: keep the program's

    def _child(self, parent: str, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
        """Register a resource a remote component creates, as its provider would."""
        urn = self.make_urn(parent, typ, name)
        self._claim(urn)
        request = resource_pb2.RegisterResourceRequest(type=typ, name=name, parent=parent, custom=True,
                                                       object=wire.encode(inputs))
        args = pulumi_mocks.MockResourceArgs(typ=typ, name=name, inputs=wire.decode(request.object), custom=True)
        id_, state = self.mocks.new_resource(args)
        id_ = _ident(id_, name)
        self._record(urn, request, id_, state)
        return urn, id_, state

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)
        self._claim(urn)
        inputs = wire.decode(request.object)
        if request.remote:
            mocks = self.mocks
            state = remote.construct(
                request.type, request.name, inputs, lambda t, n, i: self._child(urn, t, n, i),
                region=getattr(mocks, "region", "us-east-1"), account=ACCOUNT_ID,
                gcp_project=getattr(mocks, "gcp_project", "demo-project"),
                gcp_region=getattr(mocks, "gcp_region", "us-central1"), lookup=self._by_id.get)
            return self._record(urn, request, "", state)
        args = pulumi_mocks.MockResourceArgs(
            typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
            resource_id=request.importId, custom=request.custom or False,
            transforms=pulumi_mocks._resolve_callbacks(request.transforms))
        id_, state = self.mocks.new_resource(args)
        resp = self._record(urn, request, _ident(id_, request.name), state)
        if request.additionalSecretOutputs:
            _mark_secret_outputs(resp, list(request.additionalSecretOutputs))
        return resp

    def ReadResource(self, request: Any) -> Any:
        args = pulumi_mocks.MockResourceArgs(typ=request.type, name=request.name,
                                             inputs=wire.decode(request.properties), provider=request.provider,
                                             resource_id=request.id)
        id_, state = self.mocks.new_resource(args)
        urn = self.make_urn(request.parent, request.type, request.name)
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, _ident(id_, request.name), state)
        return resource_pb2.ReadResourceResponse(urn=urn, properties=wire.encode(state))

    def Invoke(self, request: Any) -> Any:
        args = wire.decode(request.args)
        if request.tok == "pulumi:pulumi:getResource":
            reg = self.resources.get(str(args.get("urn")))
            if reg is None:
                raise Exception(f"unknown resource {args.get('urn')}")
            ret = {"urn": reg.urn, "id": reg.id, "state": reg.state}
            return resource_pb2.ResourceInvokeResponse(**{"return": wire.encode(ret)})
        answer = self.mocks.call(pulumi_mocks.MockCallArgs(token=request.tok, args=args, provider=request.provider))
        failures = None
        if not isinstance(answer, dict):
            answer, raw = answer
            failures = [provider_pb2.CheckFailure(property=f[0], reason=f[1]) for f in raw or []]
        return resource_pb2.ResourceInvokeResponse(failures=failures, **{"return": wire.encode(answer)})

    def RegisterResourceOutputs(self, request: Any) -> Any:
        if request.urn == self.stack_urn or request.urn.split("::")[-2] == "pulumi:pulumi:Stack":
            self.stack_outputs = wire.decode(request.outputs)
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
    return _plain(wire.decode(struct))


def _plain(value: Any) -> Any:
    """Engine values to JSON-able Python: secret wrappers kept (see :mod:`review.secrets`), unknowns as
    :data:`UNKNOWN`."""
    if isinstance(value, dict):
        if value.get(wire.SIG_KEY) not in (None, wire.SECRET_SIG):  # an asset or archive on the wire
            return {"asset": value.get("path") or value.get("uri") or "(inline)"}
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


def _no_stack_trace() -> source_pb2.StackTrace:
    return source_pb2.StackTrace()


@contextlib.contextmanager
def _without_source_positions() -> Iterator[None]:
    """Pulumi's SDK walks the Python stack at every resource registration to send the engine the stack trace and
    source position of the declaration; the review's monitor reads neither, so a capture skips the walk (about 8%
    of its time). Nothing changes if the SDK no longer has the function."""
    real = getattr(pulumi_resource, "_get_stack_trace", None)
    if real is None:
        yield
        return
    pulumi_resource._get_stack_trace = _no_stack_trace
    try:
        yield
    finally:
        pulumi_resource._get_stack_trace = real


def capture_callable(program: Callable[[], Any], *, project: str = "test", stack: str = "dev",
                     config: Mapping[str, Any] | None = None, secret_keys: list[str] | None = None,
                     region: str | None = None, directory: Path | None = None,
                     keep_prints: bool = True) -> tuple[dict[str, Any], StackConfig]:
    """Like :func:`run_callable`, but return the raw capture (secret wrappers kept) and the config used.

    ``keep_prints``: what the program prints goes to the graph's ``logs`` (in-process runs); False leaves it on
    the process's own stdout and stderr (the review's child process, whose pipes the parent reads apart)."""
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
    loop = _quiet_loop(collector.messages)
    caught: list[warnings.WarningMessage] = []
    printed = io.StringIO()
    try:
        out = contextlib.redirect_stdout(printed) if keep_prints else contextlib.nullcontext()
        err = contextlib.redirect_stderr(printed) if keep_prints else contextlib.nullcontext()
        with warnings.catch_warnings(record=True) as caught, out, err, _without_source_positions():
            try:
                _sync_await(pulumi_stack.run_in_stack(program))
            finally:
                _settle(loop)
    except KeyboardInterrupt:
        raise
    except SystemExit as exc:
        if exc.code not in (0, None):
            code = exc.code if isinstance(exc.code, int) else 1
            raise ProgramError(f"the program called sys.exit({code}) ({_where(exc, directory)})") from None
    except BaseException as exc:
        if monitor.duplicate:
            raise ProgramError(_duplicate(monitor.duplicate)) from None
        raise ProgramError(_describe(exc, directory)) from exc
    finally:
        if saved_env is not None:
            os.environ["PULUMI_CONFIG"] = saved_env
        pulumi_settings.ROOT.set(None)
        # What the program prints and warns belongs to its log (shown apart), not to the review's own output.
        collector.messages.extend(f"output: {line}" for line in printed.getvalue().splitlines() if line.strip())
        for w in caught:
            line = f"{w.category.__name__}: {w.message}"
            if line not in collector.messages:
                collector.messages.append(line)
    if monitor.duplicate:
        raise ProgramError(_duplicate(monitor.duplicate))
    return _raw_graph(project, stack, monitor, collector.messages), cfg


def _quiet_loop(messages: list[str]) -> asyncio.AbstractEventLoop:
    """The runtime's event loop, reporting asyncio's own complaints about the program's tasks (a task destroyed
    while pending, an exception never retrieved) into the program's log rather than onto stderr."""
    loop = pulumi_mocks._ensure_event_loop()

    def handler(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        messages.append(f"asyncio: {context.get('message') or context.get('exception')}")

    loop.set_exception_handler(handler)
    return loop


def _settle(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what the program left running on the loop and collect what it left unawaited, so that nothing is
    reported later (at exit) on stderr."""
    if not loop.is_running() and not loop.is_closed():
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            with contextlib.suppress(BaseException):
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    gc.collect(1)


def _duplicate(urn: str) -> str:
    typ, name = urn.split("::")[-2].split("$")[-1], urn.split("::")[-1]
    return (f"two resources named {name!r} of type {typ} have the same URN ({urn}); the engine refuses "
            f"duplicate URNs: give each resource a unique name")


def _region_from(values: Mapping[str, Any], project: str) -> str | None:
    region = values.get(f"{project}:region")
    return region if isinstance(region, str) and region != SECRET else None


def run_stack(project: Project, stack: str, *, extra_config: Mapping[str, Any] | None = None) -> Graph:
    """Run a loaded project's program for one stack, in this process (trusted programs: tests)."""
    cfg = load_stack_config(project, stack)
    if cfg.note:
        print(f"note: {cfg.note}", file=sys.stderr)
    values = dict(cfg.values)
    values.update(extra_config or {})
    raw, used = capture_stack(project, stack, StackConfig(values=values, secret_keys=cfg.secret_keys))
    return build_graph(raw, dict(used.values), list(used.secret_keys))


def capture_stack(project: Project, stack: str, config: StackConfig,
                  keep_prints: bool = True) -> tuple[dict[str, Any], StackConfig]:
    """Run a loaded project's program for one stack with this config; the raw capture and the config used."""
    entry = project.main
    directory = project.program_dir

    def program() -> None:
        runpy.run_path(str(entry), run_name="__main__")

    with _program_context(directory):
        return capture_callable(program, project=project.name, stack=stack, config=config.values,
                                secret_keys=config.secret_keys, directory=directory, keep_prints=keep_prints)


def capture_program(directory: str | Path = ".", stack: str = "dev", *,
                    extra_config: Mapping[str, Any] | None = None) -> Graph:
    """Load ``DIR/Pulumi.yaml`` and ``DIR/Pulumi.STACK.yaml`` and run the program for STACK (in this process)."""
    return run_stack(load_project(directory), stack, extra_config=extra_config)
