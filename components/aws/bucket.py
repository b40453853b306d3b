"""Bucket: a private, versioned, encrypted S3 bucket with a TLS-only policy and a lifecycle.

pulumi-aws 7 keeps a bucket's settings in companion resources; this component creates all of them: the four
public-access blocks, ``BucketOwnerEnforced`` (ACLs off), versioning, SSE-KMS with a bucket key, one bucket
policy (denying plain HTTP, plus the log-delivery statements a log bucket needs), the lifecycle and, optionally,
server access logging to another bucket.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from .common import Grantable, Grants, KeyLike, aws_context, child_opts, data_key, key_arn, policy_json, tag_set

LogSource = Literal["s3", "alb", "vended"]
"""Log deliveries a log bucket accepts: S3 server access logs, Application Load Balancer access logs, vended logs
of CloudWatch log delivery (e.g. CloudFront v2 access logs)."""


@dataclass
class BucketArgs:
    """Arguments of :class:`Bucket`."""

    bucket_name: str | None = None
    """Physical (globally unique) bucket name; ``None`` lets Pulumi add a random suffix to the component name."""
    encryption: Literal["kms", "s3"] = "kms"
    """``kms``: SSE-KMS with a customer-managed key and a bucket key. ``s3``: SSE-S3, only for log buckets,
    since S3 server access logs and load balancer logs cannot be delivered to SSE-KMS buckets."""
    kms_key: KeyLike | None = None
    """``encryption="kms"``: an ``EncryptionKey`` or key ARN; ``None`` creates one for this bucket."""
    noncurrent_version_days: int = 30
    """Delete noncurrent object versions this many days after they become noncurrent."""
    transition_to_ia_days: int | None = None
    """Move current objects to STANDARD_IA after N days (>= 30); ``None`` = never."""
    abort_incomplete_upload_days: int = 7
    """Abort multipart uploads not completed within N days (their parts are billed until then)."""
    expire_days: int | None = None
    """Expire current objects after N days (log buckets); ``None`` = keep."""
    access_log_bucket: Bucket | pulumi.Input[str] | None = None
    """Deliver S3 server access logs to this bucket (a ``Bucket`` made with ``log_delivery=["s3"]``, or a
    bucket name); ``None`` = no access logging."""
    access_log_prefix: str | None = None
    """Key prefix of this bucket's access logs in the log bucket; defaults to ``<component name>/``."""
    log_delivery: Sequence[LogSource] = ()
    """Make this a log bucket: let S3 server access logging (``s3``) and/or load balancer access logging
    (``alb``) of this account write to it. Needs ``encryption="s3"``."""
    alb_log_prefix: str = "alb"
    """``log_delivery`` with ``alb``: the prefix the load balancer writes under (``<prefix>/AWSLogs/<account>/``)."""
    policy_statements: Sequence[Mapping[str, Any]] = ()
    """Extra bucket-policy statements (the policy is one resource, so they are merged here). ``Principal: "*"``
    is refused except in ``Deny`` statements."""
    cloudfront_distribution_arn: pulumi.Input[str] | None = None
    """Serve objects through this CloudFront distribution (origin access control): the bucket policy lets only
    it read objects (``AWS:SourceArn``) and the bucket's own key lets only it decrypt. Needs ``kms_key=None``
    with ``encryption="kms"``. Often a ``pulumi.deferred_output()`` resolved once the distribution exists."""
    force_destroy: bool | None = None
    """Let ``pulumi destroy`` delete a non-empty bucket; ``None`` = only when not ``protect``. Refused with
    ``protect``."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for the bucket and the key it creates."""
    protect: bool = False
    """Pulumi ``protect`` on the bucket and the key it creates (prod)."""


