"""Edge and resilience (issue 14): the CDN in front of the load balancer and the assets bucket, and disaster
recovery (copies of the database and buckets in the DR region), composed for each cloud.

The stacks call these at fixed points (see the ``issue 14`` comments in ``stacks/aws.py`` and ``stacks/gcp.py``):
``prepare_*`` before the load balancer and buckets (what they must know at creation: the CDN origin secret,
the distribution ARN the assets bucket admits, the DR storage key), ``build_*`` once the load balancer,
database and buckets exist. Everything here is off unless ``cdn.enabled`` / ``dr.crossRegion`` say so.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.aws.backup import BackupPlan, BackupPlanArgs, BucketReplica, BucketReplicaArgs, DatabaseBackupReplica
from components.aws.cdn import Cdn, CdnArgs
from components.aws.load_balancer import CdnOrigin
from components.aws.load_balancer import LoadBalancer as AwsLoadBalancer
from components.gcp.common import Cmek
from components.gcp.dr import DatabaseReplica, DatabaseReplicaArgs
from components.gcp.kms import EncryptionKey as GcpEncryptionKey
from components.gcp.kms import EncryptionKeyArgs as GcpEncryptionKeyArgs

from .settings import CDN_STATIC_BUCKET, AwsSettings, GcpSettings

STATIC_BUCKET = CDN_STATIC_BUCKET
"""The bucket (by settings name) the CDN serves under ``/static/*``, when the stack has it."""
CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
"""AWS-managed prefix list of CloudFront's origin-facing addresses."""
CDN_FILL_AGENT = "cloud-cdn-fill.iam.gserviceaccount.com"
"""Domain of the Cloud CDN fill service agent, which reads a private backend bucket's objects."""


def dr_objectives(settings: AwsSettings | GcpSettings) -> dict[str, Any]:
    """The stated objectives as exported (``dr`` output): what the review measures the design against."""
    dr = settings.dr
    return {"rpoMinutes": dr.rpo_minutes, "rtoMinutes": dr.rto_minutes, "region": settings.dr_region}


# -- AWS ----------------------------------------------------------------------------------------------------------
@dataclass
class AwsEdge:
    """What the load balancer and the assets bucket need before the distribution exists.

    ``distribution_arn`` is a deferred output: :func:`build_edge_aws` resolves it with the distribution's ARN.
    Whatever resolves it, :meth:`settle` runs on every path out of the stack (:func:`edge_scope`, around
    ``build_aws``): an output nobody resolves would leave the bucket policy and key waiting for ever (the engine,
    and the review's mock runtime, would hang instead of failing).
    """

    origin: CdnOrigin
    distribution_arn: pulumi.Output[str]
    _resolve: Callable[[pulumi.Output[str]], None]
    origin_secret: random.RandomPassword
    """The generated header value: a Pulumi secret (encrypted in the stack state, never in code or config)."""
    resolved: bool = False

    def resolve(self, arn: pulumi.Output[str]) -> None:
        """Resolve the distribution ARN (once)."""
        if self.resolved:
            raise RuntimeError("the CDN distribution ARN is resolved once")
        self.resolved = True
        self._resolve(arn)

    def settle(self) -> None:
        """Resolve the ARN with a placeholder if :func:`build_edge_aws` did not (the program failed before it):
        what waits on it then completes and the failure is reported, instead of a hang."""
        if not self.resolved:
            self.resolve(pulumi.Output.from_input(UNBUILT_DISTRIBUTION_ARN))


UNBUILT_DISTRIBUTION_ARN = "arn:aws:cloudfront::000000000000:distribution/NOT-BUILT"
"""What :meth:`AwsEdge.settle` resolves an unbuilt distribution's ARN with (admits nothing real)."""


_PENDING: contextvars.ContextVar[list[AwsEdge] | None] = contextvars.ContextVar("pending_cdn_edges", default=None)
_F = TypeVar("_F", bound=Callable[..., Any])


def edge_scope(fn: _F) -> _F:
    """Decorate the function that calls :func:`prepare_edge_aws` (``build_aws``): every edge prepared during the
    call is settled when it returns or raises, so no deferred distribution ARN is ever left unresolved."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = _PENDING.set([])
        try:
            return fn(*args, **kwargs)
        finally:
            pending = _PENDING.get() or []
            _PENDING.reset(token)
            for edge in pending:
                edge.settle()

    return wrapper  # type: ignore[return-value]


def prepare_edge_aws(settings: AwsSettings, provider: aws.Provider, opts: pulumi.ResourceOptions) -> AwsEdge | None:
    """The origin's admission (prefix list, generated secret header); None without CDN. The header value is a
    Pulumi secret only: CloudFront and the listener rules are its sole readers, and ``pulumi up --replace`` on
    the RandomPassword rotates it (docs/runbook.md). Refused outside :func:`edge_scope` (nothing would settle it)."""
    if not settings.cdn.enabled:
        return None
    pending = _PENDING.get()
    if pending is None:  # outside edge_scope nothing would settle the deferred ARN: refuse rather than hang
        raise RuntimeError("prepare_edge_aws runs inside a function decorated with @edge_scope (build_aws)")
    from components.aws.cdn import ORIGIN_HEADER

    base = f"{settings.name}-{settings.environment}"
    prefix_list = aws.ec2.get_managed_prefix_list_output(
        name=CLOUDFRONT_PREFIX_LIST, opts=pulumi.InvokeOutputOptions(provider=provider))
    holder = pulumi.ComponentResource("backend:aws:CdnOriginSecret", f"{base}-cdn-origin", None, opts)
    value = random.RandomPassword(f"{base}-cdn-origin", length=48, special=False,
                                  opts=pulumi.ResourceOptions(parent=holder))
    holder.register_outputs({})
    arn, resolve = pulumi.deferred_output()
    edge = AwsEdge(origin=CdnOrigin(prefix_list_id=prefix_list.id, header_name=ORIGIN_HEADER,
                                    header_value=value.result),
                   distribution_arn=arn, _resolve=resolve, origin_secret=value)
    pending.append(edge)
    return edge


def cdn_arn_for(edge: AwsEdge | None, bucket_name: str) -> pulumi.Output[str] | None:
    """The distribution ARN a bucket admits (the static bucket only), or None."""
    return edge.distribution_arn if edge is not None and bucket_name == STATIC_BUCKET else None


def build_edge_aws(settings: AwsSettings, edge: AwsEdge | None, *, provider: aws.Provider, lb: AwsLoadBalancer,
                   buckets: Mapping[str, Any], logs_key_arn: pulumi.Input[str],
                   opts: pulumi.ResourceOptions) -> Cdn | None:
    """The CloudFront distribution (with ``edge``) and the regional web ACL's logging; exports ``cdn_domain``."""
    base = f"{settings.name}-{settings.environment}"
    tags = settings.standard_tags
    lb.log_waf(kms_key_arn=logs_key_arn, retention_days=settings.monitoring.log_retention_days, tags=tags)
    if edge is None:
        return None
    us_east_1 = provider if settings.region == "us-east-1" else aws.Provider("aws-us-east-1", region="us-east-1")
    domain = lb.domain
    certificate_arn: pulumi.Input[str] | None = None
    if domain:
        if settings.region == "us-east-1":
            certificate_arn = lb.certificate_arn
        else:  # CloudFront takes certificates from us-east-1 only
            cert_opts = pulumi.ResourceOptions(provider=us_east_1, parent=lb)
            cert = aws.acm.Certificate(f"{base}-cdn-cert", domain_name=domain, validation_method="DNS",
                                       key_algorithm="EC_prime256v1", tags=tags, opts=cert_opts)
            # ACM gives one account the same validation CNAME for a name in every region: the record the load
            # balancer's certificate created (or the one an operator adds, certificate_validation_records)
            # validates this one too; the distribution waits until it is issued.
            certificate_arn = aws.acm.CertificateValidation(
                f"{base}-cdn-cert", certificate_arn=cert.arn, opts=pulumi.ResourceOptions.merge(
                    cert_opts, pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create="45m")))
            ).certificate_arn
    static = buckets.get(STATIC_BUCKET)
    cdn = Cdn(base, CdnArgs(
        origin_domain=lb.dns_name, origin_secret=edge.origin.header_value, aliases=[domain] if domain else [],
        certificate_arn=certificate_arn, zone_id=lb.zone_id,
        static_bucket_domain=static.bucket.bucket_regional_domain_name if static is not None else None,
        static_ttl_seconds=settings.cdn.static_ttl_seconds, price_class=settings.cdn.price_class,
        web_acl=settings.load_balancer.waf, rate_limit_per_5min=settings.load_balancer.rate_limit_per_5min,
        log_expire_days=max(settings.monitoring.log_retention_days, 30), protect=settings.is_prod, tags=tags,
        # the edge web ACL logs to us-east-1: the stack's log key is usable there only when the stack is there
        waf_log_kms_key_arn=logs_key_arn if settings.region == "us-east-1" else None,
        waf_log_retention_days=settings.monitoring.log_retention_days),
        opts=opts, us_east_1=us_east_1)
    edge.resolve(cdn.arn)
    pulumi.export("cdn_domain", cdn.domain_name)
    return cdn


def build_dr_aws(settings: AwsSettings, *, database: Any, buckets: Mapping[str, Any],
                 boundary: pulumi.Input[str] | None, opts: pulumi.ResourceOptions) -> BackupPlan | None:
    """AWS Backup (vault lock, copies to the DR region), RDS backup replication and S3 replication; exports the
    stated objectives (``dr``)."""
    pulumi.export("dr", dr_objectives(settings))
    region = settings.dr_region
    if region is None:
        return None
    base = f"{settings.name}-{settings.environment}"
    tags = settings.standard_tags
    prod = settings.is_prod
    dr_provider = aws.Provider("aws-dr", region=region)
    resources: list[pulumi.Input[str]] = [b.arn for b in buckets.values()]
    if database is not None:
        resources.insert(0, database.cluster.arn if getattr(database, "aurora", False) else database.instance.arn)
    plan = BackupPlan(f"{base}-backup", BackupPlanArgs(
        resources=resources, bucket_arns=[b.arn for b in buckets.values()], dr_provider=dr_provider,
        retention_days=settings.dr.backup_retention_days,
        vault_lock=settings.dr.vault_lock, permissions_boundary=boundary, tags=tags, protect=prod),
        opts=opts) if resources else None  # no database and no bucket: nothing to back up
    if database is not None and not getattr(database, "aurora", False):
        DatabaseBackupReplica(f"{base}-db", instance_arn=database.instance.arn,
                              retention_days=settings.database.backup_retention_days, dr_provider=dr_provider,
                              tags=tags, protect=prod, opts=opts)
    for key, bucket in buckets.items():
        if bucket.kms_key_arn is not None:
            BucketReplica(f"{base}-{key}-replica", BucketReplicaArgs(
                source=bucket, dr_provider=dr_provider, permissions_boundary=boundary, tags=tags, protect=prod),
                opts=opts)
    pulumi.export("dr_region", region)
    return plan


# -- GCP ----------------------------------------------------------------------------------------------------------
@dataclass
class GcpDr:
    """What the buckets need before they exist: the DR region and a storage key in the multi-region."""

    region: str
    storage_key: Cmek | None
    """The buckets' key in the multi-region; None without buckets."""


def prepare_dr_gcp(settings: GcpSettings, opts: pulumi.ResourceOptions) -> GcpDr | None:
    """A key ring in the buckets' multi-region (dual-region buckets need their CMEK there); None without DR."""
    from components.gcp.bucket import multi_region

    region = settings.dr_region
    if region is None:
        return None
    location = multi_region(settings.region)
    if not settings.storage.buckets:  # no bucket to make dual-region: the DR region alone (no multi-region key)
        return GcpDr(region=region, storage_key=None)
    if location is None or multi_region(region) != location:
        raise ValueError(f"dr.region {region!r}: dual-region buckets need it in the multi-region of "
                         f"{settings.region!r} (US, EU or ASIA)")
    prefix = f"{settings.name}-{settings.environment}"
    key = GcpEncryptionKey(f"{prefix}-kms-{location.lower()}", GcpEncryptionKeyArgs(
        location=location.lower(), purposes=("storage",), labels=settings.standard_tags, protect=settings.is_prod),
        opts)
    return GcpDr(region=region, storage_key=key.cmek("storage"))


def static_bucket_gcp(settings: GcpSettings, buckets: Mapping[str, Any]) -> pulumi.Output[str] | None:
    """The bucket the load balancer serves under ``/static/*`` with Cloud CDN, or None."""
    bucket = buckets.get(STATIC_BUCKET)
    return bucket.name if settings.cdn.enabled and bucket is not None else None


def build_edge_gcp(settings: GcpSettings, *, load_balancer: Any, buckets: Mapping[str, Any],
                   project_number: pulumi.Input[str], opts: pulumi.ResourceOptions) -> None:
    """Let the Cloud CDN fill agent read the static bucket the load balancer serves (it stays private: no
    allUsers). Nothing without a load balancer (no public web service) or without the CDN."""
    bucket = buckets.get(STATIC_BUCKET)
    if not settings.cdn.enabled or bucket is None or load_balancer is None or load_balancer.backend_bucket is None:
        return
    bucket.grant_read(_Member(pulumi.Output.concat("serviceAccount:service-", project_number, "@", CDN_FILL_AGENT)))


@dataclass
class _Member:
    """An IAM member known only as an output (a service agent of this project's number)."""

    member: pulumi.Output[str]


def build_dr_gcp(settings: GcpSettings, dr: GcpDr | None, *, database: Any,
                 opts: pulumi.ResourceOptions) -> DatabaseReplica | None:
    """The cross-region Cloud SQL replica (``dr.replica``); exports the stated objectives (``dr``)."""
    pulumi.export("dr", dr_objectives(settings))
    if dr is None or database is None or not settings.dr.replica:
        return None
    prefix = f"{settings.name}-{settings.environment}"
    key = GcpEncryptionKey(f"{prefix}-kms-dr", GcpEncryptionKeyArgs(
        location=dr.region, purposes=("sql",), labels=settings.standard_tags, protect=settings.is_prod), opts)
    replica = DatabaseReplica(f"{prefix}-db-dr", DatabaseReplicaArgs(
        primary=database, region=dr.region, kms_key=key.cmek("sql"), labels=settings.standard_tags,
        protect=settings.is_prod), opts)
    pulumi.export("database_replica_connection_name", replica.connection_name)
    pulumi.export("dr_region", dr.region)
    return replica
