"""The shared policy framework: one implementation of each rule, served to the Pulumi CLI and run offline.

A rule is a plain function decorated with :func:`resource_rule` or :func:`stack_rule`, which attach its metadata
(name, description, severity, default enforcement, remediation, config schema, category). A pack is a
:class:`Pack` of rules. The same :meth:`Rule.evaluate` runs in two places:

* under the Pulumi CLI (``pulumi preview --policy-pack policies/<pack>``): :meth:`Pack.serve` builds
  ``pulumi_policy.PolicyPack``; each rule becomes a ``ResourceValidationPolicy`` or ``StackValidationPolicy``
  whose validate function wraps :meth:`Rule.evaluate`. The stack config (environment, waivers) comes from the
  ``PULUMI_CONFIG`` variable the CLI sets for the pack process. Waived findings are not reported to the CLI
  (so they do not fail the preview); the ``waiver-audit`` policy (advisory) lists them at the end instead.
* offline (``python -m review``): ``review.policy_runner`` builds :class:`Res` views of the captured graph,
  resolves enforcement levels and policy config as the CLI does (:func:`resolve_config`) and calls
  :meth:`Rule.evaluate` directly; waived findings are reported with ``waived=True`` and the waiver's reason.

Conventions for a pack directory ``policies/<name>/`` (the docs generator and the offline runner discover
packs this way):

* ``PulumiPolicy.yaml`` (``runtime: python``), ``requirements.txt`` (what its code imports from PyPI),
  ``README.md``, and ``__main__.py`` that only does ``from policies.<name> import PACK; PACK.serve()`` after
  putting the repository root on ``sys.path`` when it runs from a checkout (a copy made by
  ``python -m policies.package <name> OUTDIR`` carries the packages it imports beside ``__main__.py``);
* ``policies/<name>/__init__.py`` exposes ``PACK = Pack(name=..., description=..., rules=[...])``; the rules
  live in importable modules of the package.

Writing a rule::

    @resource_rule("rds-storage-encrypted", types=["aws:rds/instance:Instance"], severity="high",
                   category="encryption-at-rest", description="RDS storage is encrypted at rest.",
                   remediation="Set storage_encrypted=True (and kms_key_id to a customer-managed key).")
    def rds_storage_encrypted(r: Res, ctx: Context):
        if r.known("storageEncrypted") and not is_true(r.get("storageEncrypted")):
            yield "storageEncrypted is not true"

A resource check yields (or returns) messages; a stack check receives every resource and yields
``(resource_or_None, message)`` pairs. Values computed at deploy time are the engine's unknown sentinel:
check them with :func:`is_unknown` / :meth:`Res.known` and stay silent on what cannot be known in preview.

Waivers live in the stack config (``<project>:waivers``, e.g. ``backend-hosting:waivers``): a list of
``{policy, resource, reason}``; ``resource`` is a resource name or an fnmatch pattern (or a URN), the reason
has at least 10 words. The environment (prod vs non-prod) comes from the stack config
(``<project>:environment``), else the resource's ``environment`` tag/label (or the provider's default
tags/labels); never from the stack's name.
"""

from __future__ import annotations

import fnmatch
import functools
import importlib
import json
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine_values import SECRET, UNKNOWN_VALUES, is_unknown

__all__ = [
    "ENFORCEMENTS",
    "SECRET_MARKER",
    "SEVERITIES",
    "UNKNOWN_VALUES",
    "Context",
    "Finding",
    "Pack",
    "Res",
    "ResourceIndex",
    "Rule",
    "StackInfo",
    "Waiver",
    "as_list",
    "discover_packs",
    "docs_markdown",
    "is_false",
    "is_true",
    "is_unknown",
    "parse_json",
    "parse_waivers",
    "project_config",
    "resolve_config",
    "resolve_policy_config",
    "resource_rule",
    "stack_rule",
    "waiver_audit_rule",
    "waiver_valid_rule",
]

SEVERITIES = ("low", "medium", "high", "critical")
ENFORCEMENTS = ("advisory", "mandatory", "remediate", "disabled")

SECRET_MARKER = SECRET
"""What the offline review has in place of a secret it cannot know (:data:`engine_values.SECRET`): a ``secure:``
config value, never decrypted.

Offline, every other secret reaches rules as its real value, as under the Pulumi CLI. A rule that reads this
marker with :meth:`Res.get` and reports nothing has not decided: :meth:`Rule.evaluate` then reports "cannot
verify" at the rule's enforcement level instead of a silent pass (a waiver on the rule covers it). A rule that
does decide on it (e.g. "a secret is set") reads it with ``get(path, track=False)``, :meth:`Res.has` or
:meth:`Res.known`."""

MIN_WAIVER_WORDS = 10
POLICIES_DIR = Path(__file__).resolve().parent
REPO_ROOT = POLICIES_DIR.parent


# ---------------------------------------------------------------------------------------------------------
# Value helpers
# ---------------------------------------------------------------------------------------------------------

def is_true(value: Any) -> bool:
    """``True``, ``"true"`` (launch templates use strings) or a non-zero number."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "1")
    if isinstance(value, (int, float)):
        return value != 0
    return False


def is_false(value: Any) -> bool:
    """Explicitly false: ``False``, ``"false"`` or ``0`` (absent/None is not false, it is unset)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, str):
        return value.strip().lower() in ("false", "no", "off", "0")
    if isinstance(value, (int, float)):
        return value == 0
    return False


