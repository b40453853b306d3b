"""Runs the policy packs over a captured graph.

* Our packs (every ``policies/<name>/`` whose package defines ``PACK``, see :mod:`policies.common`) run
  in-process: the same :meth:`policies.common.Rule.evaluate` the CLI's validate functions call, with enforcement
  levels and policy config resolved as the Pulumi CLI resolves them (defaults from each policy, then a
  ``--policy-pack-config``-style mapping). Waived findings are reported with ``waived=True`` and the reason.
* Any other pack (``--policy-pack DIR``, or one of ours without ``PACK``) runs through the real CrossGuard
  protocol: ``python -u -m pulumi.policy <engine> .`` in the pack directory (what the CLI's python analyzer shim
  runs), then ``GetAnalyzerInfo``, ``Configure``, ``ConfigureStack``, ``Analyze`` per resource and
  ``AnalyzeStack`` over gRPC, and the process is terminated. The stack config reaches it in ``PULUMI_CONFIG``,
  as under the CLI; the runner marks findings covered by a waiver as waived.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # the packs live in this repository's `policies` package
    sys.path.insert(0, str(REPO_ROOT))

from policies.common import (  # noqa: E402
    Context,
    Pack,
    Res,
    ResourceIndex,
    Rule,
    StackInfo,
    discover_packs,
    pack_dirs,
    project_config,
    resolve_config,
    resolve_policy_config,
)

from .model import Graph, Violation  # noqa: E402
from .project import InputError  # noqa: E402

POLICIES_DIR = REPO_ROOT / "policies"

SEVERITY_NAMES = {0: "medium", 1: "low", 2: "medium", 3: "high", 4: "critical"}
ENFORCEMENT_NAMES = {0: "advisory", 1: "mandatory", 2: "disabled", 3: "remediate"}


class PolicyPackError(InputError):
    """A pack could not be started or answered badly (one line; the review exits 2)."""


# ---------------------------------------------------------------------------------------------------------
# Graph -> policy views
# ---------------------------------------------------------------------------------------------------------

def graph_resources(graph: Graph) -> list[Res]:
    """A :class:`Res` per graph resource (inputs, options, provider inputs, dependencies), in graph order."""
    by_urn = {r.urn: r for r in graph.resources}
    out = []
    for r in graph.resources:
        prov = by_urn.get(r.provider_urn) if r.provider_urn else None
        out.append(Res(
            r.type, r.name, r.urn, r.real_inputs, opts=r.options, parent=r.parent,
            provider_props=prov.real_inputs if prov is not None else None, provider_urn=r.provider_urn,
            deps=list(r.options.get("dependsOn") or []), prop_deps=r.property_dependencies, id=r.id,
        ))
    return out


def stack_info(graph: Graph, extra_policy_names: Sequence[str] = (), cost_estimate: Any = None) -> StackInfo:
    """What rules know about the stack, offline (``cost_estimate``: the review's estimate of this graph)."""
    return StackInfo(project=graph.project, stack=graph.stack, config=dict(graph.real_config), offline=True,
                     extra_policy_names=frozenset(extra_policy_names), cost_estimate=cost_estimate)


# ---------------------------------------------------------------------------------------------------------
# In-process packs
# ---------------------------------------------------------------------------------------------------------

@dataclass
class _Plan:
    """A pack's rules with their resolved enforcement and config, and a per-type index of resource rules."""

    pack: Pack
    resolved: dict[str, tuple[str, dict[str, Any]]]

    def __post_init__(self) -> None:
        active = [r for r in self.pack.rules if self.resolved[r.name][0] != "disabled"]
        self.resource_rules = [r for r in active if r.kind == "resource"]
        self.stack_rules = [r for r in active if r.kind == "stack"]
        self._by_type: dict[str, list[Rule]] = {}

    def rules_for(self, type_: str) -> list[Rule]:
        rules = self._by_type.get(type_)
        if rules is None:
            rules = [r for r in self.resource_rules if r.applies_to(type_)]
            self._by_type[type_] = rules
        return rules


def _level(level: str) -> str:
    # The servicer reports a remediate-level violation as mandatory (a remediation did not fix it).
    return "mandatory" if level == "remediate" else level


def _violation(pack: Pack, rule: Rule, level: str, message: str, res: Res | None, waiver: Any) -> Violation:
    return Violation(
        pack=pack.name, policy=rule.name, enforcement=_level(level), message=message,
        urn=res.urn if res is not None else None, resource_type=res.type if res is not None else None,
        resource_name=res.name if res is not None else None, severity=rule.severity,
        remediation=rule.remediation, waived=waiver is not None,
        waiver_reason=waiver.reason if waiver is not None else None,
    )


def run_pack(pack: Pack, resources: Sequence[Res], stack: StackInfo,
             user_config: Mapping[str, Any] | None = None) -> list[Violation]:
    """Run one of our packs in-process over the resources (a bad enforcement level: :class:`InputError`)."""
    try:
        resolved = resolve_config(pack, user_config)
    except ValueError as exc:
        raise InputError(f"--policy-pack-config: {exc}") from None
    plan = _Plan(pack, resolved)
    out: list[Violation] = []
    contexts = {r.name: Context(r, plan.resolved[r.name][1], stack) for r in plan.resource_rules}
    for res in resources:
        for rule in plan.rules_for(res.type):
            for f in _evaluate(pack, rule, res, contexts[rule.name]):
                out.append(_violation(pack, rule, plan.resolved[rule.name][0], f.message, f.res, f.waiver))
    index = ResourceIndex(resources)
    for rule in plan.stack_rules:
        ctx = Context(rule, plan.resolved[rule.name][1], stack, index)
        for f in _evaluate(pack, rule, index, ctx):
            out.append(_violation(pack, rule, plan.resolved[rule.name][0], f.message, f.res, f.waiver))
    return out


def _evaluate(pack: Pack, rule: Rule, target: Any, ctx: Context) -> list[Any]:
    """``rule.evaluate``; a rule that fails on a value it did not expect is one line (exit 2), not a traceback."""
    try:
        return rule.evaluate(target, ctx)
    except Exception as exc:
        where = f" on {target.type} {json.dumps(target.name)[:120]}" if isinstance(target, Res) else ""
        text = " ".join(str(exc).split())[:200]
        raise PolicyPackError(f"policy {pack.name}/{rule.name} could not evaluate{where}: "
                              f"{type(exc).__name__}: {text}") from None


# ---------------------------------------------------------------------------------------------------------
# Packs over the CrossGuard protocol
# ---------------------------------------------------------------------------------------------------------

def _pack_python(directory: Path) -> str:
    """The interpreter the CLI would use: the ``virtualenv`` runtime option of PulumiPolicy.yaml, if it exists."""
    try:
        import yaml

        data = yaml.safe_load((directory / "PulumiPolicy.yaml").read_text()) or {}
    except (OSError, ValueError):
        data = {}
    runtime = data.get("runtime") if isinstance(data, dict) else None
    venv = (runtime.get("options") or {}).get("virtualenv") if isinstance(runtime, dict) else None
    if isinstance(venv, str):
        for cand in (directory / venv / "bin" / "python", directory / venv / "Scripts" / "python.exe"):
            if cand.exists():
                return str(cand)
    return sys.executable


def pulumi_config_env(graph: Graph) -> str:
    """``PULUMI_CONFIG`` as the CLI builds it: ``ns:key`` -> string (structured values JSON-encoded)."""
    return json.dumps({k: v if isinstance(v, str) else json.dumps(v) for k, v in graph.real_config.items()})


class PackProcess:
    """A policy pack started as the Pulumi CLI starts it, and a gRPC client to it."""

    def __init__(self, directory: str | Path, *, env: Mapping[str, str] | None = None,
                 timeout: float = 30.0) -> None:
        import grpc
        from pulumi.runtime.proto import analyzer_pb2_grpc

        self.directory = Path(directory).resolve()
        if not (self.directory / "PulumiPolicy.yaml").is_file():
            raise PolicyPackError(f"{directory}: not a policy pack (no PulumiPolicy.yaml)")
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env.setdefault("PYTHONUNBUFFERED", "1")
        self.proc = subprocess.Popen(
            [_pack_python(self.directory), "-u", "-m", "pulumi.policy", "127.0.0.1:0", "."],
            cwd=self.directory, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        port = self._read_port(timeout)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}",
                                             options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)])
        try:
            grpc.channel_ready_future(self.channel).result(timeout=timeout)
        except grpc.FutureTimeoutError as exc:
            self.close()
            raise PolicyPackError(f"policy pack {self.directory}: no gRPC server on port {port}") from exc
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)

    def _read_port(self, timeout: float) -> int:
        line: list[bytes] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        text = line[0].decode().strip() if line else ""
        if not text.isdigit():
            self.proc.kill()
            err = self.proc.stderr.read().decode(errors="replace").strip().splitlines() if self.proc.stderr else []
            detail = err[-1] if err else "no port printed"
            raise PolicyPackError(f"policy pack {self.directory} failed to start: {detail}")
        return int(text)

    def close(self) -> None:
        """Close the channel and stop the process."""
        try:
            self.channel.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream:
                    stream.close()

    def __enter__(self) -> PackProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _struct(value: Mapping[str, Any]) -> Any:
    from google.protobuf import struct_pb2

    s = struct_pb2.Struct()
    s.update(_jsonable(value))
    return s


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    return str(value)


