"""Helpers shared by the security rules: IAM documents, secret-looking names, CIDRs and ports, tokens."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from typing import Any

from policies.common import SECRET_MARKER, as_list, is_unknown, parse_json

# -- type tokens ---------------------------------------------------------------------------------------------
S3_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
SERVERLESS_CACHE = "aws:elasticache/serverlessCache:ServerlessCache"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
EC2_INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
GCE_INSTANCE = "gcp:compute/instance:Instance"
GCE_TEMPLATE = "gcp:compute/instanceTemplate:InstanceTemplate"
GCS_BUCKET = "gcp:storage/bucket:Bucket"
CLOUD_SQL = "gcp:sql/databaseInstance:DatabaseInstance"
CLOUD_RUN_SERVICE = "gcp:cloudrunv2/service:Service"
CLOUD_RUN_JOB = "gcp:cloudrunv2/job:Job"
MEMORYSTORE = "gcp:redis/instance:Instance"

WORLD_CIDRS = frozenset({"0.0.0.0/0", "::/0"})


def world_cidrs(values: Any) -> list[str]:
    """The entries of a CIDR list (or single CIDR) that mean "anywhere"."""
    return [v for v in as_list(values) if isinstance(v, str) and v.strip() in WORLD_CIDRS]


# -- IAM documents ---------------------------------------------------------------------------------------------
# Condition keys that pin an Allow to specific callers, accounts, sources or networks.
RESTRICTING_CONDITION_KEYS = frozenset(k.lower() for k in (
    "aws:SourceArn", "aws:SourceAccount", "aws:SourceOwner", "aws:SourceVpc", "aws:SourceVpce", "aws:SourceIp",
    "aws:PrincipalOrgID", "aws:PrincipalOrgPaths", "aws:PrincipalAccount", "aws:PrincipalArn", "aws:userid",
    "aws:username", "aws:PrincipalServiceName", "aws:ResourceAccount", "aws:ResourceOrgID", "kms:CallerAccount",
    "kms:ViaService", "sts:ExternalId", "aws:CalledVia", "aws:VpcSourceIp",
    "token.actions.githubusercontent.com:sub", "accounts.google.com:sub", "cognito-identity.amazonaws.com:aud",
))


def statements(doc: Any) -> list[Mapping[str, Any]]:
    """The statements of an IAM policy document (a JSON string or a dict); [] if unknown."""
    doc = parse_json(doc)
    if not isinstance(doc, Mapping):
        return []
    return [s for s in as_list(doc.get("Statement")) if isinstance(s, Mapping)]


def allows(stmt: Mapping[str, Any]) -> bool:
    """An Allow statement (the default effect is Allow only in the absence of Effect, which IAM rejects)."""
    return str(stmt.get("Effect", "")).lower() == "allow"


def principal_values(stmt: Mapping[str, Any]) -> list[str]:
    """Every principal string of a statement (``"*"``, ARNs, service names...)."""
    p = stmt.get("Principal")
    if p is None:
        return []
    if isinstance(p, str):
        return [p]
    out: list[str] = []
    if isinstance(p, Mapping):
        for v in p.values():
            out.extend(x for x in as_list(v) if isinstance(x, str))
    return out


def has_restricting_condition(stmt: Mapping[str, Any]) -> bool:
    """The statement's Condition names a key that pins callers, accounts or sources."""
    cond = stmt.get("Condition")
    if not isinstance(cond, Mapping):
        return False
    for _op, body in cond.items():
        if isinstance(body, Mapping):
            for key in body:
                if str(key).lower() in RESTRICTING_CONDITION_KEYS:
                    return True
    return False


