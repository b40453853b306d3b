"""The captured graph as Terraform plan JSON (``terraform show -json``), for tools written for Terraform.

pulumi-aws and pulumi-gcp are bridged from the Terraform providers, so each of their resources is a Terraform
resource under another name: ``aws:rds/instance:Instance`` is ``aws_db_instance``, ``gcp:storage/bucket:Bucket``
is ``google_storage_bucket``. The type is derived by rule (provider prefix, module, kind in snake_case, as the
bridge maps them) with a table of the known renames; property names are the camelCase inputs in snake_case,
with nested blocks as Terraform writes them: a one-element list for an object block, and a singular name for
a list of blocks (Pulumi pluralises ``default_action`` to ``defaultActions``). Which property is a block and
which a map (tags, labels) comes from the installed SDK's type annotations.

Secrets are never exported: a secret value is null and marked in ``sensitive_values`` / ``after_sensitive``.
A value unknown at preview is null and marked in ``after_unknown``. Components and providers are not Terraform
resources and are left out; so are resources of packages that are not bridged from a Terraform provider.
"""

from __future__ import annotations

import re
from typing import Any

from .model import SECRET, UNKNOWN, Graph, Resource
from .synth import class_fields, resource_class, snake

__all__ = ["FORMAT_VERSION", "TERRAFORM_VERSION", "property_name", "terraform_type", "to_tfplan"]

FORMAT_VERSION = "1.2"
TERRAFORM_VERSION = "1.9.8"

# Pulumi package -> (Terraform type prefix, provider source).
PROVIDERS = {
    "aws": ("aws", "registry.terraform.io/hashicorp/aws"),
    "gcp": ("google", "registry.terraform.io/hashicorp/google"),
    "random": ("random", "registry.terraform.io/hashicorp/random"),
    "tls": ("tls", "registry.terraform.io/hashicorp/tls"),
    "azure": ("azurerm", "registry.terraform.io/hashicorp/azurerm"),
}

# Modules whose Terraform resources carry no module part (aws_vpc, aws_instance, aws_security_group).
_NO_MODULE = {("aws", "ec2"), ("gcp", "organizations")}

# The module part of the Terraform name where the bridge renamed the module.
_MODULE_NAMES = {
    ("aws", "apigateway"): "api_gateway", ("aws", "cfg"): "config", ("aws", "cloudwatch"): "cloudwatch",
    ("aws", "alb"): "alb", ("aws", "ebs"): "ebs",
    ("gcp", "cloudrunv2"): "cloud_run_v2", ("gcp", "cloudrun"): "cloud_run",
    ("gcp", "cloudfunctionsv2"): "cloudfunctions2", ("gcp", "secretmanager"): "secret_manager",
    ("gcp", "artifactregistry"): "artifact_registry", ("gcp", "cloudscheduler"): "cloud_scheduler",
    ("gcp", "vpcaccess"): "vpc_access", ("gcp", "projects"): "project", ("gcp", "serviceaccount"): "service_account",
    ("gcp", "cloudtasks"): "cloud_tasks", ("gcp", "certificatemanager"): "certificate_manager",
    ("gcp", "networkservices"): "network_services", ("gcp", "securitycenter"): "scc",
}