def _options(r: Any) -> Any:
    from pulumi.runtime.proto import analyzer_pb2

    o = r.options
    dbr = o.get("deleteBeforeReplace")
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=bool(o.get("protect")), ignoreChanges=list(o.get("ignoreChanges") or []),
        deleteBeforeReplace=bool(dbr), deleteBeforeReplaceDefined=dbr is not None,
        additionalSecretOutputs=list(o.get("additionalSecretOutputs") or []),
        aliases=[a if isinstance(a, str) else json.dumps(a) for a in o.get("aliases") or []],
        parent=r.parent or "",
    )


def _provider(graph_by_urn: Mapping[str, Any], r: Any) -> Any:
    from pulumi.runtime.proto import analyzer_pb2

    prov = graph_by_urn.get(r.provider_urn) if r.provider_urn else None
    if prov is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(type=prov.type, properties=_struct(prov.real_inputs), urn=prov.urn,
                                                 name=prov.name)


def analyze_requests(graph: Graph) -> tuple[list[Any], Any]:
    """The ``AnalyzeRequest`` per resource and the ``AnalyzeStackRequest`` the CLI would send for this graph."""
    from pulumi.runtime.proto import analyzer_pb2

    by_urn = {r.urn: r for r in graph.resources}
    requests, stack_resources = [], []
    for r in graph.resources:
        props = _struct(r.real_inputs)
        opts = _options(r)
        prov = _provider(by_urn, r)
        kw = {"provider": prov} if prov is not None else {}
        requests.append(analyzer_pb2.AnalyzeRequest(type=r.type, properties=props, urn=r.urn, name=r.name,
                                                    options=opts, **kw))
        stack_resources.append(analyzer_pb2.AnalyzerResource(
            type=r.type, properties=props, urn=r.urn, name=r.name, options=opts, parent=r.parent or "",
            dependencies=list(r.options.get("dependsOn") or []) + sorted(
                {u for us in r.property_dependencies.values() for u in us}),
            propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(v))
                                  for k, v in r.property_dependencies.items() if v},
            **kw,
        ))
    return requests, analyzer_pb2.AnalyzeStackRequest(resources=stack_resources)


