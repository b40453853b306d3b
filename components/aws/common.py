"""What the AWS components share: tags, child options, the account context, IAM policy documents, grants,
the customer-managed-key helpers and the one network path ``allow_from`` opens.

The GCP peer of this module is ``components/gcp/common.py``; what both clouds share lives in
``components/base.py``, which imports no cloud SDK.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias, runtime_checkable

import pulumi
import pulumi_aws as aws

if TYPE_CHECKING:
    from .kms import EncryptionKey

ServicePrincipal = Literal["logs", "cloudwatch", "budgets"]
"""Services that use a key as themselves (their service principal is named in the key policy)."""


# -- tags and options ----------------------------------------------------------------------------------------
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


# -- account context -----------------------------------------------------------------------------------------
@dataclass
class AwsContext:
    """Account, region and partition of the provider a component runs under (Outputs)."""

    account_id: pulumi.Output[str]
    region: pulumi.Output[str]
    partition: pulumi.Output[str]
    dns_suffix: pulumi.Output[str]


def aws_context(parent: pulumi.Resource) -> AwsContext:
    """Look up the caller account, region and partition through ``parent``'s provider."""
    opts = pulumi.InvokeOutputOptions(parent=parent)
    ident = aws.get_caller_identity_output(opts=opts)
    region = aws.get_region_output(opts=opts)
    part = aws.get_partition_output(opts=opts)
    return AwsContext(account_id=ident.account_id, region=region.region, partition=part.partition,
                      dns_suffix=part.dns_suffix)


# -- IAM policy documents ------------------------------------------------------------------------------------
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


# -- wiring protocols ----------------------------------------------------------------------------------------
@runtime_checkable
class Connectable(Protocol):
    """Something with a security group that network paths are opened from (e.g. the Service)."""

    security_group: aws.ec2.SecurityGroup


@runtime_checkable
class Grantable(Protocol):
    """Something with an IAM role that grants add statements to (e.g. the Service's task role)."""

    task_role: aws.iam.Role


def role_of(grantee: Grantable | aws.iam.Role) -> aws.iam.Role:
    """The IAM role a grant is written to: the grantee's ``task_role``, or the role itself."""
    if isinstance(grantee, aws.iam.Role):
        return grantee
    role = getattr(grantee, "task_role", None)
    if not isinstance(role, aws.iam.Role):
        raise TypeError(f"cannot grant to {grantee!r}: it is neither an aws.iam.Role nor has a task_role")
    return role


class Grants:
    """Writes each grant as one inline role policy, once per (purpose, role), parented to the component."""

    def __init__(self, parent: pulumi.Resource, prefix: str) -> None:
        self._parent = parent
        self._prefix = prefix
        self.policies: dict[str, aws.iam.RolePolicy] = {}

    def add(self, purpose: str, grantee: Grantable | aws.iam.Role,
            statements: Sequence[Mapping[str, Any]]) -> aws.iam.RolePolicy:
        """Attach ``statements`` to the grantee's role as ``<prefix>-<purpose>-<role name>``."""
        role = role_of(grantee)
        name = f"{self._prefix}-{purpose}-{role.pulumi_resource_name}"
        if name not in self.policies:
            self.policies[name] = aws.iam.RolePolicy(
                name, role=role.id, policy=policy_json(statements), opts=child_opts(self._parent))
        return self.policies[name]


def allow_ingress(owner: pulumi.Resource, security_group: aws.ec2.SecurityGroup, peer: Connectable, *,
                  from_port: int, to_port: int, what: str, tags: Mapping[str, str],
                  description: str | None = None) -> aws.vpc.SecurityGroupIngressRule:
    """The one network path a data store's ``allow_from`` opens: ingress on ``from_port``-``to_port``/tcp into
    ``security_group`` from the peer's security group, and the matching egress rule on the peer's group, both
    parented to ``owner`` and named ``<owner>-from-<peer>`` / ``<peer>-to-<owner>``."""
    name = owner.pulumi_resource_name
    sg = getattr(peer, "security_group", None)
    if not isinstance(sg, aws.ec2.SecurityGroup):
        raise TypeError(f"{name}: allow_from needs something with a security_group, got {peer!r}")
    peer_name = peer.pulumi_resource_name if isinstance(peer, pulumi.Resource) else sg.pulumi_resource_name
    rule = aws.vpc.SecurityGroupIngressRule(
        f"{name}-from-{peer_name}", security_group_id=security_group.id, referenced_security_group_id=sg.id,
        ip_protocol="tcp", from_port=from_port, to_port=to_port, description=description or f"{what} from {peer_name}",
        tags=tag_set(tags, f"{name}-from-{peer_name}"), opts=child_opts(owner))
    aws.vpc.SecurityGroupEgressRule(
        f"{peer_name}-to-{name}", security_group_id=sg.id, referenced_security_group_id=security_group.id,
        ip_protocol="tcp", from_port=from_port, to_port=to_port, description=f"{what} to {name}",
        tags=tag_set(tags, f"{peer_name}-to-{name}"), opts=child_opts(owner))
    return rule


# -- customer-managed keys -----------------------------------------------------------------------------------
KeyLike: TypeAlias = "EncryptionKey | pulumi.Input[str]"
"""A KMS key given to a component: an :class:`~components.aws.kms.EncryptionKey` or a key ARN."""


def key_arn(key: KeyLike) -> pulumi.Output[str]:
    """The ARN of a key given as an ``EncryptionKey`` or an ARN."""
    from .kms import EncryptionKey  # kms.py builds on this module

    if isinstance(key, EncryptionKey):
        return key.arn
    return pulumi.Output.from_input(key)


def data_key(parent: pulumi.ComponentResource, name: str, key: KeyLike | None, *, description: str,
             via_services: Sequence[str], needs: Sequence[ServicePrincipal] = (), tags: Mapping[str, str],
             protect: bool, cloudfront_distribution_arn: pulumi.Input[str] | None = None) -> KeyLike:
    """The key a component encrypts with: the one given, or a new ``EncryptionKey`` child.

    ``needs`` names the service principals that must be able to use the key (e.g. ``logs`` when the component's
    log groups are encrypted with it); a given ``EncryptionKey`` is checked for them, a plain ARN is trusted.
    """
    from .kms import EncryptionKey, EncryptionKeyArgs  # kms.py builds on this module

    if key is None:
        return EncryptionKey(
            f"{name}-key",
            EncryptionKeyArgs(description=description, alias=name, via_services=via_services,
                              service_principals=tuple(needs), cloudfront_distribution_arn=cloudfront_distribution_arn,
                              tags=tags, protect=protect),
            opts=child_opts(parent),
        )
    if cloudfront_distribution_arn is not None:
        raise ValueError(f"{name}: a bucket served through CloudFront needs its own key (kms_key=None), whose policy "
                         "lets only that distribution decrypt")
    if isinstance(key, EncryptionKey):
        missing = [s for s in needs if s not in key.service_principals]
        if missing:
            raise ValueError(f"{name}: kms_key must allow {', '.join(missing)} (EncryptionKeyArgs.service_principals)"
                             " because this component's resources are encrypted with it")
    return key