# Known renames, whole type token -> Terraform type.
TYPE_OVERRIDES = {
    "aws:s3/bucketV2:BucketV2": "aws_s3_bucket",
    "aws:s3/bucketObject:BucketObject": "aws_s3_bucket_object",
    "aws:s3/bucketObjectv2:BucketObjectv2": "aws_s3_object",
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "aws:rds/parameterGroup:ParameterGroup": "aws_db_parameter_group",
    "aws:rds/optionGroup:OptionGroup": "aws_db_option_group",
    "aws:rds/snapshot:Snapshot": "aws_db_snapshot",
    "aws:rds/proxy:Proxy": "aws_db_proxy",
    "aws:rds/eventSubscription:EventSubscription": "aws_db_event_subscription",
    "aws:lb/loadBalancer:LoadBalancer": "aws_lb",
    "aws:alb/loadBalancer:LoadBalancer": "aws_alb",
    "aws:elb/loadBalancer:LoadBalancer": "aws_elb",
    "aws:cloudtrail/trail:Trail": "aws_cloudtrail",
    "aws:cfg/rule:Rule": "aws_config_config_rule",
    "aws:cfg/recorder:Recorder": "aws_config_configuration_recorder",
    "aws:ec2/eip:Eip": "aws_eip",
    "aws:ebs/volume:Volume": "aws_ebs_volume",
    "aws:ec2transitgateway/transitGateway:TransitGateway": "aws_ec2_transit_gateway",
    "aws:lambda/function:Function": "aws_lambda_function",
    "aws:lambda/functionUrl:FunctionUrl": "aws_lambda_function_url",
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": "aws_kinesis_firehose_delivery_stream",
    "aws:cognito/userPool:UserPool": "aws_cognito_user_pool",
    "aws:elasticache/replicationGroup:ReplicationGroup": "aws_elasticache_replication_group",
    "gcp:serviceaccount/account:Account": "google_service_account",
    "gcp:organizations/project:Project": "google_project",
    "gcp:compute/instance:Instance": "google_compute_instance",
    "gcp:sql/databaseInstance:DatabaseInstance": "google_sql_database_instance",
    "gcp:container/cluster:Cluster": "google_container_cluster",
    "gcp:container/nodePool:NodePool": "google_container_node_pool",
    "gcp:cloudfunctions/function:Function": "google_cloudfunctions_function",
    "gcp:cloudfunctionsv2/function:Function": "google_cloudfunctions2_function",
    "gcp:bigquery/dataset:Dataset": "google_bigquery_dataset",
    "gcp:kms/cryptoKey:CryptoKey": "google_kms_crypto_key",
    "gcp:kms/keyRing:KeyRing": "google_kms_key_ring",
    "random:index/randomPassword:RandomPassword": "random_password",
    "random:index/randomString:RandomString": "random_string",
    "random:index/randomId:RandomId": "random_id",
}

# Lists of blocks whose Terraform name is itself plural (the bridge kept it): (tf type or "*", snake name).
_PLURAL_BLOCKS = {
    ("*", "authorized_networks"), ("*", "database_flags"), ("*", "cidr_blocks"), ("*", "block_device_mappings"),
    ("*", "log_publishing_options"), ("aws_launch_template", "network_interfaces"),
    ("aws_launch_template", "tag_specifications"), ("*", "ip_configurations"),
}

# Properties Pulumi names differently from Terraform: (pulumi type, camelCase) -> Terraform name.
_PROPERTY_OVERRIDES = {
    ("aws:lambda/function:Function", "code"): "filename",
    ("aws:lambda/layerVersion:LayerVersion", "code"): "filename",
    ("aws:s3/bucketObject:BucketObject", "source"): "source",
}


def terraform_type(pulumi_type: str) -> str | None:
    """The Terraform resource type of a Pulumi type token; None when the package is not bridged from one."""
    if pulumi_type in TYPE_OVERRIDES:
        return TYPE_OVERRIDES[pulumi_type]
    parts = pulumi_type.split(":")
    if len(parts) != 3 or parts[0] not in PROVIDERS:
        return None
    pkg, module_path, kind = parts
    prefix = PROVIDERS[pkg][0]
    module = module_path.split("/")[0]
    kind_snake = snake(re.sub(r"V\d+$|v\d+$", "", kind) or kind)
    if module in ("index", "") or (pkg, module) in _NO_MODULE:
        return f"{prefix}_{kind_snake}"
    mod = _MODULE_NAMES.get((pkg, module), snake(module))
    if kind_snake == mod or kind_snake.startswith(f"{mod}_"):  # e.g. aws:cloudtrail/trail... handled above
        return f"{prefix}_{kind_snake}"
    return f"{prefix}_{mod}_{kind_snake}"


def _singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith(("sses", "xes", "ches", "shes")):
        return name[:-2]
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


def property_name(pulumi_type: str, tf_type: str, name: str, block_list: bool) -> str:
    """The Terraform name of a (camelCase) Pulumi property; ``block_list`` for a list of nested blocks."""
    if (pulumi_type, name) in _PROPERTY_OVERRIDES:
        return _PROPERTY_OVERRIDES[(pulumi_type, name)]
    tf = snake(name)
    if block_list and (tf_type, tf) not in _PLURAL_BLOCKS and ("*", tf) not in _PLURAL_BLOCKS:
        return _singular(tf)
    return tf


# -- types from the SDK ----------------------------------------------------------------------------------

def _strip(hint: Any) -> Any:
    import types
    import typing

    import pulumi

    while True:
        origin = typing.get_origin(hint)
        if origin is pulumi.Output:
            hint = typing.get_args(hint)[0]
        elif origin in (typing.Union, types.UnionType):
            inner = [a for a in typing.get_args(hint) if a is not type(None)]
            if len(inner) != 1:
                return hint
            hint = inner[0]
        else:
            return hint


