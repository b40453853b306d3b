"""GCP pricing rules against hand-computed figures: the components added for the GCP stacks (Cloud Run idle minimum
instances, Memorystore M2-M5 and read replicas, Cloud KMS, Artifact Registry, Cloud Armor, static external
addresses, Cloud Monitoring alerting) and the "first 5 forwarding rules" bundle.

Prices used (rows of pricing/catalog/gcp-*.csv): Cloud Run request-based 0.000024/vCPU-s and 0.0000025/GiB-s,
idle minimum instances 0.0000025/vCPU-s and 0.0000025/GiB-s, instance-based CPU 0.000018/vCPU-s, requests 0.40/1M;
Memorystore basic/standard M2 0.027/0.054, M3 0.023/0.046, M4 0.019/0.035, M5 0.016/0.030 per GB-hour; KMS
software key version 0.06/month, operations 0.03/10k; Artifact Registry 0.10/GB-month; external IPv4 used by
Cloud NAT 0.005/h, in use on a VM 0.005/h, reserved and unused 0.01/h; alerting 1.50/condition-month and 0.35/1M
time series; global forwarding rules 0.025/h for the first 5 together, 0.01/h for each further one; load balancer
data 0.008/GB. 730 hours (2,628,000 seconds) a month.
"""

from __future__ import annotations

import pulumi_gcp as gcp
import pytest

from pricing import CostReport, CostResource, estimate
from pricing.catalog import default_catalog
from pricing.usage import parse_usage
from review.cost import estimate_graph
from review.engine import run_callable

H = 730
S = 730 * 3600
REGION = {"region": "us-central1"}
CONFIG = {"gcp:region": "us-central1", "gcp:project": "p"}


def _estimate(*resources: CostResource, usage: dict | None = None) -> CostReport:
    return estimate(resources, config=CONFIG, usage=parse_usage(usage) if usage else None)


def _res(type_: str, name: str, inputs: dict | None = None, **kwargs) -> CostResource:
    return CostResource(urn=f"urn:pulumi:s::p::{type_}::{name}", type=type_, name=name, inputs=inputs or {}, **kwargs)


def _by_name(report: CostReport, name: str):
    return next(r for r in report.resources if r.name == name)


def _lines(report: CostReport, name: str) -> dict[str, float]:
    return {c.name: round(c.monthly, 4) for c in _by_name(report, name).components}


# -- Cloud Run ---------------------------------------------------------------------------------------------------

RUN = "gcp:cloudrunv2/service:Service"


def _run(name: str, *, cpu_idle: bool | None = True, min_instances: float = 0, memory: str = "512Mi") -> CostResource:
    resources: dict = {"limits": {"cpu": "1", "memory": memory}}
    if cpu_idle is not None:
        resources["cpuIdle"] = cpu_idle
    return _res(RUN, name, {"location": "us-central1", "template": {
        "containers": [{"image": "nginx", "resources": resources}],
        "scaling": {"minInstanceCount": min_instances}}})


def test_cloud_run_idle_minimum_instances_are_charged_at_the_idle_rate_outside_busy_time() -> None:
    report = _estimate(_run("run", min_instances=1))
    busy = 1_000_000 * 0.250  # default usage: 1M requests x 250 ms, concurrency 1 -> 250,000 instance-seconds
    idle = S - busy  # 2,378,000 s
    assert _lines(report, "run") == {
        "requests": 0.40,
        "CPU during requests (1 vCPU)": round(busy * 0.000024, 4),  # 6.00
        "memory during requests (0.5 GiB)": round(0.5 * busy * 0.0000025, 4),  # 0.3125
        "idle minimum instances (1) CPU": round(idle * 0.0000025, 4),  # 5.945
        "idle minimum instances (1) memory": round(0.5 * idle * 0.0000025, 4),  # 2.9725
    }
    assert _by_name(report, "run").monthly == pytest.approx(15.63, abs=0.005)
    assert all(c.usage_based for c in _by_name(report, "run").components)
    assert report.price_not_found == []


def test_cloud_run_minimum_instances_busy_all_month_have_no_idle_time() -> None:
    usage = {"resource_usage": {"run": {"monthly_requests": 20_000_000, "average_request_duration_ms": 500}}}
    report = _estimate(_run("run", min_instances=2), usage=usage)
    lines = _lines(report, "run")
    # busy = 20M x 0.5 s = 10,000,000 instance-seconds > 2 x 2,628,000: nothing left at the idle rate
    assert lines["idle minimum instances (2) CPU"] == 0 and lines["idle minimum instances (2) memory"] == 0
    assert lines["CPU during requests (1 vCPU)"] == round(10_000_000 * 0.000024, 4)  # 240.00


