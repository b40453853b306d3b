"""Data services beyond the core stack: SQS, Secrets Manager rotation, EFS, Kinesis and Firehose, OpenSearch,
DocumentDB, BigQuery, and database passwords written as literals in the program.

References: Checkov (CKV_AWS_27, CKV2_AWS_57, CKV_AWS_42, CKV_AWS_43, CKV_AWS_240, CKV_AWS_5/6/83/84/228/247,
CKV_AWS_74/85/104, CKV_GCP_15/81), AWS FSBP (SQS.1, SecretsManager.1, EFS.1, Kinesis.1, DataFirehose.1,
Opensearch.1-5/8, DocumentDB.1/2/4), CIS GCP 7.1-7.3.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.common import (
    SECRET_MARKER,
    Context,
    Res,
    ResourceIndex,
    as_list,
    is_true,
    is_unknown,
    resource_rule,
    stack_rule,
)

from ._helpers import (
    SECRET_REFERENCE_RE,
    public_principal_statements,
    requires_insecure_transport,
    statements,
    stmt_label,
)

AT_REST = "encryption-at-rest"
IN_TRANSIT = "encryption-in-transit"
EXPOSURE = "public-exposure"
LOGGING = "logging"
BACKUP = "backup-and-data-loss"
SECRETS = "plaintext-secrets"

QUEUE = "aws:sqs/queue:Queue"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
EFS = "aws:efs/fileSystem:FileSystem"
EFS_POLICY = "aws:efs/fileSystemPolicy:FileSystemPolicy"
STREAM = "aws:kinesis/stream:Stream"
FIREHOSE = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
SEARCH_DOMAINS = ("aws:opensearch/domain:Domain", "aws:elasticsearch/domain:Domain")
SEARCH_POLICIES = ("aws:opensearch/domainPolicy:DomainPolicy", "aws:elasticsearch/domainPolicy:DomainPolicy")
DOCDB = "aws:docdb/cluster:Cluster"
DOCDB_PG = "aws:docdb/clusterParameterGroup:ClusterParameterGroup"
DATASET = "gcp:bigquery/dataset:Dataset"
DATASET_ACCESS = "gcp:bigquery/datasetAccess:DatasetAccess"


# -- SQS ---------------------------------------------------------------------------------------------------------
@resource_rule(
    "sqs-queue-encrypted", category=AT_REST, severity="medium", types=(QUEUE,),
    description="SQS queues are encrypted at rest, with SSE-SQS or a KMS key, set explicitly (FSBP SQS.1, Checkov "
                "CKV_AWS_27).",
    remediation="Set kms_master_key_id to a customer-managed key (or alias/aws/sqs), or sqs_managed_sse_enabled=True.",
)
def sqs_encrypted(r: Res, ctx: Context) -> Iterator[str]:
    kms, sse = r.get("kmsMasterKeyId"), r.get("sqsManagedSseEnabled")
    if is_unknown(kms) or is_unknown(sse) or kms or is_true(sse):
        return
    yield ("sqsManagedSseEnabled is false and no kmsMasterKeyId: messages are stored unencrypted" if sse is not None
           else "neither kmsMasterKeyId nor sqsManagedSseEnabled is set")


# -- Secrets Manager ---------------------------------------------------------------------------------------------
@stack_rule(
    "secretsmanager-rotation", category=BACKUP, severity="medium",
    description="Secrets Manager secrets rotate automatically: an aws.secretsmanager.SecretRotation refers to each "
                "secret (FSBP SecretsManager.1, Checkov CKV2_AWS_57).",
    remediation="Add aws.secretsmanager.SecretRotation(secret_id=secret.id, rotation_lambda_arn=..., "
                "rotation_rules={automatically_after_days: 30}); for database credentials prefer "
                "manage_master_user_password=True, which RDS rotates. A credential that cannot rotate (a third "
                "party's API key) is a waiver with its reason.",
    config={"maxDays": {"type": "integer", "default": 90, "minimum": 1,
                        "description": "Longest allowed rotation interval, in days."}},
)
def secret_rotation(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    rotations = index.of_type(SECRET_ROTATION)
    max_days = int(ctx.config.get("maxDays") or 90)
    for s in index.of_type(SECRET):
        mine = [x for x in rotations if s in index.referenced(x, "secretId", (SECRET,), ("name",))]
        if not mine:
            yield s, "the secret has no SecretRotation: it never rotates"
            continue
        for x in mine:
            days = x.get("rotationRules.automaticallyAfterDays")
            if isinstance(days, (int, float)) and not isinstance(days, bool) and days > max_days:
                yield s, f"its rotation runs every {int(days)} days, more than {max_days}"


# -- EFS ---------------------------------------------------------------------------------------------------------
@resource_rule(
    "efs-encrypted", category=AT_REST, severity="high", types=(EFS,),
    description="EFS file systems are encrypted at rest (FSBP EFS.1, Checkov CKV_AWS_42).",
    remediation="Set encrypted=True (and kms_key_id for a customer-managed key); it cannot be changed later, so "
                "create a new file system and copy the data.",
)
def efs_encrypted(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("encrypted")
    if not is_unknown(v) and not is_true(v):
        yield "encrypted is not true"


def _denies_insecure_transport(doc: Any) -> bool:
    return any(str(s.get("Effect", "")).lower() == "deny" and requires_insecure_transport(s.get("Condition"))
               for s in statements(doc))


@stack_rule(
    "efs-tls-enforced", category=IN_TRANSIT, severity="low", enforcement="advisory",
    description="EFS file systems refuse unencrypted NFS: a file system policy denies requests without "
                "aws:SecureTransport (mount with the tls option; AWS EFS encryption-in-transit guidance).",
    remediation="Add aws.efs.FileSystemPolicy with a Deny statement on \"*\" conditioned on "
                "{\"Bool\": {\"aws:SecureTransport\": \"false\"}}, and mount with -o tls.",
)
def efs_tls(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    policies = index.of_type(EFS_POLICY)
    for fs in index.of_type(EFS):
        mine = [p for p in policies if fs in index.referenced(p, "fileSystemId", (EFS,))]
        if any(is_unknown(p.get("policy")) for p in mine):
            continue
        if not any(_denies_insecure_transport(p.get("policy")) for p in mine):
            yield fs, "no file system policy denies access without TLS (aws:SecureTransport)"


# -- Kinesis and Firehose ----------------------------------------------------------------------------------------
@resource_rule(
    "kinesis-encrypted", category=AT_REST, severity="medium", types=(STREAM, FIREHOSE),
    description="Kinesis data streams use KMS encryption and Firehose delivery streams (direct PUT) enable "
                "server-side encryption (FSBP Kinesis.1, DataFirehose.1; Checkov CKV_AWS_43, CKV_AWS_240).",
    remediation="Streams: encryption_type=\"KMS\", kms_key_id=\"alias/aws/kinesis\" or a customer-managed key. "
                "Firehose: server_side_encryption={enabled: True, key_type: \"CUSTOMER_MANAGED_CMK\", key_arn: ...}.",
)
def kinesis_encrypted(r: Res, ctx: Context) -> Iterator[str]:
    if r.type == STREAM:
        v = r.get("encryptionType")
        if not is_unknown(v) and str(v or "NONE").upper() != "KMS":
            yield f"encryptionType is {v or 'unset (NONE)'}"
        return
    if r.has("kinesisSourceConfiguration") or r.has("mskSourceConfiguration"):
        return  # encrypted (or not) at the source stream
    v = r.get("serverSideEncryption.enabled")
    if not is_unknown(v) and not is_true(v):
        yield "serverSideEncryption is not enabled"


# -- OpenSearch / Elasticsearch ------------------------------------------------------------------------------------
@resource_rule(
    "opensearch-encrypted-at-rest", category=AT_REST, severity="high", types=SEARCH_DOMAINS,
    description="OpenSearch/Elasticsearch domains encrypt data at rest (FSBP Opensearch.1, Checkov CKV_AWS_5).",
    remediation="Set encrypt_at_rest={enabled: True, kms_key_id: <customer-managed key>}.",
)
def search_at_rest(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("encryptAtRest.enabled")
    if not is_unknown(v) and not is_true(v):
        yield "encryptAtRest.enabled is not true"


@resource_rule(
    "opensearch-node-to-node-encryption", category=IN_TRANSIT, severity="high", types=SEARCH_DOMAINS,
    description="OpenSearch/Elasticsearch domains encrypt traffic between nodes (FSBP Opensearch.3, Checkov "
                "CKV_AWS_6).",
    remediation="Set node_to_node_encryption={enabled: True}.",
)
def search_n2n(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("nodeToNodeEncryption.enabled")
    if not is_unknown(v) and not is_true(v):
        yield "nodeToNodeEncryption.enabled is not true"


@resource_rule(
    "opensearch-https-tls12", category=IN_TRANSIT, severity="high", types=SEARCH_DOMAINS,
    description="OpenSearch/Elasticsearch domains enforce HTTPS with a TLS 1.2+ policy (FSBP Opensearch.8, Checkov "
                "CKV_AWS_83, CKV_AWS_228).",
    remediation="Set domain_endpoint_options={enforce_https: True, tls_security_policy: "
                "\"Policy-Min-TLS-1-2-PFS-2023-10\"}.",
)
def search_https(r: Res, ctx: Context) -> Iterator[str]:
    opts = r.get("domainEndpointOptions")
    if is_unknown(opts):
        return
    opts = opts if isinstance(opts, Mapping) else {}
    enforce, policy = opts.get("enforceHttps"), opts.get("tlsSecurityPolicy")
    if enforce is not None and not is_unknown(enforce) and not is_true(enforce):
        yield "domainEndpointOptions.enforceHttps is false: the domain answers plain HTTP"
    if isinstance(policy, str) and not is_unknown(policy) and "TLS-1-0" in policy:
        yield f"domainEndpointOptions.tlsSecurityPolicy {policy} allows TLS 1.0 and 1.1"


@stack_rule(
    "opensearch-access-restricted", category=EXPOSURE, severity="critical",
    description="OpenSearch/Elasticsearch domains are not open to anyone: a domain outside a VPC without "
                "fine-grained access control has no access policy allowing Principal \"*\" without an IP or "
                "account condition, and anonymous access is off (FSBP Opensearch.2, Checkov CKV_AWS_247).",
    remediation="Place the domain in a VPC (vpc_options), or enable advanced_security_options (fine-grained access "
                "control), and name principals (or aws:SourceIp ranges) in the access policy.",
)
def search_access(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    policies = index.of_type(*SEARCH_POLICIES)
    for d in index.of_type(*SEARCH_DOMAINS):
        if is_true(d.get("advancedSecurityOptions.anonymousAuthEnabled")):
            yield d, "advancedSecurityOptions.anonymousAuthEnabled is true: anyone may query the domain"
        in_vpc = bool(as_list(d.get("vpcOptions.subnetIds"))) or is_unknown(d.get("vpcOptions.subnetIds"))
        fgac = is_true(d.get("advancedSecurityOptions.enabled"))
        if in_vpc or fgac:
            continue
        docs = [(d, d.get("accessPolicies"))] + [
            (p, p.get("accessPolicies")) for p in policies if d in index.referenced(p, "domainName", SEARCH_DOMAINS,
                                                                                    ("domainName",))]
        for owner, doc in docs:
            for s in public_principal_statements(doc):
                yield owner, (f"the access policy's {stmt_label(s)} allows Principal \"*\" on a public endpoint "
                              "without fine-grained access control")


@resource_rule(
    "opensearch-audit-logs", category=LOGGING, severity="low", enforcement="advisory", types=SEARCH_DOMAINS,
    description="OpenSearch domains publish audit logs to CloudWatch Logs (FSBP Opensearch.5; needs fine-grained "
                "access control).",
    remediation="Add log_publishing_options=[{log_type: \"AUDIT_LOGS\", cloudwatch_log_group_arn: ..., enabled: "
                "True}] and a log resource policy for es.amazonaws.com.",
)
def search_audit(r: Res, ctx: Context) -> Iterator[str]:
    opts = r.get("logPublishingOptions")
    if is_unknown(opts):
        return
    if not any(isinstance(o, Mapping) and o.get("logType") == "AUDIT_LOGS" and o.get("enabled") is not False
               for o in as_list(opts)):
        yield "no AUDIT_LOGS log publishing option"


# -- DocumentDB ----------------------------------------------------------------------------------------------------
@resource_rule(
    "docdb-storage-encrypted", category=AT_REST, severity="high", types=(DOCDB,),
    description="DocumentDB clusters encrypt their storage (FSBP DocumentDB.1, Checkov CKV_AWS_74).",
    remediation="Set storage_encrypted=True with kms_key_id of a customer-managed key.",
)
def docdb_encrypted(r: Res, ctx: Context) -> Iterator[str]:
    if r.has("globalClusterIdentifier") or r.has("snapshotIdentifier"):
        return
    v = r.get("storageEncrypted")
    if not is_unknown(v) and not is_true(v):
        yield "storageEncrypted is not true"


@resource_rule(
    "docdb-backup-retention", category=BACKUP, severity="medium", types=(DOCDB,),
    description="DocumentDB clusters keep automated backups at least prodMinimumDays (FSBP DocumentDB.2), unless "
                "the environment is known not to be prod (prod).",
    remediation="Set backup_retention_period=7 or more.",
    config={"prodMinimumDays": {"type": "integer", "default": 7, "minimum": 1}},
)
def docdb_backups(r: Res, ctx: Context) -> Iterator[str]:
    if ctx.environment(r) is not None and not ctx.is_prod(r):
        return
    v = r.get("backupRetentionPeriod")
    if is_unknown(v):
        return
    try:
        days = int(float(v)) if v is not None else 1
    except (TypeError, ValueError):
        return  # not a number: the provider rejects it
    minimum = int(ctx.config.get("prodMinimumDays") or 7)
    if days < minimum:
        yield f"backupRetentionPeriod is {days} day(s), below the minimum of {minimum}"


@resource_rule(
    "docdb-audit-logs", category=LOGGING, severity="medium", types=(DOCDB,),
    description="DocumentDB clusters export audit logs to CloudWatch Logs (FSBP DocumentDB.4, Checkov CKV_AWS_85).",
    remediation="Set enabled_cloudwatch_logs_exports=[\"audit\", \"profiler\"] and audit_logs=enabled in the cluster "
                "parameter group.",
)
def docdb_audit(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("enabledCloudwatchLogsExports")
    if is_unknown(v):
        return
    if "audit" not in as_list(v):
        yield "enabledCloudwatchLogsExports does not include audit"


@stack_rule(
    "docdb-tls-enabled", category=IN_TRANSIT, severity="high",
    description="DocumentDB clusters require TLS: their cluster parameter group does not set tls=disabled "
                "(Checkov CKV_AWS_90).",
    remediation="Set the parameter tls to \"enabled\" (or tls1.2+) in the cluster parameter group, or use the "
                "default group.",
)
def docdb_tls(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    for c in index.of_type(DOCDB):
        for g in index.referenced(c, "dbClusterParameterGroupName", (DOCDB_PG,), ("name",)):
            for p in as_list(g.get("parameters")):
                if isinstance(p, Mapping) and p.get("name") == "tls" and str(p.get("value")).lower() == "disabled":
                    yield c, f"its cluster parameter group {g.name!r} sets tls=disabled"


# -- BigQuery ----------------------------------------------------------------------------------------------------
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")


def _public_access(entry: Mapping[str, Any]) -> str | None:
    if entry.get("specialGroup") in PUBLIC_MEMBERS:
        return str(entry.get("specialGroup"))
    if entry.get("iamMember") in PUBLIC_MEMBERS:
        return str(entry.get("iamMember"))
    return None


@resource_rule(
    "bigquery-dataset-not-public", category=EXPOSURE, severity="critical", types=(DATASET, DATASET_ACCESS),
    description="BigQuery datasets grant no access to allUsers or allAuthenticatedUsers (CIS GCP 7.1, Checkov "
                "CKV_GCP_15); dataset IAM members are judged by gcp-iam-no-public-members.",
    remediation="Remove the public access entry; grant roles to specific groups or service accounts.",
)
def bq_not_public(r: Res, ctx: Context) -> Iterator[str]:
    entries = [r.props] if r.type == DATASET_ACCESS else [e for e in as_list(r.get("accesses"))
                                                          if isinstance(e, Mapping)]
    for e in entries:
        who = _public_access(e)
        if who:
            yield f"grants {e.get('role') or 'access'} to {who}"


@resource_rule(
    "bigquery-dataset-cmek", category=AT_REST, severity="low", enforcement="advisory", types=(DATASET,),
    description="BigQuery datasets encrypt new tables with a customer-managed key by default (CIS GCP 7.3, Checkov "
                "CKV_GCP_81).",
    remediation="Set default_encryption_configuration={kms_key_name: <Cloud KMS key>} and grant the BigQuery "
                "service agent roles/cloudkms.cryptoKeyEncrypterDecrypter on it.",
)
def bq_cmek(r: Res, ctx: Context) -> Iterator[str]:
    if r.known("defaultEncryptionConfiguration") and not r.has("defaultEncryptionConfiguration.kmsKeyName"):
        yield "defaultEncryptionConfiguration.kmsKeyName is not set (Google-managed keys)"


# -- database passwords written in the program -------------------------------------------------------------------
PASSWORD_INPUTS: dict[str, tuple[str, ...]] = {
    "aws:rds/instance:Instance": ("password", "passwordWo"),
    "aws:rds/cluster:Cluster": ("masterPassword", "masterPasswordWo"),
    "aws:docdb/cluster:Cluster": ("masterPassword", "masterPasswordWo"),
    "aws:redshift/cluster:Cluster": ("masterPassword", "masterPasswordWo"),
    "aws:redshiftserverless/namespace:Namespace": ("adminUserPassword", "adminUserPasswordWo"),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("authToken", "authTokenWo"),
    "aws:elasticache/user:User": ("passwords",),
    "aws:memorydb/user:User": ("authenticationMode.passwords",),
    "aws:mq/broker:Broker": ("users",),
    "aws:opensearch/domain:Domain": ("advancedSecurityOptions.masterUserOptions.masterUserPassword",),
    "aws:elasticsearch/domain:Domain": ("advancedSecurityOptions.masterUserOptions.masterUserPassword",),
    "gcp:sql/user:User": ("password", "passwordWo"),
    "gcp:sql/databaseInstance:DatabaseInstance": ("rootPassword", "rootPasswordWo"),
    "gcp:alloydb/user:User": ("password", "passwordWo"),
    "gcp:alloydb/cluster:Cluster": ("initialUser.password",),
    "aws:secretsmanager/secretVersion:SecretVersion": ("secretString", "secretStringWo"),
    "gcp:secretmanager/secretVersion:SecretVersion": ("secretData", "secretDataWo"),
}


def _config_values(ctx: Context) -> set[str]:
    out: set[str] = set()
    for v in ctx.stack.config.values():
        if isinstance(v, str):
            out.add(v)
        elif isinstance(v, Mapping):
            out.update(x for x in v.values() if isinstance(x, str))
    return out


def _raw(r: Res, path: str) -> Any:
    """The input at ``path``, read without :meth:`Res.get`'s bookkeeping: a secret the review cannot know (a
    ``secure:`` config value, :data:`SECRET_MARKER`) is exactly the compliant case here, not an undecided one."""
    cur: Any = r.props
    for part in path.split("."):
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(part)
    return cur


def _literal(value: Any, derived: bool, config_values: set[str]) -> bool:
    """A password value the program wrote itself: known, not computed from another resource, not a stack config
    value (a ``secure:`` config value or a generated password is fine), not a reference to a secret store."""
    if derived or not isinstance(value, str) or not value or is_unknown(value) or SECRET_MARKER in value:
        return False
    if value in config_values or any(len(c) >= 6 and c in value for c in config_values):
        return False  # a config value, or a document built around one (json_dumps of a secret config value)
    return not SECRET_REFERENCE_RE.match(value.strip())


@stack_rule(
    "db-password-not-literal", category=SECRETS, severity="critical",
    description="Database, cache, broker and search-domain passwords, and secret values stored in Secrets "
                "Manager / Secret Manager, are not written as literals in the program (they end up in the code "
                "repository); they come from a secret config value, a generated password or a password the "
                "service manages.",
    remediation="Use manage_master_user_password=True (RDS, Aurora, DocumentDB, Redshift), or pass "
                "config.require_secret(\"dbPassword\") / a random.RandomPassword result; rotate the leaked password.",
)
def db_password_literal(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    # A stack rule: under the Pulumi CLI only the stack analysis carries property dependencies, which tell a
    # generated password (a RandomPassword's result, known once it exists) from a literal.
    config_values = _config_values(ctx)
    for r in index.of_type(*PASSWORD_INPUTS):
        for path in PASSWORD_INPUTS[r.type]:
            top = path.split(".", 1)[0]
            derived = bool(r.prop_deps.get(top))
            value = _raw(r, path)
            if path == "users":  # Amazon MQ: users[].password
                values = [u.get("password") for u in as_list(value) if isinstance(u, Mapping)]
            elif path.endswith("asswords"):
                values = as_list(value)
            else:
                values = [value]
            if any(_literal(v, derived, config_values) for v in values):
                yield r, f"{path} is a literal written in the program"


RULES = [
    sqs_encrypted, secret_rotation, efs_encrypted, efs_tls, kinesis_encrypted,
    search_at_rest, search_n2n, search_https, search_access, search_audit,
    docdb_encrypted, docdb_backups, docdb_audit, docdb_tls,
    bq_not_public, bq_cmek, db_password_literal,
]

RATIONALE = {
    "sqs-queue-encrypted": "Mandatory: SSE is a switch; an explicit setting is required, as Checkov CKV_AWS_27 does.",
    "secretsmanager-rotation": "Mandatory: no rotation is an FSBP defect (SecretsManager.1); a credential that "
                               "cannot rotate is a waiver with its reason.",
    "efs-tls-enforced": "Advisory: enforcing TLS needs a file system policy; clients may already mount with TLS.",
    "opensearch-https-tls12": "Mandatory only for an explicit plain-HTTP or TLS 1.0 policy; unset keeps AWS's "
                              "HTTPS/TLS 1.2 defaults for new domains.",
    "opensearch-audit-logs": "Advisory: audit logs need fine-grained access control and cost money.",
    "docdb-backup-retention": "Mandatory unless the environment is known not to be prod (FSBP DocumentDB.2 asks "
                              "7 days whatever the environment); DocumentDB always keeps at least 1.",
    "bigquery-dataset-cmek": "Advisory: BigQuery always encrypts; a customer-managed key is CIS level 2 hygiene.",
    "db-password-not-literal": "Mandatory: a password in the code is leaked to everyone who reads the repository. "
                               "A value computed from another resource, unknown in preview, or equal to a stack "
                               "config value (a secure: value) passes.",
}
for _r in RULES:
    _r.rationale = RATIONALE.get(_r.name, _r.rationale)
