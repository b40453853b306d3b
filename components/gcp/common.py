"""What the GCP components share: labels, child options, CMEK references and the wiring protocols.

``components/aws/common.py`` describes AWS-shaped peers (a security group, a task role). On GCP a peer is a
*workload identity* — a service account email that IAM bindings name — plus the network tag its VPC traffic
carries, which firewall rules target. Those are the :class:`Workload` protocol here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import pulumi
import pulumi_gcp as gcp

PRIMITIVE_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})
"""Basic roles this code never grants (tests assert it)."""

RFC1918 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
"""Private ranges: what Cloud Run's ``PRIVATE_RANGES_ONLY`` egress sends into the VPC."""

_LABEL_BAD = re.compile(r"[^a-z0-9_-]+")


def label_value(value: str) -> str:
    """A GCP label value: lowercase letters, digits, ``-`` and ``_``; at most 63 characters."""
    return _LABEL_BAD.sub("-", str(value).lower()).strip("-")[:63]


def gcp_labels(tags: Mapping[str, str] | None, **extra: str) -> dict[str, str]:
    """The standard tag set as GCP labels (keys start with a letter; invalid characters become ``-``)."""
    out: dict[str, str] = {}
    for key, value in {**(tags or {}), **extra}.items():
        k = label_value(key)
        if not k or not k[0].isalpha():
            k = f"x-{k}"[:63]
        out[k] = label_value(value)
    return out


def child_opts(parent: pulumi.Resource, *, protect: bool = False,
               depends_on: Sequence[pulumi.Resource] = (), **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a child: parented to the component (provider flows from it), plus the component's own
    ``depends_on`` (Pulumi does not pass a component's dependencies on to its children)."""
    inherited = list(getattr(parent, "_inherited_deps", ()))
    deps = [*inherited, *depends_on]
    return pulumi.ResourceOptions(parent=parent, protect=protect or None, depends_on=deps or None, **kwargs)


def remember_deps(component: pulumi.Resource, opts: pulumi.ResourceOptions | None) -> None:
    """Record ``opts.depends_on`` on the component so :func:`child_opts` applies it to every child."""
    deps = opts.depends_on if opts is not None else None
    if deps is None:
        items: list[Any] = []
    elif isinstance(deps, pulumi.Resource):
        items = [deps]
    else:
        items = [d for d in deps if isinstance(d, pulumi.Resource)] if isinstance(deps, (list, tuple)) else []
    component._inherited_deps = items  # type: ignore[attr-defined]


def invoke_opts(parent: pulumi.Resource) -> pulumi.InvokeOutputOptions:
    """Invoke options that use the component's provider."""
    return pulumi.InvokeOutputOptions(parent=parent)


@dataclass(frozen=True)
class Cmek:
    """A customer-managed key and the grants that must exist before a service can use it.

    ``ready`` holds the ``CryptoKeyIAMMember`` of the service agent that encrypts with the key: resources using
    the key depend on it, so e.g. a bucket is never created before its agent may use the key.
    """

    key_id: pulumi.Input[str]
    """The key's resource id, ``projects/P/locations/L/keyRings/R/cryptoKeys/K``."""
    ready: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """Resources to depend on before using the key."""


def cmek_id(kms: Cmek | pulumi.Input[str] | None) -> pulumi.Input[str] | None:
    """The key id of a :class:`Cmek` or a plain key id."""
    if kms is None:
        return None
    return kms.key_id if isinstance(kms, Cmek) else kms


def cmek_deps(kms: Cmek | pulumi.Input[str] | None) -> list[pulumi.Resource]:
    """What to depend on before using the key."""
    return list(kms.ready) if isinstance(kms, Cmek) else []


@runtime_checkable
class Workload(Protocol):
    """A GCP workload other components wire to: its identity (a dedicated service account) and, for network
    paths, the VPC network and the tag its traffic carries (e.g. the Cloud Run :class:`Service`)."""

    service_account: gcp.serviceaccount.Account
    member: pulumi.Output[str]
    """``serviceAccount:<email>``, what IAM bindings name."""
    network_tag: str
    """Network tag of the workload's VPC interfaces (firewall rules target it)."""
    network_id: pulumi.Input[str]
    """The VPC network its egress enters."""


def allow_egress(name: str, workload: Workload, *, destinations: Sequence[pulumi.Input[str]],
                 ports: Sequence[str], description: str, parent: pulumi.Resource) -> gcp.compute.Firewall:
    """One egress firewall rule from the workload's network tag to ``destinations`` on tcp ``ports``, above the
    network's private-egress baseline (what a data store's ``allow_from`` writes, parented to the data store)."""
    return gcp.compute.Firewall(
        name, network=workload.network_id, direction="EGRESS", priority=1000,
        allows=[{"protocol": "tcp", "ports": list(ports)}], destination_ranges=list(destinations),
        target_tags=[workload.network_tag], log_config={"metadata": "INCLUDE_ALL_METADATA"},
        description=description, opts=child_opts(parent))


def member_of(grantee: Workload | gcp.serviceaccount.Account | str) -> pulumi.Input[str]:
    """The IAM member of a grantee: a :class:`Workload`, a service account, or an explicit member string."""
    if isinstance(grantee, str):
        if not grantee.startswith(("serviceAccount:", "group:", "user:")):
            raise ValueError(f"IAM member {grantee!r} must start with serviceAccount:, group: or user:")
        return grantee
    if isinstance(grantee, gcp.serviceaccount.Account):
        return grantee.member
    member = getattr(grantee, "member", None)
    if member is None:
        raise TypeError(f"cannot grant to {grantee!r}: not a Workload, service account or member string")
    return member


def grantee_name(grantee: Workload | gcp.serviceaccount.Account | str) -> str:
    """A short logical name for resources that a grant creates."""
    if isinstance(grantee, str):
        return label_value(grantee.split(":", 1)[-1].split("@")[0])
    if isinstance(grantee, pulumi.Resource):
        return grantee.pulumi_resource_name
    return "grantee"
