"""The cost pack, rule by rule: a violating and a compliant case each, asserting the exact policy and resource.

Resources are declared with pulumi-aws/pulumi-gcp under the review's mocks (the inputs a policy sees) and judged
through the shared framework's ``Rule.evaluate`` (the code the CLI and the offline review both run).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
import pytest

from policies.common import Context, Res, ResourceIndex, StackInfo, resolve_config
from policies.cost import PACK
from review.engine import run_callable
from review.model import Graph

PROJECT = "backend-hosting"


def _res(graph: Graph) -> list[Res]:
    by_urn = {r.urn: r for r in graph.resources}
    out = []
    for r in graph.resources:
        prov = by_urn.get(r.provider_urn) if r.provider_urn else None
        out.append(Res(r.type, r.name, r.urn, r.inputs, opts=r.options, parent=r.parent,
                       provider_props=prov.inputs if prov else None, provider_urn=r.provider_urn,
                       deps=list(r.options.get("dependsOn") or []), prop_deps=r.property_dependencies, id=r.id))
    return out


_CAPTURED: dict[tuple[Any, str, str], Graph] = {}
"""Captures by (program, stack config, stack): a test judges one program under several policy configs."""


def capture(program: Callable[[], Any], cfg: Mapping[str, Any], stack: str) -> Graph:
    """The program's graph under ``cfg``, captured once per test run (each caller gets its own copy)."""
    key = (program, json.dumps(cfg, sort_keys=True), stack)
    if key not in _CAPTURED:
        _CAPTURED[key] = run_callable(program, project=PROJECT, stack=stack, config=cfg)
    return copy.deepcopy(_CAPTURED[key])


def judge(policy: str, program: Callable[[], Any], *, env: str | None = "dev",
          config: Mapping[str, Any] | None = None, stack_config: Mapping[str, Any] | None = None,
          stack: str = "teststack") -> list[tuple[str | None, str]]:
    """(resource name or None, message) of every finding of one policy over the program's resources, by name."""
    rule = PACK.rule(policy)
    cfg: dict[str, Any] = {"aws:region": "us-east-1"}
    if env is not None:
        cfg[f"{PROJECT}:environment"] = env
    cfg.update(stack_config or {})
    graph = capture(program, cfg, stack)
    info = StackInfo(project=PROJECT, stack=stack, config=dict(graph.config), offline=True)
    ctx_cfg = rule.effective_config(config)
    resources = _res(graph)
    findings = []
    if rule.kind == "resource":
        ctx = Context(rule, ctx_cfg, info)
        for r in resources:
            if rule.applies_to(r.type):
                findings += rule.evaluate(r, ctx)
    else:
        index = ResourceIndex(resources)
        findings = rule.evaluate(index, Context(rule, ctx_cfg, info, index))
    # Registration order under the mocks is not deterministic: sort by resource (stable within one).
    return sorted(((f.res.name if f.res else None, f.message) for f in findings), key=lambda f: f[0] or "")


def names(findings: list[tuple[str | None, str]]) -> list[str | None]:
    return [n for n, _ in findings]


# -- sizing ------------------------------------------------------------------------------------------------------

def test_instance_family_allowed() -> None:
    def program() -> None:
        aws.ec2.Instance("burstable", ami="ami-1", instance_type="t4g.small")
        aws.ec2.Instance("general", ami="ami-1", instance_type="m7g.large")
        aws.rds.Instance("db", engine="postgres", instance_class="db.r7g.large", allocated_storage=20)
        aws.elasticache.ReplicationGroup("cache", description="c", node_type="cache.t4g.micro")
        gcp.compute.Instance("vm", machine_type="n2-standard-2", zone="us-central1-a",
                             boot_disk={"initialize_params": {"image": "debian-12"}},
                             network_interfaces=[{"network": "default"}])

    found = judge("instance-family-allowed", program)
    assert names(found) == ["db", "general", "vm"]
    assert "m7g.large (family m7g) is not allowed in dev" in found[1][1]
    assert judge("instance-family-allowed", program, env="prod") == []
    assert judge("instance-family-allowed", program, env=None) == []  # unknown environment: default "*"
    widened = {"allowedFamilies": {"dev": ["t*", "m7g", "r7g", "n2"]}}
    assert judge("instance-family-allowed", program, config=widened) == []


