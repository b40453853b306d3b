"""GCP services, queues and jobs: exact wiring per service in our stacks (every IAM binding naming a service's
account, every egress rule targeting its network tag, nothing more), the queue's dead lettering and push
authentication, scheduled and on-demand jobs, a 20-service stack, and the components' own refusals."""

from __future__ import annotations

import time

import pytest
from helpers import DOCS, children_after_outputs, doc_example, documents_every_argument
from test_gcp_stacks import GCP_STACKS, IAM_MEMBER_TYPES

from components.gcp.job import JobArgs
from components.gcp.network import Network, NetworkArgs
from components.gcp.queue import QueueArgs
from components.gcp.service import Service, ServiceArgs, account_id
from review.engine import ProgramError, capture_program, run_callable
from review.model import Graph
from review.policy_runner import run_policies
from tests.conftest import REPO

PUBSUB_AGENT = "serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com"
SQL_ROLES = {("project", "roles/cloudsql.client"), ("project", "roles/cloudsql.instanceUser")}


@pytest.fixture
def stacks(run_stack) -> dict[str, Graph]:
    return {s: run_stack(s) for s in GCP_STACKS}


def _target(g: Graph, r) -> str:
    """What an IAM member binds on, as ``kind:name`` (the settings-level name where there is one)."""
    i = r.inputs
    kind = r.type.split("/")[1].split(":")[0]
    if kind == "iAMMember" and r.type.startswith("gcp:projects"):
        return "project"
    ref = i.get("bucket") or i.get("topic") or i.get("subscription") or i.get("secretId") or i.get("name") or \
        i.get("serviceAccountId") or i.get("cryptoKeyId")
    return f"{kind}:{ref}"


def grants(g: Graph, member: str) -> set[tuple[str, str]]:
    """Every (binding target, role) that names ``member``."""
    return {(_target(g, r), r.inputs["role"]) for t in IAM_MEMBER_TYPES for r in g.by_type(t)
            if r.inputs["member"] == member}


def egress(g: Graph, tag: str) -> dict[str, list[str]]:
    """Allow-egress firewall rules that target ``tag``: rule name -> ports."""
    return {f.name: f.inputs["allows"][0]["ports"] for f in g.by_type("gcp:compute/firewall:Firewall")
            if f.inputs["direction"] == "EGRESS" and f.inputs.get("allows") and tag in f.inputs["targetTags"]}


def member(g: Graph, account: str) -> str:
    return f"serviceAccount:{g.by_name(account, 'gcp:serviceaccount/account:Account').outputs['email']}"


