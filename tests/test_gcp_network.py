"""GCP Network and EncryptionKey: defaults, NAT strategies, private services access, firewall baseline, key grants."""

from __future__ import annotations

import pytest
from helpers import DOCS, doc_example, documents_every_argument

from components.gcp.kms import DEFAULT_PURPOSES, SERVICE_AGENTS, EncryptionKey, EncryptionKeyArgs
from components.gcp.network import HEALTH_CHECK_RANGES, Network, NetworkArgs, plan_ranges
from review.engine import run_callable

FIREWALL = "gcp:compute/firewall:Firewall"


def network(**kw):
    return run_callable(lambda: Network("net", NetworkArgs(region="us-central1", **kw)))


@pytest.fixture(scope="module")
def dev():
    return network()


def test_defaults_custom_vpc_one_subnet_no_nat(dev):
    comp = dev.by_name("net", "backend:gcp:Network")
    assert all(r.parent == comp.urn for r in dev if r.custom), "every child is parented to the component"
    assert dev.inputs("net-vpc")["autoCreateSubnetworks"] is False
    subnet = dev.inputs("net-subnet")
    assert subnet["ipCidrRange"] == "10.0.0.0/17" and subnet["privateIpGoogleAccess"] is True
    assert subnet["logConfig"] == {"aggregationInterval": "INTERVAL_5_SEC", "flowSampling": 0.5,
                                   "metadata": "INCLUDE_ALL_METADATA"}
    assert not dev.by_type("gcp:compute/router:Router") and not dev.by_type("gcp:compute/routerNat:RouterNat")


def test_private_services_access_takes_the_second_half(dev):
    address = dev.by_name("net-services", "gcp:compute/globalAddress:GlobalAddress")
    psa = address.inputs
    assert (psa["purpose"], psa["addressType"], psa["address"], psa["prefixLength"]) == (
        "VPC_PEERING", "INTERNAL", "10.0.128.0", 17)
    conn = dev.inputs("net-services", "gcp:servicenetworking/connection:Connection")
    assert conn["service"] == "servicenetworking.googleapis.com" and conn["reservedPeeringRanges"] == [
        address.outputs["name"]]
    assert plan_ranges("10.8.0.0/20") == {"subnet": "10.8.0.0/21", "services": "10.8.8.0/21"}


def test_firewall_denies_ingress_admits_health_checks_to_the_service_only(dev):
    rules = {r.name: r.inputs for r in dev.by_type(FIREWALL)}
    deny = rules["net-deny-all-ingress"]
    assert (deny["direction"], deny["priority"], deny["denies"], deny["sourceRanges"]) == (
        "INGRESS", 65534, [{"protocol": "all"}], ["0.0.0.0/0"])
    assert deny["logConfig"] == {"metadata": "INCLUDE_ALL_METADATA"}
    hc = rules["net-allow-health-checks"]
    assert hc["sourceRanges"] == list(HEALTH_CHECK_RANGES) == ["35.191.0.0/16", "130.211.0.0/22"]
    assert hc["targetTags"] == ["backend-service"] and hc["allows"] == [{"protocol": "tcp", "ports": ["8080"]}]
    egress = rules["net-deny-service-private-egress"]
    assert egress["direction"] == "EGRESS" and egress["targetTags"] == ["backend-service"]
    assert egress["destinationRanges"] == ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]


def test_single_nat_is_regional_with_automatic_ips():
    g = network(nat_strategy="single")
    nat = g.inputs("net-nat")
    assert nat["natIpAllocateOption"] == "AUTO_ONLY" and nat["minPortsPerVm"] == 64
    assert nat["sourceSubnetworkIpRangesToNat"] == "LIST_OF_SUBNETWORKS" and "natIps" not in nat
    assert not g.by_type("gcp:compute/address:Address")


def test_per_az_maps_to_manual_ips_and_min_ports():
    g = network(nat_strategy="per_az", nat_addresses=3, labels={"environment": "prod"})
    ips = g.by_type("gcp:compute/address:Address")
    assert len(ips) == 3 and all(a.inputs["labels"] == {"environment": "prod"} for a in ips)
    nat = g.inputs("net-nat")
    assert nat["natIpAllocateOption"] == "MANUAL_ONLY" and len(nat["natIps"]) == 3
    assert nat["minPortsPerVm"] == 1024 and nat["enableDynamicPortAllocation"] is True


def test_bad_arguments_are_one_clear_error():
    with pytest.raises(ValueError, match="/16 to /20"):
        NetworkArgs(region="us-central1", cidr="10.0.0.0/8")
    with pytest.raises(ValueError, match="nat_strategy"):
        NetworkArgs(region="us-central1", nat_strategy="many")  # type: ignore[arg-type]