def test_instance_size_ceiling() -> None:
    def program() -> None:
        aws.ec2.Instance("ok", ami="ami-1", instance_type="t4g.large")
        aws.ec2.Instance("big", ami="ami-1", instance_type="t4g.2xlarge")
        aws.rds.Instance("huge", engine="postgres", instance_class="db.m7g.24xlarge", allocated_storage=20)
        gcp.sql.DatabaseInstance("sql", database_version="POSTGRES_16", region="us-central1",
                                 settings={"tier": "db-custom-4-15360"})

    assert names(judge("instance-size-ceiling", program)) == ["big", "huge", "sql"]  # t4g.large is fine
    prod = judge("instance-size-ceiling", program, env="prod")
    assert prod == [("huge", "db.m7g.24xlarge (24xlarge) is larger than the prod ceiling 16xlarge")]
    assert judge("instance-size-ceiling", program, env="prod", config={"maxSize": {"prod": "metal"}}) == []


def test_no_gpu_instances() -> None:
    def program() -> None:
        aws.ec2.Instance("gpu", ami="ami-1", instance_type="g5.xlarge")
        aws.ec2.Instance("cpu", ami="ami-1", instance_type="c7g.large")
        gcp.compute.Instance("a100", machine_type="a2-highgpu-1g", zone="us-central1-a",
                             boot_disk={"initialize_params": {"image": "debian-12"}},
                             network_interfaces=[{"network": "default"}])
        gcp.compute.Instance("t4", machine_type="n1-standard-4", zone="us-central1-a",
                             guest_accelerators=[{"type": "nvidia-tesla-t4", "count": 1}],
                             boot_disk={"initialize_params": {"image": "debian-12"}},
                             network_interfaces=[{"network": "default"}])

    found = judge("no-gpu-instances", program, env="prod")
    assert names(found) == ["a100", "gpu", "t4"]
    assert found[2][1] == "guestAccelerators attaches GPUs"
    assert judge("no-gpu-instances", program, env="prod", config={"allowGpuEnvironments": ["prod"]}) == []


def _task(cpu: str, memory: str) -> Callable[[], None]:
    def program() -> None:
        aws.ecs.TaskDefinition("task", family="app", cpu=cpu, memory=memory, network_mode="awsvpc",
                               requires_compatibilities=["FARGATE"], container_definitions="[]")
        gcp.cloudrunv2.Service("run", location="us-central1", template={
            "containers": [{"image": "nginx", "resources": {"limits": {"cpu": "4", "memory": "8Gi"}}}],
            "scaling": {"max_instance_count": 3}})

    return program


def test_task_size_ceiling() -> None:
    found = judge("task-size-ceiling", _task("4096", "16384"))
    assert found == [
        ("run", "CPU 4096 units (4 vCPU) exceeds the dev ceiling of 1024"),
        ("run", "memory 8192 MiB exceeds the dev ceiling of 2048 MiB"),
        ("task", "CPU 4096 units (4 vCPU) exceeds the dev ceiling of 1024"),
        ("task", "memory 16384 MiB exceeds the dev ceiling of 2048 MiB"),
    ]
    assert judge("task-size-ceiling", _task("4096", "16384"), env="prod") == []
    assert names(judge("task-size-ceiling", _task("256", "512"))) == ["run", "run"]


def test_autoscaling_max_ceiling() -> None:
    def program() -> None:
        aws.appautoscaling.Target("scaling", service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
                                  resource_id="service/c/s", min_capacity=1, max_capacity=20)
        aws.appautoscaling.Target("small", service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
                                  resource_id="service/c/t", min_capacity=1, max_capacity=2)
        gcp.cloudrunv2.Service("run", location="us-central1", template={"containers": [{"image": "nginx"}]})

    found = judge("autoscaling-max-ceiling", program)
    assert found == [("run", "maxInstanceCount (unset: Cloud Run's 100) 100 exceeds the dev ceiling of 4"),
                     ("scaling", "maxCapacity 20 exceeds the dev ceiling of 4")]
    assert judge("autoscaling-max-ceiling", program, env="prod") == []  # Cloud Run's default is within prod's 100
    ours = {"maxCapacity": {"dev": 4, "staging": 10, "prod": 50, "default": 100}}  # config/backend-hosting.json
    assert judge("autoscaling-max-ceiling", program, env="prod", config=ours) == [
        ("run", "maxInstanceCount (unset: Cloud Run's 100) 100 exceeds the prod ceiling of 50")]