# -- exact wiring in our stacks ------------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", GCP_STACKS)
def test_each_service_is_wired_to_exactly_what_it_uses(stacks, stack):
    g = stacks[stack]
    p = f"app-{stack[4:]}"
    bucket = g.by_name(f"{p}-assets-bucket").outputs["name"]
    # api: database (path + IAM login), cache where the stack has one (path + AUTH secret; gcp-dev has none, ADR
    # 12), assets read-write, jobs send. Nothing else.
    cache_grants: set[tuple[str, str]] = set()
    cache_paths: dict[str, list[str]] = {}
    if stack != "gcp-dev":
        cache_secret = g.by_name(f"{p}-cache-auth", "gcp:secretmanager/secret:Secret").id
        cache_grants = {(f"secretIamMember:{cache_secret}", "roles/secretmanager.secretAccessor")}
        cache_paths = {f"{p}-cache-from-{p}-api": ["6378"]}
    if stack == "gcp-prod":  # the api reads the session key (secret:session-key), that secret only
        secret = g.by_name(f"{p}-session-key-secret", "gcp:secretmanager/secret:Secret").id
        cache_grants = cache_grants | {(f"secretIamMember:{secret}", "roles/secretmanager.secretAccessor")}
    assert grants(g, member(g, f"{p}-api-sa")) == SQL_ROLES | cache_grants | {
        (f"bucketIAMMember:{bucket}", "roles/storage.objectUser"),
        (f"topicIAMMember:{p}-jobs", "roles/pubsub.publisher")}
    assert egress(g, "backend-service-api") == {f"{p}-db-from-{p}-api": ["5432", "3307"], **cache_paths}
    # worker: the database only; its queue reaches it by push (the push identity's invoker binding, below)
    assert grants(g, member(g, f"{p}-worker-sa")) == SQL_ROLES
    assert egress(g, "backend-service-worker") == {f"{p}-db-from-{p}-worker": ["5432", "3307"]}
    # jobs: the database only
    for job in ("nightly", "migrate"):
        assert grants(g, member(g, f"{p}-{job}-sa")) == SQL_ROLES, job
        assert egress(g, f"backend-service-{job}") == {f"{p}-db-from-{p}-{job}": ["5432", "3307"]}, job
    # every SQL grant is conditioned on this instance; every egress rule goes to the data store's addresses only
    for r in g.by_type("gcp:projects/iAMMember:IAMMember"):
        assert r.inputs["condition"]["expression"].endswith(f'/instances/{g.by_name(f"{p}-db-pg").outputs["name"]}"')
    for f in g.by_type("gcp:compute/firewall:Firewall"):
        if f.inputs["direction"] == "EGRESS" and f.inputs.get("allows"):
            assert f.inputs["destinationRanges"][0].endswith("/32") and "0.0.0.0/0" not in f.inputs["destinationRanges"]
    # run.invoker: on the worker for the push identity only, on nightly for its scheduler only; no other invoker
    invokers = {(r.type.split("/")[1].split(":")[0], r.inputs["name"], r.inputs["member"])
                for t in ("gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
                          "gcp:cloudrunv2/jobIamMember:JobIamMember")
                for r in g.by_type(t)}
    assert invokers == {
        ("serviceIamMember", g.by_name(f"{p}-worker-run").outputs["name"], member(g, f"{p}-jobs-push")),
        ("jobIamMember", g.by_name(f"{p}-nightly-job").outputs["name"], member(g, f"{p}-nightly-scheduler-sa"))}
    assert grants(g, member(g, f"{p}-jobs-push")) == {
        (f"serviceIamMember:{g.by_name(f'{p}-worker-run').outputs['name']}", "roles/run.invoker")}


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_each_service_gets_the_environment_of_what_it_uses(stacks, stack):
    g = stacks[stack]
    p = f"app-{stack[4:]}"

    def env(name: str, path: str = "template.containers") -> set[str]:
        run = g.by_name(name)
        containers = run.get("template.template.containers") if run.type.endswith("job:Job") else run.get(path)
        return {e["name"] for e in containers[0]["envs"]}

    db = {"DB_HOST", "DB_PORT", "DB_NAME", "DB_IAM_AUTH", "DB_CONNECTION_NAME"}
    cache = set() if stack == "gcp-dev" else {"CACHE_HOST", "CACHE_PORT", "CACHE_TLS", "CACHE_AUTH"}  # ADR 12
    auth = {"AUTH_ISSUER", "AUTH_JWKS_URL", "AUTH_CLIENT_IDS"}  # every service verifies end-user tokens itself
    app_secret = {"SESSION_SIGNING_KEY"} if stack == "gcp-prod" else set()  # secret:session-key, by reference
    assert env(f"{p}-api-run") == {"SERVICE_ACCOUNT", *db, *cache, *auth, *app_secret, "BUCKET_ASSETS",
                                   "QUEUE_JOBS_TOPIC"}
    assert env(f"{p}-worker-run") == {"SERVICE_ACCOUNT", *db, *auth}
    assert env(f"{p}-nightly-job") == env(f"{p}-migrate-job") == {"SERVICE_ACCOUNT", *db, *auth}
    envs = {e["name"]: e for e in g.inputs(f"{p}-api-run")["template"]["containers"][0]["envs"]}
    assert envs["QUEUE_JOBS_TOPIC"]["value"] == f"projects/acme-backend-{stack[4:]}/topics/{p}-jobs"
    if cache:
        assert envs["CACHE_AUTH"]["valueSource"]["secretKeyRef"]["version"] == "latest"
        assert "value" not in envs["CACHE_AUTH"]


