"""What every component shares: the tag set, child options, and the wiring protocols between components."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class ApiRoute:
    """One versioned API on a load balancer: ``/<name>`` and ``/<name>/*`` go to its own backend (AWS: a target
    group; GCP: a backend service), split with a ``<name>-canary`` backend when ``canary_weight`` > 0."""

    name: str
    """Version name and path prefix, e.g. ``v1``."""
    weight: int = 100
    """Weight of the primary backend when a canary is present (AWS 0-999, GCP 0-1000)."""
    canary_weight: int = 0
    """Weight of the ``<name>-canary`` backend (AWS: its target group; GCP: the Cloud Run revision tagged
    ``canary``); 0 creates no canary."""


def tag_set(tags: Mapping[str, str] | None, name: str | None = None) -> dict[str, str]:
    """The standard tags plus a ``Name`` tag (what the AWS console shows)."""
    out = dict(tags or {})
    if name:
        out["Name"] = name
    return out


def child_opts(parent: pulumi.Resource, *, protect: bool = False, retain_on_delete: bool = False,
               **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a child: parented to the component (provider and aliases flow from it)."""
    return pulumi.ResourceOptions(parent=parent, protect=protect or None, retain_on_delete=retain_on_delete or None,
                                  **kwargs)


def policy_json(statements: Sequence[Mapping[str, Any]]) -> pulumi.Output[str]:
    """An IAM policy document (Version 2012-10-17) from statements whose values may be Outputs."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def service_principal_policy(service: str, *, source_account: pulumi.Input[str] | None = None,
                             source_arn: pulumi.Input[str] | None = None) -> pulumi.Input[str]:
    """Trust policy letting an AWS service (e.g. ``ecs-tasks.amazonaws.com``) assume a role.

    ``source_account`` / ``source_arn`` add the confused-deputy conditions AWS recommends
    (``aws:SourceAccount`` equals, ``aws:SourceArn`` like), so the service assumes the role only on behalf of
    this account's resources.
    """
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if source_account is None and source_arn is None:
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    condition: dict[str, Any] = {}
    if source_account is not None:
        condition["StringEquals"] = {"aws:SourceAccount": source_account}
    if source_arn is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    statement["Condition"] = condition
    return policy_json([statement])


@runtime_checkable
class Connectable(Protocol):
    """Something with a security group that network paths are opened from (e.g. the Service)."""

    security_group: aws.ec2.SecurityGroup


@runtime_checkable
class Grantable(Protocol):
    """Something with an IAM role that grants add statements to (e.g. the Service's task role)."""

    task_role: aws.iam.Role