class Bucket(pulumi.ComponentResource):
    """A private S3 bucket: public access blocked, ACLs off, versioned, encrypted, TLS-only, with a lifecycle.

    Wiring: :meth:`grant_read`, :meth:`grant_read_write` (one inline policy on the grantee's role: object
    actions on ``arn/*``, ``s3:ListBucket`` on the bucket, KMS use through S3 only).
    """

    bucket: aws.s3.Bucket
    policy: aws.s3.BucketPolicy
    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: BucketArgs | None = None, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:aws:Bucket", name, None, opts)
        args = args or BucketArgs()
        self.args = args
        self._cname = name
        self._validate(name, args)
        self._grants = Grants(self, name)
        self._ctx = ctx = aws_context(self)
        tags = args.tags
        force_destroy = (not args.protect) if args.force_destroy is None else args.force_destroy

        self.kms_key = None
        self.kms_key_arn = None
        if args.encryption == "kms":
            self.kms_key = data_key(self, name, args.kms_key, description=f"{name}: S3 objects",
                                    via_services=("s3",), tags=tags, protect=args.protect,
                                    cloudfront_distribution_arn=args.cloudfront_distribution_arn)
            self.kms_key_arn = key_arn(self.kms_key)

        self.bucket = aws.s3.Bucket(
            name, bucket=args.bucket_name, force_destroy=force_destroy, tags=tag_set(tags, name),
            opts=child_opts(self, protect=args.protect))
        bid = self.bucket.id
        self.name = self.bucket.bucket
        self.arn = self.bucket.arn

        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            name, bucket=bid, block_public_acls=True, block_public_policy=True, ignore_public_acls=True,
            restrict_public_buckets=True, opts=child_opts(self))
        self.ownership = aws.s3.BucketOwnershipControls(
            name, bucket=bid, rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child_opts(self, depends_on=[self.public_access_block]))
        self.versioning = aws.s3.BucketVersioning(
            name, bucket=bid, versioning_configuration={"status": "Enabled"}, opts=child_opts(self))
        if args.encryption == "kms":
            default = {"sse_algorithm": "aws:kms", "kms_master_key_id": self.kms_key_arn}
        else:
            default = {"sse_algorithm": "AES256"}
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            name, bucket=bid,
            rules=[{"apply_server_side_encryption_by_default": default,
                    "bucket_key_enabled": args.encryption == "kms"}],
            opts=child_opts(self))

        self.policy = aws.s3.BucketPolicy(
            name, bucket=bid, policy=policy_json(self._policy_statements(ctx)),
            opts=child_opts(self, depends_on=[self.public_access_block, self.ownership]))

        rule: dict[str, Any] = {
            "id": "default",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "abort_incomplete_multipart_upload": {"days_after_initiation": args.abort_incomplete_upload_days},
            "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_version_days},
            "expiration": ({"days": args.expire_days} if args.expire_days
                           else {"expired_object_delete_marker": True}),
        }
        if args.transition_to_ia_days:
            rule["transitions"] = [{"days": args.transition_to_ia_days, "storage_class": "STANDARD_IA"}]
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            name, bucket=bid, rules=[rule], opts=child_opts(self, depends_on=[self.versioning]))

        self.logging = None
        if args.access_log_bucket is not None:
            target = args.access_log_bucket.name if isinstance(args.access_log_bucket, Bucket) \
                else args.access_log_bucket
            self.logging = aws.s3.BucketLogging(
                name, bucket=bid, target_bucket=target, target_prefix=args.access_log_prefix or f"{name}/",
                opts=child_opts(self))

        self.register_outputs({"name": self.name, "arn": self.arn, "kms_key_arn": self.kms_key_arn})

    @staticmethod
    def _validate(name: str, args: BucketArgs) -> None:
        if args.bucket_name is not None and not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", args.bucket_name):
            raise ValueError(f"{name}: {args.bucket_name!r} is not a valid S3 bucket name")
        if args.encryption == "s3" and args.kms_key is not None:
            raise ValueError(f"{name}: kms_key is only used with encryption='kms'")
        unknown = set(args.log_delivery) - {"s3", "alb", "vended"}
        if unknown:
            raise ValueError(f"{name}: unknown log_delivery {sorted(unknown)} (s3, alb, vended)")
        if args.log_delivery and args.encryption != "s3":
            raise ValueError(f"{name}: a log bucket (log_delivery) needs encryption='s3': S3 access logs and "
                             "load balancer logs cannot be delivered to SSE-KMS buckets")
        if args.force_destroy and args.protect:
            raise ValueError(f"{name}: force_destroy is refused on a protected bucket")
        if args.transition_to_ia_days is not None and args.transition_to_ia_days < 30:
            raise ValueError(f"{name}: transition_to_ia_days must be at least 30 (an S3 minimum)")
        if args.noncurrent_version_days < 1 or args.abort_incomplete_upload_days < 1:
            raise ValueError(f"{name}: lifecycle day counts must be at least 1")
        if args.expire_days is not None and args.transition_to_ia_days and \
                args.expire_days <= args.transition_to_ia_days:
            raise ValueError(f"{name}: expire_days must come after transition_to_ia_days")
        for st in args.policy_statements:
            if st.get("Effect") != "Deny" and _has_wildcard_principal(st.get("Principal")):
                raise ValueError(f"{name}: policy_statements may use Principal '*' only in Deny statements")

    def _policy_statements(self, ctx: Any) -> list[Mapping[str, Any]]:
        args = self.args
        objects = pulumi.Output.concat(self.arn, "/*")
        statements: list[Mapping[str, Any]] = [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [self.arn, objects],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }]
        if "s3" in args.log_delivery:
            statements.append({
                "Sid": "S3ServerAccessLogsFromThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id}},
            })
        if "vended" in args.log_delivery:
            statements.append({
                "Sid": "VendedLogsFromThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": "delivery.logs.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id,
                                               "s3:x-amz-acl": "bucket-owner-full-control"}},
            })
        if "alb" in args.log_delivery:
            prefix = args.alb_log_prefix.strip("/")
            alb_objects = pulumi.Output.concat(self.arn, "/", f"{prefix}/" if prefix else "", "AWSLogs/",
                                               ctx.account_id, "/*")
            elb = aws.elb.get_service_account_output(opts=pulumi.InvokeOutputOptions(parent=self))
            statements.append({
                "Sid": "LoadBalancerLogsLegacyRegions",
                "Effect": "Allow",
                "Principal": {"AWS": elb.arn},
                "Action": "s3:PutObject",
                "Resource": alb_objects,
            })
            statements.append({
                "Sid": "LoadBalancerLogsDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": alb_objects,
            })
        if args.cloudfront_distribution_arn is not None:
            statements.append({
                "Sid": "OneCloudFrontDistributionReadsObjects",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": objects,
                "Condition": {"StringEquals": {"AWS:SourceArn": args.cloudfront_distribution_arn}},
            })
        statements.extend(args.policy_statements)
        return statements

    # -- wiring -----------------------------------------------------------------------------------------
    def _kms_statement(self, actions: list[str]) -> list[dict[str, Any]]:
        if self.kms_key_arn is None:
            return []
        return [{
            "Sid": "UseBucketKeyThroughS3", "Effect": "Allow", "Action": actions, "Resource": self.kms_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": pulumi.Output.concat(
                "s3.", self._ctx.region, ".", self._ctx.dns_suffix)}},
        }]

    def grant_read(self, grantee: Grantable | aws.iam.Role) -> aws.iam.RolePolicy:
        """Read objects: ``s3:GetObject`` on ``arn/*``, ``s3:ListBucket`` on the bucket, ``kms:Decrypt``."""
        return self._grants.add("read", grantee, [
            {"Sid": "ReadObjects", "Effect": "Allow", "Action": "s3:GetObject",
             "Resource": pulumi.Output.concat(self.arn, "/*")},
            {"Sid": "ListBucket", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": self.arn},
            *self._kms_statement(["kms:Decrypt"]),
        ])

    def grant_read_write(self, grantee: Grantable | aws.iam.Role) -> aws.iam.RolePolicy:
        """Read and write objects: plus ``s3:PutObject``/``s3:DeleteObject`` and ``kms:GenerateDataKey``."""
        return self._grants.add("read-write", grantee, [
            {"Sid": "ReadWriteObjects", "Effect": "Allow",
             "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
             "Resource": pulumi.Output.concat(self.arn, "/*")},
            {"Sid": "ListBucket", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": self.arn},
            *self._kms_statement(["kms:Decrypt", "kms:GenerateDataKey"]),
        ])


def _has_wildcard_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return any(v == "*" or (isinstance(v, list) and "*" in v) for v in principal.values())
    return False
