"""The gcp-dev and gcp-prod stacks: what a cautious GCP reviewer checks, per stack and per profile.

Also the helpers the other ``test_gcp_*`` modules share (a stand-in workload, running a doc's example).
"""

from __future__ import annotations

import copy
import functools
import importlib
import inspect
import re
from pathlib import Path
from typing import Any

import pulumi_gcp as gcp
import pytest
from helpers import GCP_STACKS

from components.gcp.common import PRIMITIVE_ROLES
from review.engine import run_callable
from review.model import Graph, Resource
from stacks.settings import Settings, from_stack_file, from_values

REPO = Path(__file__).resolve().parent.parent
STANDARD_LABELS = ("environment", "owner", "cost-center", "managed-by")
IAM_MEMBER_TYPES = ("gcp:projects/iAMMember:IAMMember", "gcp:storage/bucketIAMMember:BucketIAMMember",
                    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
                    "gcp:secretmanager/secretIamMember:SecretIamMember",
                    "gcp:pubsub/topicIAMMember:TopicIAMMember",
                    "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember",
                    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
                    "gcp:cloudrunv2/jobIamMember:JobIamMember",
                    "gcp:serviceaccount/iAMMember:IAMMember")
DEFAULT_COMPUTE_SA = "-compute@developer.gserviceaccount.com"


# -- shared helpers ---------------------------------------------------------------------------------------------
def stack_settings(stack: str) -> Settings:
    """A stack's validated settings, read from its stack file like the program does."""
    return from_stack_file(REPO / f"Pulumi.{stack}.yaml")


def custom(g: Graph) -> list[Resource]:
    return [r for r in g if r.custom and not r.type.startswith("pulumi:providers:")]


EVERY_OPTION = {
    "cloud": "gcp", "environment": "prod", "region": "us-central1", "gcpProject": "acme-warm",
    "gcpBillingAccount": "012345-6789AB-CDEF01",
    "storage": {"buckets": [{"name": "assets", "accessLogging": True, "transitionToIaDays": 60}]},
    "services": {
        "api": {"kind": "web", "routes": [{"path": "/v1", "weight": 90, "canaryWeight": 10}, {"path": "/v2"}],
                "secrets": {"API_KEY": "projects/acme-warm/secrets/api-key/versions/3"},
                "imageManagedExternally": True,
                "uses": ["buckets.assets:read", "services.ledger", "queues.mail:send"]},
        "admin": {"kind": "web", "routes": [{"host": "admin.example.com"}], "uses": ["cache"]},
        "ledger": {"kind": "web", "internal": True, "uses": ["database"]},
        "mailer": {"kind": "worker", "uses": ["queues.mail:consume"]},
        "report": {"kind": "job", "schedule": {"expression": "30 6 * * 1", "timezone": "Europe/Berlin"},
                   "uses": ["buckets.assets:read-write"]},
    },
    "queues": {"mail": {"fifo": True}},
    "dns": {"domainName": "api.example.com"},
}
"""A prod composition with every stack-level option that changes the shape (an internal service, a host route, a
canary, a FIFO queue, a scheduled job in a time zone)."""


BUILT: dict[str, Any] = {}
"""What ``build_gcp`` returned for :func:`every_option_graph`."""


@functools.cache
def every_option_graph() -> Graph:
    """The GCP composition with every option of :data:`EVERY_OPTION` on."""
    from stacks.gcp import build_gcp

    settings = from_values(EVERY_OPTION)
    return run_callable(lambda: BUILT.setdefault("components", build_gcp(settings)), project="backend-hosting",
                        stack="gcp-warm", config={"backend-hosting:gcpProject": "acme-warm"})


@pytest.fixture(scope="module")
def every_option() -> Graph:
    return copy.deepcopy(every_option_graph())


@pytest.fixture
def stacks(run_stack) -> dict[str, Graph]:
    return {s: run_stack(s) for s in GCP_STACKS}


