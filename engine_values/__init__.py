"""Placeholder values in resource inputs, one definition for every package that reads them.

The Pulumi engine sends a value computed at deploy time (an output not known in preview) as one of the
sentinels below; a CrossGuard pack receives them all (one per value kind), the review's captured graph holds the
string one. The review replaces a secret input or config value with :data:`SECRET` and never reads it.

This module sits below ``review``, ``policies`` and ``pricing`` and imports nothing of the project, so each of
them (and a policy pack packaged on its own) can use it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MISSING", "SECRET", "UNKNOWN", "UNKNOWN_VALUES", "dig", "is_unknown"]

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The engine's sentinel for a string computed at deploy time (``pulumi.runtime.rpc.UNKNOWN``)."""

UNKNOWN_VALUES = frozenset({
    UNKNOWN,  # string
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
    "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
    "e48ece36-62e2-4504-bad9-02848725956a",  # archive
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
})
"""Every sentinel of a value computed at deploy time (``pulumi_policy.proxy``: one per value kind)."""

SECRET = "[secret]"
"""What a secret input or config value is replaced with; the real value is never read or printed."""

MISSING: Any = object()
"""What :func:`dig` returns for an absent path when no default is given."""


def is_unknown(value: Any) -> bool:
    """True for the engine's "computed at deploy time" sentinels."""
    return isinstance(value, str) and value in UNKNOWN_VALUES



def dig(value: Any, path: str, default: Any = MISSING) -> Any:
    """The value at a dotted path of dicts and lists (``"rules.0.status"``); ``default`` when absent."""
    cur = value
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return default
    return cur
