"""Plaintext secrets (environment variables, parameters, metadata, user data), workload hardening (IMDSv2,
encrypted root volumes, shielded VMs, service accounts, containers, images) and required tags."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from policies.common import Context, Res, as_list, is_false, is_true, is_unknown, parse_json, resource_rule

from ._helpers import (
    CLOUD_RUN_JOB,
    CLOUD_RUN_SERVICE,
    EC2_INSTANCE,
    GCE_INSTANCE,
    GCE_TEMPLATE,
    LAUNCH_TEMPLATE,
    LOAD_BALANCERS,
    TASK_DEFINITION,
    literal_secret_value,
    maybe_base64,
    plaintext_env_findings,
    script_secrets,
    secret_looking_name,
)

SECRETS = "plaintext-secrets"
HARDENING = "hardening"
TAGS = "tagging"


def _containers(r: Res) -> list[Mapping[str, Any]] | None:
    """The parsed containerDefinitions of a task definition (None when unknown or secret)."""
    defs = parse_json(r.get("containerDefinitions"))
    if not isinstance(defs, list):
        return None
    return [c for c in defs if isinstance(c, Mapping)]


def _cname(c: Mapping[str, Any], i: int) -> str:
    return str(c.get("name") or f"#{i + 1}")


# -- plaintext secrets ---------------------------------------------------------------------------------------
@resource_rule(
    "ecs-task-no-plaintext-secrets", category=SECRETS, severity="critical", types=(TASK_DEFINITION,),
    description="ECS container definitions do not put credentials in environment variables (secret-looking names "
                "with literal values, or URLs with passwords).",
    remediation="Move the value to Secrets Manager or SSM Parameter Store and reference it from the container's "
                "\"secrets\" list (valueFrom: the secret ARN); grant the execution role read access to it.",
)
def ecs_plaintext(r: Res, ctx: Context) -> Iterator[str]:
    for i, c in enumerate(_containers(r) or []):
        pairs = ((e.get("name"), e.get("value")) for e in as_list(c.get("environment")) if isinstance(e, Mapping))
        yield from plaintext_env_findings(pairs, f"container {_cname(c, i)!r}: environment")


@resource_rule(
    "lambda-no-plaintext-secrets", category=SECRETS, severity="critical", types=("aws:lambda/function:Function",),
    description="Lambda environment variables do not hold credentials.",
    remediation="Read the credential at run time from Secrets Manager/SSM (the Parameters and Secrets extension) and "
                "pass only its ARN or name in the environment.",
)
def lambda_plaintext(r: Res, ctx: Context) -> Iterator[str]:
    env = r.get("environment.variables")
    if isinstance(env, Mapping):
        yield from plaintext_env_findings(iter(env.items()), "environment")


@resource_rule(
    "cloudrun-no-plaintext-secrets", category=SECRETS, severity="critical", types=(CLOUD_RUN_SERVICE, CLOUD_RUN_JOB),
    description="Cloud Run containers do not put credentials in plain environment variables.",
    remediation="Store the value in Secret Manager and use envs[].value_source.secret_key_ref; grant the service "
                "account roles/secretmanager.secretAccessor on that secret.",
)
def cloudrun_plaintext(r: Res, ctx: Context) -> Iterator[str]:
    path = "template.containers" if r.type == CLOUD_RUN_SERVICE else "template.template.containers"
    for i, c in enumerate(as_list(r.get(path))):
        if not isinstance(c, Mapping):
            continue
        pairs = ((e.get("name"), e.get("value")) for e in as_list(c.get("envs")) if isinstance(e, Mapping))
        yield from plaintext_env_findings(pairs, f"container {_cname(c, i)!r}: env")


@resource_rule(
    "gce-metadata-no-plaintext-secrets", category=SECRETS, severity="critical", types=(GCE_INSTANCE, GCE_TEMPLATE),
    description="Compute Engine metadata and startup scripts do not hold credentials.",
    remediation="Fetch credentials at boot from Secret Manager with the instance's service account; keep only the "
                "secret's name in metadata.",
)
def gce_metadata(r: Res, ctx: Context) -> Iterator[str]:
    meta = r.get("metadata")
    if isinstance(meta, Mapping):
        for key, value in meta.items():
            if key in ("startup-script", "user-data"):
                for name in script_secrets(value):
                    yield f"metadata {key} assigns a literal to {name}"
            elif secret_looking_name(key) and literal_secret_value(value):
                yield f"metadata key {key!r} looks like a credential and holds a literal value"
    for name in script_secrets(r.get("metadataStartupScript")):
        yield f"the startup script assigns a literal to {name}"


@resource_rule(
    "ec2-user-data-no-secrets", category=SECRETS, severity="critical", types=(EC2_INSTANCE, LAUNCH_TEMPLATE),
    description="EC2 user data (readable by anyone with ec2:DescribeInstanceAttribute and from the instance) does "
                "not assign credentials.",
    remediation="Fetch credentials at boot from Secrets Manager/SSM with the instance profile; never write them "
                "into user data.",
)
def ec2_user_data(r: Res, ctx: Context) -> Iterator[str]:
    data = r.get("userData")
    if r.type == LAUNCH_TEMPLATE or r.has("userDataBase64"):
        data = maybe_base64(data if data is not None else r.get("userDataBase64"))
    for name in script_secrets(data):
        yield f"user data assigns a literal to {name}"


@resource_rule(
    "ssm-parameter-secure-string", category=SECRETS, severity="high", types=("aws:ssm/parameter:Parameter",),
    description="SSM parameters whose names look like credentials are SecureString.",
    remediation="Set type=\"SecureString\" (with key_id for a customer-managed key) and pass the value as a Pulumi "
                "secret.",
)
def ssm_secure(r: Res, ctx: Context) -> Iterator[str]:
    name = r.get("name")
    if not isinstance(name, str) or is_unknown(name):
        name = r.name
    leaf = name.rstrip("/").rsplit("/", 1)[-1]
    typ = r.get("type")
    if is_unknown(typ) or typ == "SecureString":
        return
    if secret_looking_name(leaf) or secret_looking_name(name.replace("/", "_")):
        yield f"parameter {name!r} looks like a credential but its type is {typ or 'String'}"


# -- hardening -------------------------------------------------------------------------------------------------
@resource_rule(
    "ecs-task-no-privileged", category=HARDENING, severity="critical", types=(TASK_DEFINITION,),
    description="No ECS container runs privileged.",
    remediation="Remove privileged=true; add only the Linux capabilities the process needs (linuxParameters."
                "capabilities.add), or none.",
)
def ecs_privileged(r: Res, ctx: Context) -> Iterator[str]:
    for i, c in enumerate(_containers(r) or []):
        if is_true(c.get("privileged")):
            yield f"container {_cname(c, i)!r} is privileged"


@resource_rule(
    "ecs-task-readonly-root", category=HARDENING, severity="medium", types=(TASK_DEFINITION,),
    description="ECS containers have a read-only root filesystem.",
    remediation="Set readonlyRootFilesystem=true and mount a volume (or a tmpfs) where the process must write.",
)
def ecs_readonly(r: Res, ctx: Context) -> Iterator[str]:
    for i, c in enumerate(_containers(r) or []):
        if not is_true(c.get("readonlyRootFilesystem")):
            yield f"container {_cname(c, i)!r} has a writable root filesystem"


ROOT_USERS = ("root", "0")


@resource_rule(
    "ecs-task-non-root-user", category=HARDENING, severity="medium", types=(TASK_DEFINITION,),
    description="ECS containers do not run as root: no user \"root\" or \"0\", and with requireExplicitUser a "
                "non-root user set in the task definition (the image's own USER is invisible to policies).",
    remediation="Set user to a non-root UID:GID, e.g. \"1000:1000\" (and build the image to run as that user).",
    config={"requireExplicitUser": {"type": "boolean", "default": False,
                                    "description": "Also flag containers that leave the user to the image."}},
    rationale="Mandatory for an explicit root user; an unset user is left to the image (whose USER a policy cannot "
              "see) unless requireExplicitUser, which backend-hosting sets (config/backend-hosting.json).",
)
def ecs_non_root(r: Res, ctx: Context) -> Iterator[str]:
    explicit = bool(ctx.config.get("requireExplicitUser"))
    for i, c in enumerate(_containers(r) or []):
        user = c.get("user")
        if (user is None and explicit) or (user is not None and str(user).split(":", 1)[0].strip() in ROOT_USERS):
            yield f"container {_cname(c, i)!r} runs as {user or 'the image default (usually root)'}"


@resource_rule(
    "ec2-imdsv2-required", category=HARDENING, severity="high", types=(EC2_INSTANCE, LAUNCH_TEMPLATE),
    description="EC2 instances and launch templates require IMDSv2 (session tokens) or disable the metadata "
                "endpoint.",
    remediation="Set metadata_options={http_tokens: \"required\", http_put_response_hop_limit: 1}.",
)
def imdsv2(r: Res, ctx: Context) -> Iterator[str]:
    tokens = r.get("metadataOptions.httpTokens")
    if is_unknown(tokens) or r.get("metadataOptions.httpEndpoint") == "disabled":
        return
    if tokens != "required":
        yield f"metadataOptions.httpTokens is {tokens or 'unset (optional: IMDSv1 allowed)'}"


@resource_rule(
    "ec2-root-volume-encrypted", category=HARDENING, severity="high", types=(EC2_INSTANCE, LAUNCH_TEMPLATE),
    description="EC2 root and attached EBS volumes (instances and launch-template block devices) are encrypted.",
    remediation="Set root_block_device={encrypted: True} and ebs_block_devices[].encrypted=True (launch templates: "
                "block_device_mappings[].ebs.encrypted=\"true\"), or enable EBS encryption by default.",
)
def root_volume(r: Res, ctx: Context) -> Iterator[str]:
    if r.type == EC2_INSTANCE:
        enc = r.get("rootBlockDevice.encrypted")
        if not is_unknown(enc) and not is_true(enc):
            yield "rootBlockDevice.encrypted is not true"
        for i, d in enumerate(as_list(r.get("ebsBlockDevices"))):
            if isinstance(d, Mapping) and not d.get("snapshotId") and not is_true(d.get("encrypted")) \
                    and not is_unknown(d.get("encrypted")):
                yield f"ebsBlockDevices[{i}] ({d.get('deviceName') or '?'}) is not encrypted"
        return
    for i, m in enumerate(as_list(r.get("blockDeviceMappings"))):
        ebs = m.get("ebs") if isinstance(m, Mapping) else None
        if isinstance(ebs, Mapping) and not ebs.get("snapshotId") and is_false(ebs.get("encrypted") or "false"):
            yield f"blockDeviceMappings[{i}] ({m.get('deviceName') or '?'}) is not encrypted"


@resource_rule(
    "gce-shielded-vm", category=HARDENING, severity="medium", types=(GCE_INSTANCE, GCE_TEMPLATE),
    description="Compute Engine instances use Shielded VM: secure boot, vTPM and integrity monitoring.",
    remediation="Set shielded_instance_config={enable_secure_boot: True, enable_vtpm: True, "
                "enable_integrity_monitoring: True} with a Shielded-VM-capable image.",
)
def shielded_vm(r: Res, ctx: Context) -> Iterator[str]:
    cfg = r.get("shieldedInstanceConfig")
    if is_unknown(cfg):
        return
    cfg = cfg if isinstance(cfg, Mapping) else {}
    if not is_true(cfg.get("enableSecureBoot")):
        yield "shieldedInstanceConfig.enableSecureBoot is not true"
    for key in ("enableVtpm", "enableIntegrityMonitoring"):
        if is_false(cfg.get(key)):
            yield f"shieldedInstanceConfig.{key} is false"


CLOUD_PLATFORM = ("cloud-platform", "https://www.googleapis.com/auth/cloud-platform")


def _default_compute_sa(email: Any) -> bool:
    return email in (None, "", "default") or (isinstance(email, str)
                                               and email.endswith("-compute@developer.gserviceaccount.com"))


@resource_rule(
    "gce-no-default-sa-full-scope", category=HARDENING, severity="high", types=(GCE_INSTANCE, GCE_TEMPLATE),
    description="Compute Engine instances do not run as the default compute service account with the "
                "cloud-platform scope (that account has Editor on the project).",
    remediation="Create a dedicated service account with only the roles the VM needs and set service_account="
                "{email: sa.email, scopes: [\"cloud-platform\"]}.",
)
def gce_default_sa(r: Res, ctx: Context) -> Iterator[str]:
    sa = r.get("serviceAccount")
    if not isinstance(sa, Mapping) or is_unknown(sa.get("email")):
        return
    if _default_compute_sa(sa.get("email")) and any(s in CLOUD_PLATFORM for s in as_list(sa.get("scopes"))):
        yield "runs as the default compute service account with the cloud-platform scope"


@resource_rule(
    "cloudrun-dedicated-service-account", category=HARDENING, severity="medium",
    types=(CLOUD_RUN_SERVICE, CLOUD_RUN_JOB),
    description="Cloud Run services and jobs run as a dedicated service account, not the default compute account.",
    remediation="Create a gcp.serviceaccount.Account for the service, grant it only what it needs, and set "
                "template.service_account.",
)
def cloudrun_sa(r: Res, ctx: Context) -> Iterator[str]:
    path = "template.serviceAccount" if r.type == CLOUD_RUN_SERVICE else "template.template.serviceAccount"
    email = r.get(path)
    if is_unknown(email):
        return
    if _default_compute_sa(email):
        yield "runs as the default compute service account (Editor on the project)"


@resource_rule(
    "lb-drop-invalid-headers", category=HARDENING, severity="low", types=LOAD_BALANCERS,
    description="Application load balancers drop HTTP headers with invalid names (request smuggling defence).",
    remediation="Set drop_invalid_header_fields=True.",
)
def drop_invalid_headers(r: Res, ctx: Context) -> Iterator[str]:
    if r.get("loadBalancerType") not in (None, "application"):
        return
    v = r.get("dropInvalidHeaderFields")
    if not is_unknown(v) and not is_true(v):
        yield "dropInvalidHeaderFields is not true"


@resource_rule(
    "wafv2-web-acl-has-rules", category=HARDENING, severity="medium", types=("aws:wafv2/webAcl:WebAcl",),
    description="A WAFv2 web ACL that allows by default has rules (managed rule groups, rate limits); an empty "
                "allow-all ACL protects nothing.",
    remediation="Add AWS managed rule groups (AWSManagedRulesCommonRuleSet, KnownBadInputs, IP reputation) and a "
                "rate-based rule, or set default_action to block with explicit allow rules.",
)
def waf_has_rules(r: Res, ctx: Context) -> Iterator[str]:
    rules, rule_json = r.get("rules"), r.get("ruleJson")
    if is_unknown(rules) or is_unknown(rule_json) or not isinstance(r.get("defaultAction"), Mapping):
        return
    if "allow" in r.get("defaultAction") and not as_list(rules) and not rule_json:
        yield "the web ACL allows everything and has no rules"


@resource_rule(
    "ecr-scan-on-push", category=HARDENING, severity="medium", types=("aws:ecr/repository:Repository",),
    description="ECR repositories scan images for vulnerabilities on push.",
    remediation="Set image_scanning_configuration={scan_on_push: True} (or enhanced scanning for the registry).",
)
def ecr_scan(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("imageScanningConfiguration.scanOnPush")
    if not is_unknown(v) and not is_true(v):
        yield "imageScanningConfiguration.scanOnPush is not true"


@resource_rule(
    "ecr-immutable-tags", category=HARDENING, severity="low", enforcement="advisory",
    types=("aws:ecr/repository:Repository",),
    description="ECR image tags are immutable, so a deployed tag always means the same image.",
    remediation="Set image_tag_mutability=\"IMMUTABLE\" and deploy by unique tag or digest.",
)
def ecr_immutable(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("imageTagMutability")
    if is_unknown(v):
        return
    if v not in ("IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION"):
        yield f"imageTagMutability is {v or 'unset (MUTABLE)'}"


@resource_rule(
    "gcs-bucket-uniform-access", category=HARDENING, severity="medium", types=("gcp:storage/bucket:Bucket",),
    description="Cloud Storage buckets use uniform bucket-level access (IAM only, no object ACLs).",
    remediation="Set uniform_bucket_level_access=True.",
)
def gcs_uniform(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("uniformBucketLevelAccess")
    if not is_unknown(v) and not is_true(v):
        yield "uniformBucketLevelAccess is not true"


@resource_rule(
    "s3-bucket-acls-disabled", category=HARDENING, severity="low", enforcement="advisory",
    rationale="Advisory: CloudFront standard logging and S3 server access logging to a legacy target need ACLs "
              "enabled on the log bucket, so a hardened program may have them; mandatory for backend-hosting "
              "(config/backend-hosting.json).",
    types=("aws:s3/bucketOwnershipControls:BucketOwnershipControls",),
    description="S3 object ownership is BucketOwnerEnforced (ACLs disabled, the S3 default for new buckets).",
    remediation="Set rule={object_ownership: \"BucketOwnerEnforced\"} and grant access with bucket policies.",
)
def s3_acls_disabled(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("rule.objectOwnership")
    if not is_unknown(v) and v != "BucketOwnerEnforced":
        yield f"objectOwnership is {v}: ACLs are enabled"


# -- tags --------------------------------------------------------------------------------------------------------
REQUIRED_TAGS = ["environment", "owner", "cost-center", "managed-by"]


@functools.lru_cache(maxsize=1)
def taggable_types() -> frozenset[str]:
    """Types that take ``tags`` (pulumi-aws) or ``labels`` (pulumi-gcp); see gen_taggable.py."""
    data = json.loads(Path(__file__).with_name("taggable_types.json").read_text())
    return frozenset(data.get("aws", [])) | frozenset(data.get("gcp", [])) | {
        "gcp:sql/databaseInstance:DatabaseInstance"}


@resource_rule(
    "required-tags", category=TAGS, severity="low", enforcement="advisory", types=("aws:*", "gcp:*"),
    description="Taggable AWS resources carry the tags, and labelled GCP resources the labels, environment, owner, "
                "cost-center and managed-by (provider default tags count).",
    remediation="Tag every resource from one place (components take the stack's standard tags; or set the AWS "
                "provider's default_tags / the GCP provider's default_labels).",
    config={"tags": {"type": "array", "items": {"type": "string"}, "default": REQUIRED_TAGS,
                     "description": "Required tag (AWS) / label (GCP) keys."}},
)
def required_tags(r: Res, ctx: Context) -> Iterator[str]:
    if r.type not in taggable_types() or not r.tags_known():
        return
    tags = r.tags()
    missing = [t for t in (ctx.config.get("tags") or REQUIRED_TAGS)
               if not (t in tags or t.replace("-", "_") in tags)]
    if missing:
        kind = "tags" if r.type.startswith("aws:") else "labels"
        yield f"missing {kind}: {', '.join(missing)}"


RULES = [
    ecs_plaintext, lambda_plaintext, cloudrun_plaintext, gce_metadata, ec2_user_data, ssm_secure,
    ecs_privileged, ecs_readonly, ecs_non_root, imdsv2, root_volume, shielded_vm, gce_default_sa, cloudrun_sa,
    drop_invalid_headers, waf_has_rules, ecr_scan, ecr_immutable, gcs_uniform, s3_acls_disabled,
    required_tags,
]
