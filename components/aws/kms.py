"""EncryptionKey: a customer-managed KMS key with rotation, an alias and a key policy AWS accepts.

The helpers other components use to take a key (``KeyLike``, ``key_arn``, ``data_key``) live in
``components/aws/common.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from .common import (
    AwsContext,
    Grantable,
    Grants,
    ServicePrincipal,
    aws_context,
    child_opts,
    policy_json,
    tag_set,
)

ENCRYPT_DECRYPT_ACTIONS = [
    "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey",
]
"""What a principal needs to encrypt and decrypt data with the key (no administration)."""


@dataclass
class EncryptionKeyArgs:
    """Arguments of :class:`EncryptionKey`."""

    description: str = "Customer-managed key (backend-hosting)"
    """What the key protects; shown in the KMS console."""
    alias: str | None = None
    """Alias without the ``alias/`` prefix; defaults to the component's name."""
    deletion_window_days: int = 30
    """Days KMS waits before deleting a scheduled key (7-30); the maximum gives most time to cancel."""
    rotation_period_days: int = 365
    """Automatic key-material rotation period (90-2560 days); rotation is always on."""
    service_principals: Sequence[ServicePrincipal] = ()
    """Services that use the key as themselves: ``logs`` (CloudWatch Logs log groups in this region and
    account, bound by the ``kms:EncryptionContext:aws:logs:arn`` condition), ``cloudwatch`` (alarms publishing
    to a topic encrypted with this key), ``budgets`` (AWS Budgets publishing to such a topic)."""
    via_services: Sequence[str] = ()
    """Services through which principals of this account may use the key (``kms:ViaService``), e.g.
    ``rds``, ``elasticache``, ``secretsmanager``, ``sns``, ``s3``."""
    cloudfront_distribution_arn: pulumi.Input[str] | None = None
    """Let this one CloudFront distribution decrypt (origin access control reading SSE-KMS objects), bound by
    ``AWS:SourceArn``; ``None`` = no CloudFront statement."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for the key."""
    protect: bool = False
    """Protect the key from deletion by Pulumi (prod)."""


class EncryptionKey(pulumi.ComponentResource):
    """A symmetric customer-managed KMS key with rotation on, an alias and a least-privilege key policy.

    The account root administers the key (the AWS default, which lets IAM policies in this account grant use
    of it); the service principals and ``kms:ViaService`` services named in the arguments may use it.
    """

    key: aws.kms.Key
    alias: aws.kms.Alias
    arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    alias_name: pulumi.Output[str]

    def __init__(self, name: str, args: EncryptionKeyArgs | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:aws:EncryptionKey", name, None, opts)
        args = args or EncryptionKeyArgs()
        if not 7 <= args.deletion_window_days <= 30:
            raise ValueError(f"{name}: deletion_window_days must be 7-30, got {args.deletion_window_days}")
        if not 90 <= args.rotation_period_days <= 2560:
            raise ValueError(f"{name}: rotation_period_days must be 90-2560, got {args.rotation_period_days}")
        unknown = set(args.service_principals) - {"logs", "cloudwatch", "budgets"}
        if unknown:
            raise ValueError(f"{name}: unknown service_principals {sorted(unknown)} (logs, cloudwatch, budgets)")
        for svc in args.via_services:
            if not re.fullmatch(r"[a-z0-9-]+", svc):
                raise ValueError(f"{name}: via_services takes service names like 'rds', got {svc!r}")
        self.service_principals = tuple(args.service_principals)
        self.via_services = tuple(args.via_services)
        self._cloudfront_arn = args.cloudfront_distribution_arn
        self._grants = Grants(self, name)
        ctx = aws_context(self)

        self.key = aws.kms.Key(
            name,
            description=args.description,
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            enable_key_rotation=True,
            rotation_period_in_days=args.rotation_period_days,
            deletion_window_in_days=args.deletion_window_days,
            policy=policy_json(self._key_policy(ctx)),
            tags=tag_set(args.tags, name),
            opts=child_opts(self, protect=args.protect),
        )
        self.alias = aws.kms.Alias(
            name, name=f"alias/{args.alias or name}", target_key_id=self.key.key_id, opts=child_opts(self))
        self.arn = self.key.arn
        self.key_id = self.key.key_id
        self.alias_name = self.alias.name
        self.register_outputs({"arn": self.arn, "key_id": self.key_id, "alias": self.alias_name})

    def _key_policy(self, ctx: AwsContext) -> list[dict[str, Any]]:
        root = pulumi.Output.concat("arn:", ctx.partition, ":iam::", ctx.account_id, ":root")
        statements: list[dict[str, Any]] = [{
            "Sid": "AccountAdministersKeyAndDelegatesToIam",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": "kms:*",
            "Resource": "*",
        }]
        if "logs" in self.service_principals:
            statements.append({
                "Sid": "CloudWatchLogsInThisAccountAndRegion",
                "Effect": "Allow",
                "Principal": {"Service": pulumi.Output.concat("logs.", ctx.region, ".", ctx.dns_suffix)},
                "Action": ENCRYPT_DECRYPT_ACTIONS,
                "Resource": "*",
                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": pulumi.Output.concat(
                    "arn:", ctx.partition, ":logs:", ctx.region, ":", ctx.account_id, ":log-group:*")}},
            })
        if "cloudwatch" in self.service_principals:
            statements.append({
                "Sid": "CloudWatchAlarmsPublishToEncryptedTopics",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
            })
        if "budgets" in self.service_principals:
            statements.append({
                "Sid": "BudgetsPublishToEncryptedTopics",
                "Effect": "Allow",
                "Principal": {"Service": "budgets.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": ctx.account_id},
                    "ArnLike": {"aws:SourceArn": pulumi.Output.concat(
                        "arn:", ctx.partition, ":budgets::", ctx.account_id, ":*")},
                },
            })
        if self._cloudfront_arn is not None:
            statements.append({
                "Sid": "OneCloudFrontDistributionReadsObjects",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {"AWS:SourceArn": self._cloudfront_arn}},
            })
        if self.via_services:
            services = [pulumi.Output.concat(s, ".", ctx.region, ".", ctx.dns_suffix) for s in self.via_services]
            statements.append({
                "Sid": "AccountPrincipalsThroughServices",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": [*ENCRYPT_DECRYPT_ACTIONS, "kms:CreateGrant"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:CallerAccount": ctx.account_id, "kms:ViaService": services},
                },
            })
        return statements

    def grant_encrypt_decrypt(self, grantee: Grantable | aws.iam.Role) -> aws.iam.RolePolicy:
        """Let the grantee's role encrypt and decrypt with this key (one statement on the key ARN)."""
        return self._grants.add("encrypt-decrypt", grantee, [{
            "Sid": "EncryptDecrypt", "Effect": "Allow", "Action": ENCRYPT_DECRYPT_ACTIONS, "Resource": self.arn,
        }])

    def grant_decrypt(self, grantee: Grantable | aws.iam.Role) -> aws.iam.RolePolicy:
        """Let the grantee's role decrypt with this key (``kms:Decrypt`` on the key ARN only)."""
        return self._grants.add("decrypt", grantee, [{
            "Sid": "Decrypt", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": self.arn,
        }])
