"""The serverless, edge, data and Kubernetes rules never crash on values of an unexpected shape (a program may pass
anything the SDK accepts; a crashing rule would end the review with exit 2 instead of a verdict)."""

from __future__ import annotations

import copy
import itertools
import re
from pathlib import Path

import pytest

from policies.common import Context, Res, ResourceIndex, StackInfo
from policies.security import PACK, rules_containers, rules_data, rules_edge, rules_serverless

MODULES = (rules_serverless, rules_edge, rules_data, rules_containers)
RULES = [r for m in MODULES for r in m.RULES]
WEIRD = [1, "x", [], {"a": 1}, True, None, [1, {"b": 2}], "04da6b54-80e4-46f7-96ec-b56ff0331ba9", "[secret]",
         "{not json", '{"paths": {"/": {"1": 2, "get": []}}}']
"""One of each shape a rule may meet where it expects another: a number, text, an empty and a mixed list, a mapping,
a boolean, null, the engine's unknown, a secret the review cannot read, broken and odd JSON documents."""


def _paths() -> list[str]:
    """Every dotted input path the modules read (``r.get("a.b")``, ``has``, ``known``)."""
    out: set[str] = set()
    for m in MODULES:
        text = Path(m.__file__).read_text()
        out.update(re.findall(r'\.(?:get|has|known)\("([A-Za-z0-9.]+)"', text))
    return sorted(out)


def _nest(path: str, value: object) -> dict:
    parts = path.split(".")
    out: dict = {parts[-1]: copy.deepcopy(value)}
    for p in reversed(parts[:-1]):
        out = {p: out}
    return out


def _merge(a: dict, b: dict) -> dict:
    for k, v in b.items():
        a[k] = _merge(a[k], v) if isinstance(a.get(k), dict) and isinstance(v, dict) else v
    return a


PATHS = _paths()
TYPES = sorted({tok for m in MODULES for tok in re.findall(r'"((?:aws|gcp):[A-Za-z0-9/]+:[A-Za-z0-9]+)"',
                                                            Path(m.__file__).read_text())})
"""Every type token the modules name (stack rules judge several)."""


def _variants() -> list[dict]:
    """Inputs of odd shapes, built once: every path read holds one odd value; then every input is also a mapping
    (or a list of mappings) of every key read anywhere (shared, read-only)."""
    keys = [p for p in PATHS if "." not in p]
    out = []
    for weird, shape in itertools.product(WEIRD, ("leaf", "mapping", "list")):
        props: dict = {}
        for path in PATHS:
            _merge(props, _nest(path, weird))
        if shape != "leaf":
            inner = {k: weird for k in keys}
            for k in keys:
                props[k] = inner if shape == "mapping" else [inner]
        out.append(props)
    return out


VARIANTS = _variants()


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_rule_survives_odd_values(rule) -> None:
    stack = StackInfo(project="p", stack="s", config={"p:environment": "prod"})
    if rule.kind == "stack":
        for props in VARIANTS:
            index = ResourceIndex([Res(x, f"o{j}", f"urn:{x}:o{j}", props) for j, x in enumerate(TYPES)])
            rule.evaluate(index, Context(rule, rule.effective_config({}), stack, index))
        return
    for i, (t, props) in enumerate(itertools.product([t for t in rule.types if "*" not in t], VARIANTS)):
        res = Res(t, f"r{i}", f"urn:{t}:r{i}", props)
        rule.evaluate(res, Context(rule, rule.effective_config({}), stack))


def test_the_new_modules_are_in_the_pack() -> None:
    names = {r.name for r in PACK.rules}
    assert {r.name for r in RULES} <= names
