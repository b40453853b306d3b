"""Secrets Manager rotation function for generated application secrets (a self-contained random value).

Secrets Manager calls ``lambda_handler`` four times per rotation with ``{"Step", "SecretId",
"ClientRequestToken"}``; before the first call it has created the new version (id = the token) labelled
``AWSPENDING``. The steps, each safe to repeat (Secrets Manager retries a failed rotation from the start):

- ``createSecret``: unless the pending version already has a value, put ``GetRandomPassword`` output of the
  secret's declared length and characters under the token, labelled ``AWSPENDING``;
- ``setSecret``: nothing to do: the value is not a credential held by another service (an application signing
  key, say); the application reads the new value when it next reads the secret;
- ``testSecret``: the pending value has the declared length and only the declared characters, every included
  character class, and differs from the current value;
- ``finishSecret``: move ``AWSCURRENT`` to the token's version (Secrets Manager moves ``AWSPREVIOUS`` to the
  version that was current) and remove ``AWSPENDING``.

A token whose version is already ``AWSCURRENT`` is a finished rotation (nothing to do); a token whose version is not
``AWSPENDING`` is refused, and so is a secret that is not enabled for rotation or not declared in
``ROTATION_SPECS``.

``ROTATION_SPECS`` (environment, JSON): ``{"<secret name>": {"length": 64, "excludeCharacters": "..."}}`` -- what
the stack declared for each secret this function may rotate; no credentials.

Standard library and boto3 only (both in the Lambda Python runtime): the archive holds this one file.
"""

from __future__ import annotations

import json
import logging
import os
import string
from typing import Any

import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
CURRENT, PENDING = "AWSCURRENT", "AWSPENDING"
PUNCTUATION = string.punctuation
"""The characters ``GetRandomPassword`` calls punctuation (``ExcludePunctuation``)."""


def lambda_handler(event: dict[str, Any], context: Any) -> None:
    """Run one rotation step for the secret and version the event names (Secrets Manager's contract)."""
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    if step not in STEPS:
        raise ValueError(f"unknown rotation step {step!r} (one of {', '.join(STEPS)})")
    client = boto3.client("secretsmanager")
    meta = client.describe_secret(SecretId=arn)
    spec = _spec(meta["Name"])
    if not meta.get("RotationEnabled"):
        raise ValueError(f"secret {arn} is not enabled for rotation")
    versions = meta.get("VersionIdsToStages", {})
    if token not in versions:
        raise ValueError(f"secret {arn}: version {token} has no stage for rotation")
    if CURRENT in versions[token]:
        if step == "finishSecret" and PENDING in versions[token]:
            client.update_secret_version_stage(SecretId=arn, VersionStage=PENDING, RemoveFromVersionId=token)
        logger.info("%s: version %s of %s is already AWSCURRENT", step, token, arn)
        return
    if PENDING not in versions[token]:
        raise ValueError(f"secret {arn}: version {token} is not AWSPENDING")
    if step == "createSecret":
        create_secret(client, arn, token, spec)
    elif step == "setSecret":
        logger.info("setSecret: %s is self-contained, nothing to set elsewhere", arn)
    elif step == "testSecret":
        verify_secret(client, arn, token, spec)
    else:
        finish_secret(client, arn, token)


def _spec(name: str) -> dict[str, Any]:
    """The declared length and excluded characters of the secret called ``name``."""
    specs = json.loads(os.environ.get("ROTATION_SPECS") or "{}")
    spec = specs.get(name)
    if not isinstance(spec, dict) or not isinstance(spec.get("length"), int):
        raise ValueError(f"secret {name} is not one this function rotates (ROTATION_SPECS)")
    return {"length": spec["length"], "excludeCharacters": str(spec.get("excludeCharacters", ""))}


def create_secret(client: Any, arn: str, token: str, spec: dict[str, Any]) -> None:
    """Put a new random value under ``token`` as AWSPENDING, unless that version already has one."""
    client.get_secret_value(SecretId=arn, VersionStage=CURRENT)  # the secret has a current value to replace
    try:
        client.get_secret_value(SecretId=arn, VersionId=token, VersionStage=PENDING)
        logger.info("createSecret: version %s of %s already has a value", token, arn)
        return
    except client.exceptions.ResourceNotFoundException:
        pass
    value = client.get_random_password(PasswordLength=spec["length"], ExcludeCharacters=spec["excludeCharacters"],
                                       RequireEachIncludedType=True)["RandomPassword"]
    client.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=value, VersionStages=[PENDING])
    logger.info("createSecret: put a new value in version %s of %s", token, arn)


def problems(value: str, current: str | None, spec: dict[str, Any]) -> list[str]:
    """Why ``value`` is not a valid new value for the declared ``spec`` (empty when it is)."""
    out = []
    if len(value) != spec["length"]:
        out.append(f"length {len(value)}, declared {spec['length']}")
    excluded = set(spec["excludeCharacters"])
    if any(c in excluded or not (c.isascii() and c.isprintable()) or c.isspace() for c in value):
        out.append("a character outside the declared set")
    classes = {"lowercase": string.ascii_lowercase, "uppercase": string.ascii_uppercase, "digit": string.digits,
               "punctuation": PUNCTUATION}
    for what, chars in classes.items():
        allowed = set(chars) - excluded
        if allowed and not any(c in allowed for c in value):
            out.append(f"no {what} character")
    if current is not None and value == current:
        out.append("the same as the current value")
    return out


def verify_secret(client: Any, arn: str, token: str, spec: dict[str, Any]) -> None:
    """Check the pending value against the declaration and the current value; raise when it does not fit."""
    pending = client.get_secret_value(SecretId=arn, VersionId=token, VersionStage=PENDING)["SecretString"]
    current = client.get_secret_value(SecretId=arn, VersionStage=CURRENT).get("SecretString")
    found = problems(pending, current, spec)
    if found:
        raise ValueError(f"testSecret: version {token} of {arn}: {'; '.join(found)}")
    logger.info("testSecret: version %s of %s fits its declaration", token, arn)


def finish_secret(client: Any, arn: str, token: str) -> None:
    """Move AWSCURRENT to ``token`` (Secrets Manager labels the old version AWSPREVIOUS) and drop AWSPENDING."""
    meta = client.describe_secret(SecretId=arn)
    current = next((v for v, stages in meta["VersionIdsToStages"].items() if CURRENT in stages), None)
    if current == token:
        logger.info("finishSecret: version %s of %s is already AWSCURRENT", token, arn)
        return
    client.update_secret_version_stage(SecretId=arn, VersionStage=CURRENT, MoveToVersionId=token,
                                       RemoveFromVersionId=current)
    client.update_secret_version_stage(SecretId=arn, VersionStage=PENDING, RemoveFromVersionId=token)
    logger.info("finishSecret: version %s of %s is now AWSCURRENT", token, arn)
