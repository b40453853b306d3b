"""The estimator against hand-computed figures, resource by resource and for a whole small stack.

Prices used (us-east-1 rows of pricing/catalog): Fargate ARM 0.03238/vCPU-h and 0.00356/GB-h, x86 0.04048 and
0.004445; ALB 0.0225/h, LCU 0.008/h; public IPv4 0.005/h; NAT 0.045/h and 0.045/GB; RDS db.t4g.micro 0.016/h,
db.m7g.large 0.168/h, gp3 0.115/GB-month, Multi-AZ x2; cache.t4g.micro 0.016/h; ... 730 hours a month.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
import pytest

from pricing import CostReport
from review.cost import estimate_graph
from review.engine import run_callable

H = 730


def _estimate(fn, **kwargs) -> CostReport:
    kwargs.setdefault("config", {"aws:region": "us-east-1"})
    return estimate_graph(run_callable(fn, **kwargs))


def _by_name(report: CostReport, name: str):
    return next(r for r in report.resources if r.name == name)


def _lines(report: CostReport, name: str) -> dict[str, float]:
    return {c.name: round(c.monthly, 4) for c in _by_name(report, name).components}


# -- compute -----------------------------------------------------------------------------------------------------

def _fargate(arch: str = "ARM64", public: bool = True, min_capacity: int | None = 2) -> None:
    cluster = aws.ecs.Cluster("c")
    td = aws.ecs.TaskDefinition("td", family="app", cpu="256", memory="512", network_mode="awsvpc",
                                requires_compatibilities=["FARGATE"], container_definitions="[]",
                                runtime_platform={"cpu_architecture": arch, "operating_system_family": "LINUX"})
    svc = aws.ecs.Service("svc", cluster=cluster.arn, task_definition=td.arn, desired_count=1, launch_type="FARGATE",
                          network_configuration={"subnets": ["subnet-1"], "assign_public_ip": public})
    if min_capacity is not None:
        aws.appautoscaling.Target("scaling", service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
                                  resource_id=pulumi.Output.concat("service/", cluster.name, "/", svc.name),
                                  min_capacity=min_capacity, max_capacity=4)


def test_fargate_arm_tasks_at_the_autoscaling_minimum_with_public_ips() -> None:
    report = _estimate(_fargate)
    svc = _by_name(report, "svc")
    # 2 tasks (autoscaling minimum beats desiredCount 1) x 730 h
    assert [round(c.quantity, 3) for c in svc.components] == [0.25 * 2 * H, 0.5 * 2 * H, 2 * H]
    assert svc.monthly == pytest.approx(365 * 0.03238 + 730 * 0.00356 + 1460 * 0.005)  # 21.7175
    assert not any(c.usage_based for c in svc.components)
    assert report.free == 3  # cluster, task definition, scaling target


def test_fargate_x86_private_tasks_at_desired_count() -> None:
    svc = _by_name(_estimate(lambda: _fargate("X86_64", public=False, min_capacity=None)), "svc")
    assert svc.monthly == pytest.approx(0.25 * H * 0.04048 + 0.5 * H * 0.004445)  # 9.0101


def test_task_count_from_the_usage_file(tmp_path) -> None:
    usage = tmp_path / "usage.yaml"
    usage.write_text("resource_usage:\n  svc:\n    average_task_count: 5\n")
    report = estimate_graph(run_callable(_fargate, config={"aws:region": "us-east-1"}), usage)
    svc = _by_name(report, "svc")
    assert svc.components[0].quantity == pytest.approx(0.25 * 5 * H)
    assert all(c.usage_based for c in svc.components)


def test_ec2_instance_with_root_volume_and_public_ip() -> None:
    report = _estimate(lambda: aws.ec2.Instance("vm", ami="ami-1", instance_type="t4g.micro",
                                                associate_public_ip_address=True))
    assert _lines(report, "vm") == {"instance hours (t4g.micro, Linux)": round(H * 0.0084, 4),
                                    "root volume storage (gp3, 8 GB)": 0.64, "public IPv4 address": 3.65}


def test_ebs_gp3_above_baseline() -> None:
    report = _estimate(lambda: aws.ebs.Volume("vol", availability_zone="us-east-1a", size=100, type="gp3",
                                              iops=4000, throughput=250))
    assert _by_name(report, "vol").monthly == pytest.approx(100 * 0.08 + 1000 * 0.005 + 125 * 0.04)  # 18.00


# -- network -----------------------------------------------------------------------------------------------------

def test_internet_facing_alb_hours_lcus_and_one_ipv4_per_az() -> None:
    report = _estimate(lambda: aws.lb.LoadBalancer("alb", subnets=["a", "b", "c"]))
    assert _lines(report, "alb") == {"Application Load Balancer hours": 16.425, "LCU-hours (1 LCU average)": 5.84,
                                     "public IPv4 addresses (one per AZ, 3)": 10.95}
    assert [c.usage_based for c in _by_name(report, "alb").components] == [False, True, False]


def test_internal_alb_has_no_public_ipv4() -> None:
    report = _estimate(lambda: aws.lb.LoadBalancer("alb", internal=True, subnets=["a", "b"]))
    assert _by_name(report, "alb").monthly == pytest.approx(16.425 + 5.84)


def test_nat_gateway_and_its_eip() -> None:
    def program() -> None:
        eip = aws.ec2.Eip("nat-ip", domain="vpc")
        aws.ec2.NatGateway("nat", allocation_id=eip.id, subnet_id="subnet-1")

    report = _estimate(program)
    assert _lines(report, "nat") == {"NAT gateway hours": 32.85, "data processed": 0.45}  # 10 GB default
    assert _lines(report, "nat-ip") == {"public IPv4 address": 3.65}


def test_nat_gateway_with_an_eip_from_elsewhere_carries_the_ipv4() -> None:
    report = _estimate(lambda: aws.ec2.NatGateway("nat", allocation_id="eipalloc-123", subnet_id="subnet-1"))
    assert _by_name(report, "nat").monthly == pytest.approx(32.85 + 0.45 + 3.65)


def test_vpc_endpoints_interface_per_az_gateway_free() -> None:
    def program() -> None:
        aws.ec2.VpcEndpoint("ecr", vpc_id="vpc-1", service_name="com.amazonaws.us-east-1.ecr.dkr",
                            vpc_endpoint_type="Interface", subnet_ids=["a", "b", "c"])
        aws.ec2.VpcEndpoint("s3", vpc_id="vpc-1", service_name="com.amazonaws.us-east-1.s3")

    report = _estimate(program)
    assert _by_name(report, "ecr").monthly == pytest.approx(3 * H * 0.01 + 1 * 0.01)  # 21.91
    assert [r.name for r in report.resources] == ["ecr"] and report.free == 1


# -- databases and caches ----------------------------------------------------------------------------------------

def test_rds_single_az_with_managed_secret() -> None:
    report = _estimate(lambda: aws.rds.Instance("db", engine="postgres", instance_class="db.t4g.micro",
                                                allocated_storage=20, storage_type="gp3",
                                                manage_master_user_password=True, username="app"))
    assert _by_name(report, "db").monthly == pytest.approx(11.68 + 2.30 + 0.40)  # 14.38


def test_rds_multi_az_doubles_instance_and_storage() -> None:
    report = _estimate(lambda: aws.rds.Instance("db", engine="postgres", instance_class="db.m7g.large",
                                                allocated_storage=100, storage_type="gp3", multi_az=True,
                                                username="app", password="x"))
    db = _by_name(report, "db")
    assert [c.quantity for c in db.components] == [2 * H, 200]
    assert db.monthly == pytest.approx(1460 * 0.168 + 200 * 0.115)  # 268.28
    assert db.components[0].basis == "proxy"


def test_aurora_serverless_cluster_and_instance() -> None:
    def program() -> None:
        cluster = aws.rds.Cluster("aurora", engine="aurora-postgresql", master_username="app",
                                  manage_master_user_password=True,
                                  serverlessv2_scaling_configuration={"min_capacity": 0.5, "max_capacity": 4})
        aws.rds.ClusterInstance("aurora-1", cluster_identifier=cluster.id, instance_class="db.serverless",
                                engine="aurora-postgresql")

    report = _estimate(program)
    assert _by_name(report, "aurora").monthly == pytest.approx(10 * 0.10 + 10 * 0.20 + 0.40)  # 3.40
    assert _by_name(report, "aurora-1").monthly == pytest.approx(0.5 * H * 0.12)  # 43.80


def test_aurora_provisioned_class_missing_from_the_catalog_is_price_not_found() -> None:
    report = _estimate(lambda: aws.rds.ClusterInstance("i", cluster_identifier="c", instance_class="db.r7g.large",
                                                       engine="aurora-postgresql"))
    inst = _by_name(report, "i")
    assert inst.monthly == 0 and inst.not_found and "aurora:instance:db.r7g.large" in inst.not_found[0]


def test_elasticache_replication_group_nodes() -> None:
    def program() -> None:
        aws.elasticache.ReplicationGroup("small", description="c", node_type="cache.t4g.micro", engine="valkey",
                                         num_cache_clusters=1)
        aws.elasticache.ReplicationGroup("ha", description="c", node_type="cache.m7g.large", engine="valkey",
                                         num_cache_clusters=3, automatic_failover_enabled=True)
        aws.elasticache.ReplicationGroup("sharded", description="c", node_type="cache.t4g.small",
                                         num_node_groups=2, replicas_per_node_group=1)

    report = _estimate(program)
    assert _by_name(report, "small").monthly == pytest.approx(11.68)
    assert _by_name(report, "ha").monthly == pytest.approx(3 * H * 0.1579)
    assert _by_name(report, "sharded").monthly == pytest.approx(4 * H * 0.032)


def test_elasticache_serverless_valkey_minimum() -> None:
    report = _estimate(lambda: aws.elasticache.ServerlessCache("cache", engine="valkey"))
    # default usage: 1 GB average, 10 M ECPU
    assert _by_name(report, "cache").monthly == pytest.approx(1 * H * 0.084 + 10 * 0.0023)


# -- storage, logs, monitoring, keys, secrets, edge ------------------------------------------------------------

def test_the_small_per_unit_resources() -> None:
    def program() -> None:
        aws.s3.Bucket("bucket")
        aws.cloudwatch.LogGroup("logs", retention_in_days=7)
        aws.kms.Key("key")
        aws.secretsmanager.Secret("secret")
        aws.cloudwatch.Dashboard("dash", dashboard_name="d", dashboard_body="{}")
        aws.cloudwatch.MetricAlarm("alarm", comparison_operator="GreaterThanThreshold", evaluation_periods=1,
                                   metric_name="CPUUtilization", namespace="AWS/ECS", period=60, statistic="Average",
                                   threshold=80)
        aws.cloudwatch.MetricAlarm("rate", comparison_operator="GreaterThanThreshold", evaluation_periods=1,
                                   threshold=5, metric_queries=[
                                       {"id": "e", "expression": "100*a/b", "return_data": True},
                                       {"id": "a", "metric": {"metric_name": "5xx", "namespace": "AWS/ApplicationELB",
                                                              "period": 60, "stat": "Sum"}},
                                       {"id": "b", "metric": {"metric_name": "Requests", "period": 10, "stat": "Sum",
                                                              "namespace": "AWS/ApplicationELB"}}])
        aws.ecr.Repository("repo")
        aws.route53.Zone("zone", name="example.com")
        aws.wafv2.WebAcl("waf", scope="REGIONAL", default_action={"allow": {}},
                         visibility_config={"cloudwatch_metrics_enabled": True, "metric_name": "waf",
                                            "sampled_requests_enabled": True},
                         rules=[{"name": f"r{i}", "priority": i, "override_action": {"none": {}},
                                 "statement": {"managed_rule_group_statement": {
                                     "name": "AWSManagedRulesCommonRuleSet", "vendor_name": "AWS"}},
                                 "visibility_config": {"cloudwatch_metrics_enabled": True, "metric_name": f"r{i}",
                                                       "sampled_requests_enabled": True}} for i in range(3)])

    report = _estimate(program)
    expected = {
        "bucket": 0.023 + 10 * 0.005 + 100 * 0.0004,   # 1 GB, 10k PUT, 100k GET (defaults)
        "logs": 0.50 + 7 / 30 * 0.03,                  # 1 GB ingested; stored = 1 GB x 7/30 months
        "key": 1.00 + 0.03,
        "secret": 0.40 + 0.05,
        "dash": 3.00,
        "alarm": 0.10,
        "rate": 2 * 0.30,                              # two metrics, one at 10 s: high resolution
        "repo": 0.10,
        "zone": 0.50,
        "waf": 5.00 + 3 * 1.00 + 0.60,
    }
    assert {r.name: round(r.monthly, 4) for r in report.resources} == {k: round(v, 4) for k, v in expected.items()}


# -- regions -----------------------------------------------------------------------------------------------------

def test_region_from_the_provider_resource_then_the_config() -> None:
    def program() -> None:
        eu = aws.Provider("eu", region="eu-west-1")
        aws.lb.LoadBalancer("eu-alb", internal=True, subnets=["a", "b"], opts=pulumi.ResourceOptions(provider=eu))
        aws.lb.LoadBalancer("default-alb", internal=True, subnets=["a", "b"])

    report = _estimate(program)
    eu, default = _by_name(report, "eu-alb"), _by_name(report, "default-alb")
    assert (eu.region, default.region) == ("eu-west-1", "us-east-1")
    assert eu.components[0].unit_price == pytest.approx(0.023906)  # derived: 0.0225 x 1.0625
    assert eu.components[0].basis == "derived"
    assert default.monthly == pytest.approx(16.425 + 5.84)


def test_the_project_region_setting_is_used_without_aws_region() -> None:
    report = _estimate(lambda: aws.kms.Key("key"), project="backend-hosting",
                       config={"backend-hosting:region": "eu-west-1"})
    assert _by_name(report, "key").region == "eu-west-1"


def test_a_region_outside_the_catalog_is_price_not_found_never_another_regions_price() -> None:
    report = _estimate(lambda: aws.lb.LoadBalancer("alb", subnets=["a", "b"]), config={"aws:region": "eu-north-1"})
    alb = _by_name(report, "alb")
    assert alb.monthly == 0 and alb.components == []
    assert len(alb.not_found) == 3
    assert all("aws/eu-north-1/" in m for m in alb.not_found)
    assert report.to_json()["resources"][0]["price_not_found"] == alb.not_found


# -- classification ----------------------------------------------------------------------------------------------

def test_unknown_types_are_unpriced_and_free_types_are_counted() -> None:
    def program() -> None:
        vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
        aws.ec2.Subnet("subnet", vpc_id=vpc.id, cidr_block="10.0.0.0/24")
        aws.ec2.SecurityGroup("sg", vpc_id=vpc.id)
        aws.iam.Role("role", assume_role_policy="{}")
        aws.sns.PlatformApplication("push", platform="GCM", platform_credential="x")

    report = _estimate(program)
    assert report.resources == [] and report.free == 4
    assert [(u["type"], u["name"]) for u in report.unpriced] == [
        ("aws:sns/platformApplication:PlatformApplication", "push")]
    assert report.monthly_total == 0


def test_a_whole_small_stack() -> None:
    """VPC without NAT, internet-facing ALB over 2 AZs, one ARM Fargate task with a public IP, a micro Postgres
    and a micro Valkey node: the cheap dev layout."""

    def program() -> None:
        vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
        subnets = [aws.ec2.Subnet(f"public-{i}", vpc_id=vpc.id, cidr_block=f"10.0.{i}.0/24") for i in range(2)]
        aws.lb.LoadBalancer("alb", subnets=[s.id for s in subnets])
        _fargate(min_capacity=1)
        aws.rds.Instance("db", engine="postgres", instance_class="db.t4g.micro", allocated_storage=20,
                         storage_type="gp3", manage_master_user_password=True, username="app")
        aws.elasticache.ReplicationGroup("cache", description="c", node_type="cache.t4g.micro", engine="valkey",
                                         num_cache_clusters=1)

    report = _estimate(program)
    expected = {
        "alb": 16.425 + 5.84 + 7.30,
        "svc": 182.5 * 0.03238 + 365 * 0.00356 + 730 * 0.005,
        "db": 11.68 + 2.30 + 0.40,
        "cache": 11.68,
    }
    assert {r.name: round(r.monthly, 4) for r in report.resources} == {k: round(v, 4) for k, v in expected.items()}
    assert report.monthly_total == pytest.approx(sum(expected.values()))
    assert report.to_json()["monthly_total"] == 66.48


# -- GCP ---------------------------------------------------------------------------------------------------------

def test_gcp_resources() -> None:
    def program() -> None:
        gcp.sql.DatabaseInstance("sql", database_version="POSTGRES_16", region="us-central1",
                                 settings={"tier": "db-custom-2-7680", "availability_type": "REGIONAL",
                                           "disk_size": 20})
        gcp.sql.DatabaseInstance("tiny", database_version="POSTGRES_16", region="us-central1",
                                 settings={"tier": "db-f1-micro"})
        gcp.cloudrunv2.Service("run", location="us-central1", template={"containers": [
            {"image": "nginx", "resources": {"limits": {"cpu": "1", "memory": "512Mi"}}}]})
        gcp.redis.Instance("redis", memory_size_gb=1, region="us-central1")
        gcp.compute.RouterNat("nat", router="r", region="us-central1", nat_ip_allocate_option="AUTO_ONLY",
                              source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES")
        gcp.storage.Bucket("bucket", location="US-CENTRAL1")
        gcp.compute.GlobalForwardingRule("lb", target="t", port_range="443")
        gcp.compute.Network("net")

    report = _estimate(program, config={"gcp:region": "us-central1", "gcp:project": "p"})
    expected = {
        "sql": 2 * H * 2 * 0.0413 + 7.5 * H * 2 * 0.0070 + 40 * 0.17,
        "tiny": H * 0.0105 + 10 * 0.17,
        "run": 0.40 + 250_000 * 0.000024 + 0.5 * 250_000 * 0.0000025,  # 1M requests x 250 ms, concurrency 1
        "redis": H * 0.049,
        "nat": 2 * H * 0.0014 + 10 * 0.045,
        "bucket": 0.020,
        "lb": H * 0.025 + 10 * 0.008,
    }
    assert {r.name: round(r.monthly, 4) for r in report.resources} == {k: round(v, 4) for k, v in expected.items()}
    assert report.free == 1 and report.unpriced == []


def test_values_unknown_in_preview_fall_back_to_stated_assumptions() -> None:
    from pricing import CostResource, estimate

    unknown_list, unknown_n = "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", "3eeb2bf0-c639-47a8-9e75-3b44932eb421"
    alb = CostResource(urn="urn:alb", type="aws:lb/loadBalancer:LoadBalancer", name="alb",
                       inputs={"subnets": unknown_list}, provider_inputs={"region": "us-east-1"})
    db = CostResource(urn="urn:db", type="aws:rds/instance:Instance", name="db",
                      provider_inputs={"region": "us-east-1"},
                      inputs={"instanceClass": "db.t4g.micro", "engine": "postgres", "allocatedStorage": unknown_n})
    report = estimate([alb, db])
    lines = {c.name: c.quantity for r in report.resources for c in r.components}
    assert lines["public IPv4 addresses (one per AZ, 2, assumed: subnets unknown)"] == 2 * H
    assert lines["storage (gp2, 20 GB)"] == 20  # AWS's default type and the estimator's default size


def test_a_partial_estimate_says_so_in_text_and_json() -> None:
    from pricing import CostComponent, CostReport, ResourceCost
    from review.render import cost_text

    found = CostComponent("hours", 730, "hours", 0.01, 7.3)
    report = CostReport(resources=[
        ResourceCost("urn:a", "aws:lb/loadBalancer:LoadBalancer", "alb", [found],
                     not_found=["LCU-hours [aws/xx-east-9/elb/alb-lcu-hour]"], region="xx-east-9"),
    ], unpriced=[{"urn": "urn:q", "type": "aws:sqs/queue:Queue", "name": "queue", "reason": "no pricing"}])
    assert report.partial
    assert report.total_text() == "at least 7.30 USD (partial: 1 price missing, 1 resource unpriced)"
    data = report.to_json()
    assert data["partial"] is True
    assert data["missing"] == [{"resource": "alb", "component": "LCU-hours", "price": "aws/xx-east-9/elb/alb-lcu-hour",
                                "region": "xx-east-9", "service": "elb", "sku": "alb-lcu-hour"}]
    assert "TOTAL per month: at least 7.30 USD (partial: 1 price missing, 1 resource unpriced)" in cost_text(report)
    assert report.refresh_commands() == ["python -m ops prices refresh --service elb --region xx-east-9"]

    complete = CostReport(resources=[ResourceCost("urn:a", "t", "alb", [found])])
    assert not complete.partial and complete.total_text() == "7.30 USD"
    assert complete.to_json()["partial"] is False and complete.to_json()["missing"] == []
    assert "at least" not in cost_text(complete)


def test_a_partial_estimate_is_marked_in_the_base_diff() -> None:
    from review.diff import Diff, diff_markdown, diff_text

    d = Diff("main", [], cost_before=10.0, cost_after=12.5, new_violations=[], fixed_violations=[],
             partial_after=True)
    assert "Monthly cost: 10.00 -> 12.50 USD (+2.50) (partial after: prices missing, so a lower bound)" in diff_text(d)
    assert "(partial after: prices missing, so a lower bound)" in diff_markdown(d)
    assert d.to_json()["cost"]["partial_after"] is True and d.to_json()["cost"]["partial_before"] is False
    complete = Diff("main", [], cost_before=10.0, cost_after=12.5, new_violations=[], fixed_violations=[])
    assert "partial" not in diff_text(complete)


# -- Lambda ------------------------------------------------------------------------------------------------------

def _rotation_function(days: tuple[int, ...] = (30, 90), arch: str = "arm64", memory: int = 256) -> None:
    fn = aws.lambda_.Function("rotate", role="arn:aws:iam::123456789012:role/r", runtime="python3.13",
                              handler="h.handler", architectures=[arch], memory_size=memory,
                              code=pulumi.AssetArchive({}))
    aws.lambda_.Permission("invoke", action="lambda:InvokeFunction", function=fn.name,
                           principal="secretsmanager.amazonaws.com")
    for i, d in enumerate(days):
        aws.secretsmanager.SecretRotation(f"rot{i}", secret_id=f"s{i}", rotation_lambda_arn=fn.arn,
                                          rotation_rules={"automatically_after_days": d})


def test_a_rotation_function_is_invoked_four_times_per_rotation() -> None:
    """Rows (tests/fixtures/catalog/aws-us-east-1.csv): lambda/requests 0.20 per 1M, lambda/gb-second:arm64
    0.0000133334 and :x86_64 0.0000166667; 1,000 ms per invocation by default; 730/24 days a month."""
    report = _estimate(lambda: _rotation_function())
    fn = _by_name(report, "rotate")
    runs = 4 * (730 / 24) / 30 + 4 * (730 / 24) / 90
    (requests, duration) = fn.components
    assert requests.quantity == pytest.approx(runs / 1e6, abs=1e-6) and requests.unit_price == 0.2
    assert duration.quantity == pytest.approx(runs * 1.0 * 0.25, rel=1e-4) and duration.unit_price == 0.0000133334
    assert fn.monthly == pytest.approx(runs / 1e6 * 0.2 + runs * 0.25 * 0.0000133334, rel=1e-4)
    assert not report.unpriced and not report.partial  # the permission is free, the schedules too
    x86 = _by_name(_estimate(lambda: _rotation_function(days=(30,), arch="x86_64")), "rotate").components[1]
    assert x86.unit_price == 0.0000166667


def test_a_function_with_no_schedule_and_no_usage_costs_nothing(tmp_path) -> None:
    report = _estimate(lambda: _rotation_function(days=()))
    assert all(r.name != "rotate" for r in report.resources) and not report.partial
    usage = tmp_path / "usage.yaml"
    usage.write_text("resource_usage:\n  rotate:\n    monthly_requests: 2000000\n    average_duration_ms: 200\n")
    fn = _by_name(estimate_graph(run_callable(lambda: _rotation_function(days=()),
                                              config={"aws:region": "us-east-1"}), usage), "rotate")
    gb_seconds = 2e6 * 0.2 * 0.25  # 200 ms at 256 MB
    assert [round(c.monthly, 4) for c in fn.components] == [round(2 * 0.2, 4), round(gb_seconds * 0.0000133334, 4)]
