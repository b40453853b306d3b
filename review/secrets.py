"""Two views of every captured value: the real one policies judge, the redacted one every output shows.

The capture keeps the engine's secret wrapper (``{SECRET_SIG_KEY: SECRET_SIG, "value": v}``) around each
secret value. :func:`split` turns such a raw value into

* the **display** view: each secret replaced by :data:`~review.model.SECRET` (``[secret]``); the only view
  rendering, pricing and ``--base`` diffs read;
* the **judged** view: each secret unwrapped to its real value, as a CrossGuard pack receives it under
  ``pulumi preview``; a value the review cannot know (a ``secure:`` config value, never decrypted, which the
  program received as ``[secret]``) stays ``[secret]``, which :mod:`policies.common` treats as
  "cannot verify";
* **digests**: an HMAC of each secret's real value per property path, keyed by a random per-process key, so a
  ``--base`` diff can tell that a secret changed without printing it (or anything derived from it that outlives
  the process).

:func:`scrub` removes the text of known secret values from strings that leave the review (policy messages).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
from collections.abc import Iterable
from typing import Any

from .model import SECRET, Graph, Resource, dig

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
"""The engine's special-signature key (``pulumi.runtime.rpc._special_sig_key``)."""
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
"""The signature value marking a secret (``pulumi.runtime.rpc._special_secret_sig``)."""

_KEY = os.urandom(32)
MIN_SUBSTRING = 4
"""Secret texts at least this long are removed wherever they appear in a message; shorter ones only where they
stand alone and are a whole secret of the resource the message is about (``1`` or ``*`` inside a secret document
would otherwise erase every ``1`` and ``*`` of every message)."""


def is_wrapper(value: Any) -> bool:
    """The engine's secret wrapper."""
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG


def wrap(value: Any) -> dict[str, Any]:
    """Wrap a value as the engine marks a secret."""
    return {SECRET_SIG_KEY: SECRET_SIG, "value": value}


