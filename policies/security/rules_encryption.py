"""Encryption at rest (storage, databases, caches, log groups, topics, volumes, keys) and in transit (listeners,
TLS policies, caches, database SSL, GCP SSL policies)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping

from policies.common import (
    Context,
    Res,
    ResourceIndex,
    as_list,
    is_true,
    is_unknown,
    parse_json,
    resource_rule,
    stack_rule,
)

from ._helpers import (
    CLOUD_SQL,
    LISTENERS,
    MEMORYSTORE,
    RDS_CLUSTER,
    RDS_INSTANCE,
    REPLICATION_GROUP,
    S3_BUCKETS,
    requires_insecure_transport,
)

AT_REST = "encryption-at-rest"
IN_TRANSIT = "encryption-in-transit"

SSE_CONFIG = ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
              "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")


# -- at rest -----------------------------------------------------------------------------------------------------
@stack_rule(
    "s3-bucket-encryption", category=AT_REST, severity="medium",
    description="Every S3 bucket has a server-side encryption configuration (SSE-KMS when requireKms is set).",
    remediation="Add aws.s3.BucketServerSideEncryptionConfiguration with sse_algorithm \"aws:kms\" (a customer-"
                "managed key, bucket_key_enabled=True); buckets receiving ALB access logs must use \"AES256\".",
    config={"requireKms": {"type": "boolean", "default": False,
                           "description": "Require aws:kms / aws:kms:dsse rather than AES256."}},
)
def s3_encryption(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    configs = index.of_type(*SSE_CONFIG)
    for bucket in index.of_type(*S3_BUCKETS):
        inline = bucket.get("serverSideEncryptionConfiguration") or bucket.get("serverSideEncryptionConfigurations")
        mine = [c for c in configs if bucket in index.referenced(c, "bucket", S3_BUCKETS, ("bucket",))]
        if not mine and not inline:
            yield bucket, "the bucket has no server-side encryption configuration"
            continue
        if ctx.config.get("requireKms"):
            for c in mine:
                for rule in as_list(c.get("rules")):
                    algo = (rule or {}).get("applyServerSideEncryptionByDefault", {}).get("sseAlgorithm") \
                        if isinstance(rule, Mapping) else None
                    if isinstance(algo, str) and not is_unknown(algo) and not algo.startswith("aws:kms"):
                        yield bucket, f"its encryption uses {algo}, not SSE-KMS"


@resource_rule(
    "rds-storage-encrypted", category=AT_REST, severity="high", types=(RDS_INSTANCE, RDS_CLUSTER),
    description="RDS instances and Aurora/Multi-AZ clusters encrypt their storage.",
    remediation="Set storage_encrypted=True with kms_key_id of a customer-managed key (an existing unencrypted "
                "database needs a snapshot copy with encryption and a restore).",
)
def rds_encrypted(r: Res, ctx: Context) -> Iterator[str]:
    if r.has("replicateSourceDb") or r.has("replicationSourceIdentifier") or r.has("globalClusterIdentifier"):
        return  # replicas inherit the source's encryption
    if r.get("engineMode") == "serverless":
        return  # Aurora Serverless v1 is always encrypted
    v = r.get("storageEncrypted")
    if is_unknown(v):
        return
    if not is_true(v):
        yield "storageEncrypted is not true"


@resource_rule(
    "elasticache-encryption-at-rest", category=AT_REST, severity="high", types=(REPLICATION_GROUP,),
    description="ElastiCache replication groups encrypt data at rest.",
    remediation="Set at_rest_encryption_enabled=True (and kms_key_id for a customer-managed key); changing it "
                "replaces the group.",
)
def elasticache_at_rest(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("atRestEncryptionEnabled")
    if is_unknown(v):
        return
    if not is_true(v):
        yield "atRestEncryptionEnabled is not true"


@resource_rule(
    "log-group-encrypted", category=AT_REST, severity="medium", types=("aws:cloudwatch/logGroup:LogGroup",),
    enforcement="advisory",
    rationale="Advisory: CloudWatch Logs always encrypts at rest; a customer-managed key is Checkov CKV_AWS_158 "
              "hygiene, not an FSBP or CIS defect. Mandatory for backend-hosting (config/backend-hosting.json).",
    description="CloudWatch log groups are encrypted with a customer-managed KMS key.",
    remediation="Set kms_key_id to a KMS key whose policy allows the logs.<region>.amazonaws.com service principal.",
)
def log_group_encrypted(r: Res, ctx: Context) -> Iterator[str]:
    if not r.has("kmsKeyId"):
        yield "kmsKeyId is not set (AWS-owned key only)"


@resource_rule(
    "sns-topic-encrypted", category=AT_REST, severity="medium", types=("aws:sns/topic:Topic",),
    description="SNS topics are encrypted with KMS.",
    remediation="Set kms_master_key_id to a customer-managed key (whose policy allows the publishing services) or "
                "alias/aws/sns.",
)
def sns_encrypted(r: Res, ctx: Context) -> Iterator[str]:
    if not r.has("kmsMasterKeyId"):
        yield "kmsMasterKeyId is not set"


@resource_rule(
    "ebs-volume-encrypted", category=AT_REST, severity="high", types=("aws:ebs/volume:Volume",),
    description="EBS volumes are encrypted.",
    remediation="Set encrypted=True (with kms_key_id for a customer-managed key), or enable EBS encryption by "
                "default for the account and region.",
)
def ebs_encrypted(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("encrypted")
    if is_unknown(v) or r.has("snapshotId"):
        return
    if not is_true(v):
        yield "encrypted is not true"


@resource_rule(
    "kms-key-rotation-enabled", category=AT_REST, severity="medium", types=("aws:kms/key:Key",),
    description="Symmetric customer-managed KMS keys rotate automatically.",
    remediation="Set enable_key_rotation=True (rotation_period_in_days defaults to 365).",
)
def kms_rotation(r: Res, ctx: Context) -> Iterator[str]:
    spec = r.get("customerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    usage = r.get("keyUsage") or "ENCRYPT_DECRYPT"
    if spec != "SYMMETRIC_DEFAULT" or usage != "ENCRYPT_DECRYPT" or r.has("customKeyStoreId"):
        return  # rotation is not available for asymmetric, HMAC or external keys
    v = r.get("enableKeyRotation")
    if is_unknown(v):
        return
    if not is_true(v):
        yield "enableKeyRotation is not true"


@resource_rule(
    "gcp-kms-key-rotation", category=AT_REST, severity="medium", types=("gcp:kms/cryptoKey:CryptoKey",),
    description="Cloud KMS symmetric keys rotate at least every maxRotationDays days.",
    remediation="Set rotation_period, e.g. \"7776000s\" (90 days).",
    config={"maxRotationDays": {"type": "integer", "default": 90, "minimum": 1,
                                "description": "Longest allowed rotation period, in days."}},
)
def gcp_kms_rotation(r: Res, ctx: Context) -> Iterator[str]:
    if (r.get("purpose") or "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT":
        return
    v = r.get("rotationPeriod")
    if is_unknown(v):
        return
    max_days = int(ctx.config.get("maxRotationDays") or 90)
    if not v:
        yield "rotationPeriod is not set: the key never rotates"
        return
    m = re.fullmatch(r"(\d+(?:\.\d+)?)s", str(v))
    if m and float(m.group(1)) > max_days * 86400:
        yield f"rotationPeriod {v} is longer than {max_days} days"


@resource_rule(
    "cloudtrail-encrypted", category=AT_REST, severity="medium", types=("aws:cloudtrail/trail:Trail",),
    description="CloudTrail log files are encrypted with a customer-managed KMS key.",
    remediation="Set kms_key_id to a KMS key whose policy allows cloudtrail.amazonaws.com to encrypt.",
)
def cloudtrail_encrypted(r: Res, ctx: Context) -> Iterator[str]:
    if not r.has("kmsKeyId"):
        yield "kmsKeyId is not set"


@resource_rule(
    "secretsmanager-secret-cmk", category=AT_REST, severity="low", enforcement="advisory",
    types=("aws:secretsmanager/secret:Secret",),
    description="Secrets Manager secrets are encrypted with a customer-managed KMS key (key policy controls who "
                "can decrypt, and cross-account access is possible).",
    remediation="Set kms_key_id to a customer-managed key whose policy allows the roles that read the secret.",
)
def secret_cmk(r: Res, ctx: Context) -> Iterator[str]:
    if not r.has("kmsKeyId"):
        yield "kmsKeyId is not set (aws/secretsmanager managed key)"


# -- in transit --------------------------------------------------------------------------------------------------
def _listener_protocol(r: Res) -> str | None:
    p = r.get("protocol")
    if is_unknown(p):
        return None
    return str(p).upper() if p else "HTTP"


@resource_rule(
    "lb-listener-https-only", category=IN_TRANSIT, severity="high", types=LISTENERS,
    description="Load balancer listeners serve HTTPS (or TLS); an HTTP listener only redirects to HTTPS.",
    remediation="Serve traffic on an HTTPS listener; make the port-80 listener's default action "
                "{type: \"redirect\", redirect: {protocol: \"HTTPS\", port: \"443\", status_code: \"HTTP_301\"}}.",
)
def listener_https_only(r: Res, ctx: Context) -> Iterator[str]:
    if _listener_protocol(r) != "HTTP":
        return
    actions = r.get("defaultActions")
    if is_unknown(actions):
        return
    for i, a in enumerate(as_list(actions)):
        if not isinstance(a, Mapping):
            continue
        if a.get("type") != "redirect" or str((a.get("redirect") or {}).get("protocol", "")).upper() != "HTTPS":
            yield f"the HTTP listener's default action #{i + 1} is {a.get('type')!r}, not a redirect to HTTPS"


DEFAULT_TLS_POLICIES = ["ELBSecurityPolicy-TLS13-1-2-*", "ELBSecurityPolicy-TLS13-1-3-*", "ELBSecurityPolicy-FS-1-2-*",
                        "ELBSecurityPolicy-TLS-1-2-*"]


@resource_rule(
    "lb-listener-tls-policy", category=IN_TRANSIT, severity="high", types=LISTENERS,
    description="HTTPS/TLS listeners use a current TLS policy (TLS 1.2 minimum), set explicitly.",
    remediation="Set ssl_policy=\"ELBSecurityPolicy-TLS13-1-2-2021-06\" (or another TLS 1.2+ policy).",
    config={"allowedPolicies": {"type": "array", "items": {"type": "string"}, "default": DEFAULT_TLS_POLICIES,
                                "description": "Allowed ssl_policy names (fnmatch patterns)."}},
)
def listener_tls_policy(r: Res, ctx: Context) -> Iterator[str]:
    if _listener_protocol(r) not in ("HTTPS", "TLS"):
        return
    policy = r.get("sslPolicy")
    if is_unknown(policy):
        return
    allowed = list(ctx.config.get("allowedPolicies") or DEFAULT_TLS_POLICIES)
    if not policy:
        yield "sslPolicy is not set (the default policy still allows TLS 1.0 and 1.1)"
    elif not any(fnmatch.fnmatchcase(str(policy), p) for p in allowed):
        yield f"sslPolicy {policy} is not a current TLS 1.2+ policy"


@resource_rule(
    "acm-certificate-strong-key", category=IN_TRANSIT, severity="medium", types=("aws:acm/certificate:Certificate",),
    description="ACM certificates use a 2048-bit RSA or an EC key and keep certificate transparency logging on.",
    remediation="Set key_algorithm=\"EC_prime256v1\" or \"RSA_2048\" and leave options."
                "certificate_transparency_logging_preference ENABLED.",
)
def acm_strong_key(r: Res, ctx: Context) -> Iterator[str]:
    algo = r.get("keyAlgorithm")
    if isinstance(algo, str) and algo.upper() in ("RSA_1024",):
        yield f"keyAlgorithm {algo} is too weak"
    if r.get("options.certificateTransparencyLoggingPreference") == "DISABLED":
        yield "certificate transparency logging is disabled"


@resource_rule(
    "elasticache-transit-encryption", category=IN_TRANSIT, severity="high",
    types=(REPLICATION_GROUP, "aws:elasticache/cluster:Cluster"),
    description="ElastiCache encrypts traffic in transit (TLS), in required mode.",
    remediation="Set transit_encryption_enabled=True (and transit_encryption_mode=\"required\" once clients use "
                "TLS).",
)
def elasticache_transit(r: Res, ctx: Context) -> Iterator[str]:
    if r.type == "aws:elasticache/cluster:Cluster" and r.has("replicationGroupId"):
        return  # a member of a replication group: judged on the group
    v = r.get("transitEncryptionEnabled")
    if is_unknown(v):
        return
    if not is_true(v):
        yield "transitEncryptionEnabled is not true"
    elif r.get("transitEncryptionMode") == "preferred":
        yield "transitEncryptionMode is \"preferred\": clients may still connect without TLS"


PG = "aws:rds/parameterGroup:ParameterGroup"
CPG = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
SSL_PARAMS = {"rds.force_ssl": ("1", "true", "on"), "require_secure_transport": ("1", "on", "true")}


def _ssl_param(engine: str) -> str | None:
    e = engine.lower()
    if "postgres" in e:
        return "rds.force_ssl"
    if "mysql" in e or "mariadb" in e:
        return "require_secure_transport"
    return None


def _major(version: object) -> int | None:
    m = re.match(r"(\d+)", str(version or ""))
    return int(m.group(1)) if m else None


@stack_rule(
    "rds-ssl-enforced", category=IN_TRANSIT, severity="high",
    description="PostgreSQL/MySQL databases reject unencrypted connections: their (cluster) parameter group sets "
                "rds.force_ssl=1 or require_secure_transport=ON (RDS PostgreSQL 15+ default groups do).",
    remediation="Attach a parameter group with rds.force_ssl=1 (PostgreSQL) or require_secure_transport=ON (MySQL, "
                "MariaDB); for Aurora use a cluster parameter group.",
)
def rds_ssl(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    for db in index.of_type(RDS_INSTANCE, RDS_CLUSTER):
        engine = db.get("engine")
        if not isinstance(engine, str) or is_unknown(engine):
            continue
        param = _ssl_param(engine)
        if param is None:
            continue
        if db.type == RDS_INSTANCE:
            if db.has("replicateSourceDb"):
                continue
            prop, types = "parameterGroupName", (PG,)
        else:
            prop, types = "dbClusterParameterGroupName", (CPG,)
        groups = index.referenced(db, prop, types, ("name",))
        if not groups:
            if db.has(prop):
                continue  # a parameter group managed elsewhere: cannot be judged here
            if db.type == RDS_INSTANCE and "postgres" in engine and (_major(db.get("engineVersion")) or 99) >= 15:
                continue  # RDS PostgreSQL 15+ default parameter groups force SSL
            yield db, f"uses the default parameter group, which does not set {param}"
            continue
        for g in groups:
            values = {str(p.get("name")): str(p.get("value", "")).lower() for p in as_list(g.get("parameters"))
                      if isinstance(p, Mapping)}
            v = values.get(param)
            if v is None:
                yield db, f"its parameter group {g.name!r} does not set {param}"
            elif not is_unknown(v) and v not in SSL_PARAMS[param]:
                yield db, f"its parameter group {g.name!r} sets {param}={v}"


BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"


def _denies_plain_http(stmt: Mapping[str, object]) -> bool:
    """A Deny for everyone, on every S3 action, when the request is not TLS (``aws:SecureTransport`` false)."""
    if str(stmt.get("Effect", "")).lower() != "deny":
        return False
    principal = stmt.get("Principal")
    if not (principal == "*" or (isinstance(principal, Mapping) and "*" in as_list(principal.get("AWS")))):
        return False
    if not {"s3:*", "*"} & {str(a).lower() for a in as_list(stmt.get("Action"))}:
        return False
    return requires_insecure_transport(stmt.get("Condition"), ("Bool", "BoolIfExists"))


@stack_rule(
    "s3-bucket-tls-only", category=IN_TRANSIT, severity="medium", enforcement="advisory",
    rationale="Advisory: without such a policy S3 still answers plain HTTP, but SDKs and the console use TLS; "
              "FSBP S3.5 rates it medium. This project makes it mandatory.",
    description="Every S3 bucket's policy denies requests that do not use TLS (Deny, Principal \"*\", s3:*, "
                "aws:SecureTransport false).",
    remediation="Add to the bucket policy {Sid: \"DenyInsecureTransport\", Effect: \"Deny\", Principal: \"*\", "
                "Action: \"s3:*\", Resource: [bucket ARN, bucket ARN/*], Condition: {Bool: {\"aws:SecureTransport\": "
                "\"false\"}}} (the Bucket component does).",
)
def s3_tls_only(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    policies = index.of_type(BUCKET_POLICY)
    for bucket in index.of_type(*S3_BUCKETS):
        docs = [p.get("policy") for p in policies if bucket in index.referenced(p, "bucket", S3_BUCKETS, ("bucket",))]
        if bucket.has("policy"):
            docs.append(bucket.get("policy"))
        if not docs:
            yield bucket, "the bucket has no policy, so requests without TLS are accepted"
            continue
        parsed = [parse_json(d) for d in docs]
        if any(d is None for d in parsed):
            continue  # computed at deploy time (or not JSON): cannot be judged
        if not any(_denies_plain_http(st) for d in parsed if isinstance(d, Mapping)
                   for st in as_list(d.get("Statement")) if isinstance(st, Mapping)):
            yield bucket, "its policy does not deny requests without TLS (aws:SecureTransport false)"


@resource_rule(
    "cloudsql-ssl-required", category=IN_TRANSIT, severity="high", types=(CLOUD_SQL,),
    description="Cloud SQL instances accept only encrypted connections.",
    remediation="Set settings.ip_configuration.ssl_mode=\"ENCRYPTED_ONLY\" (or "
                "\"TRUSTED_CLIENT_CERTIFICATE_REQUIRED\").",
)
def cloudsql_ssl(r: Res, ctx: Context) -> Iterator[str]:
    mode = r.get("settings.ipConfiguration.sslMode")
    if is_unknown(mode):
        return
    if mode not in ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"):
        yield f"settings.ipConfiguration.sslMode is {mode or 'unset (unencrypted connections allowed)'}"


@resource_rule(
    "gcp-ssl-policy-tls12", category=IN_TRANSIT, severity="high", types=("gcp:compute/sSLPolicy:SSLPolicy",),
    description="GCP SSL policies require TLS 1.2 or later.",
    remediation="Set min_tls_version=\"TLS_1_2\" and profile=\"MODERN\" or \"RESTRICTED\".",
)
def gcp_ssl_policy(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("minTlsVersion")
    if is_unknown(v):
        return
    if v not in ("TLS_1_2", "TLS_1_3"):
        yield f"minTlsVersion is {v or 'unset (TLS_1_0)'}"


@resource_rule(
    "gcp-https-proxy-ssl-policy", category=IN_TRANSIT, severity="medium",
    types=("gcp:compute/targetHttpsProxy:TargetHttpsProxy", "gcp:compute/targetSSLProxy:TargetSSLProxy"),
    description="GCP HTTPS/SSL proxies have an SSL policy (the default policy allows TLS 1.0).",
    remediation="Create a gcp.compute.SSLPolicy with min_tls_version=\"TLS_1_2\" and set ssl_policy on the proxy.",
)
def gcp_proxy_ssl_policy(r: Res, ctx: Context) -> Iterator[str]:
    if not r.has("sslPolicy"):
        yield "sslPolicy is not set: the Google default policy allows TLS 1.0"


@stack_rule(
    "gcp-http-redirects-to-https", category=IN_TRANSIT, severity="high",
    description="A GCP HTTP proxy only redirects to HTTPS: its URL map's default_url_redirect has https_redirect.",
    remediation="Give the HTTP proxy its own gcp.compute.URLMap with default_url_redirect={https_redirect: True, "
                "strip_query: False}.",
)
def gcp_http_redirect(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    maps = ("gcp:compute/uRLMap:URLMap", "gcp:compute/regionUrlMap:RegionUrlMap")
    for proxy in index.of_type("gcp:compute/targetHttpProxy:TargetHttpProxy",
                               "gcp:compute/regionTargetHttpProxy:RegionTargetHttpProxy"):
        for um in index.referenced(proxy, "urlMap", maps, ("name",)):
            redirect = um.get("defaultUrlRedirect.httpsRedirect")
            if is_unknown(redirect):
                continue
            if not is_true(redirect):
                yield proxy, f"its URL map {um.name!r} serves plain HTTP instead of redirecting to HTTPS"


@resource_rule(
    "memorystore-transit-encryption", category=IN_TRANSIT, severity="high", types=(MEMORYSTORE,),
    description="Memorystore for Redis encrypts traffic in transit.",
    remediation="Set transit_encryption_mode=\"SERVER_AUTHENTICATION\" (clients use the instance's CA).",
)
def memorystore_transit(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("transitEncryptionMode")
    if is_unknown(v):
        return
    if v != "SERVER_AUTHENTICATION":
        yield f"transitEncryptionMode is {v or 'unset (DISABLED)'}"


RULES = [
    s3_encryption, rds_encrypted, elasticache_at_rest, log_group_encrypted, sns_encrypted, ebs_encrypted, kms_rotation,
    gcp_kms_rotation, cloudtrail_encrypted, secret_cmk,
    listener_https_only, listener_tls_policy, acm_strong_key, elasticache_transit, rds_ssl, s3_tls_only, cloudsql_ssl,
    gcp_ssl_policy, gcp_proxy_ssl_policy, gcp_http_redirect, memorystore_transit,
]
