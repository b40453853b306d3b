"""``docs/settings.md`` from the settings models and the profiles: every key, the clouds it applies to, its type
and its default in each environment. ``python -m stacks.settings_doc`` rewrites the page; a test keeps it in sync.
"""

from __future__ import annotations

import json
import sys
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .settings import (
    CLOUD_PROFILES,
    CLOUDS,
    ENVIRONMENTS,
    KIND_PROFILES,
    MODELS,
    PROFILES,
    SECRET_PROFILES,
    from_values,
)

DOC = Path(__file__).resolve().parent.parent / "docs" / "settings.md"
_SAMPLE = {"aws": {"region": "us-east-1"}, "gcp": {"region": "us-central1", "cloud": "gcp",
                                                    "gcpProject": "demo-project"}}


def _type(ann: Any) -> str:
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is typing.Literal:
        return " \\| ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join("null" if a is type(None) else _type(a) for a in args)
    if origin is list:
        return f"list of {_type(args[0])}"
    if origin is dict:
        key = "name" if typing.get_origin(args[0]) is typing.Annotated else _type(args[0])
        return f"map {key} → {_type(args[1])}"
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return "object"
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    return names.get(ann, getattr(ann, "__name__", str(ann)))


def _constraints(field: Any) -> str:
    out = []
    for m in field.metadata:
        for attr, sym in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"), ("min_length", "min length ")):
            if getattr(m, attr, None) is not None:
                out.append(f"{sym}{getattr(m, attr)}")
        if getattr(m, "pattern", None):
            out.append(f"pattern `{m.pattern}`")
    return ", ".join(out)


def _value(v: Any) -> str:
    if isinstance(v, BaseModel):
        v = v.model_dump(by_alias=True)
    elif isinstance(v, list):
        v = [x.model_dump(by_alias=True) if isinstance(x, BaseModel) else x for x in v]
    elif isinstance(v, dict):
        v = {k: x.model_dump(by_alias=True) if isinstance(x, BaseModel) else x for k, x in v.items()}
    if v is None:
        return "null"
    text = json.dumps(v, separators=(", ", ": "), ensure_ascii=False)
    return "`" + text.replace("|", "\\|") + "`"


def _fields(model: type[BaseModel]) -> dict[str, tuple[str, Any]]:
    return {f.alias or n: (n, f) for n, f in model.model_fields.items()}


def _in_profile(cloud: str, env: str, path: list[str]) -> bool:
    cur: Any = {**PROFILES[env], **CLOUD_PROFILES[cloud][env]}
    for key in path:
        if not isinstance(cur, dict) or key not in cur:
            return False
        cur = cur[key]
    return True


