"""A small evaluator of identity-based IAM policy documents, for proving what a deploy role may not do.

It follows IAM's documented logic for one principal's identity policies (no resource policies, SCPs or session
policies): an explicit Deny wins, else an Allow is needed, else the request is implicitly denied. A statement
matches when an ``Action``/``NotAction`` pattern and a ``Resource``/``NotResource`` pattern match (``*`` and ``?``
wildcards; actions case-insensitively) and every condition holds. Conditions: the String*, Arn*, Bool, Null and
Numeric* operators, ``...IfExists``, and the ``ForAnyValue:``/``ForAllValues:`` set qualifiers. As in IAM, a
condition on a key the request does not carry fails, except negated operators (``StringNotEquals``...,
``ArnNotLike``) and ``ForAllValues``, which hold, and ``Null``, which tests presence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    """One API request: action, resource ARN, and its request context (condition keys)."""

    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _plain_wild(pattern: str, value: str) -> bool:
    """``*``/``?`` wildcards only (IAM has no character classes)."""
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, flags=re.S) is not None


def _match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    return _plain_wild(pattern, value)


def _arn_like(pattern: str, value: str) -> bool:
    """ArnLike compares the six colon-separated parts one by one (the resource part may hold colons)."""
    p, v = pattern.split(":", 5), value.split(":", 5)
    if len(p) != 6 or len(v) != 6:
        return _match(pattern, value)
    return all(_match(a, b) for a, b in zip(p, v, strict=True))


def _single(op: str, wanted: list[Any], actual: Any) -> bool:
    """One context value against the condition's values for a non-negated base operator."""
    a = str(actual).lower() if op in ("Bool",) else actual
    if op == "StringEquals":
        return str(actual) in [str(w) for w in wanted]
    if op == "StringEqualsIgnoreCase":
        return str(actual).lower() in [str(w).lower() for w in wanted]
    if op == "StringLike":
        return any(_match(str(w), str(actual)) for w in wanted)
    if op in ("ArnEquals", "ArnLike"):
        return any(_arn_like(str(w), str(actual)) for w in wanted)
    if op == "Bool":
        return a in [str(w).lower() for w in wanted]
    if op.startswith("Numeric"):
        num = float(actual)
        cmp = {"NumericEquals": lambda x: num == x, "NumericLessThan": lambda x: num < x,
               "NumericLessThanEquals": lambda x: num <= x, "NumericGreaterThan": lambda x: num > x,
               "NumericGreaterThanEquals": lambda x: num >= x}[op]
        return any(cmp(float(w)) for w in wanted)
    raise ValueError(f"condition operator {op} is not supported by this evaluator")


NEGATED = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
           "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike",
           "NumericNotEquals": "NumericEquals"}


def _condition(op: str, key: str, wanted: Any, context: Mapping[str, Any]) -> bool:
    wanted_l = _listed(wanted)
    present = key in context and context[key] is not None
    if op == "Null":
        return (not present) == (str(wanted_l[0]).lower() == "true")
    qualifier = None
    if ":" in op:
        qualifier, op = op.split(":", 1)
    if_exists = op.endswith("IfExists")
    if if_exists:
        op = op[: -len("IfExists")]
    if not present:
        if if_exists or qualifier == "ForAllValues":
            return True
        return op in NEGATED
    values = _listed(context[key])
    base, negated = (NEGATED[op], True) if op in NEGATED else (op, False)
    if qualifier == "ForAnyValue":
        hit = any(_single(base, wanted_l, v) for v in values)
        return not hit if negated else hit
    if qualifier == "ForAllValues":
        each = [_single(base, wanted_l, v) for v in values]
        return all(not e for e in each) if negated else all(each)
    hit = any(_single(base, wanted_l, v) for v in values)
    return not hit if negated else hit


def statement_matches(st: Mapping[str, Any], req: Request) -> bool:
    """True when the statement applies to the request (action, resource and every condition)."""
    if "Action" in st:
        ok = any(_match(a, req.action, ignore_case=True) for a in _listed(st["Action"]))
    else:
        ok = not any(_match(a, req.action, ignore_case=True) for a in _listed(st.get("NotAction")))
    if not ok:
        return False
    if "Resource" in st:
        ok = any(_match(r, req.resource) for r in _listed(st["Resource"]))
    else:
        ok = not any(_match(r, req.resource) for r in _listed(st.get("NotResource")))
    if not ok:
        return False
    for op, block in (st.get("Condition") or {}).items():
        for key, wanted in block.items():
            if not _condition(op, key, wanted, req.context):
                return False
    return True


def decide(policies: Iterable[Mapping[str, Any]], req: Request) -> str:
    """``allow``, ``deny`` (an explicit Deny matched) or ``implicit-deny``."""
    allowed = False
    for doc in policies:
        for st in _listed(doc.get("Statement")):
            if not statement_matches(st, req):
                continue
            if st.get("Effect") == "Deny":
                return "deny"
            allowed = True
    return "allow" if allowed else "implicit-deny"


def allowed(policies: Iterable[Mapping[str, Any]], req: Request) -> bool:
    """True when the request is allowed."""
    return decide(list(policies), req) == "allow"