# -- every stack ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", GCP_STACKS)
def test_every_resource_uses_the_explicit_provider(stacks, stack):
    g = stacks[stack]
    s = stack_settings(stack)
    providers = g.by_type("pulumi:providers:gcp")
    assert len(providers) == 1, "exactly one GCP provider, declared by the stack"
    assert providers[0].inputs["project"] == s.gcp_project and providers[0].inputs["region"] == s.region
    assert "defaultLabels" not in providers[0].inputs, "labels are passed explicitly"
    wrong = [f"{r.type} {r.name}" for r in custom(g)
             if r.type.startswith("gcp:") and r.provider_urn != providers[0].urn]  # random: no project, no region
    assert not wrong, "resources on a default provider:\n" + "\n".join(wrong)
    orphans = [r.name for r in custom(g) if r.parent is None and r.type != "gcp:projects/service:Service"]
    assert not orphans, f"custom resources outside any component: {orphans}"


def _label_inputs(r: Resource) -> list[dict[str, Any] | None]:
    if r.type == "gcp:sql/databaseInstance:DatabaseInstance":
        return [r.get("settings.userLabels")]
    if r.type in ("gcp:monitoring/notificationChannel:NotificationChannel", "gcp:monitoring/alertPolicy:AlertPolicy"):
        return [r.inputs.get("userLabels")]
    if r.type == "gcp:cloudrunv2/service:Service":
        return [r.inputs.get("labels"), r.get("template.labels")]
    return [r.inputs.get("labels")]


