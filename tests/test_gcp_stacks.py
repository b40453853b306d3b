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
                    "gcp:secretmanager/secretIamMember:SecretIamMember")
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
    "service": {"apiVersions": [{"name": "v1", "weight": 90, "canaryWeight": 10}, {"name": "v2"}],
                "secrets": {"API_KEY": "projects/acme-warm/secrets/api-key/versions/3"},
                "imageManagedExternally": True},
    "dns": {"domainName": "api.example.com"},
}
"""A prod composition with every stack-level option that changes the shape."""


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
    run = g.by_type("gcp:cloudrunv2/service:Service")[0]
    sa = g.by_type("gcp:serviceaccount/account:Account")[0]
    assert run.get("template.serviceAccount") == sa.outputs["email"]
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
    run = g.by_type("gcp:cloudrunv2/service:Service")[0]
    assert run.inputs["ingress"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
    open_ingress = [f.name for f in g.by_type("gcp:compute/firewall:Firewall")
                    if f.inputs["direction"] == "INGRESS" and f.inputs.get("allows")
                    and "0.0.0.0/0" in (f.inputs.get("sourceRanges") or [])]
    assert not open_ingress
    rules = g.by_type("gcp:compute/globalForwardingRule:GlobalForwardingRule")
    assert sorted(r.inputs["portRange"] for r in rules) == ["443", "80"]


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_every_data_store_uses_its_own_customer_managed_key(stacks, stack):
    g = stacks[stack]
    keys = {r.name.rsplit("-", 1)[-1]: r.id for r in g.by_type("gcp:kms/cryptoKey:CryptoKey")}
    assert g.inputs(f"app-{stack[4:]}-db-pg")["encryptionKeyName"] == keys["sql"]
    assert g.inputs(f"app-{stack[4:]}-cache-redis")["customerManagedKey"] == keys["redis"]
    assert g.inputs(f"app-{stack[4:]}-svc-images")["kmsKeyName"] == keys["artifacts"]
    for b in g.by_type("gcp:storage/bucket:Bucket"):
        assert b.get("encryption.defaultKmsKeyName") == keys["storage"]
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
    assert dev.inputs("app-dev-cache-redis")["tier"] == "BASIC"
    assert prod.inputs("app-prod-cache-redis")["tier"] == "STANDARD_HA"
    assert prod.inputs("app-prod-cache-redis")["persistenceConfig"]["persistenceMode"] == "RDB"
    dev_run, prod_run = dev.inputs("app-dev-svc-run"), prod.inputs("app-prod-svc-run")
    assert dev_run["template"]["scaling"] == {"minInstanceCount": 1, "maxInstanceCount": 2}
    assert prod_run["template"]["scaling"] == {"minInstanceCount": 3, "maxInstanceCount": 20}
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
    assert pager and len(policies) == 9 and all(p.inputs["notificationChannels"] == pager for p in policies)


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_the_service_is_wired_to_everything_it_uses(stacks, stack):
    g = stacks[stack]
    p = f"app-{stack[4:]}"
    sa = g.by_name(f"{p}-svc-sa").outputs
    member = f"serviceAccount:{sa['email']}"
    egress = {f.name: f.inputs for f in g.by_type("gcp:compute/firewall:Firewall")
              if f.inputs["direction"] == "EGRESS" and f.inputs.get("allows")}
    assert egress[f"{p}-db-from-{p}-svc"]["destinationRanges"] == ["10.20.0.3/32"]
    assert egress[f"{p}-db-from-{p}-svc"]["allows"] == [{"protocol": "tcp", "ports": ["5432", "3307"]}]
    assert egress[f"{p}-cache-from-{p}-svc"]["allows"] == [{"protocol": "tcp", "ports": ["6378"]}]
    assert all(e["targetTags"] == ["backend-service"] for e in egress.values())
    assert g.inputs(f"{p}-assets-rw-{p}-svc") == {"bucket": g.by_name(f"{p}-assets-bucket").outputs["name"],
                                                    "role": "roles/storage.objectUser", "member": member}
    assert g.inputs(f"{p}-svc-reads-{p}-cache-auth")["member"] == member
    users = g.by_type("gcp:sql/user:User")
    assert [u.inputs["type"] for u in users] == ["CLOUD_IAM_SERVICE_ACCOUNT"]
    assert users[0].inputs["name"] == sa["email"].removesuffix(".gserviceaccount.com")
    envs = {e["name"]: e for e in g.inputs(f"{p}-svc-run")["template"]["containers"][0]["envs"]}
    assert {"DB_HOST", "DB_PORT", "DB_NAME", "CACHE_HOST", "CACHE_PORT", "BUCKET_ASSETS",
            "SERVICE_ACCOUNT"} <= set(envs)
    assert "value" not in envs["CACHE_AUTH"]
    assert envs["CACHE_AUTH"]["valueSource"]["secretKeyRef"]["version"] == "latest"


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_stack_outputs(stacks, stack):
    g = stacks[stack]
    s = stack_settings(stack)
    out = g.outputs
    host = s.dns.domain_name or "203.0.113.10.sslip.io"
    assert out["url"] == f"https://{host}"
    assert out["api_urls"] == {v.name: f"https://{host}/{v.name}/" for v in s.service.api_versions}
    assert out["database_connection_name"].startswith(f"{s.gcp_project}:{s.region}:")
    assert out["database_endpoint"].endswith(":5432") and out["cache_endpoint"] and out["cache_auth_secret"]
    assert set(out["bucket_names"]) == {b.name for b in s.storage.buckets}
    if s.monitoring.dashboard:
        assert out["dashboard_url"].startswith("https://console.cloud.google.com/monitoring/dashboards/custom/")
    else:  # the dev profile has no dashboard (monitoring.dashboard false), as on AWS
        assert out.get("dashboard_url") is None and not stacks[stack].by_type("gcp:monitoring/dashboard:Dashboard")


def test_build_gcp_returns_its_components(every_option):
    """The same ``StackComponents`` as ``build_aws``: each field holds the component the graph has."""
    from components.base import KIT
    from stacks.composition import StackComponents

    comps = BUILT["components"]
    assert isinstance(comps, StackComponents)
    for concern in KIT:
        value = getattr(comps, concern.name)
        for r in (value.values() if isinstance(value, dict) else [value]):
            assert every_option.by_name(r.pulumi_resource_name, r.pulumi_resource_type), concern.name
    assert comps.access_logs is not None and set(comps.buckets) == {"assets"}
    assert set(comps.extra) == {r.name for r in every_option.by_type("gcp:projects/service:Service")}


def test_every_option_changes_the_shape(every_option):
    g = every_option
    assert {b.name for b in g.by_type("gcp:compute/backendService:BackendService")} == {
        "app-prod-lb-v1", "app-prod-lb-v1-canary", "app-prod-lb-v2"}
    canary = g.by_name("app-prod-lb-v1-canary", "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup")
    assert canary.inputs["cloudRun"]["tag"] == "canary"
    rules = g.inputs("app-prod-lb-https", "gcp:compute/uRLMap:URLMap")["pathMatchers"][0]["pathRules"]
    assert [w["weight"] for w in rules[0]["routeAction"]["weightedBackendServices"]] == [90, 10]
    logs = g.by_name("app-prod-access-logs-bucket")
    assert g.inputs("app-prod-assets-bucket")["logging"]["logBucket"] == logs.outputs["name"]
    assert g.inputs("app-prod-access-logs-usage-logs-cloud-storage-analytics")["member"] == \
        "group:cloud-storage-analytics@google.com"
    assert g.by_name("app-prod-svc-run").options["ignoreChanges"] == [
        "template.containers[0].image", "client", "clientVersion"]
    assert g.inputs("app-prod-svc-reads-api-key")["secretId"] == "projects/acme-warm/secrets/api-key"
    envs = {e["name"]: e for e in g.inputs("app-prod-svc-run")["template"]["containers"][0]["envs"]}
    assert envs["API_KEY"]["valueSource"]["secretKeyRef"] == {"secret": "projects/acme-warm/secrets/api-key",
                                                              "version": "3"}
    assert "billingbudgets.googleapis.com" in {r.inputs["service"] for r in g.by_type("gcp:projects/service:Service")}


def test_an_aws_secret_reference_is_refused_on_gcp():
    from stacks.settings import SettingsError

    with pytest.raises(SettingsError, match="DB must be a Secret Manager path"):
        from_values({**EVERY_OPTION, "service": {"secrets": {
            "DB": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"}}})


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