def requires_insecure_transport(cond: Any, operators: tuple[str, ...] | None = None) -> bool:
    """A statement's ``Condition`` matches plain-HTTP requests: ``aws:SecureTransport`` is ``false`` under one of
    ``operators`` (any operator when None)."""
    if not isinstance(cond, Mapping):
        return False
    bodies = cond.values() if operators is None else (cond.get(op) for op in operators)
    return any(isinstance(body, Mapping) and any(
        str(k).lower() == "aws:securetransport" and str(v).lower() == "false" for k, v in body.items())
        for body in bodies)


def public_principal_statements(doc: Any) -> list[Mapping[str, Any]]:
    """Allow statements whose principal is anyone (``*``) with no condition that restricts the caller."""
    out = []
    for s in statements(doc):
        if not allows(s):
            continue
        if any(v.strip() == "*" for v in principal_values(s)) and not has_restricting_condition(s):
            out.append(s)
    return out


def stmt_label(stmt: Mapping[str, Any]) -> str:
    """``statement "Sid"`` or a short description of the statement."""
    sid = stmt.get("Sid")
    if isinstance(sid, str) and sid:
        return f"statement {sid!r}"
    actions = as_list(stmt.get("Action") or stmt.get("NotAction"))
    return f"statement with actions {actions[:3]}"


# -- secrets -------------------------------------------------------------------------------------------------
SECRET_NAME_RE = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|api[_-]?key|apikey|private[_-]?key|access[_-]?key|credential|"
    r"signing[_-]?key|encryption[_-]?key|conn(ection)?[_-]?string|dsn|jwt|hmac|"
    r"(session|cookie|master|client|auth)[_-]?key)", re.IGNORECASE)
NOT_SECRET_NAME_RE = re.compile(
    r"([_-](arn|id|name|file|path|endpoint|header|ttl|expiry|expires|length|enabled|url|uri|host|port|"
    r"region|type|mode|version|rotation|kms[_-]?key[_-]?id)$)|(^(no[_-]|disable))", re.IGNORECASE)
SECRET_REFERENCE_RE = re.compile(
    r"^(arn:aws[a-z-]*:(secretsmanager|ssm|kms):|projects/[^/]+/secrets/|\$\{|\$\(|\{\{resolve:|sm://|ssm:)",
    re.IGNORECASE)
URL_WITH_PASSWORD_RE = re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s:@]+:([^@\s/]+)@", re.IGNORECASE)


def secret_looking_name(name: Any) -> bool:
    """A variable/parameter/metadata key whose name says it holds a credential."""
    return isinstance(name, str) and bool(SECRET_NAME_RE.search(name)) and not NOT_SECRET_NAME_RE.search(name)


def literal_secret_value(value: Any) -> bool:
    """A value that is written in the resource itself (not a reference to a secret store, not empty)."""
    if value is None or is_unknown(value):
        return False
    if value == SECRET_MARKER:  # a Pulumi secret still lands in plaintext in the resource's configuration
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return False
    if not isinstance(value, str):
        return False
    v = value.strip()
    if not v or v.lower() in ("true", "false", "none", "null", "changeme-at-deploy") or v.isdigit():
        return False
    return not SECRET_REFERENCE_RE.match(v)


def url_with_password(value: Any) -> bool:
    """A connection URL carrying a password (``postgres://user:pw@host``), unless the password is a ref."""
    if not isinstance(value, str):
        return False
    m = URL_WITH_PASSWORD_RE.match(value.strip())
    return bool(m) and not m.group(1).startswith(("$", "{"))


KNOWN_CREDENTIAL_RE = re.compile(
    r"(^|[^A-Za-z0-9])((AKIA|ASIA)[0-9A-Z]{16}|sk_live_[0-9A-Za-z]{8,}|rk_live_[0-9A-Za-z]{8,}|ghp_[0-9A-Za-z]{30,}|"
    r"github_pat_[0-9A-Za-z_]{30,}|gl(pat|dt)-[0-9A-Za-z_-]{16,}|xox[abposr]-[0-9A-Za-z-]{10,}|AIza[0-9A-Za-z_-]{35}|"
    r"SG\.[0-9A-Za-z_-]{16,}\.[0-9A-Za-z_-]{16,}|-----BEGIN ([A-Z]+ )?PRIVATE KEY-----)")
