"""The AWS services of our stacks, wired exactly: per service, which security-group paths point at which peer,
which IAM statements its task role (and a job's scheduler role) holds, and nothing more. Also the components'
contracts a stack relies on: listener priorities that do not move, FIFO naming, redrive, scaling to zero."""

from __future__ import annotations

import json

import pytest

from components.aws.load_balancer import PRIORITY_BAND, rule_priorities
from review.mocks import managed_prefix_list_id

INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SG = "aws:ec2/securityGroup:SecurityGroup"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SERVICES = ("api", "worker", "nightly", "migrate")
ACCOUNT = "123456789012"


def sg_id(g, name: str) -> str:
    return g.by_name(name, SG).id


def ingress_into(g, sg: str) -> set[tuple[str, int]]:
    """(peer, port) of every ingress rule of a security group; the peer is a security group id, a CIDR or a
    managed prefix list."""
    return {(r.inputs.get("referencedSecurityGroupId") or r.inputs.get("cidrIpv4") or r.inputs.get("cidrIpv6")
             or r.inputs.get("prefixListId"), int(r.inputs["fromPort"]))
            for r in g.by_type(INGRESS) if r.inputs["securityGroupId"] == sg}


def egress_from(g, sg: str) -> set[tuple[str, int]]:
    return {(r.inputs.get("referencedSecurityGroupId") or r.inputs.get("cidrIpv4"), int(r.inputs["fromPort"]))
            for r in g.by_type(EGRESS) if r.inputs["securityGroupId"] == sg}


def role_policies(g, role_resource: str) -> dict[str, list[dict]]:
    """Inline policies of a role, by logical name, as statement lists."""
    role = g.by_name(role_resource, "aws:iam/role:Role").outputs["name"]
    return {r.name: json.loads(r.inputs["policy"])["Statement"] for r in g.by_type(ROLE_POLICY)
            if r.inputs["role"] == role}


# -- network paths ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_service_is_reachable_only_from_its_peers_and_reaches_only_what_it_uses(run_stack, stack):
    g = run_stack(stack)
    p = f"app-{stack}"
    tasks = {s: sg_id(g, f"{p}-{s}-tasks") for s in SERVICES}
    alb, db, cache = sg_id(g, f"{p}-alb"), sg_id(g, f"{p}-db-sg"), sg_id(g, f"{p}-cache-sg")
    # Into each service: only the api admits anything, and only the load balancer on its port.
    assert {s: ingress_into(g, sg) for s, sg in tasks.items()} == {
        "api": {(alb, 8080)}, "worker": set(), "nightly": set(), "migrate": set()}
    # Out of each service: HTTPS anywhere (AWS APIs, registries) plus exactly the data stores it uses.
    https = ("0.0.0.0/0", 443)
    assert {s: egress_from(g, sg) for s, sg in tasks.items()} == {
        "api": {https, (db, 5432), (cache, 6379)}, "worker": {https, (db, 5432)},
        "nightly": {https, (db, 5432)}, "migrate": {https, (db, 5432)}}
    # The data stores admit exactly the services that use them.
    assert ingress_into(g, db) == {(tasks[s], 5432) for s in SERVICES}
    assert ingress_into(g, cache) == {(tasks["api"], 6379)}
    # The load balancer forwards only to the public web service; in prod, where /admin/* requires sign-in, it also
    # reaches Cognito over HTTPS (authenticate-cognito: docs/identity.md).
    signin = {("0.0.0.0/0", 443)} if stack == "prod" else set()
    assert egress_from(g, alb) == {(tasks["api"], 8080), *signin}


