"""GCP programs of the policy corpus (plain pulumi-gcp, as public examples write them), hardened as CIS GCP and
Checkov ask; ``bad="<defect>"`` changes exactly one thing. See aws_corpus for the conventions."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

PROJECT = "demo-project"
REGION = "us-central1"
NETWORK = f"projects/{PROJECT}/global/networks/app"
SUBNET = f"projects/{PROJECT}/regions/{REGION}/subnetworks/app"
KMS_KEY = f"projects/{PROJECT}/locations/{REGION}/keyRings/app/cryptoKeys/data"
SA = f"app@{PROJECT}.iam.gserviceaccount.com"


def _sa(name: str) -> gcp.serviceaccount.Account:
    return gcp.serviceaccount.Account(f"{name}-sa", account_id=f"{name}-sa", display_name=f"{name} workload")


# -- Cloud Storage ---------------------------------------------------------------------------------------------
def gcs_bucket(bad: str | None = None) -> None:
    """A private bucket: uniform access, public access prevention, versioning, CMEK, lifecycle, access logs."""
    logs = gcp.storage.Bucket("access-logs", location="US", uniform_bucket_level_access=True,
                              public_access_prevention="enforced", versioning={"enabled": True},
                              lifecycle_rules=[{"action": {"type": "Delete"}, "condition": {"age": 365}}])
    b = gcp.storage.Bucket("data", location="US", uniform_bucket_level_access=True,
                           public_access_prevention="inherited" if bad == "no-pap" else "enforced",
                           versioning={"enabled": bad != "no-versioning"}, encryption={"default_kms_key_name": KMS_KEY},
                           logging={"log_bucket": logs.name},
                           lifecycle_rules=[{"action": {"type": "Delete"},
                                             "condition": {"num_newer_versions": 5, "with_state": "ARCHIVED"}}])
    member = "allUsers" if bad == "public-member" else f"serviceAccount:{SA}"
    gcp.storage.BucketIAMMember("reader", bucket=b.name, role="roles/storage.objectViewer", member=member)


# -- GKE -------------------------------------------------------------------------------------------------------
def gke_cluster(bad: str | None = None) -> None:
    """A private, regional Standard cluster: private nodes, authorized networks, Workload Identity, Dataplane V2,
    shielded nodes, secrets encryption, logging and monitoring, and a node pool with a dedicated service account."""
    nodes = _sa("gke-nodes")
    args = dict(
        location=REGION, network=NETWORK, subnetwork=SUBNET, remove_default_node_pool=True, initial_node_count=1,
        deletion_protection=True, release_channel={"channel": "REGULAR"},
        private_cluster_config={"enable_private_nodes": True, "enable_private_endpoint": False,
                                "master_ipv4_cidr_block": "172.16.0.0/28"},
        master_authorized_networks_config={"cidr_blocks": [{"cidr_block": "10.0.0.0/8", "display_name": "vpc"}]},
        ip_allocation_policy={"cluster_secondary_range_name": "pods", "services_secondary_range_name": "services"},
        workload_identity_config={"workload_pool": f"{PROJECT}.svc.id.goog"},
        datapath_provider="ADVANCED_DATAPATH", enable_shielded_nodes=True, enable_legacy_abac=False,
        database_encryption={"state": "ENCRYPTED", "key_name": KMS_KEY},
        master_auth={"client_certificate_config": {"issue_client_certificate": False}},
        logging_config={"enable_components": ["SYSTEM_COMPONENTS", "WORKLOADS"]},
        monitoring_config={"enable_components": ["SYSTEM_COMPONENTS"]},
        binary_authorization={"evaluation_mode": "PROJECT_SINGLETON_POLICY_ENFORCE"})
    if bad == "public-nodes":
        args["private_cluster_config"] = {"enable_private_nodes": False}
    elif bad == "open-control-plane":
        args.pop("master_authorized_networks_config")
    elif bad == "legacy-abac":
        args["enable_legacy_abac"] = True
    elif bad == "no-logging":
        args.pop("logging_config")
        args["logging_service"] = "none"
    elif bad == "no-shielded-nodes":
        args["enable_shielded_nodes"] = False
    cluster = gcp.container.Cluster("gke", **args)
    gcp.container.NodePool("default", cluster=cluster.name, location=REGION, node_count=1,
                           management={"auto_repair": True, "auto_upgrade": True},
                           node_config={"machine_type": "e2-standard-4", "service_account": nodes.email,
                                        "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],
                                        "workload_metadata_config": {"mode": "GKE_METADATA"},
                                        "shielded_instance_config": {"enable_secure_boot": True,
                                                                     "enable_integrity_monitoring": True}})


def gke_autopilot(bad: str | None = None) -> None:
    """An Autopilot cluster with private nodes and authorized networks."""
    args = dict(location=REGION, enable_autopilot=True, network=NETWORK, subnetwork=SUBNET,
                deletion_protection=True, release_channel={"channel": "REGULAR"},
                private_cluster_config={"enable_private_nodes": True, "master_ipv4_cidr_block": "172.16.0.16/28"},
                master_authorized_networks_config={"cidr_blocks": [{"cidr_block": "10.0.0.0/8"}]})
    if bad == "world-authorized-network":
        args["master_authorized_networks_config"] = {"cidr_blocks": [{"cidr_block": "0.0.0.0/0",
                                                                      "display_name": "anywhere"}]}
    gcp.container.Cluster("autopilot", **args)


# -- BigQuery --------------------------------------------------------------------------------------------------
def bigquery_dataset(bad: str | None = None) -> None:
    """An analytics dataset with CMEK and group access; a service account may read it."""
    accesses = [{"role": "OWNER", "special_group": "projectOwners"},
                {"role": "READER", "group_by_email": "analysts@example.com"}]
    if bad == "all-authenticated":
        accesses.append({"role": "READER", "special_group": "allAuthenticatedUsers"})
    ds = gcp.bigquery.Dataset("analytics", dataset_id="analytics", location="US", accesses=accesses,
                              default_encryption_configuration={"kms_key_name": KMS_KEY},
                              default_table_expiration_ms=None)
    if bad == "public-iam":
        gcp.bigquery.DatasetIamMember("viewer", dataset_id=ds.dataset_id, role="roles/bigquery.dataViewer",
                                      member="allUsers")
    elif bad == "public-access-resource":
        gcp.bigquery.DatasetAccess("public", dataset_id=ds.dataset_id, role="READER", iam_member="allUsers")
    else:
        gcp.bigquery.DatasetIamMember("viewer", dataset_id=ds.dataset_id, role="roles/bigquery.dataViewer",
                                      member=f"serviceAccount:{SA}")


# -- Cloud Functions -------------------------------------------------------------------------------------------
def function_v1(bad: str | None = None) -> None:
    """A 1st gen HTTP function: HTTPS only, internal + load balancer ingress, a dedicated service account, secrets
    from Secret Manager, invoked by one service account."""
    sa = _sa("fn")
    args = dict(runtime="python312", region=REGION, entry_point="handler", trigger_http=True,
                https_trigger_security_level="SECURE_ALWAYS", ingress_settings="ALLOW_INTERNAL_AND_GCLB",
                source_archive_bucket="example-sources", source_archive_object="fn.zip",
                service_account_email=sa.email, available_memory_mb=256, max_instances=10,
                kms_key_name=KMS_KEY, docker_repository=f"projects/{PROJECT}/locations/{REGION}/repositories/fn",
                environment_variables={"LOG_LEVEL": "info"},
                secret_environment_variables=[{"key": "API_TOKEN", "secret": "api-token", "version": "latest"}])
    if bad == "python38":
        args["runtime"] = "python38"
    elif bad == "http-allowed":
        args["https_trigger_security_level"] = "SECURE_OPTIONAL"
    elif bad == "public-invoker":
        args["ingress_settings"] = "ALLOW_ALL"
    elif bad == "secret-env":
        args["environment_variables"] = {"LOG_LEVEL": "info", "API_TOKEN": "tok_live_9f8e7d6c5b4a"}
    fn = gcp.cloudfunctions.Function("webhook", **args)
    member = "allUsers" if bad == "public-invoker" else f"serviceAccount:{SA}"
    gcp.cloudfunctions.FunctionIamMember("invoker", cloud_function=fn.name, region=REGION,
                                         role="roles/cloudfunctions.invoker", member=member)


def function_v2(bad: str | None = None) -> None:
    """A 2nd gen function behind the load balancer, with a dedicated service account."""
    sa = _sa("fn2")
    fn = gcp.cloudfunctionsv2.Function(
        "api", location=REGION,
        build_config={"runtime": "nodejs16" if bad == "nodejs16" else "nodejs22", "entry_point": "handler",
                      "source": {"storage_source": {"bucket": "example-sources", "object": "api.zip"}}},
        service_config={"max_instance_count": 10, "available_memory": "256M", "service_account_email": sa.email,
                        "environment_variables": {"LOG_LEVEL": "info"} if bad != "secret-env" else {
                            "LOG_LEVEL": "info", "SLACK_BOT_TOKEN": "xoxb-0123456789-abcdefghij"},
                        "ingress_settings": "ALLOW_ALL" if bad == "public-invoker" else "ALLOW_INTERNAL_AND_GCLB",
                        "all_traffic_on_latest_revision": True})
    member = "allUsers" if bad == "public-invoker" else f"serviceAccount:{SA}"
    gcp.cloudfunctionsv2.FunctionIamMember("invoker", cloud_function=fn.name, location=REGION,
                                           role="roles/cloudfunctions.invoker", member=member)


# -- Cloud SQL -------------------------------------------------------------------------------------------------
def cloud_sql(bad: str | None = None) -> None:
    """Private-IP PostgreSQL with SSL enforced, PITR backups, deletion protection, a user whose password is a secret
    config value."""
    ipcfg = {"ipv4_enabled": False, "private_network": NETWORK, "ssl_mode": "ENCRYPTED_ONLY"}
    if bad == "public-ip":
        ipcfg = {"ipv4_enabled": True, "ssl_mode": "ENCRYPTED_ONLY",
                 "authorized_networks": [{"name": "office", "value": "203.0.113.0/24"}]}
    elif bad == "ssl-optional":
        ipcfg["ssl_mode"] = "ALLOW_UNENCRYPTED_AND_ENCRYPTED"
    db = gcp.sql.DatabaseInstance(
        "db", database_version="POSTGRES_16", region=REGION, deletion_protection=True,
        encryption_key_name=KMS_KEY,
        settings={"tier": "db-custom-2-7680", "availability_type": "REGIONAL", "deletion_protection_enabled": True,
                  "ip_configuration": ipcfg,
                  "backup_configuration": {"enabled": True, "point_in_time_recovery_enabled": True,
                                           "backup_retention_settings": {"retained_backups": 14}},
                  "database_flags": [{"name": "log_connections", "value": "on"},
                                     {"name": "log_disconnections", "value": "on"},
                                     {"name": "cloudsql.enable_pgaudit", "value": "on"}],
                  "user_labels": {"team": "platform"}})
    password = "Literal-Passw0rd!" if bad == "literal-password" else pulumi.Config().require_secret("dbPassword")
    gcp.sql.User("app", instance=db.name, name="app", password=password)


# -- Cloud Run, Compute Engine, KMS, Memorystore -----------------------------------------------------------------
def cloud_run(bad: str | None = None) -> None:
    """A Cloud Run service behind the load balancer with a dedicated service account and secrets from Secret
    Manager."""
    sa = _sa("run")
    envs = [{"name": "LOG_LEVEL", "value": "info"},
            {"name": "DB_PASSWORD", "value_source": {"secret_key_ref": {"secret": "db-password", "version": "latest"}}}]
    if bad == "secret-env":
        envs[1] = {"name": "DB_PASSWORD", "value": "plain-text-password-1"}
    template = {"containers": [{"image": "us-docker.pkg.dev/cloudrun/container/hello", "envs": envs}],
                "service_account": sa.email}
    if bad == "default-sa":
        template.pop("service_account")
    gcp.cloudrunv2.Service("api", location=REGION, ingress="INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
                           deletion_protection=True, template=template)


def gce_vm(bad: str | None = None) -> None:
    """A private VM (no external IP, Shielded VM, dedicated service account, OS Login) reached through IAP."""
    sa = _sa("vm")
    nic = {"subnetwork": SUBNET}
    if bad == "external-ip":
        nic["access_configs"] = [{}]
    gcp.compute.Instance("vm", machine_type="e2-small", zone=f"{REGION}-a",
                         boot_disk={"initialize_params": {"image": "debian-cloud/debian-12"},
                                    "kms_key_self_link": KMS_KEY},
                         network_interfaces=[nic], metadata={"enable-oslogin": "TRUE",
                                                             "block-project-ssh-keys": "TRUE"},
                         shielded_instance_config={"enable_secure_boot": True, "enable_vtpm": True,
                                                   "enable_integrity_monitoring": True},
                         service_account={"email": sa.email, "scopes": ["cloud-platform"]})
    source = ["0.0.0.0/0"] if bad == "world-ssh" else ["35.235.240.0/20"]
    gcp.compute.Firewall("iap-ssh", network=NETWORK, direction="INGRESS", source_ranges=source,
                         allows=[{"protocol": "tcp", "ports": ["22"]}], target_service_accounts=[sa.email],
                         log_config={"metadata": "INCLUDE_ALL_METADATA"})


def kms_key(bad: str | None = None) -> None:
    """A key ring and a symmetric key that rotates every 90 days."""
    ring = gcp.kms.KeyRing("app", location=REGION)
    gcp.kms.CryptoKey("data", key_ring=ring.id, purpose="ENCRYPT_DECRYPT",
                      rotation_period=None if bad == "no-rotation" else "7776000s")


def memorystore(bad: str | None = None) -> None:
    """A Standard-tier Redis with AUTH and TLS on a private network."""
    gcp.redis.Instance("cache", tier="STANDARD_HA", memory_size_gb=1, region=REGION, authorized_network=NETWORK,
                       connect_mode="PRIVATE_SERVICE_ACCESS", auth_enabled=bad != "no-auth",
                       transit_encryption_mode="SERVER_AUTHENTICATION", redis_version="REDIS_7_2",
                       opts=pulumi.ResourceOptions(protect=True))


def public_cloud_run(bad: str | None = None) -> None:
    """A public Cloud Run API (authentication in the application), as Google's quickstarts deploy it: ingress all
    and allUsers invoker, a dedicated service account, secrets from Secret Manager, bounded scaling."""
    sa = _sa("public-api")
    env = [{"name": "JWT_KEY", "value_source": {"secret_key_ref": {"secret": "jwt-key", "version": "latest"}}}]
    if bad == "secret-env":
        env = [{"name": "JWT_KEY", "value": "jwt-signing-key-literal-0123"}]
    svc = gcp.cloudrunv2.Service("public-api", location=REGION, ingress="INGRESS_TRAFFIC_ALL",
                                 deletion_protection=True,
                                 template={"service_account": sa.email, "scaling": {"max_instance_count": 20},
                                           "containers": [{"image": "us-docker.pkg.dev/cloudrun/container/hello",
                                                           "envs": env}]})
    gcp.cloudrunv2.ServiceIamMember("public", name=svc.name, location=REGION, role="roles/run.invoker",
                                    member="allUsers")
    if bad == "public-project-role":
        gcp.projects.IAMMember("viewer", project=PROJECT, role="roles/logging.viewer", member="allUsers")


def pubsub_bigquery(bad: str | None = None) -> None:
    """A table partitioned by day in a CMEK dataset, readable by one group, written by a service account."""
    ds = gcp.bigquery.Dataset("events", dataset_id="events", location="US",
                              default_encryption_configuration={"kms_key_name": KMS_KEY},
                              accesses=[{"role": "OWNER", "special_group": "projectOwners"},
                                        {"role": "WRITER", "user_by_email": SA}])
    gcp.bigquery.Table("clicks", dataset_id=ds.dataset_id, table_id="clicks", deletion_protection=True,
                       time_partitioning={"type": "DAY"}, encryption_configuration={"kms_key_name": KMS_KEY})
    member = "allAuthenticatedUsers" if bad == "public-table" else "group:analysts@example.com"
    gcp.bigquery.IamMember("clicks-reader", dataset_id=ds.dataset_id, table_id="clicks",
                           role="roles/bigquery.dataViewer", member=member)


FAMILIES = {
    "gcp-gcs-bucket": (gcs_bucket, {"public-member": ["gcs-bucket-no-public-access"],
                                    "no-pap": ["gcs-bucket-public-access-prevention"],
                                    "no-versioning": ["gcs-bucket-versioning"]}),
    "gcp-gke": (gke_cluster, {"public-nodes": ["gke-private-nodes"],
                              "open-control-plane": ["gke-control-plane-restricted"],
                              "legacy-abac": ["gke-legacy-abac-disabled"], "no-logging": ["gke-logging-monitoring"],
                              "no-shielded-nodes": ["gke-shielded-nodes"]}),
    "gcp-gke-autopilot": (gke_autopilot, {"world-authorized-network": ["gke-control-plane-restricted"]}),
    "gcp-bigquery": (bigquery_dataset, {"all-authenticated": ["bigquery-dataset-not-public"],
                                        "public-iam": ["gcp-iam-no-public-members"],
                                        "public-access-resource": ["bigquery-dataset-not-public"]}),
    "gcp-function-v1": (function_v1, {"python38": ["cloudfunctions-runtime-supported"],
                                      "http-allowed": ["cloudfunctions-https-only"],
                                      "public-invoker": ["cloudfunctions-not-public"],
                                      "secret-env": ["cloudfunctions-no-plaintext-secrets"]}),
    "gcp-function-v2": (function_v2, {"nodejs16": ["cloudfunctions-runtime-supported"],
                                      "secret-env": ["cloudfunctions-no-plaintext-secrets"],
                                      "public-invoker": ["cloudfunctions-not-public"]}),
    "gcp-cloud-sql": (cloud_sql, {"public-ip": ["cloudsql-no-public-ip"], "ssl-optional": ["cloudsql-ssl-required"],
                                  "literal-password": ["db-password-not-literal"]}),
    "gcp-cloud-run": (cloud_run, {"secret-env": ["cloudrun-no-plaintext-secrets"],
                                  "default-sa": ["cloudrun-dedicated-service-account"]}),
    "gcp-vm": (gce_vm, {"external-ip": ["gce-instance-no-public-ip"], "world-ssh": ["gcp-firewall-no-world-ingress"]}),
    "gcp-kms": (kms_key, {"no-rotation": ["gcp-kms-key-rotation"]}),
    "gcp-memorystore": (memorystore, {"no-auth": ["memorystore-auth-enabled"]}),
    "gcp-public-cloud-run": (public_cloud_run, {"secret-env": ["cloudrun-no-plaintext-secrets"],
                                                "public-project-role": ["gcp-iam-no-public-members"]}),
    "gcp-bigquery-table": (pubsub_bigquery, {"public-table": ["gcp-iam-no-public-members"]}),
}

NEEDS_REAL_SECRETS = {("gcp-cloud-sql", "literal-password")}