def test_storage_ceiling() -> None:
    def program() -> None:
        aws.rds.Instance("db", engine="postgres", instance_class="db.t4g.micro", allocated_storage=20,
                         max_allocated_storage=1000)
        aws.ebs.Volume("vol", availability_zone="us-east-1a", size=50)

    assert judge("storage-ceiling", program) == [
        ("db", "maxAllocatedStorage 1000 GB exceeds the dev ceiling of 100 GB")]
    assert judge("storage-ceiling", program, env="prod") == []


def test_provisioned_iops_ceiling() -> None:
    def program() -> None:
        aws.rds.Instance("db", engine="postgres", instance_class="db.t4g.micro", allocated_storage=400,
                         storage_type="io1", iops=10000)
        aws.ebs.Volume("vol", availability_zone="us-east-1a", size=50, type="gp3", iops=3000)

    assert judge("provisioned-iops-ceiling", program) == [("db", "iops 10000 exceeds the dev ceiling of 3000")]
    assert judge("provisioned-iops-ceiling", program, env="staging") == []


# -- topology and retention --------------------------------------------------------------------------------------

def _nat_per_az(count: int) -> Callable[[], None]:
    def program() -> None:
        vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
        for i in range(count):
            subnet = aws.ec2.Subnet(f"public-{i}", vpc_id=vpc.id, cidr_block=f"10.0.{i}.0/24")
            eip = aws.ec2.Eip(f"nat-{i}", domain="vpc")
            aws.ec2.NatGateway(f"nat-{i}", allocation_id=eip.id, subnet_id=subnet.id)

    return program


def test_no_nat_per_az_outside_prod() -> None:
    found = judge("no-nat-per-az-outside-prod", _nat_per_az(3), env="staging")
    assert names(found) == ["nat-1", "nat-2"]
    assert "3 NAT gateways in one VPC (nat-0, nat-1, nat-2) in staging" in found[0][1]
    assert judge("no-nat-per-az-outside-prod", _nat_per_az(1), env="staging") == []
    assert judge("no-nat-per-az-outside-prod", _nat_per_az(3), env="prod") == []
    assert judge("no-nat-per-az-outside-prod", _nat_per_az(3), env=None) == []


def test_no_multi_az_database_outside_prod() -> None:
    def program() -> None:
        aws.rds.Instance("multi", engine="postgres", instance_class="db.t4g.micro", allocated_storage=20,
                         multi_az=True)
        aws.rds.Instance("single", engine="postgres", instance_class="db.t4g.micro", allocated_storage=20)
        cluster = aws.rds.Cluster("aurora", engine="aurora-postgresql", master_username="app")
        for i in range(2):
            aws.rds.ClusterInstance(f"aurora-{i}", cluster_identifier=cluster.id, instance_class="db.t4g.medium",
                                    engine="aurora-postgresql")
        gcp.sql.DatabaseInstance("sql", database_version="POSTGRES_16", region="us-central1",
                                 settings={"tier": "db-f1-micro", "availability_type": "REGIONAL"})

    found = judge("no-multi-az-database-outside-prod", program)
    assert names(found) == ["aurora", "multi", "sql"]
    assert "2 Aurora instances (aurora-0, aurora-1) in dev" in found[0][1]
    assert judge("no-multi-az-database-outside-prod", program, env="prod") == []


def test_log_retention_bounded_outside_prod() -> None:
    def program() -> None:
        aws.cloudwatch.LogGroup("forever")
        aws.cloudwatch.LogGroup("year", retention_in_days=365)
        aws.cloudwatch.LogGroup("week", retention_in_days=7)

    found = judge("log-retention-bounded-outside-prod", program)
    assert found == [("forever", "retentionInDays is not set: logs never expire (dev allows at most 30 days)"),
                     ("year", "retentionInDays 365 exceeds 30 days in dev")]
    assert judge("log-retention-bounded-outside-prod", program, env="prod") == []
    assert names(judge("log-retention-bounded-outside-prod", program,
                       config={"maxRetentionDaysOutsideProd": 400})) == ["forever"]


