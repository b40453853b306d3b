"""Insecure GCP programs: each function declares resources; ``PROGRAMS`` maps name -> (fn, expected, config)."""

from __future__ import annotations

import pulumi_gcp as gcp

PROD = {"insecure:environment": "prod", "gcp:project": "insecure-project"}
DEV = {"insecure:environment": "dev", "gcp:project": "insecure-project"}


def public_bucket() -> None:
    """A bucket readable by everyone, with ACLs, no public access prevention and no versioning."""
    b = gcp.storage.Bucket("assets", location="US", uniform_bucket_level_access=False, force_destroy=True)
    gcp.storage.BucketIAMMember("assets-public", bucket=b.name, role="roles/storage.objectViewer", member="allUsers")


def open_vm() -> None:
    """SSH from anywhere to a VM with an external IP, the default service account, secrets in metadata."""
    net = gcp.compute.Network("net", auto_create_subnetworks=False)
    gcp.compute.Subnetwork("subnet", network=net.id, ip_cidr_range="10.0.0.0/24", region="us-central1")
    gcp.compute.Firewall("ssh", network=net.id, allows=[{"protocol": "tcp", "ports": ["22"]}],
                         source_ranges=["0.0.0.0/0"])
    gcp.compute.Firewall("app", network=net.id, allows=[{"protocol": "tcp", "ports": ["8080"]}])
    gcp.compute.Instance("vm", machine_type="e2-small", zone="us-central1-a",
                         boot_disk={"initialize_params": {"image": "debian-cloud/debian-12"}},
                         network_interfaces=[{"network": net.id, "access_configs": [{}]}],
                         service_account={"email": "123456789012-compute@developer.gserviceaccount.com",
                                          "scopes": ["cloud-platform"]},
                         metadata={"db-password": "hunter2hunter2"},
                         metadata_startup_script="export API_TOKEN=abcd1234\n")


def public_sql() -> None:
    """Cloud SQL with a public IP open to 0.0.0.0/0, unencrypted connections allowed, no backups, in prod."""
    gcp.sql.DatabaseInstance("sql", database_version="POSTGRES_16", region="us-central1", deletion_protection=False,
                             settings={"tier": "db-custom-1-3840",
                                       "ip_configuration": {"ipv4_enabled": True, "authorized_networks": [
                                           {"name": "anywhere", "value": "0.0.0.0/0"}]},
                                       "backup_configuration": {"enabled": False}})


def run_and_iam() -> None:
    """Cloud Run open to the internet as the default SA with a literal secret; owner grants; weak TLS; a keyless
    Redis; an exported key."""
    gcp.cloudrunv2.Service("api", location="us-central1", template={"containers": [{
        "image": "us-docker.pkg.dev/cloudrun/container/hello",
        "envs": [{"name": "STRIPE_SECRET_KEY", "value": "sk_live_abc123"}]}]})
    gcp.projects.IAMMember("ci-owner", project="insecure-project", role="roles/owner",
                           member="serviceAccount:ci@insecure-project.iam.gserviceaccount.com")
    gcp.projects.IAMMember("public-viewer", project="insecure-project", role="roles/viewer", member="allUsers")
    ring = gcp.kms.KeyRing("ring", location="us-central1")
    gcp.kms.CryptoKey("key", key_ring=ring.id)
    gcp.compute.SSLPolicy("tls", profile="COMPATIBLE", min_tls_version="TLS_1_0")
    gcp.compute.TargetHttpsProxy("https", url_map="projects/p/global/urlMaps/m",
                                 ssl_certificates=["projects/p/global/sslCertificates/c"])
    serve = gcp.compute.URLMap("serve", default_service="projects/p/global/backendServices/b")
    gcp.compute.TargetHttpProxy("http", url_map=serve.id)
    gcp.redis.Instance("cache", memory_size_gb=1, tier="BASIC", region="us-central1")
    sa = gcp.serviceaccount.Account("ci", account_id="ci")
    gcp.serviceaccount.Key("ci-key", service_account_id=sa.name)


PROGRAMS = {
    "gcp-public-bucket": (public_bucket, [
        ("gcs-bucket-no-public-access", "assets-public"), ("gcs-bucket-public-access-prevention", "assets"),
        ("gcs-bucket-uniform-access", "assets"), ("gcs-bucket-versioning", "assets"),
        ("prod-stateful-protected", "assets"),
    ], PROD),
    "gcp-open-vm": (open_vm, [
        ("gcp-firewall-no-world-ingress", "ssh"), ("gcp-firewall-no-world-ingress", "app"),
        ("gce-instance-no-public-ip", "vm"), ("gce-no-default-sa-full-scope", "vm"), ("gce-shielded-vm", "vm"),
        ("gce-metadata-no-plaintext-secrets", "vm"), ("gcp-subnet-flow-logs", "subnet"),
    ], DEV),
    "gcp-public-sql": (public_sql, [
        ("cloudsql-no-public-ip", "sql"), ("cloudsql-ssl-required", "sql"), ("cloudsql-backups", "sql"),
        ("cloudsql-deletion-protection", "sql"), ("prod-stateful-protected", "sql"),
    ], PROD),
    "gcp-run-and-iam": (run_and_iam, [
        ("cloudrun-ingress-restricted", "api"), ("cloudrun-dedicated-service-account", "api"),
        ("cloudrun-no-plaintext-secrets", "api"), ("gcp-no-primitive-roles", "ci-owner"),
        ("gcp-iam-no-public-members", "public-viewer"), ("gcp-kms-key-rotation", "key"),
        ("gcp-ssl-policy-tls12", "tls"), ("gcp-https-proxy-ssl-policy", "https"),
        ("gcp-http-redirects-to-https", "http"), ("memorystore-auth-enabled", "cache"),
        ("memorystore-transit-encryption", "cache"), ("gcp-no-service-account-keys", "ci-key"),
    ], DEV),
}