def test_cloud_run_without_minimum_instances_has_no_idle_component() -> None:
    report = _estimate(_run("run"))
    assert not any("idle" in c.name for c in _by_name(report, "run").components)


def test_cloud_run_instance_based_billing_prices_cpu_and_memory_of_every_instance() -> None:
    report = _estimate(_run("run", cpu_idle=False, min_instances=3, memory="2Gi"))
    run = _by_name(report, "run")
    assert [c.name for c in run.components] == ["CPU always allocated (1 vCPU x 3 instances)",
                                                "memory always allocated (2 GiB x 3 instances)"]
    # Tier 1 list prices: 0.000018 per vCPU-second, 0.000002 per GiB-second; no request fee
    assert run.monthly == pytest.approx(3 * S * 0.000018 + 3 * 2 * S * 0.000002)
    assert run.not_found == []


# -- Memorystore -------------------------------------------------------------------------------------------------

REDIS = "gcp:redis/instance:Instance"


@pytest.mark.parametrize(("tier", "gb", "monthly"), [
    # the Infracost golden figures the rows were read from (us-central1)
    ("BASIC", 5, 98.55), ("BASIC", 25, 419.75), ("BASIC", 45, 624.15), ("BASIC", 105, 1226.40),
    ("STANDARD_HA", 5, 197.10), ("STANDARD_HA", 25, 839.50), ("STANDARD_HA", 45, 1149.75),
    ("STANDARD_HA", 105, 2299.50),
    ("STANDARD_HA", 10, 10 * H * 0.054),  # top of M2
    ("BASIC", 4, 4 * H * 0.049),  # top of M1 (unchanged)
])
def test_memorystore_capacity_bands(tier: str, gb: float, monthly: float) -> None:
    report = _estimate(_res(REDIS, "redis", {"tier": tier, "memorySizeGb": gb, **REGION}))
    assert _by_name(report, "redis").monthly == pytest.approx(monthly)
    assert report.price_not_found == []


def test_memorystore_read_replicas_beyond_the_first_are_listed_as_price_not_found() -> None:
    report = _estimate(_res(REDIS, "redis", {"tier": "STANDARD_HA", "memorySizeGb": 5, "replicaCount": 2,
                                             "readReplicasMode": "READ_REPLICAS_ENABLED", **REGION}))
    redis = _by_name(report, "redis")
    assert redis.monthly == pytest.approx(5 * H * 0.054)  # 197.10: primary + the included replica
    assert redis.not_found == ["read replicas beyond the first (1 x 5 GB) [gcp/us-central1/memorystore/"
                               "redis:read-replica:m2]"]
    # read replicas disabled: the Standard tier's one replica is included, nothing missing
    plain = _estimate(_res(REDIS, "redis", {"tier": "STANDARD_HA", "memorySizeGb": 5, **REGION}))
    assert plain.price_not_found == []


# -- Cloud KMS, Artifact Registry, Cloud Armor, alerting ---------------------------------------------------------

KEY = "gcp:kms/cryptoKey:CryptoKey"


def test_kms_key_versions_and_operations() -> None:
    key = _res(KEY, "key", {"versionTemplate": {"protectionLevel": "SOFTWARE"}, "rotationPeriod": "7776000s"})
    report = _estimate(key)
    assert _lines(report, "key") == {"active key versions (1, software)": 0.06,
                                     "cryptographic operations (software)": 0.03}  # 10,000 operations by default
    versions, ops = _by_name(report, "key").components
    assert not versions.usage_based and ops.usage_based
    # a rotated key: 5 versions after a year of 90-day rotation, 1M operations
    usage = {"resource_usage": {"key": {"key_versions": 5, "monthly_key_operations": 1_000_000}}}
    report = _estimate(key, usage=usage)
    assert _lines(report, "key") == {"active key versions (5, software)": 0.30,
                                     "cryptographic operations (software)": 3.00}
    assert _by_name(report, "key").components[0].usage_based


