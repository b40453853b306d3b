"""GCP Database (Cloud SQL), Cache (Memorystore) and Bucket (Cloud Storage): defaults, prod shape, options, and
the exact firewall rule or IAM binding each wiring method writes."""

from __future__ import annotations

import pytest
from helpers import DOCS, FakeWorkload, doc_example, documents_every_argument

from components.gcp.bucket import Bucket, BucketArgs
from components.gcp.cache import Cache, CacheArgs, redis_version
from components.gcp.common import Cmek
from components.gcp.database import Database, DatabaseArgs, database_version
from components.gcp.network import Network, NetworkArgs
from review.engine import run_callable

SQL = "gcp:sql/databaseInstance:DatabaseInstance"
REDIS = "gcp:redis/instance:Instance"
FIREWALL = "gcp:compute/firewall:Firewall"
KEY = "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"
MEMBER = "serviceAccount:app-run@demo-project.iam.gserviceaccount.com"


def data(db: dict | None = None, cache: dict | None = None, wire: bool = False):
    def prog():
        net = Network("net", NetworkArgs(region="us-central1"))
        app = FakeWorkload("app")
        if db is not None:
            d = Database("db", DatabaseArgs(network=net, region="us-central1", **db))
            if wire:
                d.allow_from(app)
                d.grant_connect(app)
        if cache is not None:
            c = Cache("cache", CacheArgs(network=net, region="us-central1", **cache))
            if wire:
                c.allow_from(app)
                c.grant_auth_read(app)
    return prog


PROD_DB = dict(tier="db-custom-2-7680", high_availability=True, backup_retention_days=30,
               point_in_time_recovery=True, deletion_protection=True, disk_size_gb=100, disk_autoresize_limit_gb=1000,
               kms_key=KEY, labels={"environment": "prod"}, protect=True)


@pytest.fixture(scope="module")
def dev():
    return run_callable(data(db={}, cache={}))


@pytest.fixture(scope="module")
def prod():
    return run_callable(data(db=PROD_DB, cache=dict(memory_size_gb=5, num_nodes=3, persistence=True,
                                                    deletion_protection=True, kms_key=KEY, secrets_kms_key=KEY,
                                                    protect=True), wire=True))


# -- Database -----------------------------------------------------------------------------------------------------
def test_database_defaults_private_encrypted_backed_up(dev):
    db = dev.by_name("db-pg", SQL)
    i, s = db.inputs, db.inputs["settings"]
    assert i["databaseVersion"] == "POSTGRES_16" and i["deletionProtection"] is False
    assert (s["tier"], s["edition"], s["availabilityType"], s["diskSize"], s["diskAutoresize"]) == (
        "db-f1-micro", "ENTERPRISE", "ZONAL", 20, False)
    ip = s["ipConfiguration"]
    assert ip["ipv4Enabled"] is False and ip["sslMode"] == "ENCRYPTED_ONLY"
    assert ip["privateNetwork"] == dev.by_name("net-vpc").id
    assert ip["allocatedIpRange"] == dev.by_name("net-services", "gcp:compute/globalAddress:GlobalAddress"
                                                 ).outputs["name"]
    assert s["backupConfiguration"] == {"enabled": True, "startTime": "03:00", "pointInTimeRecoveryEnabled": False,
                                        "backupRetentionSettings": {"retainedBackups": 1, "retentionUnit": "COUNT"}}
    flags = {f["name"]: f["value"] for f in s["databaseFlags"]}
    assert flags == {"log_min_duration_statement": "1000", "log_lock_waits": "on", "cloudsql.iam_authentication": "on",
                     # the CIS PostgreSQL logging flags and pgAudit (issue 14, docs/hardening.md)
                     "log_checkpoints": "on", "log_connections": "on", "log_disconnections": "on",
                     "log_hostname": "on", "log_min_error_statement": "error", "log_min_messages": "warning",
                     "log_statement": "ddl", "cloudsql.enable_pgaudit": "on", "pgaudit.log": "ddl,role"}
    assert s["insightsConfig"]["queryInsightsEnabled"] is True and s["insightsConfig"]["recordClientAddress"] is False
    conn = dev.by_name("net-services", "gcp:servicenetworking/connection:Connection")
    assert conn.urn in db.options["dependsOn"], "the instance waits for private services access"
    assert not db.options["protect"] and "encryptionKeyName" not in i
    assert not dev.by_type("gcp:sql/user:User") and not dev.by_type("gcp:projects/iAMMember:IAMMember")


