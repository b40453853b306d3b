"""Run any Pulumi Python program under the mock runtime, as ``pulumi preview`` would, and capture its graph.

Runs in-process: settings, config and the root stack are reset for every run, and modules the program
imported from its own directory are forgotten afterwards, so several programs can run one after another
in one interpreter (the test suite does).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
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
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime import stack as pulumi_stack
from pulumi.runtime.proto import provider_pb2, resource_pb2
from pulumi.runtime.sync_await import _sync_await

from . import remote, wire
from .mocks import ACCOUNT_ID, ReviewMocks, redact
from .model import SECRET, UNKNOWN, Graph, Resource
from .project import InputError, Project, StackConfig, load_project, load_stack_config

__all__ = ["InputError", "ProgramError", "capture_program", "run_callable", "run_stack"]


class ProgramError(Exception):
    """The program raised; the message names the exception and where in the program it was raised."""


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
        return self._record(urn, request, _ident(id_, request.name), state)

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
    """Engine values to JSON-able Python: secrets redacted, unknowns as :data:`UNKNOWN`."""
    value = redact(value)
    if isinstance(value, dict):
        if value.get(wire.SIG_KEY) is not None:  # an asset or archive on the wire
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


def _build_graph(project: str, stack: str, monitor: CaptureMonitor, config: StackConfig | None,
                 logs: list[str]) -> Graph:
    resources = []
    for urn in monitor.order:
        req = monitor.requests[urn]
        resp = monitor.responses[urn]
        parent = req.parent or None
        if parent == monitor.stack_urn:
            parent = None
        inputs = _deserialize(req.object)
        outputs = _deserialize(resp.object) if resp.object else {}
        resources.append(Resource(
            urn=urn, type=req.type, name=req.name, parent=parent, custom=bool(req.custom),
            provider=req.provider or None, inputs=inputs, options=_options(req), id=resp.id or None,
            outputs=outputs,
            property_dependencies={k: list(v.urns) for k, v in req.propertyDependencies.items()},
        ))
    outputs = _plain(monitor.stack_outputs)
    return Graph(
        project=project, stack=stack, resources=resources, outputs=outputs,
        config=dict(config.values) if config else {}, secret_keys=list(config.secret_keys) if config else [],
        stack_urn=monitor.stack_urn, logs=logs,
    )


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
    JSON-encoded as the engine does for structured config.
    """
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
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(printed), \
                contextlib.redirect_stderr(printed):
            try:
                _sync_await(pulumi_stack.run_in_stack(program))
            finally:
                _settle(loop)
    except (KeyboardInterrupt, SystemExit) as exc:
        if isinstance(exc, SystemExit) and exc.code in (0, None):
            pass
        else:
            raise
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
    return _build_graph(project, stack, monitor, cfg, collector.messages)


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
    """Run a loaded project's program for one stack."""
    cfg = load_stack_config(project, stack)
    if cfg.note:
        print(f"note: {cfg.note}", file=sys.stderr)
    values = dict(cfg.values)
    values.update(extra_config or {})
    entry = project.main
    directory = project.program_dir

    def program() -> None:
        runpy.run_path(str(entry), run_name="__main__")

    with _program_context(directory):
        return run_callable(program, project=project.name, stack=stack, config=values,
                            secret_keys=cfg.secret_keys, directory=directory)


def capture_program(directory: str | Path = ".", stack: str = "dev", *,
                    extra_config: Mapping[str, Any] | None = None) -> Graph:
    """Load ``DIR/Pulumi.yaml`` and ``DIR/Pulumi.STACK.yaml`` and run the program for STACK."""
    return run_stack(load_project(directory), stack, extra_config=extra_config)