def configure_request(info: Any, user_config: Mapping[str, Any] | None) -> Any:
    """``ConfigureAnalyzerRequest`` as the CLI builds it: every policy's level and schema defaults, overridden
    by the ``--policy-pack-config``-style mapping."""
    from google.protobuf import json_format
    from pulumi.runtime.proto import analyzer_pb2

    levels = {v: k for k, v in ENFORCEMENT_NAMES.items()}
    policy_config = {}
    for p in info.policies:
        schema = json_format.MessageToDict(p.configSchema.properties) if p.HasField("configSchema") else {}
        defaults = {k: v["default"] for k, v in schema.items() if isinstance(v, dict) and "default" in v}
        try:
            level, props = resolve_policy_config(p.name, ENFORCEMENT_NAMES.get(p.enforcementLevel, "advisory"),
                                                 defaults, user_config)
        except ValueError as exc:
            raise InputError(f"--policy-pack-config: {exc}") from None
        policy_config[p.name] = analyzer_pb2.PolicyConfig(enforcementLevel=levels[level], properties=_struct(props))
    return analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=policy_config)


def pack_env(graph: Graph) -> dict[str, str]:
    """The environment the CLI gives a pack process for this stack."""
    return {"PULUMI_CONFIG": pulumi_config_env(graph), "PULUMI_PROJECT": graph.project,
            "PULUMI_STACK": graph.stack, "PULUMI_DRY_RUN": "true"}


