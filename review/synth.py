"""Plausible values for any provider function or component output, derived from the installed SDK's types.

A token such as ``gcp:compute/getNetwork:getNetwork`` names a Python module of the provider SDK
(``pulumi_gcp.compute.get_network``) and its typed result class (``GetNetworkResult``). Every property of that
class (``@pulumi.getter(name="selfLink")``, annotated ``str``) gets a value chosen by its name and type: ids,
ARNs, self links, names echoed from the call's arguments, CIDRs, lists and nested output types (to a depth
limit). Only the module a token names is imported, and answers are cached per token.
"""

from __future__ import annotations

import enum
import hashlib
import importlib
import inspect
import re
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any

__all__ = ["Context", "class_fields", "function_fields", "output_fields", "synthesize", "synthesize_outputs"]

MAX_DEPTH = 3


def snake(name: str) -> str:
    """``getNetwork`` -> ``get_network``; ``DBInstance`` -> ``db_instance``."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


def _package(pkg: str) -> str:
    return "pulumi_" + pkg.replace("-", "_")


def _import(name: str) -> types.ModuleType | None:
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def _module_candidates(pkg: str, mod: str) -> list[str]:
    base = _package(pkg)
    if mod in ("", "index"):
        return [base]
    parts = mod.replace("/", ".")
    out = [f"{base}.{parts}", f"{base}.{parts}_", f"{base}.{parts.lower()}", f"{base}.{snake(parts)}"]
    return list(dict.fromkeys(out))


def _split(token: str) -> tuple[str, str, str]:
    """``gcp:compute/getNetwork:getNetwork`` -> (``gcp``, ``compute``, ``getNetwork``)."""
    parts = token.split(":")
    if len(parts) != 3:
        return (parts[0], "", parts[-1])
    pkg, mod, member = parts
    mod = mod.split("/")[0] if "/" in mod else mod
    return pkg, mod, member


@cache
def _result_class(token: str) -> type | None:
    """The typed result class of a provider function token, or None."""
    pkg, mod, fn = _split(token)
    cls_name = fn[0].upper() + fn[1:] + "Result"
    for name in _module_candidates(pkg, mod):
        module = _import(f"{name}.{snake(fn)}")
        if module is not None and isinstance(getattr(module, cls_name, None), type):
            return getattr(module, cls_name)
    for name in _module_candidates(pkg, mod):  # a module named differently: look for the class in the package
        module = _import(name)
        if module is not None and isinstance(getattr(module, cls_name, None), type):
            return getattr(module, cls_name)
    return None


@cache
def resource_class(token: str) -> type | None:
    """The SDK class of a resource or component type token (``awsx:ec2:Vpc`` -> ``pulumi_awsx.ec2.Vpc``)."""
    pkg, mod, kind = _split(token)
    for name in _module_candidates(pkg, mod):
        module = _import(name)
        cls = getattr(module, kind, None) if module is not None else None
        if isinstance(cls, type):
            return cls
    return None


def _fields(cls: type) -> list[tuple[str, Any]]:
    """(pulumi name, resolved annotation) of every getter property of an output/result/resource class."""
    module = inspect.getmodule(cls)
    globalns = dict(vars(module)) if module is not None else {}
    out = []
    for klass in reversed(cls.__mro__):
        for attr, prop in vars(klass).items():
            if not isinstance(prop, property) or prop.fget is None:
                continue
            pname = getattr(prop.fget, "_pulumi_name", None)
            if pname is None or attr.startswith("_"):
                continue
            try:
                hint = typing.get_type_hints(prop.fget, globalns=globalns).get("return", Any)
            except Exception:
                hint = Any
            out.append((pname, hint))
    seen: dict[str, Any] = {}
    for name, hint in out:
        seen[name] = hint
    return list(seen.items())


def class_fields(cls: type) -> list[tuple[str, Any]]:
    """(pulumi name, resolved annotation) of every property of an SDK resource or output type class."""
    return _fields(cls)


@cache
def function_params(token: str) -> frozenset[str]:
    """Python names of the function's parameters (its result echoes them)."""
    cls = _result_class(token)
    module = inspect.getmodule(cls) if cls is not None else None
    fn = getattr(module, snake(_split(token)[2]), None) if module is not None else None
    try:
        return frozenset(inspect.signature(fn).parameters) if fn is not None else frozenset()
    except (TypeError, ValueError):
        return frozenset()