def test_the_queue_dead_letters_retries_and_pushes_with_oidc(stacks):
    g = stacks["gcp-dev"]
    sub = g.inputs("app-dev-jobs-subscription")
    dlq = g.by_name("app-dev-jobs-dead-letter", "gcp:pubsub/topic:Topic")
    worker = g.by_name("app-dev-worker-run")
    push_email = g.by_name("app-dev-jobs-push").outputs["email"]
    # the settings: visibilityTimeoutSeconds 120, retentionDays 7, maxReceives 5
    assert (sub["ackDeadlineSeconds"], sub["messageRetentionDuration"]) == (120, "604800s")
    assert sub["deadLetterPolicy"] == {"deadLetterTopic": dlq.id, "maxDeliveryAttempts": 5}
    assert sub["retryPolicy"] == {"minimumBackoff": "10s", "maximumBackoff": "600s"}
    assert sub["expirationPolicy"] == {"ttl": ""} and sub["enableMessageOrdering"] is False
    assert sub["pushConfig"] == {"pushEndpoint": worker.outputs["uri"], "oidcToken": {
        "serviceAccountEmail": push_email, "audience": worker.outputs["uri"]}}
    # the worker's request timeout is the ack deadline (a push must be answered within it)
    assert g.inputs("app-dev-worker-run")["template"]["timeout"] == "120s"
    # dead lettering needs the Pub/Sub agent: publisher on the DLQ topic, subscriber on the subscription
    assert grants(g, PUBSUB_AGENT) == {
        ("topicIAMMember:app-dev-jobs-dead-letter", "roles/pubsub.publisher"),
        ("subscriptionIAMMember:app-dev-jobs", "roles/pubsub.subscriber"),
        (f"iAMMember:{g.by_name('app-dev-jobs-push').outputs['name']}", "roles/iam.serviceAccountTokenCreator"),
        (f"cryptoKeyIAMMember:{g.by_name('app-dev-kms-pubsub').id}", "roles/cloudkms.cryptoKeyEncrypterDecrypter")}
    inspect = g.inputs("app-dev-jobs-dead-letters")
    assert inspect["topic"] == dlq.id and "pushConfig" not in inspect and "deadLetterPolicy" not in inspect
    for t in g.by_type("gcp:pubsub/topic:Topic"):  # messages stay in the stack's region
        assert t.inputs["messageStoragePolicy"] == {"allowedPersistenceRegions": ["us-central1"]}


def test_the_scheduled_job_runs_through_the_admin_api_as_an_account_that_runs_only_it(stacks):
    g = stacks["gcp-prod"]
    job = g.inputs("app-prod-nightly-job")["template"]
    assert job["template"]["timeout"] == "1800s" and job["template"]["maxRetries"] == 1
    assert job["template"]["containers"][0]["commands"] == ["python"]
    assert job["template"]["containers"][0]["args"] == ["-m", "app.nightly"]
    sched = g.inputs("app-prod-nightly-schedule")
    name = g.by_name("app-prod-nightly-job").outputs["name"]
    assert (sched["schedule"], sched["timeZone"]) == ("0 3 * * *", "UTC")
    assert sched["httpTarget"]["uri"] == \
        f"https://run.googleapis.com/v2/projects/acme-backend-prod/locations/us-central1/jobs/{name}:run"
    assert sched["httpTarget"]["httpMethod"] == "POST"
    assert sched["httpTarget"]["oauthToken"] == {
        "serviceAccountEmail": g.by_name("app-prod-nightly-scheduler-sa").outputs["email"],
        "scope": "https://www.googleapis.com/auth/cloud-platform"}
    # migrate: on demand only (the deploy workflow executes it), no scheduler and nobody else may run it
    assert not [r for r in g.by_type("gcp:cloudscheduler/job:Job") if "migrate" in r.name]
    assert not [r for r in g.by_type("gcp:cloudrunv2/jobIamMember:JobIamMember") if "migrate" in r.name]