def test_bucket_lifecycle_configured() -> None:
    def program() -> None:
        with_rules = aws.s3.Bucket("with-rules")
        aws.s3.BucketLifecycleConfiguration("with-rules", bucket=with_rules.bucket, rules=[
            {"id": "noncurrent", "status": "Enabled", "noncurrent_version_expiration": {"noncurrent_days": 30}}])
        disabled = aws.s3.Bucket("disabled")
        aws.s3.BucketLifecycleConfiguration("disabled", bucket=disabled.bucket, rules=[
            {"id": "off", "status": "Disabled", "expiration": {"days": 30}}])
        aws.s3.Bucket("bare")
        gcp.storage.Bucket("gcs-bare", location="US-CENTRAL1")
        gcp.storage.Bucket("gcs-ok", location="US-CENTRAL1", lifecycle_rules=[
            {"action": {"type": "Delete"}, "condition": {"age": 30}}])

    found = judge("bucket-lifecycle-configured", program, env="prod")
    assert found == [("bare", "no BucketLifecycleConfiguration refers to this bucket"),
                     ("disabled", "the lifecycle configuration (disabled) has no Enabled rule"),
                     ("gcs-bare", "no lifecycle_rules on the bucket")]


# -- budget ------------------------------------------------------------------------------------------------------

def _alb() -> None:
    aws.lb.LoadBalancer("alb", subnets=["a", "b"])  # 29.57 USD/month at default usage


def test_budget_exceeded_is_a_mandatory_violation_naming_the_drivers() -> None:
    def program() -> None:
        _alb()
        aws.kms.Key("key")

    found = judge("budget-not-exceeded", program, stack_config={f"{PROJECT}:budget": {"monthlyUsd": 25}})
    assert found == [(None, "estimated 30.60 USD/month exceeds the budget of 25.00 USD (122%, "
                            "backend-hosting:budget.monthlyUsd); biggest cost drivers: alb 29.57 (LoadBalancer; "
                            "Application Load Balancer hours 16.43), key 1.03 (Key; customer managed key 1.00)")]
    level, _ = resolve_config(PACK)["budget-not-exceeded"]
    assert level == "mandatory"
    assert judge("budget-not-exceeded", program, stack_config={f"{PROJECT}:budget": {"monthlyUsd": 40}}) == []


def test_budget_from_policy_config_overrides_the_stack() -> None:
    found = judge("budget-not-exceeded", _alb, stack_config={f"{PROJECT}:budget": {"monthlyUsd": 100}},
                  config={"monthlyUsd": 10, "topDrivers": 1})
    assert len(found) == 1 and "budget of 10.00 USD (296%, policy config)" in found[0][1]
    assert judge("budget-not-exceeded", _alb) == []  # no budget anywhere: nothing to check


def test_budget_warning_past_the_fraction() -> None:
    budget = {f"{PROJECT}:budget": {"monthlyUsd": 35}}  # 29.57 is 84%
    found = judge("budget-warning", _alb, stack_config=budget)
    assert found == [(None, "estimated 29.57 USD/month is 84% of the budget of 35.00 USD (warning above 80%); "
                            "biggest cost drivers: alb 29.57 (LoadBalancer; Application Load Balancer hours 16.43)")]
    assert judge("budget-warning", _alb, stack_config={f"{PROJECT}:budget": {"monthlyUsd": 35,
                                                                             "warnFraction": 0.9}}) == []
    assert judge("budget-warning", _alb, stack_config=budget, config={"warnFraction": 0.9}) == []
    assert judge("budget-warning", _alb, stack_config={f"{PROJECT}:budget": {"monthlyUsd": 20}}) == []  # exceeded
    assert resolve_config(PACK)["budget-warning"][0] == "advisory"


def test_budget_uses_the_usage_file(tmp_path) -> None:
    usage = tmp_path / "usage.yaml"
    usage.write_text("resource_usage:\n  alb:\n    average_lcus: 10\n")  # LCU-hours 58.40 instead of 5.84
    found = judge("budget-not-exceeded", _alb, stack_config={f"{PROJECT}:budget": {"monthlyUsd": 50}},
                  config={"usageFile": str(usage)})
    assert "estimated 82.12 USD/month" in found[0][1]
    bad = tmp_path / "bad.yaml"
    bad.write_text("resource_usage:\n  alb:\n    lcus: 10\n")
    found = judge("budget-not-exceeded", _alb, stack_config={f"{PROJECT}:budget": {"monthlyUsd": 50}},
                  config={"usageFile": str(bad)})
    assert found[0][0] is None and "cannot estimate the stack" in found[0][1] and "unknown usage key" in found[0][1]


