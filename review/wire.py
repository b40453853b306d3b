"""The engine's wire values (protobuf ``Struct``) to plain Python and back, without touching the event loop.

The SDK's own ``rpc.deserialize_properties`` rehydrates resource references into live ``Resource`` objects,
which schedule RPCs on whatever event loop the calling thread has: called from the mock monitor (an executor
thread) or after the run, it leaves futures on the wrong loop ("attached to a different loop") and pending
tasks that asyncio reports at exit. This codec decodes references to the value the SDK falls back to (the id,
else the URN), and encodes whatever a mock returns after reducing it to what a ``Struct`` can hold.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import decimal
import enum
import math
from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format, struct_pb2

SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

__all__ = ["decode", "encode", "plain", "resource_ref", "secret"]


def secret(value: Any) -> dict[str, Any]:
    """The engine's secret wrapper around ``value``."""
    return {SIG_KEY: SECRET_SIG, "value": value}


def resource_ref(urn: str, id_: str | None = None) -> dict[str, Any]:
    """A resource reference as the engine sends it (the SDK rehydrates it into the resource)."""
    ref: dict[str, Any] = {SIG_KEY: RESOURCE_SIG, "urn": urn}
    if id_ is not None:
        ref["id"] = id_
    return ref


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            return secret(_decode_value(value.get("value")))
        if sig == RESOURCE_SIG:
            ref_id = value.get("id")
            if ref_id is not None:
                return UNKNOWN if ref_id == "" else ref_id
            return value.get("urn")
        if sig == OUTPUT_SIG:
            inner = _decode_value(value["value"]) if "value" in value else UNKNOWN
            return secret(inner) if value.get("secret") else inner
        return {k: _decode_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_decode_value(v) for v in value]
    return value


def decode(struct: struct_pb2.Struct | None) -> dict[str, Any]:
    """A ``Struct`` as plain data: secrets keep the engine's wrapper, references become their id (or URN),
    output values their value (or the unknown sentinel); assets and archives stay as their wire dicts."""
    if struct is None:
        return {}
    return _decode_value(json_format.MessageToDict(struct))


def plain(value: Any, _depth: int = 0) -> Any:
    """``value`` reduced to what a protobuf ``Struct`` (JSON) holds: string keys, lists for any sequence or
    set, numbers for decimals, text for bytes/dates/enums/other objects; NaN and infinities become None."""
    if _depth > 64:
        return None
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return plain(value.value, _depth + 1)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float | decimal.Decimal):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(plain(k, _depth + 1)): plain(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        items = [plain(v, _depth + 1) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, list | tuple):
        return [plain(v, _depth + 1) for v in value]
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value), _depth + 1)
    return str(value)


def encode(value: Mapping[str, Any] | None) -> struct_pb2.Struct:
    """A mapping as a ``Struct`` (see :func:`plain` for what is converted)."""
    struct = struct_pb2.Struct()
    if value:
        struct.update(plain(dict(value)))
    return struct