def run_pack_protocol(directory: str | Path, graph: Graph, stack: StackInfo,
                      user_config: Mapping[str, Any] | None = None, *,
                      process: PackProcess | None = None) -> tuple[str, list[Violation], list[str]]:
    """Run a pack through the CrossGuard protocol: returns (pack name, violations, policy names).

    ``process``: an already started pack (whose environment must carry this graph's config), else one is
    started for this call and stopped after it.
    """
    import grpc
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import analyzer_pb2

    by_urn = {r.urn: r for r in graph.resources}
    try:
        with contextlib.nullcontext(process) if process is not None else PackProcess(
                directory, env=pack_env(graph)) as pack:
            info = pack.stub.GetAnalyzerInfo(empty_pb2.Empty())
            pack.stub.Configure(configure_request(info, user_config))
            with contextlib.suppress(grpc.RpcError):  # older packs do not implement it; the CLI ignores that too
                pack.stub.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(
                    stack=graph.stack, project=graph.project, organization="organization", dry_run=True))
            requests, stack_request = analyze_requests(graph)
            diagnostics = []
            for req in requests:
                diagnostics.extend((d, req.urn) for d in pack.stub.Analyze(req).diagnostics)
            diagnostics.extend((d, d.urn) for d in pack.stub.AnalyzeStack(stack_request).diagnostics)
    except grpc.RpcError as exc:
        raise PolicyPackError(f"policy pack {directory}: {exc.code().name}: {exc.details()}") from exc
    remediation = {p.name: p.remediation_steps for p in info.policies}
    out = []
    for d, urn in diagnostics:
        urn = d.urn or urn
        res = by_urn.get(urn) if urn else None
        view = Res(res.type, res.name, res.urn) if res is not None else None
        waiver = stack.waiver_for(d.policyName, view)
        message = d.message
        if d.description and message.startswith(d.description + "\n"):
            message = message[len(d.description) + 1:]
        out.append(Violation(
            pack=d.policyPackName or info.name, policy=d.policyName,
            enforcement=_level(ENFORCEMENT_NAMES.get(d.enforcementLevel, "advisory")), message=message,
            urn=urn or None, resource_type=res.type if res else None, resource_name=res.name if res else None,
            severity=SEVERITY_NAMES.get(d.severity, "medium"), remediation=remediation.get(d.policyName, ""),
            waived=waiver is not None, waiver_reason=waiver.reason if waiver else None,
        ))
    return info.name, out, [p.name for p in info.policies]


# ---------------------------------------------------------------------------------------------------------
# Entry point used by review.cli
# ---------------------------------------------------------------------------------------------------------