"""Values that are credentials whatever the variable is called (AWS access keys, Stripe, GitHub, GitLab, Slack,
Google API keys, SendGrid, PEM private keys)."""


def known_credential_value(value: Any) -> bool:
    """A value in the format of a well-known credential."""
    return isinstance(value, str) and not is_unknown(value) and bool(KNOWN_CREDENTIAL_RE.search(value))


def plaintext_env_findings(pairs: Iterator[tuple[Any, Any]], where: str) -> Iterator[str]:
    """Messages for (name, value) pairs that hold a literal secret."""
    for name, value in pairs:
        if secret_looking_name(name) and literal_secret_value(value):
            shown = "a Pulumi secret (still stored in plaintext)" if value == SECRET_MARKER else "a literal value"
            yield f"{where} variable {name!r} looks like a credential and holds {shown}"
        elif url_with_password(value):
            yield f"{where} variable {name!r} is a URL with an embedded password"
        elif known_credential_value(value):
            yield f"{where} variable {name!r} holds a value in the format of a well-known credential"


SCRIPT_SECRET_RE = re.compile(
    r"(?:^|[\s;])(?:export\s+|set\s+)?([A-Za-z_][A-Za-z0-9_]*(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|APIKEY|"
    r"PRIVATE_KEY|ACCESS_KEY)[A-Za-z0-9_]*)\s*[=:]\s*[\"']?([^\s\"'$`{(][^\s\"']{3,})", re.IGNORECASE | re.MULTILINE)


def script_secrets(script: Any) -> list[str]:
    """Names assigned literal values that look like credentials in a shell script / user data."""
    if not isinstance(script, str) or is_unknown(script) or script == SECRET_MARKER:
        return []
    out = []
    for m in SCRIPT_SECRET_RE.finditer(script):
        name = m.group(1)
        if NOT_SECRET_NAME_RE.search(name):
            continue
        out.append(name)
    return sorted(set(out))


def maybe_base64(text: Any) -> Any:
    """Launch-template user data is base64: decode it when it is, else return it unchanged."""
    if not isinstance(text, str) or is_unknown(text) or len(text) < 8:
        return text
    try:
        raw = base64.b64decode(text, validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return text


# -- ports -----------------------------------------------------------------------------------------------------
def port_range(from_port: Any, to_port: Any, protocol: Any) -> tuple[int, int] | None:
    """Inclusive port range of an AWS security-group rule; all traffic (-1 / "all") is 0-65535."""
    proto = str(protocol).lower() if protocol is not None else ""
    if proto in ("-1", "all"):
        return (0, 65535)
    try:
        lo = int(float(from_port)) if from_port is not None else 0
        hi = int(float(to_port)) if to_port is not None else lo
    except (TypeError, ValueError):
        return None
    if proto in ("icmp", "icmpv6", "1", "58"):
        return None  # no ports
    if lo == -1 and hi == -1:
        return (0, 65535)
    return (lo, hi)


def only_allowed_ports(rng: tuple[int, int], allowed: list[int]) -> bool:
    """Every port of the inclusive range is in ``allowed``."""
    lo, hi = rng
    if hi - lo > 1024:
        return False
    return all(p in allowed for p in range(lo, hi + 1))


def gcp_ports(spec: Any) -> list[tuple[int, int]] | None:
    """Port ranges of a GCP firewall ``allows`` entry; None means every port."""
    ports = as_list(spec.get("ports")) if isinstance(spec, Mapping) else []
    if not ports:
        return None
    out = []
    for p in ports:
        text = str(p)
        if "-" in text:
            a, _, b = text.partition("-")
            out.append((int(a), int(b)))
        elif text.isdigit():
            out.append((int(text), int(text)))
        else:
            return None
    return out