# -- EncryptionKey -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def keys():
    return run_callable(lambda: EncryptionKey("kms", EncryptionKeyArgs(
        location="us-central1", labels={"Owner": "Platform Team"}, protect=True)))


def test_a_rotated_key_per_purpose_granted_to_its_service_agent_only(keys):
    crypto = {r.name: r for r in keys.by_type("gcp:kms/cryptoKey:CryptoKey")}
    assert set(crypto) == {f"kms-{p}" for p in DEFAULT_PURPOSES} and "pubsub" not in DEFAULT_PURPOSES
    for purpose in DEFAULT_PURPOSES:
        domain = SERVICE_AGENTS[purpose]
        key = crypto[f"kms-{purpose}"]
        assert key.inputs["rotationPeriod"] == "7776000s" and key.inputs["purpose"] == "ENCRYPT_DECRYPT"
        assert key.inputs["labels"] == {"owner": "platform-team", "purpose": purpose}
        grant = keys.inputs(f"kms-{purpose}-agent", "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
        assert grant == {"cryptoKeyId": key.id, "role": "roles/cloudkms.cryptoKeyEncrypterDecrypter",
                         "member": f"serviceAccount:service-123456789012@{domain}"}
    assert {r.inputs["service"] for r in keys.by_type("gcp:projects/serviceIdentity:ServiceIdentity")} == {
        "sqladmin.googleapis.com", "artifactregistry.googleapis.com", "secretmanager.googleapis.com"}


def test_prod_protects_the_ring_and_keys(keys):
    for t in ("gcp:kms/keyRing:KeyRing", "gcp:kms/cryptoKey:CryptoKey"):
        assert all(r.options["protect"] for r in keys.by_type(t))
    assert not any(r.options["protect"] for r in keys.by_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"))


def test_kms_subset_and_bad_purpose():
    g = run_callable(lambda: EncryptionKey("k", EncryptionKeyArgs(location="us-central1", purposes=["storage"],
                                                                  ensure_service_agents=False)))
    assert [r.name for r in g.by_type("gcp:kms/cryptoKey:CryptoKey")] == ["k-storage"]
    assert not g.by_type("gcp:projects/serviceIdentity:ServiceIdentity")
    with pytest.raises(ValueError, match="unknown"):
        EncryptionKeyArgs(location="us-central1", purposes=["bigquery"])


def test_the_former_type_token_is_an_alias(keys):
    """Renamed from ``Kms`` (``backend:gcp:Kms``): a stack deployed under the old token keeps its keys."""
    [comp] = keys.by_type("backend:gcp:EncryptionKey")
    assert [a["spec"]["type"] for a in comp.options["aliases"]] == ["backend:gcp:Kms"]


def test_grants_name_one_key_and_one_member():
    def prog():
        k = EncryptionKey("k", EncryptionKeyArgs(location="us-central1", purposes=["storage", "secrets"],
                                                 ensure_service_agents=False))
        k.grant_encrypt_decrypt("serviceAccount:app@p.iam.gserviceaccount.com", "storage")
        k.grant_decrypt("serviceAccount:app@p.iam.gserviceaccount.com", "secrets")
    g = run_callable(prog)
    member = "serviceAccount:app@p.iam.gserviceaccount.com"
    assert g.inputs("k-storage-encrypt-decrypt-app", "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember") == {
        "cryptoKeyId": g.by_name("k-storage", "gcp:kms/cryptoKey:CryptoKey").id,
        "role": "roles/cloudkms.cryptoKeyEncrypterDecrypter", "member": member}
    assert g.inputs("k-secrets-decrypt-app", "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember") == {
        "cryptoKeyId": g.by_name("k-secrets", "gcp:kms/cryptoKey:CryptoKey").id,
        "role": "roles/cloudkms.cryptoKeyDecrypter", "member": member}
    with pytest.raises(Exception, match="no 'sql' key"):
        run_callable(lambda: EncryptionKey("k", EncryptionKeyArgs(location="us-central1", purposes=["storage"]))
                     .grant_decrypt(member, "sql"))


@pytest.mark.parametrize(("page", "args"), [("gcp-network.md", NetworkArgs), ("gcp-kms.md", EncryptionKeyArgs)])
def test_docs_example_runs_and_documents_every_argument(page, args):
    g = run_callable(doc_example(DOCS / page))
    assert g.by_type("backend:gcp:Network" if args is NetworkArgs else "backend:gcp:EncryptionKey")
    assert not documents_every_argument(DOCS / page, args)