def render() -> str:
    """The page's text."""
    samples = {(c, e): from_values({"environment": e, **_SAMPLE[c]}) for c in CLOUDS for e in ENVIRONMENTS}
    lines = [
        "# Settings",
        "",
        "<!-- Generated from stacks/settings.py by `python -m stacks.settings_doc`; a test fails when this page is",
        "     stale. -->",
        "",
        "Every stack's settings live in its `Pulumi.<stack>.yaml` under the `backend-hosting:` namespace, with",
        "camelCase keys (`backend-hosting:network: {natStrategy: single}`). `cloud` selects the model: a key marked",
        "for one cloud only is refused on the other (one line naming it), and so is a key that does not apply to the",
        "shape the stack chose (for example `cache.nodeType` with `cache.mode: serverless`, `network.natAddresses`",
        "without `natStrategy: static`, any `database.*` key with `database.enabled: false`). A stack file states only",
        "what differs from its environment profile: the values below are what `dev`, `staging` and `prod` get when the",
        "stack file says nothing (on AWS; where GCP's default differs it is noted as *gcp:*). Objects merge key by",
        "key; lists replace. The region must be one the cloud offers (AWS: botocore's partition data; GCP:",
        "`GCP_REGIONS` in stacks/settings.py), and a config key whose namespace is one or two letters off",
        "`backend-hosting` is refused rather than ignored.",
        "",
    ]

    def table(title: str, path: list[str], doc: str) -> None:
        models = {c: _model(MODELS[c], path) for c in CLOUDS}
        items = "[]" in path or "<name>" in path
        header = ("| key | clouds | type | default | description |\n|---|---|---|---|---|" if items else
                  "| key | clouds | type | dev | staging | prod | description |\n|---|---|---|---|---|---|---|")
        lines.extend([f"## {title}", "", doc, "", *header.splitlines()])
        keys: dict[str, None] = {}
        for c in CLOUDS:
            if models[c] is not None:
                keys.update(dict.fromkeys(_fields(models[c])))
        nested: list[tuple[str, list[str], str]] = []
        for key in keys:
            clouds = [c for c in CLOUDS if models[c] is not None and key in _fields(models[c])]
            first = clouds[0]
            field = _fields(models[first])[key][1]
            kinds = []
            for c in clouds:
                f = _fields(models[c])[key][1]
                kind = _type(f.annotation) + (f" ({x})" if (x := _constraints(f)) else "")
                kinds.append(kind if len(clouds) == 1 else f"{c}: {kind}")
            kind = kinds[0].split(": ", 1)[-1] if len(set(k.split(": ", 1)[-1] for k in kinds)) == 1 else \
                "<br>".join(kinds)
            descs: dict[str, str] = {}
            for c in clouds:
                d = (_fields(models[c])[key][1].description or "").replace("|", "\\|")
                if d and d not in descs:
                    descs[d] = d if not descs else f"*{c}:* {d}"
            desc = " ".join(descs.values())
            kind = kind.replace("|", "\\|").replace("\\\\|", "\\|")
            ann = field.annotation
            sub = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
            item = typing.get_args(ann)[0] if typing.get_origin(ann) is list else None
            if typing.get_origin(ann) is dict:
                item = typing.get_args(ann)[1]
            dotted = ".".join([*path, key]).replace(".[]", "[]")
            if sub is not None:
                sub_doc = _shared_doc([_fields(models[c])[key][1].annotation for c in clouds])
                desc = desc or sub_doc
                desc += f" See [{dotted}](#{dotted.lower().replace('.', '')})."
                nested.append((f"`{dotted}`", [*path, key], sub_doc))
            elif isinstance(item, type) and issubclass(item, BaseModel):
                desc += f" Items: [{dotted}[]](#{dotted.lower().replace('.', '')}-items)."
                if typing.get_origin(ann) is dict:
                    desc = desc.replace("[]", ".&lt;name&gt;").replace("-items)", "name-items)")
            if items:
                default = "required" if field.is_required() else _value(field.get_default(call_default_factory=True))
                lines.append(f"| `{key}` | {', '.join(clouds)} | {kind} | {default} | {desc} |")
                continue
            cells = []
            for env in ENVIRONMENTS:
                values = {}
                for c in clouds:
                    f = _fields(models[c])[key][1]
                    if f.is_required() and not _in_profile(c, env, [*path, key]):
                        values[c] = "required"
                    elif sub is not None:
                        values[c] = "(object)"
                    else:
                        values[c] = _value(_dig(samples[(c, env)], [*path, key]))
                if key in ("cloud", "gcpProject", "gcpBillingAccount") and len(clouds) == 1:
                    values = {clouds[0]: values[clouds[0]]}
                shown = values[clouds[0]]
                for c in clouds[1:]:
                    if values[c] != shown and key != "cloud":
                        shown += f" *{c}:* {values[c]}"
                cells.append(shown)
            lines.append(f"| `{key}` | {', '.join(clouds)} | {kind} | {' | '.join(cells)} | {desc} |")
            if isinstance(item, type) and issubclass(item, BaseModel):
                label = f"`{dotted}.<name>` items" if typing.get_origin(ann) is dict else f"`{dotted}[]` items"
                marker = "<name>" if typing.get_origin(ann) is dict else "[]"
                nested.append((label, [*path, key, marker], _shared_doc([
                    (lambda a: typing.get_args(a)[-1])(_fields(models[c])[key][1].annotation) for c in clouds])))
        lines.append("")
        for sub_title, sub_path, sub_doc in nested:
            table(sub_title, sub_path, sub_doc)

    table("Top level", [], "Everything one stack needs: cloud, region, environment profile and a section per concern.")
    lines.extend(["## Service sizes per environment", "",
                  "Each service starts from its kind's defaults in the stack's environment (`KIND_PROFILES`); the "
                  "stack file says only what differs.", "",
                  "| cloud | kind | dev | staging | prod |", "|---|---|---|---|---|"])
    for cloud in CLOUDS:
        for kind in ("web", "worker", "job"):
            cells = [_value(KIND_PROFILES[cloud][env][kind]) for env in ENVIRONMENTS]
            lines.append(f"| {cloud} | {kind} | {' | '.join(cells)} |")
    lines.extend(["", "## Application secret defaults per environment", "",
                  "Each **generated** secret (`secrets.<name>`, `generate` not false) starts from these defaults on "
                  "both clouds (`SECRET_PROFILES`); a secret whose value is given (`generate: false`) gets none. "
                  "`rotationDays: null` turns rotation off (prod then needs a waiver).", "",
                  "| dev | staging | prod |", "|---|---|---|",
                  "| " + " | ".join(_value(SECRET_PROFILES[e]) if SECRET_PROFILES[e] else "-" for e in ENVIRONMENTS)
                  + " |"])
    lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _shared_doc(classes: list[Any]) -> str:
    """First docstring line of the most specific class the models share (the cloud's own when only one)."""
    common = [c for c in classes[0].__mro__ if all(c in k.__mro__ for k in classes[1:])]
    cls = next(c for c in common if c.__doc__)
    return cls.__doc__.strip().splitlines()[0]


def _model(model: type[BaseModel], path: list[str]) -> type[BaseModel] | None:
    cur: Any = model
    for key in path:
        if key in ("[]", "<name>"):
            cur = typing.get_args(cur)[-1]
            continue
        fields = _fields(cur)
        if key not in fields:
            return None
        cur = fields[key][1].annotation
    if typing.get_origin(cur) is list:
        cur = typing.get_args(cur)[0]
    return cur if isinstance(cur, type) and issubclass(cur, BaseModel) else None


def _dig(obj: Any, path: list[str]) -> Any:
    for key in path:
        if key in ("[]", "<name>"):
            return None
        fields = {f.alias or n: n for n, f in type(obj).model_fields.items()}
        obj = getattr(obj, fields[key])
    return obj


def main(argv: list[str] | None = None) -> int:
    """Rewrite docs/settings.md (``--check``: exit 1 when it is stale)."""
    text = render()
    if "--check" in (argv if argv is not None else sys.argv[1:]):
        return 0 if DOC.read_text(encoding="utf-8") == text else 1
    DOC.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