def digest(value: Any) -> str:
    """A keyed fingerprint of a value (stable within this process only)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(_KEY, text.encode(), hashlib.sha256).hexdigest()


def display(value: Any, texts: frozenset[str] = frozenset()) -> Any:
    """Secrets replaced by ``[secret]``, recursively; strings also lose any of ``texts`` (see :func:`scrub`)."""
    if is_wrapper(value):
        return SECRET
    if isinstance(value, dict):
        return {k: display(v, texts) for k, v in value.items()}
    if isinstance(value, list):
        return [display(v, texts) for v in value]
    if texts and isinstance(value, str):
        return scrub(value, texts, texts)
    return value


def judged(value: Any) -> Any:
    """Secrets unwrapped to their real values, recursively (what a policy pack receives)."""
    if is_wrapper(value):
        return judged(value.get("value"))
    if isinstance(value, dict):
        return {k: judged(v) for k, v in value.items()}
    if isinstance(value, list):
        return [judged(v) for v in value]
    return value


def digests(value: Any, prefix: str = "") -> dict[str, str]:
    """``dotted.path`` -> fingerprint of the real value, for every secret inside ``value``."""
    if is_wrapper(value):
        return {prefix or "(value)": digest(judged(value.get("value")))}
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(digests(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.update(digests(v, f"{prefix}.{i}" if prefix else str(i)))
    return out


def secret_texts(value: Any) -> set[str]:
    """The text of every scalar inside every secret of ``value`` (what must never be printed)."""
    out: set[str] = set()

    def leaves(v: Any) -> None:
        if isinstance(v, dict):
            for x in v.values():
                leaves(x)
        elif isinstance(v, list):
            for x in v:
                leaves(x)
        elif v is not None and not isinstance(v, bool):  # a boolean's value is what the verdict says anyway
            out.add(str(v))
            if isinstance(v, float) and v.is_integer():
                out.add(str(int(v)))

    def walk(v: Any) -> None:
        if is_wrapper(v):
            inner = judged(v.get("value"))
            leaves(inner)
            if isinstance(inner, str) and inner[:1] in "[{":  # a JSON document (IAM policy): its parts too
                with contextlib.suppress(ValueError):
                    leaves(json.loads(inner))
            if isinstance(inner, (dict, list)):
                out.add(json.dumps(inner))
                out.add(json.dumps(inner, separators=(",", ":")))
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(value)
    out.discard("")
    out.discard(SECRET)
    return out


def scrub(text: str, secrets: Iterable[str], tokens: Iterable[str] = ()) -> str:
    """``text`` with every secret text of at least :data:`MIN_SUBSTRING` characters replaced by ``[secret]``
    wherever it appears, and each of ``tokens`` (short whole values) where it stands as a word of its own."""
    if not text:
        return text
    for s in sorted({t for t in secrets if len(t) >= MIN_SUBSTRING}, key=len, reverse=True):
        text = text.replace(s, SECRET)
    for s in sorted(set(tokens), key=len, reverse=True):
        if s and s in text:
            text = _replace_token(text, s)
    return text


def resource_tokens(resource: Resource) -> set[str]:
    """The text of each secret of the resource that is a single value (not a document or a list)."""
    out: set[str] = set()
    for path in resource.secret_digests:
        value = dig(resource.real_inputs, path)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            out.add(str(value))
            if isinstance(value, float) and value.is_integer():
                out.add(str(int(value)))
    out.discard(SECRET)
    return out


def _replace_token(text: str, s: str) -> str:
    """Replace ``s`` where it is not part of a longer alphanumeric run."""
    out, i = [], 0
    while True:
        j = text.find(s, i)
        if j < 0:
            out.append(text[i:])
            return "".join(out)
        before = text[j - 1] if j > 0 else ""
        after = text[j + len(s)] if j + len(s) < len(text) else ""
        if any(ch and (ch.isalnum() or ch in "._") for ch in (before, after)):
            out.append(text[i:j + len(s)])
        else:
            out.append(text[i:j] + SECRET)
        i = j + len(s)


def build_graph(raw: dict[str, Any], config: dict[str, Any], secret_keys: Iterable[str]) -> Graph:
    """The :class:`~review.model.Graph` (display view, judged view, digests) of a raw capture.

    ``raw`` is what :func:`review.engine.capture_raw` returns (secret wrappers kept); ``config`` the stack config
    the program ran with (``ns:key`` -> value; ``secure:`` values already ``[secret]``) and ``secret_keys`` the
    keys that are secret (``secure:`` values and keys the project declares ``secret: true``).
    """
    secret_keys = sorted(set(secret_keys))
    config_texts: set[str] = set()
    for key in secret_keys:
        if key in config:
            config_texts |= secret_texts(wrap(config[key]))
    texts = frozenset(config_texts)
    all_texts = set(config_texts)
    resources = []
    for r in raw["resources"]:
        inputs, outputs = r["inputs"], r["outputs"]
        all_texts |= secret_texts(inputs) | secret_texts(outputs)
        resources.append(Resource(
            urn=r["urn"], type=r["type"], name=r["name"], parent=r["parent"], custom=r["custom"],
            provider=r["provider"], inputs=display(inputs, texts), options=r["options"], id=r["id"],
            outputs=display(outputs, texts), property_dependencies=r["property_dependencies"],
            judged_inputs=judged(inputs), secret_digests=digests(inputs),
        ))
    all_texts |= secret_texts(raw["outputs"])
    shown_config = {k: (SECRET if k in secret_keys else v) for k, v in config.items()}
    return Graph(
        project=raw["project"], stack=raw["stack"], resources=resources, outputs=display(raw["outputs"], texts),
        config=shown_config, secret_keys=secret_keys, stack_urn=raw["stack_urn"],
        logs=[scrub(line, all_texts) for line in raw["logs"]],
        judged_config={k: config[k] for k in secret_keys if k in config},
        secret_texts=frozenset(all_texts),
    )