def test_the_budget_estimate_is_the_reviews_estimate() -> None:
    from policies.cost.rules_budget import cost_resources
    from pricing import estimate_resources
    from review.cost import estimate_graph

    def program() -> None:
        _alb()
        eu = aws.Provider("eu", region="eu-west-1")
        aws.rds.Instance("db", engine="postgres", instance_class="db.t4g.micro", allocated_storage=20,
                         opts=pulumi.ResourceOptions(provider=eu))

    graph = run_callable(program, project=PROJECT, config={"aws:region": "us-east-1"})
    policy = estimate_resources(cost_resources(_res(graph)), config=graph.config, project=PROJECT)
    review = estimate_graph(graph)
    assert policy.to_json() == review.to_json()


def test_cost_estimate_complete() -> None:
    def program() -> None:
        _alb()
        aws.sns.PlatformApplication("queue", platform="GCM", platform_credential="x")
        eu = aws.Provider("stockholm", region="eu-north-1")
        aws.kms.Key("key", opts=pulumi.ResourceOptions(provider=eu))

    found = judge("cost-estimate-complete", program)
    assert names(found) == ["key", "queue"]
    assert found[1][1] == ("not priced: aws:sns/platformApplication:PlatformApplication (no pricing for this "
                           "resource type)")
    assert found[0][1].startswith(
        "price not found in eu-north-1: customer managed key [aws/eu-north-1/kms/key]")
    assert judge("cost-estimate-complete", _alb) == []


def test_budget_verifiable_fails_closed_on_a_missing_price() -> None:
    def program() -> None:
        _alb()
        north = aws.Provider("stockholm", region="eu-north-1")
        aws.kms.Key("key", opts=pulumi.ResourceOptions(provider=north))

    budget = {f"{PROJECT}:budget": {"monthlyUsd": 100}}
    found = judge("budget-verifiable", program, stack_config=budget)
    assert found == [(None, "the budget of 100.00 USD (backend-hosting:budget.monthlyUsd) cannot be verified: the "
                            "estimate is at least 29.57 USD (partial: 2 prices missing): 2 prices missing for aws "
                            "eu-north-1 (kms/key, kms/requests); fetch them: python -m ops prices refresh "
                            "--service kms --region eu-north-1")]
    assert resolve_config(PACK)["budget-verifiable"][0] == "mandatory"
    assert judge("budget-verifiable", program) == []  # no budget: nothing to verify
    assert judge("budget-verifiable", _alb, stack_config=budget) == []  # every price found


def test_budget_verifiable_fails_closed_on_an_unpriced_type() -> None:
    def program() -> None:
        _alb()
        aws.sns.PlatformApplication("queue", platform="GCM", platform_credential="x")

    found = judge("budget-verifiable", program, stack_config={f"{PROJECT}:budget": {"monthlyUsd": 100}})
    assert len(found) == 1
    assert "cannot be verified: the estimate is at least 29.57 USD (partial: 1 resource unpriced)" in found[0][1]
    assert "queue aws:sns/platformApplication:PlatformApplication" in found[0][1]
    assert "ops prices refresh" not in found[0][1]


def _worker(min_instances: int) -> Callable[[], None]:
    def program() -> None:
        worker = gcp.cloudrunv2.Service("worker", location="us-central1", ingress="INGRESS_TRAFFIC_INTERNAL_ONLY",
                                        template={"containers": [{"image": "w"}],
                                                  "scaling": {"min_instance_count": min_instances}})
        web = gcp.cloudrunv2.Service("web", location="us-central1", template={
            "containers": [{"image": "w"}], "scaling": {"min_instance_count": 2}})
        gcp.pubsub.Subscription("jobs", topic="t", push_config={
            "push_endpoint": worker.uri, "oidc_token": {"service_account_email": "push@p.iam"}})
        assert web  # not pushed to: its warm instances are the web profile's business

    return program