def as_list(value: Any) -> list[Any]:
    """``None`` -> ``[]``, a scalar -> ``[scalar]``, a list -> itself."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    return [value]


def parse_json(value: Any) -> Any:
    """A JSON document given as a string (IAM policies, container definitions) or already decoded.

    Returns None when the value is unknown, secret, absent or not JSON.
    """
    if value is None or is_unknown(value) or value == SECRET_MARKER:
        return None
    if isinstance(value, (dict, list)):
        return value
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return None


def plain(value: Any) -> Any:
    """pulumi_policy's unknown-checking proxies to plain dicts and lists (unknowns stay as sentinels)."""
    try:
        from pulumi_policy.proxy import _DictProxy, _ListProxy
    except ImportError:  # pragma: no cover - pulumi_policy is a requirement
        _DictProxy = _ListProxy = ()  # type: ignore[assignment]
    if isinstance(value, _DictProxy):
        return {k: plain(v) for k, v in value["__target"].items()}
    if isinstance(value, _ListProxy):
        return [plain(v) for v in value["__target"]]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if type(value).__name__ == "Secret" and hasattr(value, "value"):
        return plain(value.value)
    return value


def _decode_config_value(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


# ---------------------------------------------------------------------------------------------------------
# Resources as a rule sees them
# ---------------------------------------------------------------------------------------------------------

_NO_TAGS: dict[str, Any] = {}


class Res:
    """One resource: type, name, URN, input properties (camelCase), options, provider and dependencies."""

    __slots__ = ("_labels", "_marked", "deps", "id", "name", "opts", "parent", "prop_deps", "props",
                 "provider_props", "provider_urn", "type", "undecided", "urn")

    def __init__(self, type: str, name: str, urn: str, props: Mapping[str, Any] | None = None, *,
                 opts: Mapping[str, Any] | None = None, parent: str | None = None,
                 provider_props: Mapping[str, Any] | None = None, provider_urn: str | None = None,
                 deps: Sequence[str] = (), prop_deps: Mapping[str, Sequence[str]] | None = None,
                 id: str | None = None) -> None:
        self.type = type
        self.name = name
        self.urn = urn
        self.props: Mapping[str, Any] = props or {}
        self.opts: Mapping[str, Any] = opts or {}
        self.parent = parent
        self.provider_props: Mapping[str, Any] = provider_props or {}
        self.provider_urn = provider_urn
        self.deps = list(deps)
        self.prop_deps: Mapping[str, Sequence[str]] = prop_deps or {}
        self.id = id
        self._labels: dict[str, Any] | None = None
        self._marked: bool | None = None
        self.undecided: list[str] = []
        """Paths read with :meth:`get` whose value holds :data:`SECRET_MARKER` (reset per rule)."""

    def __repr__(self) -> str:
        return f"Res({self.type} {self.name})"

    # -- construction from pulumi_policy arguments (the CLI path) ------------------------------------------
    @classmethod
    def from_args(cls, args: Any) -> Res:
        """From a ``ResourceValidationArgs`` (Analyze)."""
        opts = _opts_dict(args.opts)
        provider = getattr(args, "provider", None)
        return cls(args.resource_type, args.name, args.urn, plain(args.props), opts=opts,
                   parent=getattr(args.opts, "parent", None),
                   provider_props=plain(provider.props) if provider is not None else None,
                   provider_urn=provider.urn if provider is not None else None)

    @classmethod
    def from_policy_resource(cls, pr: Any) -> Res:
        """From a ``PolicyResource`` (AnalyzeStack)."""
        opts = _opts_dict(pr.opts)
        provider = getattr(pr, "provider", None)
        return cls(pr.resource_type, pr.name, pr.urn, plain(pr.props), opts=opts,
                   parent=pr.parent.urn if getattr(pr, "parent", None) is not None else getattr(pr.opts, "parent",
                                                                                              None),
                   provider_props=plain(provider.props) if provider is not None else None,
                   provider_urn=provider.urn if provider is not None else None,
                   deps=[d.urn for d in (pr.dependencies or [])],
                   prop_deps={k: [d.urn for d in v] for k, v in (pr.property_dependencies or {}).items()})

    # -- property access ---------------------------------------------------------------------------------
    def get(self, path: str, default: Any = None, *, track: bool = True) -> Any:
        """An input by dotted path (``"networkConfiguration.assignPublicIp"``, ``"rules.0.status"``).

        Returns the unknown sentinel as is (see :meth:`known`); ``default`` when absent or None. A value that
        holds :data:`SECRET_MARKER` is noted in :attr:`undecided` unless ``track`` is false.
        """
        value = self._get(path, default)
        if track and value is not default and self._marked is not False and _holds_marker(value):
            self.undecided.append(path)
        return value

    def _get(self, path: str, default: Any = None) -> Any:
        if self._marked is None:
            self._marked = _holds_marker(self.props)
        cur: Any = self.props
        for part in path.split("."):
            if isinstance(cur, Mapping):
                cur = cur.get(part)
            elif isinstance(cur, list) and part.isdigit():
                idx = int(part)
                cur = cur[idx] if idx < len(cur) else None
            else:
                return default
            if cur is None:
                return default
            if is_unknown(cur):
                return cur
        return cur

    def known(self, path: str) -> bool:
        """The input at ``path`` is not computed at deploy time (absent counts as known: it is unset)."""
        return not is_unknown(self._get(path))

    def has(self, path: str) -> bool:
        """The input is set (present, not None, not empty string/list)."""
        v = self._get(path)
        return v is not None and v != "" and v != [] and v != {}

    @property
    def protect(self) -> bool:
        """The ``protect`` resource option."""
        return bool(self.opts.get("protect"))

    @property
    def cloud(self) -> str:
        """``aws``, ``gcp``... (the type token's package)."""
        return self.type.split(":", 1)[0]

    def tags(self) -> dict[str, Any]:
        """Tags (AWS, with the provider's default tags) or labels (GCP, with the provider's default labels).

        Returns the sentinel-free mapping; an unknown tag set yields ``{"*": UNKNOWN}``-free empty dict, so
        callers should check :meth:`tags_known` first.
        """
        if self._labels is None:
            out: dict[str, Any] = {}
            if self.type.startswith("aws:"):
                dt = parse_json(self.provider_props.get("defaultTags")) if self.provider_props else None
                if isinstance(dt, Mapping) and isinstance(dt.get("tags"), Mapping):
                    out.update(dt["tags"])
                own = self.get("tags")
            else:
                dl = parse_json(self.provider_props.get("defaultLabels")) if self.provider_props else None
                if isinstance(dl, Mapping):
                    out.update(dl)
                own = self.get(_label_path(self.type))
            if isinstance(own, Mapping):
                out.update(own)
            self._labels = out
        return self._labels

    def tags_known(self) -> bool:
        """The resource's tag/label set is not computed at deploy time."""
        return self.known("tags") if self.type.startswith("aws:") else self.known(_label_path(self.type))


def _holds_marker(value: Any) -> bool:
    """The value is, or contains, :data:`SECRET_MARKER`.

    Walks the value once without recursion; a mapping or list that appears twice (a program may pass one object
    to many inputs) is looked into once.
    """
    if isinstance(value, str):
        return value == SECRET_MARKER
    pending = [value]
    seen: set[int] = set()
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is str:
            if item == SECRET_MARKER:
                return True
            continue
        if kind in (int, float, bool) or item is None:
            continue
        if kind is dict or isinstance(item, Mapping):
            children: Any = item.values()
        elif kind is list or isinstance(item, (list, tuple)):
            children = item
        else:
            if isinstance(item, str) and item == SECRET_MARKER:  # a str subclass
                return True
            continue
        if id(item) in seen:
            continue
        seen.add(id(item))
        pending.extend(children)
    return False


_LABEL_PATHS = {
    "gcp:sql/databaseInstance:DatabaseInstance": "settings.userLabels",
    # a notification channel's `labels` are its configuration (e.g. email_address); its labels are userLabels
    "gcp:monitoring/notificationChannel:NotificationChannel": "userLabels",
}


def _label_path(type_: str) -> str:
    return _LABEL_PATHS.get(type_, "labels")


def _opts_dict(opts: Any) -> dict[str, Any]:
    if opts is None:
        return {}
    return {
        "protect": bool(getattr(opts, "protect", False)),
        "ignoreChanges": list(getattr(opts, "ignore_changes", []) or []),
        "deleteBeforeReplace": getattr(opts, "delete_before_replace", None),
        "aliases": list(getattr(opts, "aliases", []) or []),
        "additionalSecretOutputs": list(getattr(opts, "additional_secret_outputs", []) or []),
    }


class ResourceIndex:
    """Every resource of the stack, with lookups for stack rules that join resources."""

    def __init__(self, resources: Sequence[Res]) -> None:
        self.resources = list(resources)
        self._by_urn = {r.urn: r for r in self.resources}
        self._by_type: dict[str, list[Res]] = {}
        for r in self.resources:
            self._by_type.setdefault(r.type, []).append(r)

    def __iter__(self) -> Iterator[Res]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    def get(self, urn: str | None) -> Res | None:
        """By URN."""
        return self._by_urn.get(urn) if urn else None

    def of_type(self, *types: str) -> list[Res]:
        """All resources of these type tokens."""
        out: list[Res] = []
        for t in types:
            out.extend(self._by_type.get(t, ()))
        return out

    def referenced(self, res: Res, prop: str, types: Iterable[str], name_props: Sequence[str] = ()) -> list[Res]:
        """Resources of ``types`` that ``res``'s input ``prop`` refers to.

        By property dependency (what the engine records when an Output of one resource feeds another), else by
        a literal value equal to a candidate's id or one of its ``name_props`` (e.g. a bucket's ``bucket``).
        """
        types = tuple(types)
        out = [self._by_urn[u] for u in res.prop_deps.get(prop, ()) if u in self._by_urn
               and self._by_urn[u].type in types]
        if out:
            return out
        values = {v for v in as_list(res.get(prop)) if isinstance(v, str) and v and not is_unknown(v)}
        if not values:
            return []
        for cand in self.of_type(*types):
            keys = {cand.id} | {cand.get(p) for p in name_props}
            if values & {k for k in keys if isinstance(k, str)}:
                out.append(cand)
        return out

    def referrers(self, target: Res, prop: str, types: Iterable[str], name_props: Sequence[str] = ()) -> list[Res]:
        """Resources of ``types`` whose input ``prop`` refers to ``target`` (inverse of :meth:`referenced`)."""
        types = tuple(types)
        out = []
        for cand in self.of_type(*types):
            if target in self.referenced(cand, prop, (target.type,), name_props):
                out.append(cand)
        return out


# ---------------------------------------------------------------------------------------------------------
# Stack information: config, environment, waivers
# ---------------------------------------------------------------------------------------------------------

_PROD = {"prod", "production", "prd", "live"}
_STAGING = {"staging", "stage", "stg", "preprod", "pre-prod", "uat"}


def normalize_environment(value: Any) -> str | None:
    """``production`` -> ``prod``, ``stage`` -> ``staging``; other names lower-cased; None if not a string."""
    if not isinstance(value, str) or not value.strip() or is_unknown(value):
        return None
    v = value.strip().lower()
    if v in _PROD:
        return "prod"
    if v in _STAGING:
        return "staging"
    return v


@dataclass(frozen=True)
class Waiver:
    """A reviewed exception: ``policy`` on resources named (or matching) ``resource``, because ``reason``."""

    policy: str
    resource: str
    reason: str
    index: int = 0

    def matches(self, policy: str, name: str | None, urn: str | None) -> bool:
        """This waiver covers ``policy`` on the resource ``name``/``urn`` (name may be an fnmatch pattern)."""
        if policy != self.policy:
            return False
        if urn and self.resource == urn:
            return True
        return name is not None and fnmatch.fnmatchcase(name, self.resource)


def parse_waivers(raw: Any) -> tuple[list[Waiver], list[str]]:
    """Waivers from the decoded config value; returns ``(valid, problems)``.

    A waiver is invalid when it is not a mapping, lacks ``policy`` or ``resource``, or its reason has fewer
    than 10 words; an invalid waiver waives nothing.
    """
    if raw is None:
        return [], []
    if isinstance(raw, str):
        raw = _decode_config_value(raw)
    if not isinstance(raw, list):
        return [], [f"waivers must be a list of {{policy, resource, reason}}, got {type(raw).__name__}"]
    valid: list[Waiver] = []
    problems: list[str] = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            problems.append(f"waiver #{i + 1} is not a mapping of policy, resource and reason")
            continue
        policy, resource, reason = item.get("policy"), item.get("resource"), item.get("reason")
        label = f"waiver #{i + 1} ({policy or '?'} on {resource or '?'})"
        if not isinstance(policy, str) or not policy.strip():
            problems.append(f"{label}: 'policy' is required")
            continue
        if not isinstance(resource, str) or not resource.strip():
            problems.append(f"{label}: 'resource' is required (a resource name or fnmatch pattern)")
            continue
        words = len(reason.split()) if isinstance(reason, str) else 0
        if words < MIN_WAIVER_WORDS:
            problems.append(f"{label}: the reason has {words} words; at least {MIN_WAIVER_WORDS} are required")
            continue
        valid.append(Waiver(policy.strip(), resource.strip(), " ".join(reason.split()), i))
    return valid, problems


@dataclass
class StackInfo:
    """What a rule may know about the stack: its config, environment, waivers and the running mode."""

    project: str = ""
    stack: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    """Stack config, ``ns:key`` -> decoded value."""
    offline: bool = False
    """True in ``python -m review`` (waived findings are reported as waived), False under the Pulumi CLI."""
    extra_policy_names: frozenset[str] = frozenset()
    """Policy names of packs run alongside (third-party packs), which waivers may name."""
    cost_estimate: Any = None
    """The stack's monthly estimate (a ``pricing.CostReport``) when the runner has already priced the resources
    the rules receive (the review prices once and hands it over); None under the Pulumi CLI, where the cost
    pack's budget rules price the resources themselves."""

    def __post_init__(self) -> None:
        self.waivers, self.waiver_problems = parse_waivers(self.setting("waivers"))

    def setting(self, key: str) -> Any:
        """``<project>:key``, else ``backend-hosting:key`` (our namespace) from the stack config."""
        for ns in (self.project, "backend-hosting"):
            if ns and f"{ns}:{key}" in self.config:
                return self.config[f"{ns}:{key}"]
        return None

    @property
    def environment(self) -> str | None:
        """The stack's environment from config (``dev``, ``staging``, ``prod``...), or None."""
        return normalize_environment(self.setting("environment"))

    def waiver_for(self, policy: str, res: Res | None) -> Waiver | None:
        """The first valid waiver covering this finding (a stack-level finding matches the stack's name)."""
        name = res.name if res is not None else self.stack
        urn = res.urn if res is not None else None
        for w in self.waivers:
            if w.matches(policy, name, urn):
                return w
        return None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StackInfo:
        """Under the Pulumi CLI: ``PULUMI_CONFIG`` (JSON of ``ns:key`` -> string), ``PULUMI_PROJECT/STACK``."""
        env = os.environ if environ is None else environ
        return _stack_from_env(env.get("PULUMI_CONFIG", ""), env.get("PULUMI_PROJECT", ""),
                               env.get("PULUMI_STACK", ""))


@functools.lru_cache(maxsize=8)
def _stack_from_env(raw: str, project: str, stack: str) -> StackInfo:
    config: dict[str, Any] = {}
    if raw:
        try:
            data = json.loads(raw)
        except ValueError:
            data = {}
        if isinstance(data, dict):
            config = {k: _decode_config_value(v) for k, v in data.items()}
    if not project:
        project = _guess_project(config)
    return StackInfo(project=project, stack=stack, config=config, offline=False)


def _guess_project(config: Mapping[str, Any]) -> str:
    for key in config:
        ns, _, k = key.partition(":")
        if k in ("environment", "waivers"):
            return ns
    return ""


# ---------------------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------------------

@dataclass
class Finding:
    """One violation found by a rule: the message, the resource (None: the stack) and the waiver covering it."""

    message: str
    res: Res | None = None
    waiver: Waiver | None = None
    undecided: bool = False
    """The rule could not decide: a value it read is a secret the review cannot know (:data:`SECRET_MARKER`)."""


class Context:
    """What a check receives besides the resource: the rule, its resolved config and the stack."""

    __slots__ = ("config", "index", "rule", "stack")

    def __init__(self, rule: Rule, config: Mapping[str, Any], stack: StackInfo,
                 index: ResourceIndex | None = None) -> None:
        self.rule = rule
        self.config = config
        self.stack = stack
        self.index = index

    def environment(self, res: Res | None = None) -> str | None:
        """Stack config ``environment``, else the resource's ``environment`` tag/label, else None."""
        env = self.stack.environment
        if env is not None:
            return env
        if res is not None:
            tags = res.tags()
            for key in ("environment", "Environment", "env", "Env", "ENVIRONMENT"):
                env = normalize_environment(tags.get(key))
                if env is not None:
                    return env
        return None

    def is_prod(self, res: Res | None = None) -> bool:
        """The environment is production (unknown environment: False)."""
        return self.environment(res) in set(self.config.get("prodEnvironments") or ["prod"])


Check = Callable[..., Any]


@dataclass
class Rule:
    """A policy: metadata plus the check function."""

    name: str
    description: str
    severity: str
    remediation: str
    check: Check
    kind: str = "resource"
    """``resource`` (one resource at a time) or ``stack`` (all resources, for joins)."""
    types: tuple[str, ...] = ()
    """Resource type tokens a resource rule applies to (fnmatch patterns allowed); empty = every type."""
    enforcement: str = "mandatory"
    category: str = "general"
    config_schema: dict[str, dict[str, Any]] = field(default_factory=dict)
    """JSON-schema properties of the policy config, each with a ``default``."""
    rationale: str = ""
    """Why the default enforcement level is what it is (docs/policies.md)."""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"{self.name}: severity {self.severity!r} is not one of {SEVERITIES}")
        if self.enforcement not in ENFORCEMENTS:
            raise ValueError(f"{self.name}: enforcement {self.enforcement!r} is not one of {ENFORCEMENTS}")
        if self.kind not in ("resource", "stack"):
            raise ValueError(f"{self.name}: kind must be resource or stack")
        exact = [t for t in self.types if not any(c in t for c in "*?[")]
        self._exact = frozenset(exact)
        self._patterns = tuple(t for t in self.types if t not in self._exact)

    def applies_to(self, type_: str) -> bool:
        """Whether a resource rule looks at this type."""
        if not self.types:
            return True
        return type_ in self._exact or any(fnmatch.fnmatchcase(type_, p) for p in self._patterns)

    @property
    def defaults(self) -> dict[str, Any]:
        """Config defaults from the schema."""
        return {k: v["default"] for k, v in self.config_schema.items() if "default" in v}

    def effective_config(self, given: Mapping[str, Any] | None) -> dict[str, Any]:
        """Schema defaults overlaid with the given config (the CLI sends defaults already; tests may not)."""
        cfg = self.defaults
        for k, v in (given or {}).items():
            if k != "enforcementLevel":
                cfg[k] = v
        return cfg

    # -- the one implementation ----------------------------------------------------------------------------
    def evaluate(self, target: Res | Sequence[Res], ctx: Context) -> list[Finding]:
        """Run the check and attach the waiver covering each finding (if any)."""
        findings: list[Finding] = []
        if self.kind == "resource":
            assert isinstance(target, Res)
            target.undecided = []
            out = self.check(target, ctx)
            for item in _iterate(out):
                f = item if isinstance(item, Finding) else Finding(str(item), target)
                if f.res is None:
                    f.res = target
                findings.append(f)
            seen = [target]
        else:
            index = target if isinstance(target, ResourceIndex) else ResourceIndex(target)
            for r in index:
                r.undecided = []
            out = self.check(index, ctx)
            for item in _iterate(out):
                if isinstance(item, Finding):
                    f = item
                elif isinstance(item, tuple):
                    f = Finding(str(item[1]), item[0])
                else:
                    f = Finding(str(item), None)
                findings.append(f)
            seen = list(index)
        found_on = {id(f.res) for f in findings}
        for r in seen:
            if r.undecided and id(r) not in found_on:
                paths = ", ".join(dict.fromkeys(r.undecided))
                findings.append(Finding(f"cannot verify: {paths} holds a secret config value the review cannot "
                                        "read (never decrypted), so this rule could not decide", r, undecided=True))
            r.undecided = []
        for f in findings:
            f.waiver = ctx.stack.waiver_for(self.name, f.res)
        return findings

    # -- pulumi_policy adapters (the CLI path) ------------------------------------------------------------
    def to_policy(self, pack_name: str) -> Any:
        """The ``pulumi_policy`` policy object whose validate function wraps :meth:`evaluate`."""
        import pulumi_policy as pp

        common = dict(
            enforcement_level=pp.EnforcementLevel(self.enforcement),
            config_schema=pp.PolicyConfigSchema(properties=dict(self.config_schema)) if self.config_schema
            else None,
            severity=pp.Severity(self.severity),
            tags=[self.category],
            remediation_steps=self.remediation,
        )
        if self.kind == "resource":
            return pp.ResourceValidationPolicy(self.name, self.description, validate=self._validate_resource,
                                               **common)
        return pp.StackValidationPolicy(self.name, self.description, validate=self._validate_stack, **common)

    def _validate_resource(self, args: Any, report: Callable[..., None]) -> None:
        if not self.applies_to(args.resource_type):
            return
        stack = StackInfo.from_env()
        ctx = Context(self, self.effective_config(args.get_config()), stack)
        for f in self.evaluate(Res.from_args(args), ctx):
            _report_cli(self, f, report, urn=None)

    def _validate_stack(self, args: Any, report: Callable[..., None]) -> None:
        stack = StackInfo.from_env()
        index = ResourceIndex([Res.from_policy_resource(pr) for pr in args.resources])
        ctx = Context(self, self.effective_config(args.get_config()), stack, index)
        for f in self.evaluate(index, ctx):
            _report_cli(self, f, report, urn=f.res.urn if f.res is not None else None)