@cache
def function_fields(token: str) -> tuple[tuple[str, Any], ...]:
    """The result fields of a provider function (empty if the SDK is not installed or has no such function)."""
    cls = _result_class(token)
    return tuple(_fields(cls)) if cls is not None else ()


@cache
def output_fields(token: str) -> tuple[tuple[str, Any], ...]:
    """The output properties of a resource or component class."""
    cls = resource_class(token)
    return tuple(_fields(cls)) if cls is not None else ()


class Context:
    """What a synthesized value may refer to: the cloud location and the call's own arguments."""

    def __init__(self, token: str, args: Mapping[str, Any], *, region: str, account: str, gcp_project: str,
                 gcp_region: str) -> None:
        self.token = token
        self.args = dict(args)
        self.region = str(args.get("region") or region) if isinstance(args.get("region"), str) else region
        self.account = account
        pkg, mod, member = _split(token)
        self.pkg, self.mod = pkg, mod
        self.gcp_project = str(args["project"]) if isinstance(args.get("project"), str) else gcp_project
        self.gcp_region = str(args["region"]) if isinstance(args.get("region"), str) else gcp_region
        subject = member[3:] if member.startswith("get") and member[3:4].isupper() else member
        self.subject = subject  # e.g. "Network", "SecurityGroup"
        lower = f"{subject[0].lower()}{subject[1:]}" if subject else ""
        name = next((args[k] for k in ("name", f"{lower}Name", f"{lower}Id", "bucket", "family")
                     if isinstance(args.get(k), str) and args[k]), None)
        if name is None:  # e.g. functionName, clusterName, accountId
            name = next((v for k, v in args.items() if k.endswith(("Name", "Id")) and isinstance(v, str) and v),
                        None)
        self.name = name if isinstance(name, str) else f"{snake(subject).replace('_', '-')}-1"

    # -- strings by name ------------------------------------------------------------------------------
    def _collection(self) -> str:
        s = snake(self.subject).replace("_", "")
        if s.endswith("s"):
            return s
        return s + ("es" if s.endswith(("x", "ch", "sh")) else "s")

    def self_link(self) -> str:
        gp = self.gcp_project
        if self.mod == "compute":
            scope = "global"
            if isinstance(self.args.get("zone"), str):
                scope = f"zones/{self.args['zone']}"
            elif isinstance(self.args.get("region"), str) or self.subject in ("Subnetwork", "Address", "Router"):
                scope = f"regions/{self.gcp_region}"
            return f"https://www.googleapis.com/compute/v1/projects/{gp}/{scope}/{self._collection()}/{self.name}"
        return f"https://www.googleapis.com/{self.mod}/v1/projects/{gp}/{self._collection()}/{self.name}"

    def gcp_id(self) -> str:
        return self.self_link().split("/v1/", 1)[1]

    def arn(self, key: str) -> str:
        service = {"lb": "elasticloadbalancing", "alb": "elasticloadbalancing", "cloudwatch": "logs",
                   "lambda": "lambda", "index": "iam"}.get(self.mod, self.mod)
        kind = snake(self.subject).replace("_", "-")
        if service in ("iam", "s3", "route53", "cloudfront"):
            return f"arn:aws:{service}::{self.account if service == 'iam' else ''}:{kind}/{self.name}"
        return f"arn:aws:{service}:{self.region}:{self.account}:{kind}/{self.name}"

    def aws_id(self) -> str:
        prefix = {"Vpc": "vpc", "Subnet": "subnet", "SecurityGroup": "sg", "RouteTable": "rtb",
                  "InternetGateway": "igw", "NatGateway": "nat", "Ami": "ami", "Instance": "i",
                  "NetworkInterface": "eni", "VpcEndpoint": "vpce", "Eip": "eipalloc", "KeyPair": "key",
                  "PrefixList": "pl", "NetworkAcl": "acl", "TransitGateway": "tgw", "Volume": "vol",
                  "LaunchTemplate": "lt"}.get(self.subject)
        if prefix and self.mod == "ec2":
            return f"{prefix}-0{hashlib.sha1(f'{self.token}/{self.name}'.encode()).hexdigest()[:16]}"
        return self.name

    def string(self, key: str) -> str:
        low = key.lower()
        gcp = self.pkg in ("gcp", "google-native")
        if key == "id":
            return self.gcp_id() if gcp else self.aws_id()
        if low == "selflink" or low.endswith("selflink"):
            return self.self_link()
        if low.endswith("arn"):
            return self.arn(key)
        if low in ("name", f"{self.subject.lower()}name"):
            return self.name
        if low in ("project", "projectid"):
            return self.gcp_project
        if low == "region":
            return self.gcp_region if gcp else self.region
        if low == "zone" or low.endswith("availabilityzone"):
            return f"{self.gcp_region}-a" if gcp else f"{self.region}a"
        if low in ("accountid", "ownerid", "owner"):
            return self.account
        if "cidr" in low or "iprange" in low:
            return "10.0.0.0/16"
        if low.endswith(("ipaddress", "privateip", "publicip")) or low in ("address", "ip"):
            return "10.0.0.10"
        if low.endswith("email"):
            return f"{self.name}@{self.gcp_project}.iam.gserviceaccount.com"
        if low.endswith(("url", "uri", "endpoint")):
            return f"https://{self.name}.example.com"
        if low.endswith(("dnsname", "domainname", "hostname", "domain")):
            return f"{self.name}.example.com"
        if low.endswith("vpcid"):
            return "vpc-0default000000001"
        if low.endswith("subnetid"):
            return "subnet-0default00000001"
        if low.endswith(("json", "policy", "document")):
            return "{}"
        if low.endswith("version") or low == "engineversion":
            return "1.30.5-gke.1000000" if self.mod == "container" else "1.0"
        if low == "member" and gcp:
            return f"serviceAccount:{self.name}@{self.gcp_project}.iam.gserviceaccount.com"
        if low in ("state", "status"):
            return "available" if not gcp else "READY"
        if low.endswith(("date", "time", "timestamp")):
            return "2024-01-01T00:00:00Z"
        if low.endswith("id"):
            return f"{self.name}-{snake(key[:-2]).replace('_', '-') or 'id'}"
        return f"{self.name}-{snake(key).replace('_', '-')}"

    def number(self, key: str) -> int:
        low = key.lower()
        if low.endswith("port"):
            return 443
        if "size" in low or "gb" in low:
            return 10
        return 1