def test_database_prod_shape(prod):
    db = prod.by_name("db-pg", SQL)
    i, s = db.inputs, db.inputs["settings"]
    assert (s["availabilityType"], i["deletionProtection"], s["deletionProtectionEnabled"]) == ("REGIONAL", True, True)
    assert i["encryptionKeyName"] == KEY and db.options["protect"] is True
    assert s["backupConfiguration"]["pointInTimeRecoveryEnabled"] is True
    assert s["backupConfiguration"]["transactionLogRetentionDays"] == 7
    assert s["backupConfiguration"]["backupRetentionSettings"]["retainedBackups"] == 30
    assert (s["diskAutoresize"], s["diskAutoresizeLimit"]) == (True, 1000)
    assert s["userLabels"] == {"environment": "prod"}


def test_database_wiring_writes_one_path_and_conditioned_client_bindings(prod):
    rule = prod.inputs("db-from-app", FIREWALL)
    assert rule == {
        "network": "projects/p/global/networks/vpc", "direction": "EGRESS", "priority": 1000,
        "allows": [{"protocol": "tcp", "ports": ["5432", "3307"]}], "destinationRanges": ["10.20.0.3/32"],
        "targetTags": ["backend-service"], "logConfig": {"metadata": "INCLUDE_ALL_METADATA"},
        "description": "app to Cloud SQL db"}
    instance = prod.by_name("db-pg", SQL).outputs["name"]
    bindings = {r.inputs["role"]: r.inputs for r in prod.by_type("gcp:projects/iAMMember:IAMMember")}
    assert set(bindings) == {"roles/cloudsql.client", "roles/cloudsql.instanceUser"}
    for b in bindings.values():
        assert b["member"] == MEMBER and b["project"] == "demo-project"
        assert b["condition"]["expression"] == ('resource.type == "sqladmin.googleapis.com/Instance" && '
                                                f'resource.name == "projects/demo-project/instances/{instance}"')
    user = prod.inputs("db-app", "gcp:sql/user:User")
    assert user == {"instance": instance, "name": "app-run@demo-project.iam", "type": "CLOUD_IAM_SERVICE_ACCOUNT"}


def test_database_password_mode_reads_the_password_from_secret_manager():
    g = run_callable(data(db={"iam_authentication": False, "password_secret": "projects/p/secrets/db-password"}))
    flags = {f["name"] for f in g.inputs("db-pg", SQL)["settings"]["databaseFlags"]}
    assert "cloudsql.iam_authentication" not in flags
    user = g.inputs("db-app", "gcp:sql/user:User")
    assert (user["name"], user["type"], user["password"]) == ("app", "BUILT_IN", "[secret]")
    with pytest.raises(ValueError, match="password_secret"):
        DatabaseArgs(network=object(), region="r", iam_authentication=False)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shared-core"):
        DatabaseArgs(network=object(), region="r", high_availability=True)  # type: ignore[arg-type]
    assert database_version("15") == "POSTGRES_15"


# -- Cache --------------------------------------------------------------------------------------------------------
def test_cache_defaults_basic_tls_auth(dev):
    r = dev.inputs("cache-redis", REDIS)
    assert (r["tier"], r["memorySizeGb"], r["redisVersion"]) == ("BASIC", 1, "REDIS_7_2")
    assert (r["connectMode"], r["authEnabled"], r["transitEncryptionMode"]) == (
        "PRIVATE_SERVICE_ACCESS", True, "SERVER_AUTHENTICATION")
    assert r["persistenceConfig"] == {"persistenceMode": "DISABLED"} and r["deletionProtection"] is False
    assert r["maintenancePolicy"]["weeklyMaintenanceWindows"][0]["day"] == "SUNDAY"
    assert "replicaCount" not in r and "readReplicasMode" not in r
    version = dev.inputs("cache-auth", "gcp:secretmanager/secretVersion:SecretVersion")
    assert version["secretData"] == "[secret]"
    secret = dev.inputs("cache-auth", "gcp:secretmanager/secret:Secret")
    assert secret["replication"] == {"userManaged": {"replicas": [{"location": "us-central1"}]}}


def test_cache_prod_is_ha_with_read_replicas_persistence_and_cmek(prod):
    cache = prod.by_name("cache-redis", REDIS)
    r = cache.inputs
    assert (r["tier"], r["replicaCount"], r["readReplicasMode"]) == ("STANDARD_HA", 2, "READ_REPLICAS_ENABLED")
    assert r["persistenceConfig"] == {"persistenceMode": "RDB", "rdbSnapshotPeriod": "TWELVE_HOURS"}
    assert r["customerManagedKey"] == KEY and cache.options["protect"] is True
    secret = prod.inputs("cache-auth", "gcp:secretmanager/secret:Secret")
    assert secret["replication"]["userManaged"]["replicas"][0]["customerManagedEncryption"] == {"kmsKeyName": KEY}


