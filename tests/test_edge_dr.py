"""Issue 14: the cdn and dr settings, the recovery assessment on hand-made graphs (expected values worked out by
hand from the model in policies/security/_recovery.py), and what the prod, gcp-prod and dev stacks deploy for the
CDN, disaster recovery and hardening (from the session-cached captures)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_policies_rules import R

from policies.common import ResourceIndex
from policies.security._recovery import Objectives, assess
from pricing.catalog import Catalog
from review.cost import estimate_graph
from review.mocks import managed_prefix_list_id
from review.model import Graph
from stacks.settings import SettingsError, from_values

REPO = Path(__file__).resolve().parent.parent
AWS_PROD = {"environment": "prod", "region": "us-east-1", "budget": {"monthlyUsd": 4000}}
GCP_PROD = {"environment": "prod", "cloud": "gcp", "gcpProject": "acme-backend-prod", "region": "us-central1",
            "budget": {"monthlyUsd": 4000}}


# -- settings -------------------------------------------------------------------------------------------------------
def test_prod_states_business_objectives_with_a_dr_region_paired_to_the_primary() -> None:
    aws, gcp = from_values(AWS_PROD), from_values(GCP_PROD)
    for s in (aws, gcp):
        assert (s.dr.rpo_minutes, s.dr.rto_minutes, s.cdn.enabled) == (15, 240, True)
    assert (aws.dr_region, gcp.dr_region) == ("us-west-2", "us-east1")
    assert from_values({**AWS_PROD, "region": "eu-west-1"}).dr_region == "eu-central-1"


def test_dev_has_no_cdn_and_no_objectives_and_staging_looser_ones() -> None:
    dev = from_values({"environment": "dev", "region": "us-east-1"})
    assert (dev.cdn.enabled, dev.dr.rpo_minutes, dev.dr.rto_minutes, dev.dr_region) == (False, None, None, None)
    staging = from_values({"environment": "staging", "region": "us-east-1"})
    assert (staging.dr.rpo_minutes, staging.dr.rto_minutes, staging.dr_region) == (1440, 720, None)


@pytest.mark.parametrize("values, message", [
    ({**AWS_PROD, "dr": {"region": "us-east-1"}}, "dr.region = 'us-east-1' is the stack's own region"),
    ({**AWS_PROD, "dr": {"region": "us-west-9"}}, "dr.region = 'us-west-9' is invalid: not an AWS region"),
    ({**GCP_PROD, "dr": {"region": "us-west-2x"}}, "not a GCP region"),
    ({**AWS_PROD, "region": "me-south-1"}, "dr.region is required: there is no default DR region for me-south-1"),
    ({"environment": "dev", "region": "us-east-1", "dr": {"region": "us-west-2"}},
     "dr.region does not apply: dr.crossRegion is false"),
    ({"environment": "dev", "region": "us-east-1", "cdn": {"priceClass": "PriceClass_All"}},
     "cdn.priceClass does not apply: cdn.enabled is false"),
    ({**GCP_PROD, "dr": {"vaultLock": "compliance"}}, "dr.vaultLock"),
    ({**AWS_PROD, "cdn": {"staticTtlSeconds": 10}}, "cdn.staticTtlSeconds"),
    # GCP: the buckets become dual-region, so both regions lie in one multi-region
    ({**GCP_PROD, "dr": {"region": "europe-west1"}}, "dual-region buckets pair it with us-central1"),
    ({**GCP_PROD, "region": "australia-southeast1"}, "australia-southeast1 is not: set dr.crossRegion: false"),
    # the CDN serves /static/* from the assets bucket on both clouds: no public route may claim it
    ({**AWS_PROD, "services": {"api": {"kind": "web", "routes": [{"path": "/static/v1"}]}}},
     "services.api.routes: path /static/v1 is served from the assets bucket by the CDN"),
    ({**GCP_PROD, "services": {"api": {"kind": "web", "routes": [{"path": "/static"}]}}},
     "services.api.routes: path /static is served from the assets bucket by the CDN"),
    # AWS: behind CloudFront the load balancer is reachable on the distribution's alias only
    ({**AWS_PROD, "services": {"admin": {"kind": "web", "routes": [{"host": "admin.example.com"}]}}},
     "services.admin.routes: host admin.example.com would not reach the load balancer"),
])
def test_dr_and_cdn_settings_are_refused_in_one_line(values: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError) as exc:
        from_values(values)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_cdn_routes_that_do_apply_are_accepted() -> None:
    aws_prod = {**AWS_PROD, "dns": {"domainName": "api.example.com"}}
    on_domain = {"api": {"kind": "web", "routes": [{"host": "api.example.com", "path": "/v1"}, {"path": "/stat"}]}}
    assert from_values({**aws_prod, "services": on_domain}).cdn.enabled
    # without the CDN (or on GCP, where Cloud CDN sits on the load balancer itself) any host and /static are routes
    elsewhere = {"admin": {"kind": "web", "routes": [{"host": "admin.example.com"}, {"path": "/static"}]}}
    assert not from_values({**AWS_PROD, "cdn": {"enabled": False}, "services": elsewhere}).cdn.enabled
    assert from_values({**GCP_PROD, "services": {"admin": {"kind": "web", "routes": [{"host": "admin.example.com"}]}}})


# -- the recovery model on hand-made graphs --------------------------------------------------------------------------
WEST = {"region": "us-west-2"}
OBJ = Objectives(rpo_minutes=15, rto_minutes=240, region="us-west-2")


def _aws_design(*, rtc: bool = True, replicate_bucket: bool = True, replicate_db: bool = True) -> list[Any]:
    db = R("aws:rds/instance:Instance", "db", backupRetentionPeriod=7)
    bucket = R("aws:s3/bucket:Bucket", "assets")
    versioning = R("aws:s3/bucketVersioning:BucketVersioning", "assets-v", deps={"bucket": [bucket]},
                   versioningConfiguration={"status": "Enabled"})
    replica = R("aws:s3/bucket:Bucket", "assets-dr", provider=WEST)
    out = [db, bucket, versioning]
    if replicate_db:
        out.append(R("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication", "db-dr",
                     deps={"sourceDbInstanceArn": [db]}, provider=WEST))
    if replicate_bucket:
        dest: dict[str, Any] = {"bucket": "arn:aws:s3:::assets-dr"}
        if rtc:
            dest["replicationTime"] = {"status": "Enabled", "time": {"minutes": 15}}
        out.append(replica)
        out.append(R("aws:s3/bucketReplicationConfig:BucketReplicationConfig", "assets-rep",
                     deps={"bucket": [bucket], "rules": [replica]}, rules=[{"status": "Enabled",
                                                                           "destination": dest}]))
    return out


def test_aws_design_with_replication_meets_15_minutes_and_4_hours() -> None:
    a = assess(ResourceIndex(_aws_design()), OBJ, "us-east-1")
    # worst store: the bucket's RTC replication (15) vs the database's replicated PITR (10) -> 15;
    # RTO: deploy in us-west-2 (60) + database restore (60, the slowest store; the replica bucket is 0) + cut-over 30
    assert (a.scenario, a.rpo_minutes, a.rto_minutes, a.problems) == ("regional", 15, 150, [])
    assert sorted(s.name for s in a.stores) == ["assets", "db"]  # the replica is a copy, not a store


def test_replication_without_rtc_has_no_bound_and_misses_the_rpo() -> None:
    a = assess(ResourceIndex(_aws_design(rtc=False)), OBJ, "us-east-1")
    assert a.rpo_minutes == 720
    assert a.problems == ["achieved RPO 12 h exceeds the objective 15 min (assets: replication)"]


def test_a_store_without_a_copy_outside_the_region_fails_a_stated_dr_region() -> None:
    a = assess(ResourceIndex(_aws_design(replicate_bucket=False)), OBJ, "us-east-1")
    assert a.rpo_minutes is None and a.unrecoverable == ["assets"]
    assert a.problems == ["no copy outside the primary region for assets (dr.region is us-west-2)"]


def test_without_a_dr_region_in_region_paths_count() -> None:
    a = assess(ResourceIndex(_aws_design(replicate_db=False, replicate_bucket=False)),
               Objectives(rpo_minutes=60, rto_minutes=120), "us-east-1")
    # PITR 5 min (database), versions 0 (bucket) -> 5; restore 60 + cut-over 30, no DR deploy -> 90
    assert (a.scenario, a.rpo_minutes, a.rto_minutes, a.problems) == ("in-region", 5, 90, [])


def test_aws_backup_daily_copies_alone_give_a_one_day_rpo() -> None:
    db = R("aws:rds/instance:Instance", "db", backupRetentionPeriod=7)
    vault = R("aws:backup/vault:Vault", "vault", name="vault")
    dr_vault = R("aws:backup/vault:Vault", "dr-vault", name="dr-vault", provider=WEST)
    plan = R("aws:backup/plan:Plan", "plan", deps={"rules": [vault, dr_vault]}, rules=[{
        "ruleName": "daily", "targetVaultName": "vault", "schedule": "cron(0 5 * * ? *)",
        "copyActions": [{"destinationVaultArn": "arn:aws:backup:us-west-2:1:backup-vault:dr-vault"}]}])
    sel = R("aws:backup/selection:Selection", "sel", deps={"planId": [plan], "resources": [db]})
    a = assess(ResourceIndex([db, vault, dr_vault, plan, sel]), OBJ, "us-east-1")
    assert (a.rpo_minutes, a.rto_minutes) == (1440, 150)  # 60 deploy + 60 restore + 30
    assert a.problems == ["achieved RPO 1 d exceeds the objective 15 min (db: AWS Backup copy)"]


def test_gcp_design_with_replica_and_turbo_dual_region() -> None:
    sql = R("gcp:sql/databaseInstance:DatabaseInstance", "db", region="us-central1", name="db-1", settings={
        "backupConfiguration": {"enabled": True, "pointInTimeRecoveryEnabled": True, "location": "us-east1"}})
    replica = R("gcp:sql/databaseInstance:DatabaseInstance", "db-dr", region="us-east1",
                deps={"masterInstanceName": [sql]}, masterInstanceName="db-1")
    bucket = R("gcp:storage/bucket:Bucket", "assets", location="US", rpo="ASYNC_TURBO", versioning={"enabled": True},
               customPlacementConfig={"dataLocations": ["US-CENTRAL1", "US-EAST1"]})
    a = assess(ResourceIndex([sql, replica, bucket]), Objectives(15, 240, "us-east1"), "us-central1")
    # replica 5 min, turbo 15 -> 15; deploy 60 + promote 10 (the dual-region bucket restores in 0) + 30 -> 100
    assert (a.rpo_minutes, a.rto_minutes, a.problems) == (15, 100, [])
    # without the replica: the backup kept in us-east1 is a day old
    b = assess(ResourceIndex([sql, bucket]), Objectives(15, 240, "us-east1"), "us-central1")
    assert (b.rpo_minutes, b.rto_minutes) == (1440, 150)


def test_objectives_parse_ignores_what_is_not_a_number() -> None:
    assert Objectives.parse({"rpoMinutes": "x", "rtoMinutes": True}) is None
    assert Objectives.parse("15") is None
    assert Objectives.parse({"rpoMinutes": 15.0}) == Objectives(15.0, None, None)


# -- the stacks (session-cached captures) ----------------------------------------------------------------------------
def _one(g: Graph, type_: str) -> Any:
    found = g.by_type(type_)
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def test_prod_fronts_the_load_balancer_with_cloudfront_only(run_stack) -> None:
    g = run_stack("prod")
    ingress = [r for r in g.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
               if r.name.startswith("app-prod-alb-")]
    cloudfront = managed_prefix_list_id("com.amazonaws.global.cloudfront.origin-facing")
    assert [(r.inputs.get("fromPort"), r.inputs.get("prefixListId")) for r in ingress] == [(443, cloudfront)]
    assert not any(r.inputs.get("cidrIpv4") == "0.0.0.0/0" for r in ingress)
    # every listener rule (each web service's routes, the sign-in rules) also requires the CDN's secret header,
    # so a request that reached the load balancer some other way gets the 404 default
    rules = g.by_type("aws:lb/listenerRule:ListenerRule")
    assert {"app-prod-api-v1", "app-prod-api-v2", "app-prod-identity-signin-admin"} <= {r.name for r in rules}
    for rule in rules:
        header = [c["httpHeader"] for c in rule.inputs["conditions"] if "httpHeader" in c]
        assert [h["httpHeaderName"] for h in header] == ["X-Origin-Verify"], rule.name
    dist = _one(g, "aws:cloudfront/distribution:Distribution").inputs
    assert dist["viewerCertificate"]["minimumProtocolVersion"] == "TLSv1.2_2021"
    assert dist["aliases"] == ["api.example.com"]
    assert {dist["defaultCacheBehavior"]["viewerProtocolPolicy"]} | {
        b["viewerProtocolPolicy"] for b in dist["orderedCacheBehaviors"]} == {"redirect-to-https"}
    origin = next(o for o in dist["origins"] if o["originId"] == "api")
    assert origin["customOriginConfig"]["originProtocolPolicy"] == "https-only"
    assert "value" not in json.dumps(origin["customHeaders"]) or "[secret]" in json.dumps(origin["customHeaders"]) \
        or origin["customHeaders"][0]["value"] != "", origin["customHeaders"]
    api = g.by_name("app-prod-api", "aws:cloudfront/cachePolicy:CachePolicy").inputs
    assert (api["minTtl"], api["defaultTtl"]) == (0, 0)
    assert g.by_name("app-prod-static", "aws:cloudfront/cachePolicy:CachePolicy").inputs["defaultTtl"] == 86400
    acl = g.by_name("app-prod-edge-waf", "aws:wafv2/webAcl:WebAcl")
    assert acl.inputs["scope"] == "CLOUDFRONT"
    assert g.get(acl.provider_urn).inputs["region"] == "us-east-1"
    assert g.by_type("aws:cloudwatch/logDeliverySource:LogDeliverySource")
    # the assets bucket admits this distribution only
    policy = json.loads(g.by_name("app-prod-assets", "aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    oac = [s for s in policy["Statement"] if s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}]
    assert oac and "AWS:SourceArn" in oac[0]["Condition"]["StringEquals"]


def test_prod_keeps_copies_in_the_dr_region(run_stack) -> None:
    g = run_stack("prod")
    west = {r.urn for r in g.by_type("pulumi:providers:aws") if r.inputs.get("region") == "us-west-2"}
    assert west
    locks = g.by_type("aws:backup/vaultLockConfiguration:VaultLockConfiguration")
    assert len(locks) == 2 and all(r.inputs["minRetentionDays"] == 7 for r in locks)
    plan = _one(g, "aws:backup/plan:Plan").inputs["rules"][0]
    assert plan["copyActions"] and plan["lifecycle"]["deleteAfter"] == 35
    rep = _one(g, "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication")
    assert rep.provider_urn in west and rep.inputs.get("kmsKeyId")
    s3 = _one(g, "aws:s3/bucketReplicationConfig:BucketReplicationConfig").inputs["rules"][0]
    assert s3["destination"]["replicationTime"]["status"] == "Enabled"
    assert s3["destination"]["encryptionConfiguration"]["replicaKmsKeyId"]
    db = g.by_name("app-prod-db", "aws:rds/instance:Instance").inputs
    assert db["monitoringInterval"] == 60 and db.get("monitoringRoleArn")


def test_prod_hardening_findings_are_fixed(run_stack) -> None:
    g = run_stack("prod")
    # both web ACLs log their requests (the edge one to us-east-1, here the stack's own region, with its log key)
    logging = {r.name: r for r in g.by_type("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")}
    assert set(logging) == {"app-prod-waf-logs", "app-prod-edge-waf-logs"}
    edge_group = g.by_name("app-prod-edge-waf-logs", "aws:cloudwatch/logGroup:LogGroup").inputs
    assert edge_group["name"].startswith("aws-waf-logs-") and edge_group["kmsKeyId"]
    assert all({"singleHeader": {"name": "authorization"}} in r.inputs["redactedFields"] for r in logging.values())
    for topic in g.by_type("aws:sns/topicPolicy:TopicPolicy"):
        for st in json.loads(topic.inputs["policy"])["Statement"]:
            assert st.get("Condition"), st["Sid"]  # no statement reads as cross-account
    assert g.find("app-prod-assets", "aws:s3/bucketLogging:BucketLogging") is not None


def test_gcp_prod_cdn_dr_and_cis_flags(run_stack) -> None:
    g = run_stack("gcp-prod")
    pg = g.by_name("app-prod-db-pg", "gcp:sql/databaseInstance:DatabaseInstance").inputs
    flags = {f["name"]: f["value"] for f in pg["settings"]["databaseFlags"]}
    assert {k: flags.get(k) for k in ("log_checkpoints", "log_connections", "log_disconnections", "log_hostname",
                                     "cloudsql.enable_pgaudit")} == dict.fromkeys(
        ("log_checkpoints", "log_connections", "log_disconnections", "log_hostname", "cloudsql.enable_pgaudit"), "on")
    assert pg["settings"]["backupConfiguration"]["location"] == "us-east1"
    replica = g.by_name("app-prod-db-dr-pg", "gcp:sql/databaseInstance:DatabaseInstance").inputs
    assert replica["region"] == "us-east1" and replica["masterInstanceName"]
    assets = g.by_name("app-prod-assets-bucket", "gcp:storage/bucket:Bucket").inputs
    assert assets["customPlacementConfig"]["dataLocations"] == ["US-CENTRAL1", "US-EAST1"]
    assert assets["rpo"] == "ASYNC_TURBO" and assets.get("logging")
    static = _one(g, "gcp:compute/backendBucket:BackendBucket").inputs
    assert static["enableCdn"] and static["cdnPolicy"]["cacheMode"] == "CACHE_ALL_STATIC"
    for name in ("app-prod-lb-api-v1", "app-prod-lb-api-v2"):
        api = g.by_name(name, "gcp:compute/backendService:BackendService").inputs
        assert api["enableCdn"] and api["cdnPolicy"]["cacheMode"] == "USE_ORIGIN_HEADERS"
    # Cloud CDN and IAP do not go together: the protected paths' backend is never cached
    protected = g.by_name("app-prod-lb-protected", "gcp:compute/backendService:BackendService").inputs
    assert protected["iap"]["enabled"] and not protected.get("enableCdn") and not protected.get("cdnPolicy")
    url_map = g.inputs("app-prod-lb-https", "gcp:compute/uRLMap:URLMap")
    static_rules = [r for m in url_map["pathMatchers"] for r in m.get("pathRules", []) if r["paths"] == ["/static/*"]]
    assert [r["service"] for r in static_rules] == [static_id := g.by_name(
        "app-prod-lb-static", "gcp:compute/backendBucket:BackendBucket").id] and static_id


def test_dev_has_no_cdn_and_no_dr_copies(run_stack) -> None:
    g = run_stack("dev")
    assert not g.by_type("aws:cloudfront/*") and not g.by_type("aws:backup/*")
    assert not g.by_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")


def test_prod_dr_cost_is_itemised(run_stack) -> None:
    report = estimate_graph(run_stack("prod"), REPO / "usage.prod.yaml", catalog=Catalog.load())  # shipped rows
    by_name = {(r.name, r.type): r for r in report.resources}
    names = {c.name for r in report.resources for c in r.components}
    assert {"database snapshot storage", "cross-region copy (data transfer)", "replicated backup storage",
            "cross-region transfer", "cross-region replication transfer", "Replication Time Control"} <= names
    assert by_name[("app-prod-db-dr-backups",
                    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication")].monthly > 0


def test_a_prepared_cdn_is_settled_on_every_path_and_refused_outside_its_scope(run_program) -> None:
    """A deferred distribution ARN nobody resolves would hang the run: prepare_edge_aws is refused outside
    edge_scope, and the scope resolves what build_edge_aws did not (here: never called)."""
    import pulumi
    import pulumi_aws as aws

    from components.aws.bucket import Bucket, BucketArgs
    from stacks.edge import UNBUILT_DISTRIBUTION_ARN, edge_scope, prepare_edge_aws

    settings = from_values(AWS_PROD)
    refused: list[str] = []

    def program() -> None:
        provider = aws.Provider("aws", region="us-east-1")
        opts = pulumi.ResourceOptions(providers=[provider])
        try:
            prepare_edge_aws(settings, provider, opts)
        except RuntimeError as exc:
            refused.append(str(exc))

        @edge_scope
        def half_built() -> None:
            edge = prepare_edge_aws(settings, provider, opts)
            assert edge is not None
            Bucket("assets", BucketArgs(cloudfront_distribution_arn=edge.distribution_arn), opts=opts)

        half_built()

    g = run_program(program)  # completes: nothing waits on an unresolved output
    assert refused and "edge_scope" in refused[0]
    policy = json.loads(g.by_name("assets", "aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    [oac] = [s for s in policy["Statement"] if s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}]
    assert oac["Condition"]["StringEquals"]["AWS:SourceArn"] == UNBUILT_DISTRIBUTION_ARN


def test_review_recovery_section_shows_caches_and_the_dr_cost(run_stack) -> None:
    """The review's recovery section (text, markdown, json) for prod: the stores' best copies, the cache rebuilt
    rather than restored, and what DR costs a month, resource by resource (the test catalog's prices)."""
    from review.recovery import assess as review_assess

    g = run_stack("prod")
    rec = review_assess(g, estimate_graph(g, REPO / "usage.prod.yaml"))
    doc = rec.to_json()
    assert doc["meets"] and doc["achieved"] == {"rpo_minutes": 15, "rto_minutes": 150}
    assert doc["caches_rebuilt"] == ["app-prod-cache"]
    rows = {(n, t) for n, t, _ in rec.dr_cost}
    assert {("app-prod-backup-vault", "aws:backup/vault:Vault"), ("app-prod-backup-dr-vault", "aws:backup/vault:Vault"),
            ("app-prod-db-dr-backups",
             "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"),
            ("app-prod-assets-replica-dr", "aws:s3/bucket:Bucket")} <= rows
    assert not any(n == "app-prod-assets" for n, _ in rows)  # the primary bucket is not DR cost
    total = sum(m for _, _, m in rec.dr_cost)
    assert doc["dr_cost"]["monthly_usd"] == round(total, 2) > 0 and len(doc["dr_cost"]["resources"]) == len(rows)
    text = rec.to_text()
    assert f"DR cost: {total:,.2f} USD a month" in text and "app-prod-cache: cache, rebuilt empty" in text
    md = rec.to_markdown()
    assert "| `app-prod-db` | `us-east-1` |" in md and f"DR cost: **{total:,.2f} USD a month**" in md


def test_recovery_markdown_escapes_what_the_program_names() -> None:
    from policies.security._recovery import Assessment, Store
    from review.recovery import RecoveryReport

    hostile = Store("x|<img src=1>`", "bucket", "us-east-1")
    md = RecoveryReport("s", Assessment([hostile], None, "in-region", None, None, [hostile.name])).to_markdown()
    # the name only inside a code span (no markup, HTML or table break), never as raw text
    assert md.count("<img") == 1 and "| `` x\\|<img src=1>` `` | `us-east-1` | none |" in md


def test_outside_us_east_1_the_edge_logs_and_certificate_live_there(run_program) -> None:
    """CloudFront's web ACL logs, and its certificate, are us-east-1 only: a stack elsewhere creates a log key and
    a certificate (validated by the same CNAME as the regional one) in us-east-1."""
    import pulumi_aws as aws

    from components.aws.cdn import Cdn, CdnArgs

    def program() -> None:
        east = aws.Provider("aws-us-east-1", region="us-east-1")
        Cdn("app-prod", CdnArgs(origin_domain="alb.example.com", origin_secret="s"), us_east_1=east)

    g = run_program(program, region="eu-west-1")
    east = g.by_name("aws-us-east-1", "pulumi:providers:aws").urn
    for name, type_ in (("app-prod-edge-waf-logs", "aws:kms/key:Key"),
                        ("app-prod-edge-waf-logs", "aws:cloudwatch/logGroup:LogGroup"),
                        ("app-prod-edge-waf-logs", "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"),
                        ("app-prod-edge-waf", "aws:wafv2/webAcl:WebAcl")):
        assert g.by_name(name, type_).provider_urn == east, (name, type_)


def test_dr_without_a_database_or_bucket_backs_up_nothing_and_still_states_the_objectives(run_program) -> None:
    import pulumi
    import pulumi_aws as aws

    from stacks.edge import build_dr_aws

    settings = from_values({**AWS_PROD, "database": {"enabled": False}, "storage": {"buckets": []}})
    plans: list[Any] = []

    def program() -> None:
        opts = pulumi.ResourceOptions(providers=[aws.Provider("aws", region="us-east-1")])
        plans.append(build_dr_aws(settings, database=None, buckets={}, boundary=None, opts=opts))

    g = run_program(program)
    assert plans == [None] and not g.by_type("aws:backup/plan:Plan")
    assert g.outputs["dr"] == {"rpoMinutes": 15, "rtoMinutes": 240, "region": "us-west-2"}