def test_worker_scales_to_zero_outside_prod() -> None:
    assert judge("worker-scales-to-zero-outside-prod", _worker(1)) == [
        ("worker", "minInstanceCount 1 on a worker pushed by jobs in dev; at most 0 (pushes start instances on "
                   "demand)")]
    assert judge("worker-scales-to-zero-outside-prod", _worker(0)) == []
    assert judge("worker-scales-to-zero-outside-prod", _worker(3), env="prod") == []


def _job(timeout: str, cpu: str, parallelism: int) -> Callable[[], None]:
    def program() -> None:
        gcp.cloudrunv2.Job("job", location="us-central1", template={
            "parallelism": parallelism, "task_count": parallelism, "template": {
                "timeout": timeout, "containers": [{"image": "j", "resources": {"limits": {"cpu": cpu}}}]}})

    return program


def test_cloudrun_job_bounded() -> None:
    assert judge("cloudrun-job-bounded", _job("7200s", "2", 4)) == [
        ("job", "task timeout 7200 s exceeds the dev ceiling of 3600 s"),
        ("job", "8 vCPUs at once (4 tasks x 2) exceeds the dev ceiling of 2")]
    assert judge("cloudrun-job-bounded", _job("1800s", "1", 1)) == []
    assert judge("cloudrun-job-bounded", _job("7200s", "2", 4), env="prod") == []


def test_every_rule_has_metadata_and_tests() -> None:
    tested = {"instance-family-allowed", "instance-size-ceiling", "no-gpu-instances", "task-size-ceiling",
              "autoscaling-max-ceiling", "storage-ceiling", "provisioned-iops-ceiling", "no-nat-per-az-outside-prod",
              "no-multi-az-database-outside-prod", "log-retention-bounded-outside-prod", "bucket-lifecycle-configured",
              "budget-not-exceeded", "budget-verifiable", "budget-warning", "cost-estimate-complete",
              "worker-scales-to-zero-outside-prod", "cloudrun-job-bounded", "dev-worker-scales-to-zero",
              "job-size-allowance"}
    assert {r.name for r in PACK.rules} == tested
    for r in PACK.rules:
        assert r.description and r.remediation and r.category.startswith("cost-")


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_our_stack_shapes_pass_the_topology_rules(stack: str) -> None:
    """Per-profile shapes, in small: dev/staging single NAT at most, single-AZ DB; prod may have both."""
    nat = {"dev": 0, "staging": 1, "prod": 3}[stack]
    assert judge("no-nat-per-az-outside-prod", _nat_per_az(nat), env=stack) == []


# -- workloads (issue 9) -----------------------------------------------------------------------------------------
def _workloads(worker_min: int, job_cpu: int = 256, job_memory: int = 512) -> Callable[[], None]:
    def program() -> None:
        from components.aws.cluster import Cluster
        from components.aws.job import Job, JobArgs
        from components.aws.network import Network, NetworkArgs
        from components.aws.worker import Worker, WorkerArgs

        net = Network("net", NetworkArgs(nat_strategy="none"))
        cluster = Cluster("c")
        Worker("worker", WorkerArgs(cluster=cluster, network=net, queue_names=["jobs"], min_count=worker_min))
        Job("report", JobArgs(cluster=cluster, network=net, cpu=job_cpu, memory=job_memory,
                              schedule_expression="cron(0 3 * * ? *)"))

    return program


def test_dev_worker_scales_to_zero() -> None:
    found = judge("dev-worker-scales-to-zero", _workloads(worker_min=1))
    assert found == [("worker-service", "the worker keeps 1 task(s) running with an empty queue; dev allows 0")]
    assert judge("dev-worker-scales-to-zero", _workloads(worker_min=0)) == []
    assert judge("dev-worker-scales-to-zero", _workloads(worker_min=2), env="prod") == []


def test_job_size_allowance() -> None:
    found = judge("job-size-allowance", _workloads(worker_min=0, job_cpu=4096, job_memory=8192))
    assert found == [("report-task", "job CPU 4096 units exceeds the dev allowance of 1024"),
                     ("report-task", "job memory 8192 MiB exceeds the dev allowance of 2048 MiB")]
    # The worker's task definition is run by a service: not a job, whatever its size.
    assert judge("job-size-allowance", _workloads(worker_min=0, job_cpu=1024, job_memory=2048)) == []
    assert judge("job-size-allowance", _workloads(worker_min=0, job_cpu=4096, job_memory=8192), env="prod") == []