# -- IAM ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_task_role_holds_exactly_the_grants_of_its_uses(run_stack, stack):
    g = run_stack(stack)
    p = f"app-{stack}"
    iam_db = stack == "prod"  # database.iamAuthentication in the prod profile
    expected = {
        "api": {f"{p}-assets-read-write-{p}-api-task", f"{p}-cache-connect-{p}-api-task",
                f"{p}-jobs-send-{p}-api-task"},
        "worker": {f"{p}-jobs-consume-{p}-worker-task"},
        "nightly": set(), "migrate": set(),
    }
    if iam_db:
        for s in SERVICES:
            expected[s].add(f"{p}-db-connect-app-{p}-{s}-task")
    assert {s: set(role_policies(g, f"{p}-{s}-task")) for s in SERVICES} == expected

    api = role_policies(g, f"{p}-api-task")[f"{p}-jobs-send-{p}-api-task"]
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{p}-jobs"
    assert (api[0]["Action"], api[0]["Resource"]) == ("sqs:SendMessage", queue_arn)
    assert api[1]["Action"] == ["kms:GenerateDataKey", "kms:Decrypt"]
    assert api[1]["Condition"] == {"StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}}
    worker = role_policies(g, f"{p}-worker-task")[f"{p}-jobs-consume-{p}-worker-task"]
    assert worker[0]["Action"] == ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                                   "sqs:GetQueueAttributes"]
    assert worker[0]["Resource"] == queue_arn and worker[1]["Action"] == ["kms:Decrypt"]
    assert len(api) == len(worker) == 2


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_scheduler_may_run_only_the_nightly_task_definition(run_stack, stack):
    g = run_stack(stack)
    p = f"app-{stack}"
    [statements] = role_policies(g, f"{p}-nightly-scheduler").values()
    cluster_arn = g.by_name(f"{p}-cluster", "aws:ecs/cluster:Cluster").outputs["arn"]
    roles = sorted(g.by_name(f"{p}-nightly-{r}", "aws:iam/role:Role").outputs["arn"] for r in ("execution", "task"))
    assert statements == [
        {"Sid": "RunThisTaskDefinition", "Effect": "Allow", "Action": "ecs:RunTask",
         "Resource": f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/{p}-nightly:*",
         "Condition": {"ArnEquals": {"ecs:cluster": cluster_arn}}},
        {"Sid": "PassThisTasksRoles", "Effect": "Allow", "Action": "iam:PassRole", "Resource": roles,
         "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
        {"Sid": "DeadLetterFailedInvocations", "Effect": "Allow", "Action": "sqs:SendMessage",
         "Resource": g.by_name(f"{p}-nightly-schedule-dlq", "aws:sqs/queue:Queue").outputs["arn"]},
    ]
    schedule = g.by_name(f"{p}-nightly-schedule", "aws:scheduler/schedule:Schedule").inputs
    assert schedule["scheduleExpression"] == "cron(0 3 * * ? *)"
    assert schedule["scheduleExpressionTimezone"] == "UTC" and schedule["flexibleTimeWindow"] == {"mode": "OFF"}
    ecs = schedule["target"]["ecsParameters"]
    assert ecs["launchType"] == "FARGATE" and ecs["taskDefinitionArn"].endswith(f"task-definition/{p}-nightly:1")
    assert schedule["target"]["retryPolicy"]["maximumRetryAttempts"] == 2
    # The on-demand job has no schedule and no scheduler role.
    assert not g.find(f"{p}-migrate-schedule") and not g.find(f"{p}-migrate-scheduler")


def test_each_service_gets_the_environment_of_its_uses_only(run_stack):
    g = run_stack("dev")

    def env(s: str) -> set[str]:
        [c] = json.loads(g.inputs(f"app-dev-{s}-task", "aws:ecs/taskDefinition:TaskDefinition")["containerDefinitions"])
        return {e["name"] for e in c["environment"]} | {x["name"] for x in c["secrets"]}

    db = {"DB_HOST", "DB_PORT", "DB_NAME", "DB_USERNAME", "DB_PASSWORD"}
    auth = {"AUTH_ISSUER", "AUTH_JWKS_URL", "AUTH_CLIENT_IDS"}  # every service may verify end-user tokens
    assert env("worker") == {"APP_ENVIRONMENT", "QUEUE_JOBS_URL"} | db | auth
    assert env("nightly") == env("migrate") == {"APP_ENVIRONMENT", "JOB_TIMEOUT_SECONDS"} | db | auth


# -- scaling -----------------------------------------------------------------------------------------------------
def test_the_dev_worker_scales_to_zero_and_wakes_on_a_message(run_stack):
    g = run_stack("dev")
    target = g.by_name("app-dev-worker-scaling", "aws:appautoscaling/target:Target").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (0, 2)
    assert g.inputs("app-dev-worker-service", "aws:ecs/service:Service")["desiredCount"] == 0
    backlog = g.inputs("app-dev-worker-backlog", "aws:appautoscaling/policy:Policy")
    tt = backlog["targetTrackingScalingPolicyConfiguration"]
    assert tt["targetValue"] == 100
    metrics = {m["id"]: m for m in tt["customizedMetricSpecification"]["metrics"]}
    assert metrics["q0"]["metricStat"]["metric"]["metricName"] == "ApproximateNumberOfMessagesVisible"
    assert metrics["tasks"]["metricStat"]["metric"]["metricName"] == "RunningTaskCount"
    assert [m["id"] for m in metrics.values() if m["returnData"]] == ["perTask"]
    wake = g.by_name("app-dev-worker-wake", "aws:appautoscaling/policy:Policy")
    assert wake.inputs["policyType"] == "StepScaling"
    assert wake.inputs["stepScalingPolicyConfiguration"]["stepAdjustments"] == [
        {"metricIntervalLowerBound": 0, "scalingAdjustment": 1}]
    alarm = g.by_name("app-dev-worker-wake", "aws:cloudwatch/metricAlarm:MetricAlarm").inputs
    assert alarm["alarmActions"] == [wake.outputs["arn"]]
    [expr] = [q["expression"] for q in alarm["metricQueries"] if q.get("returnData")]
    assert "q0" in expr and "tasks" in expr


def test_staging_and_prod_workers_keep_a_floor_and_no_wake_alarm(run_stack):
    g = run_stack("prod")
    target = g.by_name("app-prod-worker-scaling", "aws:appautoscaling/target:Target").inputs
    assert target["minCapacity"] == 2
    assert not g.find("app-prod-worker-wake")


# -- load balancer routes ----------------------------------------------------------------------------------------
def test_the_api_routes_are_prefix_rules_with_derived_priorities(run_stack):
    g = run_stack("dev")
    rules = {r.name: r.inputs for r in g.by_type("aws:lb/listenerRule:ListenerRule")}
    assert set(rules) == {"app-dev-api-v1", "app-dev-api-v2"}
    assert rules["app-dev-api-v1"]["conditions"] == [{"pathPattern": {"values": ["/v1", "/v1/*"]}}]
    derived = rule_priorities([("*", "/v1"), ("*", "/v2")])
    assert {n: r["priority"] for n, r in rules.items()} == {
        "app-dev-api-v1": derived[("*", "/v1")], "app-dev-api-v2": derived[("*", "/v2")]}


def test_adding_routes_does_not_move_existing_priorities():
    base = [("*", "/v1"), ("*", "/v2"), ("api.example.com", "/"), ("*", "/admin/reports")]
    before = rule_priorities(base)
    for extra in (("*", "/v3"), ("*.example.com", "/"), ("*", "/healthz"), ("shop.example.com", "/v1")):
        after = rule_priorities([*base, extra])
        assert {k: after[k] for k in base} == before, f"adding {extra} moved a priority"
    # Order of the settings does not matter.
    assert rule_priorities(reversed(base)) == before


def test_more_specific_routes_are_evaluated_first():
    p = rule_priorities([("*", "/"), ("*", "/v1"), ("*", "/v1/admin"), ("api.example.com", "/"),
                         ("*.example.com", "/v1"), ("api.example.com", "/v1")])
    assert p[("*", "/v1/admin")] < p[("*", "/v1")] < p[("*", "/")]
    assert p[("api.example.com", "/v1")] < p[("api.example.com", "/")] < p[("*.example.com", "/v1")] < p[("*", "/v1")]
    assert all(1 <= v <= 50_000 for v in p.values()) and len(set(p.values())) == len(p)


def test_a_hash_collision_moves_the_key_that_sorts_later_to_the_next_free_slot(monkeypatch):
    import hashlib

    real = hashlib.sha256
    monkeypatch.setattr(hashlib, "sha256", lambda b: real(b"same"))  # every key hashes to one slot
    slot = int.from_bytes(real(b"same").digest()[:8], "big") % PRIORITY_BAND
    band = 16  # any host, one path segment
    p = rule_priorities([("*", "/b"), ("*", "/a")])
    assert p == {("*", "/a"): band * PRIORITY_BAND + 1 + slot,
                 ("*", "/b"): band * PRIORITY_BAND + 1 + (slot + 1) % PRIORITY_BAND}


# -- queue component -----------------------------------------------------------------------------------------------
def _queue_graph(run_program, **kw):
    from components.aws.queue import Queue, QueueArgs

    return run_program(lambda: Queue("orders", QueueArgs(kms_key="arn:aws:kms:us-east-1:123456789012:key/k", **kw)))


def test_a_fifo_queue_and_its_dead_letter_queue_are_fifo(run_program):
    g = _queue_graph(run_program, fifo=True, queue_name="app-dev-orders")
    queues = {r.name: r.inputs for r in g.by_type("aws:sqs/queue:Queue")}
    assert {q["name"] for q in queues.values()} == {"app-dev-orders.fifo", "app-dev-orders-dlq.fifo"}
    assert all(q["fifoQueue"] is True and q["contentBasedDeduplication"] is True for q in queues.values())


def test_failed_messages_are_redriven_to_the_dead_letter_queue_and_only_from_it(run_program):
    g = _queue_graph(run_program, max_receives=7, visibility_timeout_seconds=90, retention_days=3)
    main = g.by_name("orders", "aws:sqs/queue:Queue")
    dlq = g.by_name("orders-dlq", "aws:sqs/queue:Queue")
    assert json.loads(main.inputs["redrivePolicy"]) == {"deadLetterTargetArn": dlq.outputs["arn"],
                                                        "maxReceiveCount": 7}
    assert (main.inputs["visibilityTimeoutSeconds"], main.inputs["messageRetentionSeconds"]) == (90, 3 * 86400)
    assert dlq.inputs["messageRetentionSeconds"] == 14 * 86400 and "redrivePolicy" not in dlq.inputs
    allow = g.by_type("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy")[0].inputs
    assert json.loads(allow["redriveAllowPolicy"]) == {"redrivePermission": "byQueue",
                                                       "sourceQueueArns": [main.outputs["arn"]]}
    assert all(q.inputs["kmsMasterKeyId"] for q in (main, dlq))
    for policy in g.by_type("aws:sqs/queuePolicy:QueuePolicy"):
        [st] = json.loads(policy.inputs["policy"])["Statement"]
        assert (st["Effect"], st["Principal"], st["Condition"]) == (
            "Deny", "*", {"Bool": {"aws:SecureTransport": "false"}})
    assert len(g.by_type("aws:sqs/queuePolicy:QueuePolicy")) == 2


def test_bad_queue_arguments_are_refused():
    from components.aws.queue import QueueArgs

    for kw in ({"max_receives": 0}, {"retention_days": 15}, {"kms_data_key_reuse_period_seconds": 30},
               {"visibility_timeout_seconds": 50_000}):
        with pytest.raises(ValueError):
            QueueArgs(**kw)


# -- a stack of 20 services ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def twenty(tmp_path_factory):
    """The review of a generated dev stack with 20 services of every kind (bench/services_scaling.py), run in this
    process (our own code; isolation is tested in tests/test_security_boundary.py)."""
    from helpers import trusted_in_process

    from bench.services_scaling import write_project
    from review.cli import review

    directory = write_project(tmp_path_factory.mktemp("twenty"), 20)
    with trusted_in_process():
        return review("bench", directory)


def test_a_stack_of_20_services_reviews_cleanly(twenty):
    assert [v for v in twenty.violations if not v.waived and v.enforcement == "mandatory"] == []
    # the dev waiver (public task IPs without NAT); the only advisory is Cognito's paid threat protection
    assert {v.policy for v in twenty.violations if v.enforcement == "mandatory"} == {"ecs-service-no-public-ip"}
    assert {v.policy for v in twenty.violations if v.enforcement != "mandatory"} <= {"cognito-advanced-security"}
    assert not twenty.cost.unpriced and not any(r.not_found for r in twenty.cost.resources)
    g = twenty.graph
    assert len(g.by_type("aws:ecs/cluster:Cluster")) == 1
    assert len([r for r in g.by_type("aws:ecs/taskDefinition:TaskDefinition")]) == 20
    priorities = [r.inputs["priority"] for r in g.by_type("aws:lb/listenerRule:ListenerRule")]
    assert len(priorities) == len(set(priorities)) == 7  # api /v1 /v2, s05 (+host), s10, s15 (+host)


def test_internal_services_admit_only_their_callers_through_lattice(twenty):
    g = twenty.graph
    sg = {n: sg_id(g, f"app-dev-{n}-tasks") for n in ("s01", "s02", "s05", "s06", "s07", "s10", "s12", "s15", "s17")}
    # s01 and s06 are internal; the worker s02 and the web service s05 use s01, s07 and s10 use s06
    # (bench/services_scaling.py: each web service or worker uses the latest internal service before it;
    # s12 and s15 use s11, s17 uses s16). Their tasks admit VPC Lattice only (identity.serviceAuth: iam,
    # tests/test_aws_lattice.py); the callers' path is into the service network.
    lattice = (managed_prefix_list_id("com.amazonaws.us-east-1.vpc-lattice"), 8080)
    assert ingress_into(g, sg["s01"]) == ingress_into(g, sg["s06"]) == {lattice}
    # Into the service network: exactly the seven callers, on HTTPS.
    assert ingress_into(g, sg_id(g, "app-dev-lattice-association")) == {
        (sg[n], 443) for n in ("s02", "s05", "s07", "s10", "s12", "s15", "s17")}
    # Each Lattice auth policy names exactly its callers' task roles.
    roles = {n: g.by_name(f"app-dev-{n}-task", "aws:iam/role:Role").outputs["arn"] for n in sg}
    policies = {r.name: json.loads(r.inputs["policy"])["Statement"][0]["Principal"]["AWS"]
                for r in g.by_type("aws:vpclattice/authPolicy:AuthPolicy") if r.name != "app-dev-lattice-network"}
    assert {k: set(v) for k, v in policies.items()} == {
        "app-dev-s01-lattice": {roles["s02"], roles["s05"]}, "app-dev-s06-lattice": {roles["s07"], roles["s10"]},
        "app-dev-s11-lattice": {roles["s12"], roles["s15"]}, "app-dev-s16-lattice": {roles["s17"]}}
    lb = sg_id(g, "app-dev-alb")
    assert not [r for r in g.by_type(EGRESS) if r.inputs["securityGroupId"] == lb
                and r.inputs["referencedSecurityGroupId"] in {sg["s01"], sg["s06"]}], "internal: not behind the ALB"
    s01 = g.inputs("app-dev-s01-service", "aws:ecs/service:Service")
    assert "loadBalancers" not in s01
    assert not s01.get("serviceConnectConfiguration"), "behind Lattice: no Service Connect name"
    assert [v["portName"] for v in s01["vpcLatticeConfigurations"]] == ["http"]
    assert not g.inputs("app-dev-s05-service", "aws:ecs/service:Service").get("serviceConnectConfiguration")
    [c] = json.loads(g.inputs("app-dev-s05-task", "aws:ecs/taskDefinition:TaskDefinition")["containerDefinitions"])
    s01_dns = g.by_name("app-dev-s01-lattice", "aws:vpclattice/service:Service").outputs["dnsEntries"][0]["domainName"]
    assert {"name": "SERVICE_S01_URL", "value": f"https://{s01_dns}"} in c["environment"]


def test_scheduled_runs_a_month_follow_the_expression():
    from pricing.aws import runs_per_month

    assert runs_per_month("cron(0 3 * * ? *)") == 30.42  # nightly: 730 h / 24
    assert runs_per_month("cron(0/15 * * * ? *)") == 4 * 730
    assert runs_per_month("cron(0 9 ? * MON-FRI *)") == round(5 * 730 / 24 / 7, 2)
    assert runs_per_month("cron(0 0 1 * ? *)") == 1
    assert runs_per_month("rate(5 minutes)") == 730 * 12


# -- component pages ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("page", "args"), [
    ("cluster", ["components.aws.cluster:ClusterArgs"]),
    ("queue", ["components.aws.queue:QueueArgs"]),
    ("web_service", ["components.aws.web_service:WebServiceArgs", "components.aws.web_service:WebRoute"]),
    ("worker", ["components.aws.worker:WorkerArgs"]),
    ("job", ["components.aws.job:JobArgs"]),
])
def test_component_pages_run_and_document_every_argument(run_program, page, args):
    import importlib

    from helpers import DOCS, doc_example, documents_every_argument

    classes = [getattr(importlib.import_module(a.split(":")[0]), a.split(":")[1]) for a in args]
    g = run_program(doc_example(DOCS / f"{page}.md"))
    assert len(g) > 3
    assert not documents_every_argument(DOCS / f"{page}.md", *classes)