def _value(ctx: Context, key: str, hint: Any, depth: int) -> Any:
    """A plausible value of type ``hint`` for the property ``key``."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        inner = [a for a in args if a is not type(None)]
        return _value(ctx, key, inner[0], depth) if inner else None
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return next(iter(hint)).value if len(hint) else None
    if hint is str:
        return ctx.string(key)
    if hint is bool:
        return False
    if hint is int:
        return ctx.number(key)
    if hint is float:
        return float(ctx.number(key))
    if origin in (list, tuple, typing.Sequence) or (origin is not None and _is_seq(origin)):
        item = args[0] if args else str
        if depth >= MAX_DEPTH:
            return []
        n = 3 if item is str and key.endswith(("Ids", "ids", "Names", "names")) else 1
        singular = key[:-1] if key.endswith("s") else key
        if item is str and n > 1:
            base = ctx.string(singular)
            return [f"{base}{i}" if i else base for i in range(n)]
        return [_value(ctx, singular, item, depth + 1) for _ in range(n)]
    if origin in (dict, typing.Mapping) or (origin is not None and _is_map(origin)):
        return {}
    if isinstance(hint, type) and hasattr(hint, "__init__") and _is_output_type(hint):
        if depth >= MAX_DEPTH:
            return {}
        return {name: _value(ctx, name, h, depth + 1) for name, h in _fields(hint)}
    if isinstance(hint, type) and _is_resource(hint):
        return None  # a resource reference: answered by the caller (components) or left unknown
    return None


def _is_seq(origin: Any) -> bool:
    from collections import abc

    return isinstance(origin, type) and issubclass(origin, abc.Sequence) and not issubclass(origin, str)


def _is_map(origin: Any) -> bool:
    from collections import abc

    return isinstance(origin, type) and issubclass(origin, abc.Mapping)


def _is_output_type(cls: type) -> bool:
    return bool(getattr(cls, "_pulumi_output_type", False)) or any(
        isinstance(v, property) and getattr(v.fget, "_pulumi_name", None) for v in vars(cls).values())


def _is_resource(cls: type) -> bool:
    import pulumi

    return issubclass(cls, pulumi.Resource)


def synthesize(ctx: Context) -> dict[str, Any]:
    """Every field of the function's result, echoing same-named arguments; ``{}`` for an unknown token."""
    out: dict[str, Any] = {}
    params = function_params(ctx.token)
    for name, hint in function_fields(ctx.token):
        if ctx.args.get(name) is not None:
            out[name] = ctx.args[name]
            continue
        if snake(name) in params and typing.get_origin(_strip_optional(hint)) is not None:
            continue  # a filter or list the caller did not pass: the provider returns none
        value = _value(ctx, name, hint, 0)
        if value is not None:
            out[name] = value
    return out