def load_policy_config(policy_config: Mapping[str, Any] | str | Path | None) -> dict[str, Any]:
    """The ``--policy-pack-config`` mapping (pack name -> its config), read from a JSON file when given a path;
    raises :class:`InputError` (one line) when the file cannot be read or is not a JSON object."""
    if policy_config is None:
        return {}
    if isinstance(policy_config, (str, Path)):
        path = Path(policy_config)
        try:
            data = json.loads(path.read_text())
        except OSError as exc:
            raise InputError(f"--policy-pack-config {path}: cannot read: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise InputError(f"--policy-pack-config {path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"--policy-pack-config {path}: not UTF-8 text (byte {exc.start})") from None
        if not isinstance(data, dict):
            raise InputError(f"--policy-pack-config {path}: expected an object keyed by pack name")
        return data
    return dict(policy_config)


def run_policies(graph: Graph, extra_packs: list[Path] | None = None, *,
                 policy_config: Mapping[str, Any] | str | Path | None = None,
                 packs: Sequence[Pack] | None = None,
                 cost_estimate: Any = None) -> tuple[list[Violation], list[str]]:
    """Return (violations, names of packs run).

    ``policy_config`` maps a pack name to its ``--policy-pack-config`` content (or is a JSON file of that
    mapping); ``packs`` overrides the discovered in-process packs (tests); ``cost_estimate`` is the graph's
    estimate (``pricing.CostReport``), which the in-process cost pack's budget rules use instead of pricing the
    stack again.
    """
    config = load_policy_config(policy_config)
    resources = graph_resources(graph)
    violations: list[Violation] = []
    names: list[str] = []

    # Third-party packs first, so waivers may name their policies.
    ours = list(packs) if packs is not None else discover_packs(POLICIES_DIR)
    our_dirs = {p.directory.resolve() for p in ours if p.directory is not None}
    protocol_dirs = [d for d in pack_dirs(POLICIES_DIR) if d.resolve() not in our_dirs] if packs is None else []
    for extra in extra_packs or []:
        d = Path(extra).resolve()
        if d not in our_dirs and d not in protocol_dirs:
            protocol_dirs.append(d)
    extra_names: list[str] = []
    protocol_results = []
    for d in protocol_dirs:
        stack = stack_info(graph)
        name, found, policy_names = run_pack_protocol(d, graph, stack, config.get(d.name))
        protocol_results.append((name, found))
        extra_names.extend(policy_names)

    stack = stack_info(graph, extra_names, cost_estimate)
    for pack in ours:
        violations.extend(run_pack(pack, resources, stack, _pack_config(pack, graph.project, config)))
        names.append(pack.name)
    for name, found in protocol_results:
        violations.extend(found)
        names.append(name)
    violations.extend(_unused_waivers(ours, violations, stack, config))
    return violations, names


def _pack_config(pack: Pack, project: str, config: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ``--policy-pack-config`` entry for the pack, else the pack's default config for the program's project
    (``policies/<pack>/config/<project>.json``: our own stacks' stricter stance), else None (the defaults)."""
    if pack.name in config:
        return config[pack.name]
    try:
        return project_config(pack, project)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _unused_waivers(packs: Sequence[Pack], violations: Sequence[Violation], stack: StackInfo,
                    config: Mapping[str, Any]) -> list[Violation]:
    """Advisory ``waiver-audit`` findings for valid waivers that cover no finding."""
    audit = None
    for pack in packs:
        for rule in pack.rules:
            if rule.name == "waiver-audit":
                level = resolve_config(pack, _pack_config(pack, stack.project, config))[rule.name][0]
                if level != "disabled":
                    audit = (pack, rule, level)
                break
        if audit:
            break
    if audit is None:
        return []
    pack, rule, level = audit
    used = {(v.policy, v.waiver_reason) for v in violations if v.waived}
    known = {r.name for p in packs for r in p.rules} | set(stack.extra_policy_names)
    out = []
    for w in stack.waivers:
        if w.policy in known and (w.policy, w.reason) not in used:  # unknown names: waiver-valid reports them
            out.append(_violation(pack, rule, level, f"waiver #{w.index + 1} ({w.policy} on {w.resource!r}) matches "
                                  "no finding: remove it, or fix its policy or resource name", None, None))
    return out