_WAIVED_LOCK = threading.Lock()
_WAIVED_UNDER_CLI: list[tuple[str, str, str | None, str, Waiver]] = []
"""(policy, resource name, urn, message, waiver) of findings a waiver suppressed in this pack process."""


def _report_cli(rule: Rule, f: Finding, report: Callable[..., None], urn: str | None) -> None:
    if f.waiver is not None:
        with _WAIVED_LOCK:
            _WAIVED_UNDER_CLI.append((rule.name, f.res.name if f.res else "", f.res.urn if f.res else None,
                                      f.message, f.waiver))
        return
    report(f.message, urn)


def _iterate(out: Any) -> Iterable[Any]:
    if out is None:
        return ()
    if isinstance(out, (str, Finding, tuple)):
        return (out,)
    return out


def _rule_decorator(kind: str, name: str, *, description: str, severity: str, remediation: str,
                    category: str, types: Sequence[str] = (), enforcement: str = "mandatory",
                    config: Mapping[str, Mapping[str, Any]] | None = None,
                    rationale: str = "") -> Callable[[Check], Rule]:
    def wrap(fn: Check) -> Rule:
        return Rule(name=name, description=description, severity=severity, remediation=remediation, check=fn,
                    kind=kind, types=tuple(types), enforcement=enforcement, category=category,
                    config_schema={k: dict(v) for k, v in (config or {}).items()}, rationale=rationale)

    return wrap