def test_kms_hsm_keys_have_no_sourced_price() -> None:
    report = _estimate(_res(KEY, "hsm", {"versionTemplate": {"protectionLevel": "HSM"}}))
    assert _by_name(report, "hsm").not_found == [
        "active key versions (1, hsm) [gcp/us-central1/kms/key-version:hsm]",
        "cryptographic operations (hsm) [gcp/us-central1/kms/operations:hsm]"]


def test_artifact_registry_storage() -> None:
    repo = _res("gcp:artifactregistry/repository:Repository", "images", {"location": "us-central1", "format": "DOCKER"})
    assert _lines(_estimate(repo), "images") == {"storage": 0.10}  # 1 GB by default
    report = _estimate(repo, usage={"resource_usage": {"images": {"storage_gb": 150}}})
    assert _lines(report, "images") == {"storage": 15.00}  # 150 GB x 0.10, as in the Infracost golden file


def test_cloud_armor_has_no_sourced_price_but_every_component_is_listed() -> None:
    policy = _res("gcp:compute/securityPolicy:SecurityPolicy", "armor",
                  {"rules": [{"priority": 1000}, {"priority": 2147483647}]})
    report = _estimate(policy)
    armor = _by_name(report, "armor")
    assert armor.components == [] and armor.monthly == 0
    assert armor.not_found == ["security policy [gcp/us-central1/cloudarmor/policy]",
                               "rules (2) [gcp/us-central1/cloudarmor/rule]",
                               "requests evaluated [gcp/us-central1/cloudarmor/requests]"]


def test_alerting_conditions_and_time_series() -> None:
    policy = _res("gcp:monitoring/alertPolicy:AlertPolicy", "alerts",
                  {"conditions": [{"displayName": "cpu"}, {"displayName": "memory"}]})
    report = _estimate(policy)
    series = 2 * 730 * 120  # one series per condition, every 30 seconds
    assert _lines(report, "alerts") == {"alerting conditions (2)": 3.00,
                                        "time series returned": round(series / 1e6 * 0.35, 4)}  # 0.0613
    report = _estimate(policy, usage={"resource_usage": {"alerts": {"monthly_time_series_returned": 8_640_000}}})
    assert _lines(report, "alerts")["time series returned"] == round(8.64 * 0.35, 4)  # Google's example: 3.02


# -- static addresses and forwarding rules, through the SDK and the review's engine -------------------------------