def synthesize_outputs(ctx: Context) -> tuple[dict[str, Any], dict[str, type]]:
    """Plain outputs of a component class, and its resource-typed outputs (name -> resource class,
    a one-element list for sequences) for the caller to create."""
    plain: dict[str, Any] = {}
    refs: dict[str, Any] = {}
    for name, hint in output_fields(ctx.token):
        inner = _unwrap_output(hint)
        res = _resource_of(inner)
        if res is not None:
            refs[name] = res
            continue
        if ctx.args.get(name) is not None:
            plain[name] = ctx.args[name]
            continue
        value = _value(ctx, name, inner, 0)
        if value is not None:
            plain[name] = value
    return plain, refs


def _strip_optional(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return inner[0] if len(inner) == 1 else hint
    return hint


def _unwrap_output(hint: Any) -> Any:
    import pulumi

    if typing.get_origin(hint) is pulumi.Output:
        args = typing.get_args(hint)
        return args[0] if args else Any
    return hint


def _resource_of(hint: Any) -> Any:
    """A resource class (or ``[cls]`` for a sequence of them) inside an annotation, else None."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        inner = [a for a in args if a is not type(None)]
        return _resource_of(inner[0]) if len(inner) == 1 else None
    if origin is not None and (origin in (list, tuple, typing.Sequence) or _is_seq(origin)) and args:
        inner = _resource_of(args[0])
        return [inner] if isinstance(inner, type) else None
    if isinstance(hint, type) and _is_resource(hint):
        return hint
    return None


@cache
def resource_token(cls: type) -> str | None:
    """The type token a generated resource class registers with (read from its ``_internal_init``)."""
    init = getattr(cls, "_internal_init", None) or cls.__init__
    try:
        src = inspect.getsource(init)
    except (OSError, TypeError):
        return None
    m = re.search(r"__init__\(\s*'([^']+)'", src)
    return m.group(1) if m else None