def resource_rule(name: str, *, types: Sequence[str], description: str, severity: str, remediation: str,
                  category: str, enforcement: str = "mandatory",
                  config: Mapping[str, Mapping[str, Any]] | None = None,
                  rationale: str = "") -> Callable[[Check], Rule]:
    """Decorate ``check(res, ctx) -> messages`` as a resource rule for the given type tokens."""
    return _rule_decorator("resource", name, description=description, severity=severity, remediation=remediation,
                           category=category, types=types, enforcement=enforcement, config=config,
                           rationale=rationale)


def stack_rule(name: str, *, description: str, severity: str, remediation: str, category: str,
               enforcement: str = "mandatory",
               config: Mapping[str, Mapping[str, Any]] | None = None,
               rationale: str = "") -> Callable[[Check], Rule]:
    """Decorate ``check(index, ctx) -> (res_or_None, message) pairs`` as a stack rule."""
    return _rule_decorator("stack", name, description=description, severity=severity, remediation=remediation,
                           category=category, enforcement=enforcement, config=config, rationale=rationale)


# ---------------------------------------------------------------------------------------------------------
# Waiver policies (shared by packs)
# ---------------------------------------------------------------------------------------------------------

def waiver_valid_rule() -> Rule:
    """``waiver-valid``: every waiver in the stack config is well formed and names a known policy."""

    def check(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
        for problem in ctx.stack.waiver_problems:
            yield None, f"invalid waiver: {problem}"
        known = set(known_policy_names()) | set(ctx.stack.extra_policy_names) | set(
            ctx.config.get("extraPolicyNames") or [])
        for w in ctx.stack.waivers:
            if w.policy not in known:
                yield None, (f"invalid waiver #{w.index + 1}: policy {w.policy!r} (resource {w.resource!r}) is not "
                             f"a policy of any pack; known policies: see docs/policies.md")

    return Rule(
        name="waiver-valid", kind="stack", severity="high", category="waivers",
        description="Every waiver in the stack config names a known policy and a resource, with a reason of at "
                    "least 10 words.",
        remediation="Fix the waiver in Pulumi.<stack>.yaml (<project>:waivers): use an existing policy name, a "
                    "resource name or pattern, and a reason of at least 10 words; an invalid waiver waives nothing.",
        check=check,
        config_schema={"extraPolicyNames": {"type": "array", "items": {"type": "string"}, "default": [],
                                            "description": "Policy names of other packs that waivers may name."}},
    )


def waiver_audit_rule() -> Rule:
    """``waiver-audit`` (advisory): under the CLI, lists the findings that waivers suppressed in this process."""

    def check(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
        with _WAIVED_LOCK:
            entries = list(_WAIVED_UNDER_CLI)
        seen = set()
        for policy, name, urn, message, w in entries:
            key = (policy, urn or name, message)
            if key in seen:
                continue
            seen.add(key)
            res = index.get(urn) if urn else None
            first = message.splitlines()[0] if message else ""
            yield res, f"waived {policy} on {name or 'the stack'}: {first} (waiver: {w.reason})"

    return Rule(
        name="waiver-audit", kind="stack", severity="low", category="waivers", enforcement="advisory",
        description="Lists findings that a waiver in the stack config suppressed (and, offline, waivers that match "
                    "no finding), so that waived risks stay visible in every preview.",
        remediation="Nothing to fix; review that each waiver is still needed and remove the ones that are not.",
        check=check,
    )


# ---------------------------------------------------------------------------------------------------------
# Packs
# ---------------------------------------------------------------------------------------------------------

@dataclass
class Pack:
    """A policy pack: its name, description and rules (and where it lives)."""

    name: str
    description: str
    rules: list[Rule]
    display_name: str | None = None
    directory: Path | None = None

    def __post_init__(self) -> None:
        names = [r.name for r in self.rules]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"pack {self.name}: duplicate policy names {sorted(dupes)}")

    def rule(self, name: str) -> Rule:
        """A rule by name."""
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(f"pack {self.name} has no policy {name!r}")

    @property
    def resource_rules(self) -> list[Rule]:
        """Rules that judge one resource at a time."""
        return [r for r in self.rules if r.kind == "resource"]

    @property
    def stack_rules(self) -> list[Rule]:
        """Rules that judge the whole stack."""
        return [r for r in self.rules if r.kind == "stack"]

    def policies(self) -> list[Any]:
        """The ``pulumi_policy`` policy objects (waiver-audit last, so it sees what the others waived)."""
        ordered = [r for r in self.rules if r.name != "waiver-audit"] + [
            r for r in self.rules if r.name == "waiver-audit"]
        return [r.to_policy(self.name) for r in ordered]

    def serve(self) -> None:
        """Start the CrossGuard gRPC server (prints the port, never returns): the pack's ``__main__``."""
        import pulumi_policy as pp

        pp.PolicyPack(name=self.name, policies=self.policies(), enforcement_level=pp.EnforcementLevel.MANDATORY,
                      description=self.description, display_name=self.display_name)


def resolve_policy_config(policy: str, level: str, defaults: Mapping[str, Any],
                          user_config: Mapping[str, Any] | None = None, *,
                          label: str | None = None) -> tuple[str, dict[str, Any]]:
    """One policy's ``(enforcement level, config properties)`` as the Pulumi CLI resolves them before
    ``Configure``: its default level and schema ``defaults``, then the ``--policy-pack-config`` style
    ``user_config`` of its pack: ``{"all": "advisory" | {"enforcementLevel": ...}, "<policy>": "disabled" |
    {"enforcementLevel": ..., "<property>": value}}``. Raises ValueError on an unknown level (naming ``label``,
    default the policy)."""
    user_config = user_config or {}
    props = dict(defaults)
    all_cfg = user_config.get("all")
    all_level = all_cfg if isinstance(all_cfg, str) else (all_cfg or {}).get("enforcementLevel")
    if all_level:
        level = all_level
    specific = user_config.get(policy)
    if isinstance(specific, str):
        level = specific
    elif isinstance(specific, Mapping):
        level = specific.get("enforcementLevel", level)
        props.update({k: v for k, v in specific.items() if k != "enforcementLevel"})
    if level not in ENFORCEMENTS:
        raise ValueError(f"policy config for {label or policy}: enforcement level {level!r} is not one of "
                         f"{ENFORCEMENTS}")
    return level, props


def resolve_config(pack: Pack, user_config: Mapping[str, Any] | None = None) -> dict[str, tuple[str, dict[str, Any]]]:
    """Per policy of the pack, ``(enforcement level, config properties)``: see :func:`resolve_policy_config`."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for rule in pack.rules:
        out[rule.name] = resolve_policy_config(rule.name, rule.enforcement, rule.defaults, user_config,
                                               label=f"{pack.name}/{rule.name}")
    return out


def pack_dirs(root: Path = POLICIES_DIR) -> list[Path]:
    """Directories under ``policies/`` that hold a ``PulumiPolicy.yaml``."""
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / "PulumiPolicy.yaml").is_file())


def load_pack(directory: Path) -> Pack | None:
    """The ``PACK`` of ``policies/<dir>/__init__.py``; None if the package does not define one."""
    _ensure_repo_on_path()
    module = importlib.import_module(f"policies.{directory.name}")
    pack = getattr(module, "PACK", None)
    if pack is not None and hasattr(pack, "rules") and hasattr(pack, "name"):
        if pack.directory is None:
            pack.directory = directory
        return pack
    return None


def discover_packs(root: Path = POLICIES_DIR, *, strict: bool = True) -> list[Pack]:
    """Every pack under ``policies/`` that follows the convention (``PACK`` in its package).

    ``strict=False`` skips a pack whose package fails to import (used inside a running pack, where another
    pack's breakage must not break this one).
    """
    packs = []
    for d in pack_dirs(root):
        try:
            pack = load_pack(d)
        except Exception:
            if strict:
                raise
            continue
        if pack is not None:
            packs.append(pack)
    return packs


PROJECT_CONFIG_DIR = "config"
"""``policies/<pack>/config/<project>.json``: the pack's default policy config for one Pulumi project."""


def project_config_path(pack: Pack, project: str) -> Path | None:
    """Where the pack keeps its default ``--policy-pack-config`` for ``project`` (None if it keeps none)."""
    if pack.directory is None or not project or "/" in project or project.startswith("."):
        return None
    path = pack.directory / PROJECT_CONFIG_DIR / f"{project}.json"
    return path if path.is_file() else None


def project_config(pack: Pack, project: str) -> dict[str, Any] | None:
    """The pack's default policy config for ``project`` (a project's stricter stance, e.g. our own stacks), or
    None. The Pulumi CLI takes the same file with ``--policy-pack-config``; the offline review uses it when no
    ``--policy-pack-config`` names the pack. Raises ValueError if the file is not a JSON object."""
    path = project_config_path(pack, project)
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable JSON policy config ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of policy name -> level or config")
    return data


def known_policy_names() -> list[str]:
    """Policy names of every discovered pack (what a waiver may name), and, in a pack packaged on its own
    (``python -m policies.package``), those of the packs it was packaged with (``policies/policy_names.json``)."""
    names: list[str] = []
    for pack in discover_packs(strict=False):
        names.extend(r.name for r in pack.rules)
    listed = POLICIES_DIR / "policy_names.json"
    if listed.is_file():
        names.extend(str(n) for n in json.loads(listed.read_text(encoding="utf-8")))
    return names


def _ensure_repo_on_path() -> None:
    root = str(REPO_ROOT)
    if root not in sys.path:
        sys.path.insert(0, root)


# ---------------------------------------------------------------------------------------------------------
# Docs
# ---------------------------------------------------------------------------------------------------------

DOCS_HEADER = """\
# Policy packs

<!-- Generated from the code by `python -m policies.common docs --write docs/policies.md`; do not edit.
     tests/test_policies_docs.py keeps this file in sync. -->

CrossGuard policy packs under `policies/`. Each runs two ways, through the same rule code:

* **Pulumi CLI**: `pulumi preview --policy-pack policies/<pack>` (add
  `--policy-pack-config <file>.json` to change enforcement levels or policy config). The pack reads the stack
  config from `PULUMI_CONFIG`, which the CLI sets for the pack process.
* **Offline review**: `python -m review <stack>` runs every pack under `policies/` in-process (same
  enforcement levels and config defaults as the CLI) and `--policy-pack DIR` runs any other pack through the
  real CrossGuard protocol. It exits 1 on a mandatory, unwaived violation.

## Environment

Environment-aware rules (marked *prod* below) read the environment from the stack config
(`<project>:environment`, e.g. `backend-hosting:environment: prod`), else from the resource's `environment`
tag or label (or the provider's default tags/labels); never from the stack's name. `production`/`prd` count as
`prod`. When no environment is known, prod-only rules do not apply.

## Waivers

A waiver is a reviewed exception, kept in the stack file so that it is reviewed in the pull request:

```yaml
config:
  backend-hosting:waivers:
    - policy: ecs-service-no-public-ip
      resource: app-service          # a resource name, an fnmatch pattern ("app-*") or a URN
      reason: Dev has no NAT gateway, so tasks run in public subnets; the security group admits only the ALB.
```

* The reason needs at least 10 words; `policy` must name a policy of one of the packs. An invalid waiver
  waives nothing and is itself a mandatory `waiver-valid` violation.
* **Offline review**: a waived finding is reported with `waived: true` and the waiver's reason, and does not
  fail the review. A waiver that matches no finding is reported by `waiver-audit` (advisory).
* **Pulumi CLI**: a policy's validate function does not report a waived finding (so a waived mandatory
  finding does not fail `pulumi preview`); it records it, and the advisory `waiver-audit` policy, which runs
  last in the stack analysis, lists every waived finding with its reason, so the exception stays visible.

## Severity and enforcement

Severity is `low`, `medium`, `high` or `critical`. Enforcement is the default level (`mandatory` blocks,
`advisory` warns), chosen so that a program hardened as Checkov, AWS Foundational Security Best Practices and
CIS ask is never blocked (docs/decisions, "policy enforcement defaults"):

* **mandatory** by default: what those standards call a defect: public exposure, no authentication, encryption
  off where it is a switch, TLS older than 1.2 or plain HTTP, deprecated runtimes, no rotation, backups, logs
  or deletion guards switched off, plaintext credentials;
* **advisory** by default: hygiene and conventions (tags, X-Ray, WAF, dead-letter queues, customer-managed keys
  where the service always encrypts, lifecycle rules, Pulumi's `protect` option), and practices a standard
  names but that a hardened program may legitimately skip. The "Why" list under each pack gives the reason
  wherever the level is not the plain rule above.

A pack may keep a stricter stance for one project in `policies/<pack>/config/<project>.json` (the
`--policy-pack-config` format for that pack): the offline review applies it when the program's project has that
name and no `--policy-pack-config` names the pack; under the Pulumi CLI pass it with
`--policy-pack-config policies/<pack>/config/<project>.json` (the deploy workflow does). The column named after
the project shows the level it sets.
"""


def _md(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _config_cell(rule: Rule) -> str:
    if not rule.config_schema:
        return ""
    parts = []
    for k, v in rule.config_schema.items():
        default = json.dumps(v.get("default"), separators=(",", ":")) if "default" in v else ""
        parts.append(f"`{k}`={default}" if default else f"`{k}`")
    return _md("; ".join(parts))


def _project_configs(pack: Pack) -> dict[str, dict[str, Any]]:
    """Every ``config/<project>.json`` of the pack, by project."""
    out: dict[str, dict[str, Any]] = {}
    if pack.directory is not None and (pack.directory / PROJECT_CONFIG_DIR).is_dir():
        for path in sorted((pack.directory / PROJECT_CONFIG_DIR).glob("*.json")):
            cfg = project_config(pack, path.stem)
            if cfg is not None:
                out[path.stem] = cfg
    return out


def _project_level(rule: Rule, cfg: Mapping[str, Any]) -> str:
    entry = cfg.get(rule.name)
    if entry is None:
        return "="
    if isinstance(entry, str):
        return entry
    level = entry.get("enforcementLevel", "=") if isinstance(entry, Mapping) else "="
    extra = [k for k in entry if k != "enforcementLevel"] if isinstance(entry, Mapping) else []
    return f"{level}{' (' + ', '.join(extra) + ')' if extra else ''}"


def docs_markdown(packs: Sequence[Pack] | None = None) -> str:
    """``docs/policies.md``: a table of every policy of every pack, from the code."""
    packs = list(packs) if packs is not None else discover_packs()
    out = [DOCS_HEADER]
    for pack in packs:
        projects = _project_configs(pack)
        out.append(f"## Pack `{pack.name}` ({len(pack.rules)} policies)\n")
        out.append(_md(pack.description) + "\n")
        if projects:
            out.append("Project columns: the level set by `policies/" + pack.name + "/config/<project>.json` "
                       "(`=`: the default level; in parentheses, config it also sets).\n")
        categories: dict[str, list[Rule]] = {}
        for r in pack.rules:
            categories.setdefault(r.category, []).append(r)
        proj_head = "".join(f" {p} |" for p in projects)
        for cat, rules in categories.items():
            out.append(f"### {cat}\n")
            out.append(f"| Policy | Severity | Enforcement |{proj_head} Kind | What it checks | Remediation | "
                       "Config |")
            out.append("|---|---|---|" + "---|" * len(projects) + "---|---|---|---|")
            for r in rules:
                kind = r.kind
                proj = "".join(f" {_project_level(r, cfg)} |" for cfg in projects.values())
                out.append(f"| `{r.name}` | {r.severity} | {r.enforcement} |{proj} {kind} | {_md(r.description)} | "
                           f"{_md(r.remediation)} | {_config_cell(r)} |")
            out.append("")
        reasons = [r for r in pack.rules if r.rationale]
        if reasons:
            out.append(f"### Why these levels (pack `{pack.name}`)\n")
            for r in reasons:
                out.append(f"* `{r.name}` ({r.enforcement}): {_md(r.rationale)}")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def _main(argv: Sequence[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m policies.common")
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("docs", help="print (or --write) docs/policies.md")
    d.add_argument("--write", metavar="PATH")
    d.add_argument("--check", metavar="PATH", help="exit 1 if PATH differs from the generated docs")
    args = p.parse_args(argv)
    text = docs_markdown()
    if args.check:
        return 0 if Path(args.check).read_text() == text else 1
    if args.write:
        Path(args.write).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    _ensure_repo_on_path()
    from policies.common import _main as _real_main  # the importable module, so Pack classes are the same

    sys.exit(_real_main())
