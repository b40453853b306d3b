"""Topology and retention guardrails: no NAT gateway per AZ and no multi-AZ database outside prod, bounded log
retention outside prod, lifecycle rules on every bucket."""

from __future__ import annotations

from collections.abc import Iterator

from policies.common import Context, Res, ResourceIndex, as_list, is_true, is_unknown, resource_rule, stack_rule

from ._helpers import (
    CLOUD_SQL,
    GCP_LOG_BUCKET,
    GCS_BUCKET,
    LOG_GROUP,
    NAT_GATEWAY,
    RDS_CLUSTER,
    RDS_CLUSTER_INSTANCE,
    RDS_INSTANCE,
    S3_BUCKETS,
    S3_LIFECYCLE,
    SUBNET,
    env_label,
    known_number,
    outside_prod,
)

CATEGORY = "cost-topology"


@stack_rule(
    "no-nat-per-az-outside-prod", severity="medium", category=CATEGORY,
    description="Outside prod a VPC has at most one NAT gateway (a NAT per AZ is about 33 USD a month each plus "
                "a public IPv4, for availability that dev and staging do not need).",
    remediation="Use natStrategy none (public subnets behind the load balancer) or single outside prod, or "
                "raise maxNatGatewaysPerVpc in the policy config.",
    config={"maxNatGatewaysPerVpc": {"type": "number", "default": 1,
                                     "description": "NAT gateways allowed per VPC outside prod."}})
def no_nat_per_az_outside_prod(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    limit = int(ctx.config.get("maxNatGatewaysPerVpc", 1))
    by_vpc: dict[str, list[Res]] = {}
    for nat in index.of_type(NAT_GATEWAY):
        if not outside_prod(ctx, nat):
            continue
        subnets = index.referenced(nat, "subnetId", (SUBNET,))
        vpc_urns = [v.urn for s in subnets for v in index.referenced(s, "vpcId", ("aws:ec2/vpc:Vpc",))]
        key = vpc_urns[0] if vpc_urns else str(nat.get("vpcId") or "the stack")
        by_vpc.setdefault(key, []).append(nat)
    for nats in by_vpc.values():
        nats.sort(key=lambda n: n.name)
        if len(nats) > limit:
            names = ", ".join(n.name for n in nats)
            for nat in nats[limit:]:
                yield nat, (f"{len(nats)} NAT gateways in one VPC ({names}) in {env_label(ctx, nat)}; at most "
                            f"{limit} outside prod")


@stack_rule(
    "no-multi-az-database-outside-prod", severity="medium", category=CATEGORY,
    description="Outside prod databases are single-AZ: no RDS Multi-AZ standby, no Multi-AZ DB cluster, no Aurora "
                "readers beyond the writer, no Cloud SQL REGIONAL availability (each doubles the database bill).",
    remediation="Set multiAz false / availabilityType ZONAL / one Aurora instance outside prod (prod keeps HA).")
def no_multi_az_database_outside_prod(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    for db in index.of_type(RDS_INSTANCE):
        if outside_prod(ctx, db) and is_true(db.get("multiAz")):
            yield db, f"multiAz is true in {env_label(ctx, db)} (a standby instance doubles instance and storage cost)"
    for cluster in index.of_type(RDS_CLUSTER):
        if not outside_prod(ctx, cluster):
            continue
        if cluster.has("dbClusterInstanceClass"):
            yield cluster, f"a Multi-AZ DB cluster (three instances) in {env_label(ctx, cluster)}"
            continue
        members = sorted(index.referrers(cluster, "clusterIdentifier", (RDS_CLUSTER_INSTANCE,),
                                         name_props=("clusterIdentifier",)), key=lambda m: m.name)
        if len(members) > 1:
            yield cluster, (f"{len(members)} Aurora instances ({', '.join(m.name for m in members)}) in "
                            f"{env_label(ctx, cluster)}; one writer is enough outside prod")
    for sql in index.of_type(CLOUD_SQL):
        if outside_prod(ctx, sql) and str(sql.get("settings.availabilityType") or "").upper() == "REGIONAL":
            yield sql, f"availabilityType REGIONAL (HA, twice the price) in {env_label(ctx, sql)}"


@resource_rule(
    "log-retention-bounded-outside-prod", types=(LOG_GROUP, GCP_LOG_BUCKET), severity="medium", category=CATEGORY,
    description="Outside prod log groups (and GCP log buckets) expire their logs within the configured number of "
                "days; never-expiring logs are stored (and billed) forever.",
    remediation="Set retentionInDays (retentionDays on GCP) to at most maxRetentionDaysOutsideProd outside prod.",
    config={"maxRetentionDaysOutsideProd": {"type": "number", "default": 30,
                                            "description": "Longest retention allowed outside prod, days."}})
def log_retention_bounded_outside_prod(r: Res, ctx: Context) -> Iterator[str]:
    if not outside_prod(ctx, r):
        return
    limit = float(ctx.config.get("maxRetentionDaysOutsideProd", 30))
    key = "retentionInDays" if r.type == LOG_GROUP else "retentionDays"
    raw = r.get(key)
    if is_unknown(raw):
        return
    days = known_number(raw)
    if days is None or days <= 0:
        yield f"{key} is not set: logs never expire ({env_label(ctx, r)} allows at most {limit:g} days)"
    elif days > limit:
        yield f"{key} {days:g} exceeds {limit:g} days in {env_label(ctx, r)}"


@stack_rule(
    "bucket-lifecycle-configured", severity="medium", category=CATEGORY, enforcement="advisory",
    rationale="Advisory: a lifecycle rule is cost hygiene (Checkov CKV2_AWS_61 is a best practice, not a defect); "
              "mandatory for backend-hosting (config/backend-hosting.json), whose Bucket component always adds one.",
    description="Every S3 bucket has a BucketLifecycleConfiguration with an enabled rule (expire noncurrent "
                "versions, abort incomplete uploads, transitions), and every GCS bucket has lifecycle rules; "
                "without one a versioned bucket grows and bills forever.",
    remediation="Add an aws.s3.BucketLifecycleConfiguration for the bucket (the Bucket component does) with at "
                "least one Enabled rule; on GCP set lifecycle_rules on the bucket.")
def bucket_lifecycle_configured(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    for bucket in index.of_type(*S3_BUCKETS):
        inline = [rule for rule in as_list(bucket.get("lifecycleRules")) if isinstance(rule, dict)
                  and is_true(rule.get("enabled"))]
        if inline:
            continue
        configs = index.referrers(bucket, "bucket", S3_LIFECYCLE, name_props=("bucket",))
        if not configs:
            yield bucket, "no BucketLifecycleConfiguration refers to this bucket"
            continue
        rules = [rule for c in configs for rule in as_list(c.get("rules")) if isinstance(rule, dict)]
        if any(is_unknown(rule.get("status")) for rule in rules):
            continue
        if not any(str(rule.get("status")) == "Enabled" for rule in rules):
            yield bucket, f"the lifecycle configuration ({', '.join(c.name for c in configs)}) has no Enabled rule"
    for bucket in index.of_type(GCS_BUCKET):
        raw = bucket.get("lifecycleRules")
        if is_unknown(raw):
            continue
        if not [rule for rule in as_list(raw) if rule]:
            yield bucket, "no lifecycle_rules on the bucket"
