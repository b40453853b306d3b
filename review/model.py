"""The captured resource graph: what a program declares, as the engine and policy packs see it."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from engine_values import MISSING, SECRET, UNKNOWN, dig
from pricing.report import CostComponent, CostReport, ResourceCost

__all__ = [
    "MISSING", "SECRET", "UNKNOWN", "CostComponent", "CostReport", "Graph", "Resource", "ResourceCost", "Violation",
    "dig", "display_value",
]


@dataclass
class Resource:
    """One registered resource: identity, inputs (camelCase, secrets redacted) and resource options."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    provider: str | None
    inputs: dict[str, Any]
    options: dict[str, Any]
    id: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    judged_inputs: dict[str, Any] | None = None
    """Inputs with secrets unwrapped to their real values: what policies judge, never rendered (None: as
    :attr:`inputs`). See :mod:`review.secrets`."""
    secret_digests: dict[str, str] = field(default_factory=dict)
    """Input path -> keyed fingerprint of each secret's real value, so a diff can see a secret change."""

    @property
    def real_inputs(self) -> dict[str, Any]:
        """The judged view of the inputs (policies only)."""
        return self.inputs if self.judged_inputs is None else self.judged_inputs

    @property
    def provider_urn(self) -> str | None:
        """URN of the provider resource (the reference is ``urn::id``)."""
        if not self.provider:
            return None
        return self.provider.rsplit("::", 1)[0]

    def get(self, path: str, default: Any = None) -> Any:
        """An input by dotted path, e.g. ``res.get("serverSideEncryptionConfiguration.rules")``."""
        return dig(self.inputs, path, default)

    def to_json(self) -> dict[str, Any]:
        """The JSON contract shape (docs/architecture.md; unknown values shown as ``(unknown)``)."""
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "provider": self.provider_urn,
            "inputs": display_value(self.inputs),
            "options": self.options,
        }


def display_value(value: Any) -> Any:
    """Replace the unknown sentinel with a readable marker, recursively."""
    if value == UNKNOWN:
        return "(unknown)"
    if isinstance(value, dict):
        return {k: display_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [display_value(v) for v in value]
    return value


@dataclass
class Graph:
    """Everything one program run declared, with lookup helpers for tests and reports."""

    project: str
    stack: str
    resources: list[Resource]
    outputs: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    """Stack config (``ns:key`` -> decoded value), secrets redacted."""
    secret_keys: list[str] = field(default_factory=list)
    stack_urn: str = ""
    logs: list[str] = field(default_factory=list)
    judged_config: dict[str, Any] = field(default_factory=dict)
    """The real values of secret config keys, which :attr:`config` shows as ``[secret]`` (policies only)."""
    secret_texts: frozenset[str] = frozenset()
    """Text of every secret value the program knows: removed from anything the review prints."""

    @property
    def real_config(self) -> dict[str, Any]:
        """The judged view of the config (policies only)."""
        return {**self.config, **self.judged_config} if self.judged_config else self.config

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    def by_type(self, type_: str) -> list[Resource]:
        """All resources of a type token, e.g. ``aws:ec2/subnet:Subnet`` (fnmatch patterns allowed)."""
        if any(c in type_ for c in "*?["):
            return [r for r in self.resources if fnmatch.fnmatchcase(r.type, type_)]
        return [r for r in self.resources if r.type == type_]

    def by_name(self, name: str, type_: str | None = None) -> Resource:
        """The one resource with this logical name (and type); raises KeyError if none or several."""
        found = [r for r in self.resources if r.name == name and (type_ is None or r.type == type_)]
        if len(found) != 1:
            names = sorted({r.name for r in self.resources})
            raise KeyError(f"{len(found)} resources named {name!r} (type {type_}); names: {names}")
        return found[0]

    def find(self, name: str, type_: str | None = None) -> Resource | None:
        """Like :meth:`by_name` but returns None when absent."""
        try:
            return self.by_name(name, type_)
        except KeyError:
            return None

    def get(self, urn: str) -> Resource | None:
        """A resource by URN."""
        for r in self.resources:
            if r.urn == urn:
                return r
        return None

    def children(self, parent: Resource | str, recursive: bool = False) -> list[Resource]:
        """Resources parented to ``parent`` (a resource or URN); with ``recursive``, all descendants."""
        purn = parent if isinstance(parent, str) else parent.urn
        direct = [r for r in self.resources if r.parent == purn]
        if not recursive:
            return direct
        out = list(direct)
        for child in direct:
            out.extend(self.children(child, recursive=True))
        return out

    def inputs(self, name: str, type_: str | None = None) -> dict[str, Any]:
        """Inputs of the one resource with this name."""
        return self.by_name(name, type_).inputs

    def counts(self) -> dict[str, int]:
        """Number of resources per type."""
        out: dict[str, int] = {}
        for r in self.resources:
            out[r.type] = out.get(r.type, 0) + 1
        return dict(sorted(out.items()))

    def types(self) -> set[str]:
        """The set of types present."""
        return {r.type for r in self.resources}

    def config_value(self, key: str, default: Any = None) -> Any:
        """A stack config value by ``ns:key``; bare keys are in the project namespace."""
        full = key if ":" in key else f"{self.project}:{key}"
        return self.config.get(full, default)


@dataclass
class Violation:
    """One policy finding, as the review reports it (``violations`` of the JSON contract, docs/architecture.md)."""

    pack: str
    policy: str
    enforcement: str
    """``mandatory``, ``advisory`` or ``remediate`` (``disabled`` policies never report)."""
    message: str
    urn: str | None = None
    resource_type: str | None = None
    resource_name: str | None = None
    severity: str = "medium"
    remediation: str = ""
    waived: bool = False
    waiver_reason: str | None = None

    @property
    def blocking(self) -> bool:
        """A mandatory finding that no waiver covers: the review exits 1."""
        return self.enforcement == "mandatory" and not self.waived

    def to_json(self) -> dict[str, Any]:
        """The JSON contract shape (docs/architecture.md)."""
        return {
            "pack": self.pack, "policy": self.policy, "enforcement": self.enforcement, "severity": self.severity,
            "urn": self.urn, "resource_type": self.resource_type, "resource_name": self.resource_name,
            "message": self.message, "remediation": self.remediation, "waived": self.waived,
            "waiver_reason": self.waiver_reason,
        }