def _takes_labels(type_: str) -> bool:
    module, cls = type_.split(":")[1].split("/")[0], type_.rsplit(":", 1)[1]
    klass = getattr(getattr(gcp, module, None), cls, None)
    params = inspect.signature(klass._internal_init).parameters if klass else {}
    return "labels" in params or "user_labels" in params or type_ == "gcp:sql/databaseInstance:DatabaseInstance"


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_every_labelable_resource_carries_the_standard_labels(stacks, stack):
    g = stacks[stack]
    want = stack_settings(stack).standard_tags
    missing, checked = [], 0
    for r in custom(g):
        if not _takes_labels(r.type):
            continue
        checked += 1
        for labels in _label_inputs(r):
            bad = [k for k in STANDARD_LABELS if (labels or {}).get(k) != want[k]]
            if bad:
                missing.append(f"{r.type} {r.name}: {bad}")
            for k, v in (labels or {}).items():
                assert re.fullmatch(r"[a-z][a-z0-9_-]{0,62}", k) and re.fullmatch(r"[a-z0-9_-]{0,63}", v), (r.name, k)
    assert checked >= 15 and not missing, "resources without the standard labels:\n" + "\n".join(missing)


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_no_default_compute_account_and_no_primitive_roles(stacks, stack):
    g = stacks[stack]
    for r in custom(g):
        assert DEFAULT_COMPUTE_SA not in str(r.inputs), f"{r.name} uses the default compute service account"
    # Each Cloud Run service and job runs as the account its own component created for it.
    for t, path in (("gcp:cloudrunv2/service:Service", "template.serviceAccount"),
                    ("gcp:cloudrunv2/job:Job", "template.template.serviceAccount")):
        for run in g.by_type(t):
            own = g.by_name(run.name.rsplit("-", 1)[0] + "-sa", "gcp:serviceaccount/account:Account")
            assert run.get(path) == own.outputs["email"] and own.parent == run.parent, run.name
    members = [r for t in IAM_MEMBER_TYPES for r in g.by_type(t)]
    assert members and not [r.name for r in members if r.inputs["role"] in PRIMITIVE_ROLES]
    for t in ("gcp:projects/iAMBinding:IAMBinding", "gcp:projects/iAMPolicy:IAMPolicy",
              "gcp:storage/bucketIAMBinding:BucketIAMBinding", "gcp:serviceaccount/key:Key"):
        assert not g.by_type(t), f"{t}: authoritative bindings and keys are not used"
    # Project-level bindings exist only where the service has no resource-level IAM (Cloud SQL), conditioned.
    for r in g.by_type("gcp:projects/iAMMember:IAMMember"):
        assert r.inputs["role"] in ("roles/cloudsql.client", "roles/cloudsql.instanceUser")
        assert 'resource.name == "projects/' in r.inputs["condition"]["expression"]
    assert not [r for r in members if r.inputs["member"] in ("allUsers", "allAuthenticatedUsers")]


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_nothing_public_but_the_load_balancer(stacks, stack):
    g = stacks[stack]
    for db in g.by_type("gcp:sql/databaseInstance:DatabaseInstance"):
        ip = db.get("settings.ipConfiguration")
        assert ip["ipv4Enabled"] is False and ip["sslMode"] == "ENCRYPTED_ONLY" and not ip.get("authorizedNetworks")
    for b in g.by_type("gcp:storage/bucket:Bucket"):
        assert b.inputs["publicAccessPrevention"] == "enforced" and b.inputs["uniformBucketLevelAccess"] is True
    for cache in g.by_type("gcp:redis/instance:Instance"):
        assert cache.inputs["connectMode"] == "PRIVATE_SERVICE_ACCESS" and cache.inputs["authEnabled"] is True
        assert cache.inputs["transitEncryptionMode"] == "SERVER_AUTHENTICATION"
    p = f"app-{stack[4:]}"
    api, worker = g.inputs(f"{p}-api-run"), g.inputs(f"{p}-worker-run")
    assert api["ingress"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" and api["invokerIamDisabled"] is True
    # The worker: only in-project requests with an ID token of an invoker (the queue's push identity) get in.
    assert worker["ingress"] == "INGRESS_TRAFFIC_INTERNAL_ONLY" and worker["invokerIamDisabled"] is False
    open_ingress = [f.name for f in g.by_type("gcp:compute/firewall:Firewall")
                    if f.inputs["direction"] == "INGRESS" and f.inputs.get("allows")
                    and "0.0.0.0/0" in (f.inputs.get("sourceRanges") or [])]
    assert not open_ingress
    rules = g.by_type("gcp:compute/globalForwardingRule:GlobalForwardingRule")
    assert sorted(r.inputs["portRange"] for r in rules) == ["443", "80"]


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_every_data_store_uses_its_own_customer_managed_key(stacks, stack):
    g = stacks[stack]
    env = stack[4:]
    # the stack's key ring; issue 14 adds, in prod, the DR region's (kms-dr: the replica's sql key) and the
    # multi-region one (kms-us: the dual-region buckets' storage key)
    keys = {r.name.rsplit("-", 1)[-1]: r.id for r in g.by_type("gcp:kms/cryptoKey:CryptoKey")
            if r.name.startswith(f"app-{env}-kms-") and r.name.count("-") == 3}
    extra = {r.name: r.id for r in g.by_type("gcp:kms/cryptoKey:CryptoKey") if r.name.count("-") > 3}
    assert g.inputs(f"app-{stack[4:]}-db-pg")["encryptionKeyName"] == keys["sql"]
    for cache in g.by_type("gcp:redis/instance:Instance"):  # gcp-dev has none (cache.enabled false in dev)
        assert cache.inputs["customerManagedKey"] == keys["redis"]
    assert g.inputs(f"app-{stack[4:]}-api-images")["kmsKeyName"] == keys["artifacts"]
    topics = g.by_type("gcp:pubsub/topic:Topic")
    # the queue's topic and dead-letter topic, and (gcp-prod) the session key's rotation topic: all on the pubsub key
    assert len(topics) == (3 if stack == "gcp-prod" else 2)
    assert all(t.inputs["kmsKeyName"] == keys["pubsub"] for t in topics)
    for b in g.by_type("gcp:storage/bucket:Bucket"):
        dual = bool(b.get("customPlacementConfig"))
        assert b.get("encryption.defaultKmsKeyName") == (extra[f"app-{env}-kms-us-storage"] if dual
                                                         else keys["storage"])
    if env == "prod":
        replica = g.inputs("app-prod-db-dr-pg")
        assert replica["encryptionKeyName"] == extra["app-prod-kms-dr-sql"]
    for key in g.by_type("gcp:kms/cryptoKey:CryptoKey"):
        assert key.inputs["rotationPeriod"] == "7776000s"


def test_dev_is_the_cheap_shape_and_prod_survives_a_zone_and_keeps_data(stacks):
    dev, prod = stacks["gcp-dev"], stacks["gcp-prod"]
    assert not dev.by_type("gcp:compute/routerNat:RouterNat")
    assert prod.inputs("app-prod-net-nat")["natIpAllocateOption"] == "MANUAL_ONLY"
    assert len(prod.by_type("gcp:compute/address:Address")) == 3
    d, p = dev.inputs("app-dev-db-pg"), prod.inputs("app-prod-db-pg")
    assert (d["settings"]["tier"], d["settings"]["availabilityType"]) == ("db-f1-micro", "ZONAL")
    assert (p["settings"]["tier"], p["settings"]["availabilityType"]) == ("db-custom-2-7680", "REGIONAL")
    assert d["deletionProtection"] is False and d["settings"]["deletionProtectionEnabled"] is False
    assert p["deletionProtection"] is True and p["settings"]["deletionProtectionEnabled"] is True
    assert p["settings"]["backupConfiguration"]["pointInTimeRecoveryEnabled"] is True
    assert not dev.by_type("gcp:redis/instance:Instance")  # dev: no Memorystore unless the stack file asks
    assert "redis.googleapis.com" not in {r.inputs["service"] for r in dev.by_type("gcp:projects/service:Service")}
    assert prod.inputs("app-prod-cache-redis")["tier"] == "STANDARD_HA"
    assert prod.inputs("app-prod-cache-redis")["persistenceConfig"]["persistenceMode"] == "RDB"
    dev_run, prod_run = dev.inputs("app-dev-api-run"), prod.inputs("app-prod-api-run")
    assert dev_run["template"]["scaling"] == {"minInstanceCount": 0, "maxInstanceCount": 2}  # scales to zero
    assert prod_run["template"]["scaling"] == {"minInstanceCount": 3, "maxInstanceCount": 20}
    # dev workers scale to zero and bill only during requests; prod keeps two warm
    assert dev.inputs("app-dev-worker-run")["template"]["scaling"] == {"minInstanceCount": 0, "maxInstanceCount": 2}
    assert dev.inputs("app-dev-worker-run")["template"]["containers"][0]["resources"]["cpuIdle"] is True
    assert prod.inputs("app-prod-worker-run")["template"]["scaling"] == {"minInstanceCount": 2,
                                                                         "maxInstanceCount": 20}
    assert dev_run["deletionProtection"] is False and prod_run["deletionProtection"] is True
    stateful = ["gcp:sql/databaseInstance:DatabaseInstance", "gcp:redis/instance:Instance",
                "gcp:storage/bucket:Bucket", "gcp:kms/cryptoKey:CryptoKey", "gcp:kms/keyRing:KeyRing"]
    for t in stateful:
        assert all(r.options["protect"] for r in prod.by_type(t)), f"prod {t} not protected"
        assert not any(r.options["protect"] for r in dev.by_type(t)), f"dev {t} protected"
    assert not dev.by_type("gcp:billing/budget:Budget") and len(prod.by_type("gcp:billing/budget:Budget")) == 1
    assert dev.inputs("app-dev-mon-default-logs")["retentionDays"] == 7
    assert prod.inputs("app-prod-mon-default-logs")["retentionDays"] == 365


def test_prod_alerts_go_to_the_pager(stacks):
    prod = stacks["gcp-prod"]
    pager = [c.id for c in prod.by_type("gcp:monitoring/notificationChannel:NotificationChannel")
             if c.inputs["userLabels"]["channel"] == "pager"]
    policies = prod.by_type("gcp:monitoring/alertPolicy:AlertPolicy")
    # load balancer 2, api 4 (cpu, memory, 5xx, p95), worker 2, nightly 1, migrate 1, queue 2, database 3, cache 2
    assert pager and len(policies) == 17 and all(p.inputs["notificationChannels"] == pager for p in policies)


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_stack_outputs(stacks, stack):
    g = stacks[stack]
    s = stack_settings(stack)
    out = g.outputs
    host = s.dns.domain_name or "203.0.113.10.sslip.io"
    assert out["url"] == f"https://{host}"
    assert out["api_urls"] == {"api-v1": f"https://{host}/v1/", "api-v2": f"https://{host}/v2/"}
    assert {n: v["kind"] for n, v in out["services"].items()} == {
        "api": "web", "worker": "worker", "nightly": "job", "migrate": "job"}
    assert set(out["queues"]) == {"jobs"} and out["queues"]["jobs"]["topic"].endswith("/topics/app-" + stack[4:]
                                                                                      + "-jobs")
    assert out["database_connection_name"].startswith(f"{s.gcp_project}:{s.region}:")
    assert out["database_endpoint"].endswith(":5432")
    if s.cache.enabled:
        assert out["cache_endpoint"] and out["cache_auth_secret"]
    else:
        assert "cache_endpoint" not in out and "cache_auth_secret" not in out
    assert set(out["bucket_names"]) == {b.name for b in s.storage.buckets}
    if s.monitoring.dashboard:
        assert out["dashboard_url"].startswith("https://console.cloud.google.com/monitoring/dashboards/custom/")
    else:  # the dev profile has no dashboard (monitoring.dashboard false), as on AWS
        assert out.get("dashboard_url") is None and not stacks[stack].by_type("gcp:monitoring/dashboard:Dashboard")


def test_build_gcp_returns_its_components(every_option):
    """The same ``StackComponents`` as ``build_aws``: each field holds the component the graph has."""
    from components.base import KIT
    from components.gcp.job import Job
    from components.gcp.queue import Queue
    from components.gcp.service import Service
    from stacks.composition import StackComponents

    comps = BUILT["components"]
    assert isinstance(comps, StackComponents)
    for concern in KIT:
        if not concern.gcp:  # issue 9: an AWS-only concern until the GCP side lands (tests/test_kit.py)
            continue
        value = getattr(comps, concern.name)
        for r in (value.values() if isinstance(value, dict) else [value]):
            assert every_option.by_name(r.pulumi_resource_name, r.pulumi_resource_type), concern.name
    assert comps.access_logs is not None and set(comps.buckets) == {"assets"}
    assert set(comps.extra) == {r.name for r in every_option.by_type("gcp:projects/service:Service")}
    assert {n: type(c) for n, c in comps.services.items()} == {
        "api": Service, "admin": Service, "ledger": Service, "mailer": Service, "report": Job}
    assert set(comps.queues) == {"mail"} and isinstance(comps.queues["mail"], Queue)


def test_every_option_changes_the_shape(every_option):
    g = every_option
    assert {b.name for b in g.by_type("gcp:compute/backendService:BackendService")} == {
        "app-prod-lb-api-v1", "app-prod-lb-api-v1-canary", "app-prod-lb-api-v2", "app-prod-lb-admin-admin-example-com"}
    canary = g.by_name("app-prod-lb-api-v1-canary",
                       "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup")
    assert canary.inputs["cloudRun"]["tag"] == "canary"
    url_map = g.inputs("app-prod-lb-https", "gcp:compute/uRLMap:URLMap")
    backend = {b.name.removeprefix("app-prod-lb-"): b.id
               for b in g.by_type("gcp:compute/backendService:BackendService")}
    # admin.example.com: every path to admin; any other host: /v1 (weighted 90/10 with the canary), /v2, else 404
    assert url_map["hostRules"] == [{"hosts": ["admin.example.com"], "pathMatcher": "host-0"},
                                    {"hosts": ["*"], "pathMatcher": "api"}]
    admin, anyhost = url_map["pathMatchers"]
    assert admin["defaultService"] == backend["admin-admin-example-com"]
    # issue 14: the static backend bucket (Cloud CDN, prod profile) serves /static/* on every host
    assert [r["paths"] for r in admin["pathRules"]] == [["/v1", "/v1/*"], ["/v2", "/v2/*"], ["/static/*"]]
    assert [r["paths"] for r in anyhost["pathRules"]] == [["/v1", "/v1/*"], ["/v2", "/v2/*"], ["/static/*"]]
    assert anyhost["pathRules"][0]["routeAction"]["weightedBackendServices"] == [
        {"backendService": backend["api-v1"], "weight": 90}, {"backendService": backend["api-v1-canary"], "weight": 10}]
    assert anyhost["pathRules"][1]["service"] == backend["api-v2"]
    assert anyhost["defaultRouteAction"]["faultInjectionPolicy"]["abort"]["httpStatus"] == 404
    logs = g.by_name("app-prod-access-logs-bucket")
    assert g.inputs("app-prod-assets-bucket")["logging"]["logBucket"] == logs.outputs["name"]
    assert g.inputs("app-prod-access-logs-usage-logs-cloud-storage-analytics")["member"] == \
        "group:cloud-storage-analytics@google.com"
    assert g.by_name("app-prod-api-run").options["ignoreChanges"] == [
        "template.containers[0].image", "client", "clientVersion"]
    assert g.inputs("app-prod-api-reads-api-key")["secretId"] == "projects/acme-warm/secrets/api-key"
    envs = {e["name"]: e for e in g.inputs("app-prod-api-run")["template"]["containers"][0]["envs"]}
    assert envs["API_KEY"]["valueSource"]["secretKeyRef"] == {"secret": "projects/acme-warm/secrets/api-key",
                                                              "version": "3"}
    # the internal ledger: internal ingress, invoker check on, api's URL variable, api's egress enters the VPC
    ledger = g.inputs("app-prod-ledger-run")
    assert ledger["ingress"] == "INGRESS_TRAFFIC_INTERNAL_ONLY" and ledger["invokerIamDisabled"] is False
    assert envs["SERVICE_LEDGER_URL"]["value"] == g.by_name("app-prod-ledger-run").outputs["uri"]
    assert g.inputs("app-prod-api-run")["template"]["vpcAccess"]["egress"] == "ALL_TRAFFIC"
    assert g.inputs("app-prod-admin-run")["template"]["vpcAccess"]["egress"] == "PRIVATE_RANGES_ONLY"
    # the FIFO queue orders; the job runs Mondays 06:30 Berlin time
    assert g.inputs("app-prod-mail-subscription")["enableMessageOrdering"] is True
    sched = g.inputs("app-prod-report-schedule")
    assert (sched["schedule"], sched["timeZone"]) == ("30 6 * * 1", "Europe/Berlin")
    apis = {r.inputs["service"] for r in g.by_type("gcp:projects/service:Service")}
    assert {"billingbudgets.googleapis.com", "pubsub.googleapis.com", "cloudscheduler.googleapis.com"} <= apis


def test_an_aws_secret_reference_is_refused_on_gcp():
    from stacks.settings import SettingsError

    with pytest.raises(SettingsError, match="DB must be a Secret Manager path"):
        from_values({**EVERY_OPTION, "services": {**EVERY_OPTION["services"], "api": {
            **EVERY_OPTION["services"]["api"],
            "secrets": {"DB": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"}}}})


# -- every input is an argument the SDK knows (catches nested typos the SDK would pass through) ------------------
def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _args_dict(annotation: Any) -> str | None:
    found = re.findall(r"(\w+ArgsDict)", str(annotation))
    return found[0] if found else None


def _unknown_keys(module: str, dict_name: str, value: Any, path: str) -> list[str]:
    cls = getattr(importlib.import_module(f"pulumi_gcp.{module}._inputs"), dict_name)
    fields = cls.__annotations__
    out: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        for key, v in (item.items() if isinstance(item, dict) else []):
            if _snake(key) not in fields:
                out.append(f"{path}.{key}: not a field of {dict_name}")
            elif isinstance(v, (dict, list)) and (sub := _args_dict(fields[_snake(key)])):
                out += _unknown_keys(module, sub, v, f"{path}.{key}")
    return out


def test_every_input_is_an_sdk_argument(every_option, stacks):
    problems: list[str] = []
    for g in (every_option, *stacks.values()):
        for r in custom(g):
            if not r.type.startswith("gcp:"):
                continue  # pulumi_random's values (its own SDK)
            module, kind = r.type.split(":")[1].split("/")[0], r.type.rsplit(":", 1)[1]
            params = inspect.signature(getattr(getattr(gcp, module), kind)._internal_init).parameters
            for key, value in r.inputs.items():
                if _snake(key) not in params:
                    problems.append(f"{r.name}.{key}: not an argument")
                elif isinstance(value, (dict, list)) and (sub := _args_dict(params[_snake(key)].annotation)):
                    problems += _unknown_keys(module, sub, value, f"{r.name}.{key}")
    assert not problems, "\n".join(problems)