def _kind(hint: Any) -> tuple[str, Any]:
    """("block", cls) | ("blocks", cls) | ("map", None) | ("list", item hint) | ("scalar", None) | ("any", None)."""
    import typing
    from collections import abc

    hint = _strip(hint)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is not None and isinstance(origin, type) and issubclass(origin, abc.Mapping):
        return "map", None
    if origin is not None and isinstance(origin, type) and issubclass(origin, abc.Sequence):
        item = _strip(args[0]) if args else Any
        if _is_block(item):
            return "blocks", item
        return "list", item
    if _is_block(hint):
        return "block", hint
    if hint in (str, int, float, bool):
        return "scalar", None
    return "any", None


def _is_block(hint: Any) -> bool:
    return isinstance(hint, type) and any(
        isinstance(v, property) and getattr(v.fget, "_pulumi_name", None) for v in vars(hint).values())


_FIELD_CACHE: dict[Any, dict[str, Any]] = {}


def _field_hints(cls: Any) -> dict[str, Any]:
    if cls is None:
        return {}
    if cls not in _FIELD_CACHE:
        try:
            _FIELD_CACHE[cls] = dict(class_fields(cls))
        except Exception:
            _FIELD_CACHE[cls] = {}
    return _FIELD_CACHE[cls]


# -- values ----------------------------------------------------------------------------------------------

class _Marks:
    """Where the unknown and secret leaves are, in the converted value's shape."""

    def __init__(self) -> None:
        self.unknown = False
        self.secret = False


def _number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _convert(value: Any, hint: Any, pulumi_type: str, tf_type: str, marks: _Marks) -> tuple[Any, Any, Any]:
    """(terraform value, unknown marks, sensitive marks) of one Pulumi value."""
    if value == UNKNOWN:
        marks.unknown = True
        return None, True, None
    if value == SECRET:
        marks.secret = True
        return None, None, True
    kind, inner = _kind(hint) if hint is not None else ("any", None)
    if isinstance(value, dict) and set(value) == {"asset"}:  # an asset or archive: Terraform names its path
        return value["asset"], None, None
    if isinstance(value, dict):
        if kind == "map":
            out = {k: _convert(v, None, pulumi_type, tf_type, marks) for k, v in value.items()}
            return ({k: t[0] for k, t in out.items()}, _mark_dict({k: t[1] for k, t in out.items()}),
                    _mark_dict({k: t[2] for k, t in out.items()}))
        block_cls = inner if kind == "block" else None
        obj, unk, sens = _convert_object(value, block_cls, pulumi_type, tf_type, marks)
        if kind == "block":  # Terraform writes a single nested block as a one-element list
            return [obj], ([unk] if unk else None), ([sens] if sens else None)
        return obj, unk, sens
    if isinstance(value, list):
        if kind == "blocks":  # each element is one block (an object, not wrapped again)
            items = [_convert_object(v, inner, pulumi_type, tf_type, marks) if isinstance(v, dict)
                     else _convert(v, None, pulumi_type, tf_type, marks) for v in value]
        else:
            item_hint = inner if kind == "list" else None
            items = [_convert(v, item_hint, pulumi_type, tf_type, marks) for v in value]
        unk = [t[1] or False for t in items]
        sens = [t[2] or False for t in items]
        return [t[0] for t in items], (unk if any(unk) else None), (sens if any(sens) else None)
    return _number(value), None, None


def _mark_dict(marks: dict[str, Any]) -> dict[str, Any] | None:
    kept = {k: v for k, v in marks.items() if v}
    return kept or None


def _convert_object(value: dict[str, Any], cls: Any, pulumi_type: str, tf_type: str,
                    marks: _Marks) -> tuple[dict[str, Any], Any, Any]:
    hints = _field_hints(cls)
    out: dict[str, Any] = {}
    unknown: dict[str, Any] = {}
    sensitive: dict[str, Any] = {}
    for key, v in value.items():
        hint = hints.get(key)
        kind = _kind(hint)[0] if hint is not None else ("blocks" if _looks_like_blocks(v) else "any")
        name = property_name(pulumi_type, tf_type, key, kind == "blocks")
        conv, unk, sens = _convert(v, hint, pulumi_type, tf_type, marks)
        out[name] = conv
        if unk:
            unknown[name] = unk
        if sens:
            sensitive[name] = sens
    return out, (unknown or None), (sensitive or None)