def test_a_job_using_an_internal_service_is_refused_in_one_line(tmp_path):
    """Service Connect serves ECS services only: a job could not resolve the name, so the stack refuses it."""
    import yaml

    from bench.services_scaling import write_project
    from review.engine import ProgramError, capture_program

    directory = write_project(tmp_path, 2)  # api (public) and s01 (internal)
    stack_file = directory / "Pulumi.bench.yaml"
    config = yaml.safe_load(stack_file.read_text())
    config["config"]["backend-hosting:services"]["report"] = {"kind": "job", "uses": ["services.s01"]}
    stack_file.write_text(yaml.safe_dump(config))
    with pytest.raises(ProgramError) as err:
        capture_program(directory, "bench")
    assert "services.report.uses: services.s01 cannot be reached from a job" in str(err.value)
    assert "\n" not in str(err.value)


def test_adding_services_to_a_stack_moves_none_of_the_api_rules(run_stack, twenty):
    """The dev stack (one web service) and the generated stack (the api and three more public web services, one
    with host routes) give the api's /v1 and /v2 rules the same priorities."""
    def api_rules(g, p):
        return {r.name: r.inputs["priority"] for r in g.by_type("aws:lb/listenerRule:ListenerRule")
                if r.name.startswith(f"{p}-api-")}

    dev = api_rules(run_stack("dev"), "app-dev")
    assert dev == api_rules(twenty.graph, "app-dev") and set(dev) == {"app-dev-api-v1", "app-dev-api-v2"}


def test_bad_workload_arguments_are_refused(run_program):
    from components.aws.job import JobArgs
    from components.aws.web_service import WebRoute, WebServiceArgs
    from components.aws.worker import WorkerArgs

    base = {"cluster": object(), "network": object()}
    with pytest.raises(ValueError, match="at least one queue"):
        WorkerArgs(**base)
    with pytest.raises(ValueError, match="min_count"):
        WorkerArgs(**base, queue_names=["q"], min_count=3, max_count=2)
    with pytest.raises(ValueError, match="cron"):
        JobArgs(**base, schedule_expression="0 3 * * *")
    with pytest.raises(ValueError, match="looks like a secret"):
        JobArgs(**base, environment={"DB_PASSWORD": "x"})
    with pytest.raises(ValueError, match="needs a load_balancer and routes"):
        WebServiceArgs(**base)
    with pytest.raises(ValueError, match="internal service has no load balancer"):
        WebServiceArgs(**base, internal=True, routes=[WebRoute(path="/v1")])