def test_small_ha_cache_has_a_failover_replica_but_no_read_replicas():
    r = run_callable(data(cache={"num_nodes": 2})).inputs("cache-redis", REDIS)
    assert r["tier"] == "STANDARD_HA" and "readReplicasMode" not in r and "replicaCount" not in r
    assert redis_version("8.0") == "REDIS_7_2" and redis_version("6.2") == "REDIS_6_2"


def test_cache_wiring(prod):
    rule = prod.inputs("cache-from-app", FIREWALL)
    assert rule["allows"] == [{"protocol": "tcp", "ports": ["6378"]}] and rule["targetTags"] == ["backend-service"]
    assert rule["destinationRanges"][0] == "10.30.0.4/32" and len(rule["destinationRanges"]) == 2
    grant = prod.inputs("cache-auth-app", "gcp:secretmanager/secretIamMember:SecretIamMember")
    assert grant == {"secretId": prod.by_name("cache-auth", "gcp:secretmanager/secret:Secret").id,
                     "role": "roles/secretmanager.secretAccessor", "member": MEMBER}


def test_cache_grant_connect_is_reading_the_auth_string():
    """Every data store has ``grant_connect``; Memorystore for Redis has no IAM login, so connecting means
    reading the AUTH string: one secretAccessor binding on that secret, as ``grant_auth_read`` writes."""
    def prog():
        net = Network("net", NetworkArgs(region="us-central1"))
        c = Cache("cache", CacheArgs(network=net, region="us-central1"))
        c.grant_connect(FakeWorkload("app"))
    g = run_callable(prog)
    [grant] = g.by_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert grant.name == "cache-auth-app" and grant.inputs == {
        "secretId": g.by_name("cache-auth", "gcp:secretmanager/secret:Secret").id,
        "role": "roles/secretmanager.secretAccessor", "member": MEMBER}


# -- Bucket -------------------------------------------------------------------------------------------------------
def bucket(**kw):
    def prog():
        b = Bucket("assets", BucketArgs(location="us-central1", **kw))
        b.grant_read_write(FakeWorkload("app"))
    return run_callable(prog)


def test_bucket_defaults_and_read_write_grant():
    g = bucket()
    b = g.inputs("assets-bucket")
    assert (b["uniformBucketLevelAccess"], b["publicAccessPrevention"], b["versioning"]) == (
        True, "enforced", {"enabled": True})
    assert (b["location"], b["storageClass"], b["forceDestroy"]) == ("US-CENTRAL1", "STANDARD", False)
    assert b["softDeletePolicy"] == {"retentionDurationSeconds": 604800}
    actions = [(r["action"]["type"], r["condition"]) for r in b["lifecycleRules"]]
    assert actions == [
        ("Delete", {"daysSinceNoncurrentTime": 30, "withState": "ARCHIVED"}),
        ("AbortIncompleteMultipartUpload", {"age": 1}),
        ("Delete", {"numNewerVersions": 3, "withState": "ARCHIVED"}),
    ]
    assert "encryption" not in b and "logging" not in b
    assert g.inputs("assets-rw-app") == {"bucket": g.by_name("assets-bucket").outputs["name"],
                                         "role": "roles/storage.objectUser", "member": MEMBER}


def test_bucket_options():
    g = bucket(nearline_after_days=60, access_log_bucket="logs-bucket", kms_key=Cmek(key_id=KEY), protect=True,
               max_noncurrent_versions=None)
    b = g.by_name("assets-bucket")
    assert b.inputs["encryption"] == {"defaultKmsKeyName": KEY} and b.options["protect"] is True
    assert b.inputs["logging"] == {"logBucket": "logs-bucket", "logObjectPrefix": "assets"}
    rules = b.inputs["lifecycleRules"]
    assert len(rules) == 3 and rules[-1] == {"action": {"type": "SetStorageClass", "storageClass": "NEARLINE"},
                                             "condition": {"age": 60, "matchesStorageClasses": ["STANDARD"],
                                                           "withState": "LIVE"}}
    with pytest.raises(ValueError, match="soft_delete_days"):
        BucketArgs(location="us-central1", soft_delete_days=3)


@pytest.mark.parametrize(("page", "args", "kind"), [
    ("gcp-database.md", DatabaseArgs, "backend:gcp:Database"), ("gcp-cache.md", CacheArgs, "backend:gcp:Cache"),
    ("gcp-bucket.md", BucketArgs, "backend:gcp:Bucket")])
def test_docs_example_runs_and_documents_every_argument(page, args, kind):
    g = run_callable(doc_example(DOCS / page))
    assert g.by_type(kind)
    assert not documents_every_argument(DOCS / page, args)