# -- a stack with 20 services ----------------------------------------------------------------------------------------
def twenty_services() -> dict[str, object]:
    services: dict[str, dict[str, object]] = {}
    queues: dict[str, dict[str, object]] = {}
    for i in range(8):
        services[f"web{i}"] = {"kind": "web", "routes": [{"path": f"/w{i}"}],
                               "uses": ["database", f"queues.q{i}:send", f"services.int{i % 4}"]}
    for i in range(4):
        services[f"int{i}"] = {"kind": "web", "internal": True, "uses": ["cache"]}
    for i in range(8):
        queues[f"q{i}"] = {"fifo": i % 2 == 0}
        services[f"work{i}"] = {"kind": "worker", "uses": [f"queues.q{i}:consume", "buckets.assets:read"]}
    # 20 services cost more than the dev budget of 4 (the budget rule would rightly block): a budget that fits
    return {"backend-hosting:services": services, "backend-hosting:queues": queues,
            "backend-hosting:cache": {"enabled": True}, "backend-hosting:budget": {"monthlyUsd": 1000}}


def test_a_twenty_service_stack_reviews_cleanly():
    extra = twenty_services()
    assert len(extra["backend-hosting:services"]) == 20  # type: ignore[arg-type]
    t0 = time.perf_counter()
    g = capture_program(REPO, "gcp-dev", extra_config=extra)
    t1 = time.perf_counter()
    assert len(g.by_type("gcp:cloudrunv2/service:Service")) == 20
    assert len(g.by_type("gcp:pubsub/subscription:Subscription")) == 16  # 8 consumer + 8 dead-letter
    violations, _ = run_policies(g)
    print(f"capture {t1 - t0:.2f}s policies {time.perf_counter() - t1:.2f}s")
    blocking = [f"{v.policy} {v.resource_name}: {v.message}" for v in violations if v.blocking]
    assert not blocking, "\n".join(blocking)
    # each internal service is invoked by exactly the two web services that use it
    for i in range(4):
        run = g.by_name(f"app-dev-int{i}-run").outputs["name"]
        callers = {r.inputs["member"] for r in g.by_type("gcp:cloudrunv2/serviceIamMember:ServiceIamMember")
                   if r.inputs["name"] == run}
        assert callers == {member(g, f"app-dev-web{i}-sa"), member(g, f"app-dev-web{i + 4}-sa")}
    assert len(g.by_type("gcp:compute/backendService:BackendService")) == 8


# -- components: refusals ------------------------------------------------------------------------------------------
def test_components_refuse_what_does_not_apply():
    net = object()
    with pytest.raises(ValueError, match="push delivery needs push_endpoint"):
        QueueArgs(topic_name="jobs")
    with pytest.raises(ValueError, match="push_endpoint does not apply to pull"):
        QueueArgs(topic_name="jobs", delivery="pull", push_endpoint="https://w")
    with pytest.raises(ValueError, match="max_delivery_attempts 3"):
        QueueArgs(topic_name="jobs", push_endpoint="https://w", max_delivery_attempts=3)
    with pytest.raises(ValueError, match="paused does not apply without a schedule"):
        JobArgs(network=net, region="us-central1", paused=True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="five-field"):
        JobArgs(network=net, region="us-central1", schedule="rate(5 minutes)")  # type: ignore[arg-type]

    def public_invoke() -> None:
        n = Network("net", NetworkArgs(region="us-central1"))
        Service("svc", ServiceArgs(network=n, region="us-central1")).grant_invoke("serviceAccount:x@p.iam")

    with pytest.raises(ProgramError, match="grant_invoke needs ingress='internal'"):
        run_callable(public_invoke)