def _network_program() -> None:
    nat_ips = [gcp.compute.Address(f"nat-{i}", region="us-central1", address_type="EXTERNAL") for i in range(2)]
    gcp.compute.RouterNat("nat", router="r", region="us-central1", nat_ip_allocate_option="MANUAL_ONLY",
                          nat_ips=[a.self_link for a in nat_ips],
                          source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES")
    gcp.compute.Address("spare", region="us-central1")  # reserved, used by nothing
    gcp.compute.GlobalAddress("spare-global")
    gcp.compute.Address("internal", region="us-central1", address_type="INTERNAL", subnetwork="s")
    gcp.compute.GlobalAddress("services", purpose="VPC_PEERING", address_type="INTERNAL", prefix_length=16,
                              network="n")
    lb_ip = gcp.compute.GlobalAddress("lb-ip")
    for i in range(7):  # 7 global forwarding rules on one address
        gcp.compute.GlobalForwardingRule(f"fr-{i}", target="t", port_range=str(8000 + i), ip_address=lb_ip.id)
    vm_ip = gcp.compute.Address("vm-ip", region="us-central1")
    gcp.compute.Instance("vm", machine_type="e2-micro", zone="us-central1-a",
                         boot_disk={"initialize_params": {"image": "debian-12"}},
                         network_interfaces=[{"network": "default", "access_configs": [{"nat_ip": vm_ip.address}]}])


@pytest.fixture(scope="module")
def network() -> CostReport:
    return estimate_graph(run_callable(_network_program, config=CONFIG))


def test_addresses_used_by_cloud_nat(network: CostReport) -> None:
    for name in ("nat-0", "nat-1"):
        assert _lines(network, name) == {"static external IPv4 address used by Cloud NAT": H * 0.005}  # 3.65


def test_reserved_unused_addresses(network: CostReport) -> None:
    for name in ("spare", "spare-global"):
        assert _lines(network, name) == {"static external IPv4 address, reserved and unused": H * 0.01}  # 7.30


def test_free_addresses_and_the_vm_address_priced_once(network: CostReport) -> None:
    priced = {r.name for r in network.resources}
    # internal, private-services range, the load balancer's address (attached to forwarding rules), the VM's address
    assert not priced & {"internal", "services", "lb-ip", "vm-ip"}
    assert _lines(network, "vm")["external IPv4 address"] == H * 0.005  # the in-use charge, on the instance
    assert network.unpriced == []


def test_global_forwarding_rules_first_five_flat_then_additional(network: CostReport) -> None:
    hours = {r.name: round(r.components[0].monthly, 4) for r in network.resources if r.name.startswith("fr-")}
    # ordered by URN: fr-0 carries the flat charge for rules 1-5, fr-1..fr-4 are covered, fr-5 and fr-6 are extra
    assert hours == {"fr-0": H * 0.025, "fr-1": 0, "fr-2": 0, "fr-3": 0, "fr-4": 0, "fr-5": H * 0.01,
                     "fr-6": H * 0.01}
    assert sum(hours.values()) == pytest.approx(18.25 + 2 * 7.30)  # 32.85, against 7 x 18.25 = 127.75 per rule
    first = _by_name(network, "fr-0").components[0]
    assert first.name == "forwarding rules 1-5, flat (5 in this stack)"
    covered = _by_name(network, "fr-3").components[0]
    assert covered.name == "forwarding rule 4 of the first 5 (in the flat charge on fr-0)"
    assert covered.quantity == H and covered.unit_price == 0
    assert covered.sku == "gcp/global/loadbalancing/global-forwarding-rule"
    assert _by_name(network, "fr-6").components[0].name == "forwarding rule 7 (beyond the first 5)"
    for i in range(7):  # every rule keeps its data-processed component (10 GB default)
        assert _lines(network, f"fr-{i}")["data processed"] == 0.08


def test_forwarding_rule_bundles_are_per_project() -> None:
    def rule(name: str, project: str) -> CostResource:
        return _res("gcp:compute/globalForwardingRule:GlobalForwardingRule", name, {"project": project})

    report = _estimate(rule("a1", "proj-a"), rule("a2", "proj-a"), rule("b1", "proj-b"))
    hours = {r.name: round(r.components[0].monthly, 4) for r in report.resources}
    assert hours == {"a1": H * 0.025, "a2": 0, "b1": H * 0.025}
    # a single rule costs what it did before: the flat 0.025/h
    assert _estimate(rule("only", "p")).monthly_total == pytest.approx(H * 0.025 + 10 * 0.008)


# -- the catalog rows behind these rules -------------------------------------------------------------------------

NEW_ROWS = [
    ("us-central1", "cloudrun", "cpu-second:idle-min-instance", 0.0000025),
    ("us-central1", "cloudrun", "memory-second:idle-min-instance", 0.0000025),
    ("us-central1", "memorystore", "redis:basic:m2", 0.027), ("us-central1", "memorystore", "redis:standard:m2", 0.054),
    ("us-central1", "kms", "key-version:software", 0.06), ("us-central1", "kms", "operations:software", 0.03),
    ("us-central1", "artifactregistry", "storage", 0.10),
    ("us-central1", "compute", "external-ipv4-hour", 0.005),
    ("us-central1", "compute", "external-ipv4-hour:nat", 0.005),
    ("us-central1", "compute", "external-ipv4-hour:unused", 0.01),
    ("us-central1", "monitoring", "alert-condition", 1.50), ("us-central1", "monitoring", "alert-time-series", 0.35),
    ("global", "loadbalancing", "global-forwarding-rule", 0.025),
    ("global", "loadbalancing", "global-forwarding-rule:additional", 0.01),
]


@pytest.mark.parametrize(("region", "service", "sku", "usd"), NEW_ROWS)
def test_new_rows_are_quoted_with_a_source_and_a_date(region: str, service: str, sku: str, usd: float) -> None:
    row = default_catalog().get("gcp", region, service, sku)
    assert row is not None and row.region == region
    assert row.usd == pytest.approx(usd)
    assert row.basis == "quoted"
    assert row.source.startswith(("https://", "github:")) and row.source_date


def test_no_row_for_prices_without_a_source() -> None:
    catalog = default_catalog()
    for service, sku in [("cloudarmor", "policy"), ("cloudarmor", "rule"), ("cloudarmor", "requests"),
                         ("kms", "key-version:hsm")]:
        assert catalog.get("gcp", "us-central1", service, sku) is None, sku