def _looks_like_blocks(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _values(res: Resource, tf_type: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Planned values of a resource: its inputs (and the physical name Pulumi chose), in Terraform's shape."""
    inputs = dict(res.inputs)
    # Properties the provider marks sensitive (the SDK lists them as additional secret outputs) are secrets
    # even when the program passed them in plain text.
    for key in res.options.get("additionalSecretOutputs") or []:
        if key in inputs:
            inputs[key] = SECRET
    hints = _field_hints(resource_class(res.type))
    for auto in ("name", "bucket"):  # Pulumi's auto-name is known at preview; Terraform would show it
        if auto not in inputs and auto in hints and isinstance(res.outputs.get(auto), str):
            inputs[auto] = res.outputs[auto]
    marks = _Marks()
    values, unknown, sensitive = _convert_object(inputs, resource_class(res.type), res.type, tf_type, marks)
    unknown = dict(unknown or {})
    for computed in ("id", "arn"):
        if computed in hints and computed not in values:
            unknown[computed] = True
    return values, unknown, dict(sensitive or {})


def _tf_name(name: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    return clean if re.match(r"[A-Za-z_]", clean) else f"_{clean}"


def _reference(dep: Resource, dep_address: str, value: Any) -> list[str]:
    attr = "id"
    if isinstance(value, str):
        for key in ("arn", "name", "bucket", "selfLink", "email"):
            if dep.outputs.get(key) == value and value != dep.id:
                attr = snake(key)
                break
    return [f"{dep_address}.{attr}", dep_address]


def to_tfplan(graph: Graph) -> dict[str, Any]:
    """The graph as a Terraform plan (JSON output format 1.x): every resource to be created."""
    planned: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    config_resources: list[dict[str, Any]] = []
    addresses: dict[str, str] = {}
    used: set[str] = set()
    exported: list[tuple[Resource, str]] = []
    for res in graph.resources:
        if not res.custom or res.type.startswith("pulumi:providers:"):
            continue
        tf_type = terraform_type(res.type)
        if tf_type is None:
            continue
        base = _tf_name(res.name)
        name, n = base, 2
        while f"{tf_type}.{name}" in used:
            name, n = f"{base}_{n}", n + 1
        address = f"{tf_type}.{name}"
        used.add(address)
        addresses[res.urn] = address
        exported.append((res, address))
    providers: dict[str, dict[str, Any]] = {}
    by_address = {address: res for res, address in exported}
    for res, address in exported:
        tf_type, name = address.split(".", 1)
        pkg = res.type.split(":")[0]
        prefix, source = PROVIDERS.get(pkg, (pkg, f"registry.terraform.io/hashicorp/{pkg}"))
        providers.setdefault(prefix, {"name": prefix, "full_name": source})
        values, unknown, sensitive = _values(res, tf_type)
        planned.append({"address": address, "mode": "managed", "type": tf_type, "name": name,
                        "provider_name": source, "schema_version": 0, "values": values,
                        "sensitive_values": sensitive})
        changes.append({"address": address, "mode": "managed", "type": tf_type, "name": name,
                        "provider_name": source, "change": {
                            "actions": ["create"], "before": None, "after": values, "after_unknown": unknown,
                            "before_sensitive": False, "after_sensitive": sensitive}})
        expressions: dict[str, Any] = {}
        deps = res.property_dependencies
        for key, tf_value in values.items():
            source_key = next((k for k in res.inputs if snake(k) == key or property_name(
                res.type, tf_type, k, True) == key), key)
            refs = sorted({addresses[u] for u in deps.get(source_key, []) if u in addresses})  # stable order
            if refs:  # every resource the value came from, as Terraform lists them: attribute, then resource
                expressions[key] = {"references": [
                    ref for addr in refs for ref in _reference(by_address[addr], addr, res.inputs.get(source_key))]}
            elif key not in sensitive:
                expressions[key] = {"constant_value": tf_value}
        config_resources.append({"address": address, "mode": "managed", "type": tf_type, "name": name,
                                 "provider_config_key": prefix, "expressions": expressions, "schema_version": 0})
    region = graph.config.get("aws:region")
    if "aws" in providers and isinstance(region, str) and region != SECRET:
        providers["aws"]["expressions"] = {"region": {"constant_value": region}}
    return {
        "format_version": FORMAT_VERSION,
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {"provider_config": providers, "root_module": {"resources": config_resources}},
    }