def test_account_ids_are_valid_and_distinct_when_cut():
    a, b = account_id("app-prod-notifications-worker-a-run"), account_id("app-prod-notifications-worker-b-run")
    assert a != b and 6 <= len(a) <= 30 and 6 <= len(b) <= 30 and a.startswith("app-prod-notifications-")
    assert account_id("svc-run") == "svc-run" and len(account_id("ab")) == 6


# -- component pages ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("page", "args", "kind"), [("gcp-queue.md", QueueArgs, "backend:gcp:Queue"),
                                                     ("gcp-job.md", JobArgs, "backend:gcp:Job")])
def test_docs_example_runs_and_documents_every_argument(page, args, kind):
    g = run_callable(doc_example(DOCS / page))
    assert g.by_type(kind)
    assert not documents_every_argument(DOCS / page, args)


def test_the_components_create_nothing_after_their_outputs(run_program):
    """Wiring calls add grants later by design; the constructors themselves finish before register_outputs."""
    def program() -> None:
        doc_example(DOCS / "gcp-job.md")()
    assert children_after_outputs(run_program, program) == []


def test_a_pull_queue_grants_subscriber_on_its_subscription_only():
    from helpers import FakeWorkload

    from components.gcp.queue import Queue

    def program() -> None:
        worker = FakeWorkload("w")
        q = Queue("q", QueueArgs(topic_name="app-q", delivery="pull", kms_key="projects/p/locations/l/keyRings/r/k"))
        q.grant_consume(worker)
        q.grant_send(FakeWorkload("api"))

    g = run_callable(program)
    sub = g.inputs("q-subscription")
    assert "pushConfig" not in sub and not g.by_type("gcp:serviceaccount/account:Account")[2:]  # no push identity
    assert g.inputs("q-consume-w") == {"subscription": "app-q", "role": "roles/pubsub.subscriber",
                                       "member": g.by_name("w-sa").outputs["member"]}
    assert g.inputs("q-publish-api") == {"topic": "app-q", "role": "roles/pubsub.publisher",
                                         "member": g.by_name("api-sa").outputs["member"]}
    assert {t.inputs["kmsKeyName"] for t in g.by_type("gcp:pubsub/topic:Topic")} == {
        "projects/p/locations/l/keyRings/r/k"}


def test_host_routes_take_their_own_paths_and_fall_back_to_any_host_routes():
    from components.gcp.load_balancer import LoadBalancer, LoadBalancerArgs, ServiceRoute

    def program() -> None:
        n = Network("net", NetworkArgs(region="us-central1"))
        a, b = (Service(x, ServiceArgs(network=n, region="us-central1")) for x in ("a", "b"))
        LoadBalancer("lb", LoadBalancerArgs(routes=[
            ServiceRoute(a, "a-root", path="/"), ServiceRoute(a, "a-v1", path="/v1"),
            ServiceRoute(b, "b-v1", path="/v1", host="b.example.com")]))

    g = run_callable(program)
    backend = {r.name.removeprefix("lb-"): r.id for r in g.by_type("gcp:compute/backendService:BackendService")}
    m = g.inputs("lb-https", "gcp:compute/uRLMap:URLMap")
    assert m["hostRules"] == [{"hosts": ["b.example.com"], "pathMatcher": "host-0"},
                              {"hosts": ["*"], "pathMatcher": "api"}]
    host, anyhost = m["pathMatchers"]
    # b.example.com/v1 -> b (its own route wins); any other path there -> a's root route
    assert host["pathRules"] == [{"paths": ["/v1", "/v1/*"], "service": backend["b-v1"]}]
    assert host["defaultService"] == anyhost["defaultService"] == backend["a-root"]
    assert anyhost["pathRules"] == [{"paths": ["/v1", "/v1/*"], "service": backend["a-v1"]}]
