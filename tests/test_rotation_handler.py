"""The rotation function of generated secrets (``components/aws/rotation/generated_secret.py``) against moto:
Secrets Manager's four steps, repeated steps, and the refusals the rotation contract asks for.

Secrets Manager's side of a rotation is played by :func:`start_rotation`: as the service does before it calls
``createSecret``, it enables rotation and creates the new version (id = the token) labelled AWSPENDING, with no
value. The function's side is ``lambda_handler`` called once per step, as Secrets Manager calls it.
"""

from __future__ import annotations

import contextlib
import json
import string
import time
from collections.abc import Iterator

import pytest
from helpers import moto_session
from moto.core import DEFAULT_ACCOUNT_ID
from moto.secretsmanager.models import secretsmanager_backends

from components.aws.rotation import generated_secret as fn

REGION = "us-east-1"
NAME = "app-prod-session-key"
ALLOWED_SPECIAL = "!#%&*()-_=+[]{}<>:?"  # the generated value's punctuation (docs/identity.md)
EXCLUDED = "".join(c for c in string.punctuation if c not in ALLOWED_SPECIAL)
OLD = "initial-value-from-pulumi-random-Aa1!" + "x" * 28  # 64 characters, as Pulumi first wrote it
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


@pytest.fixture(scope="module")
def account() -> Iterator[object]:
    """One mocked account for the module (starting moto costs more than the tests)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROTATION_SPECS", json.dumps({NAME: {"length": 64, "excludeCharacters": EXCLUDED}}))
        with moto_session(REGION) as session:
            yield session.client("secretsmanager")


@pytest.fixture
def sm(account) -> Iterator[object]:
    """The declared secret, fresh, with the value Pulumi first wrote."""
    account.create_secret(Name=NAME, SecretString=OLD)
    yield account
    for name in (NAME, "someone-elses"):
        with contextlib.suppress(account.exceptions.ResourceNotFoundException):
            account.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def start_rotation(client, token: str, name: str = NAME) -> str:
    """What Secrets Manager does before ``createSecret``: rotation on, a new AWSPENDING version with no value."""
    secret = secretsmanager_backends[DEFAULT_ACCOUNT_ID][REGION].secrets[name]
    secret.rotation_requested = secret.rotation_enabled = True
    secret.versions[token] = {"createdate": int(time.time()), "version_id": token, "version_stages": ["AWSPENDING"]}
    return client.describe_secret(SecretId=name)["ARN"]


def step(arn: str, token: str, name: str) -> None:
    fn.lambda_handler({"SecretId": arn, "ClientRequestToken": token, "Step": name}, None)


def stages(client) -> dict[str, list[str]]:
    return {v: sorted(s) for v, s in client.describe_secret(SecretId=NAME)["VersionIdsToStages"].items() if s}


def current(client) -> str:
    return client.get_secret_value(SecretId=NAME, VersionStage="AWSCURRENT")["SecretString"]


def test_a_rotation_makes_a_new_value_of_the_declared_shape_current(sm):
    old_version = sm.get_secret_value(SecretId=NAME)["VersionId"]
    token = "11111111-1111-4111-8111-111111111111"
    arn = start_rotation(sm, token)
    for s in STEPS:
        step(arn, token, s)
    new = current(sm)
    assert new != OLD and len(new) == 64
    assert not set(new) & set(EXCLUDED) and set(new) <= set(string.ascii_letters + string.digits + ALLOWED_SPECIAL)
    assert any(c.islower() for c in new) and any(c.isupper() for c in new) and any(c.isdigit() for c in new)
    assert stages(sm) == {token: ["AWSCURRENT"], old_version: ["AWSPREVIOUS"]}  # no AWSPENDING left
    assert sm.get_secret_value(SecretId=NAME, VersionStage="AWSPREVIOUS")["SecretString"] == OLD


def test_every_step_can_be_repeated(sm):
    token = "22222222-2222-4222-8222-222222222222"
    arn = start_rotation(sm, token)
    step(arn, token, "createSecret")
    pending = sm.get_secret_value(SecretId=NAME, VersionId=token, VersionStage="AWSPENDING")["SecretString"]
    step(arn, token, "createSecret")  # a retry keeps the value already created under this token
    assert sm.get_secret_value(SecretId=NAME, VersionId=token)["SecretString"] == pending
    for s in ("setSecret", "testSecret", "testSecret", "finishSecret"):
        step(arn, token, s)
    after = stages(sm)
    for s in STEPS:  # the whole rotation again, after it finished: the version is already current, nothing moves
        step(arn, token, s)
    assert current(sm) == pending and stages(sm) == after


def test_finish_after_a_half_done_finish_drops_the_pending_label(sm):
    token = "33333333-3333-4333-8333-333333333333"
    arn = start_rotation(sm, token)
    for s in STEPS[:3]:
        step(arn, token, s)
    old = next(v for v, st in stages(sm).items() if "AWSCURRENT" in st)
    # A finish that moved AWSCURRENT and then failed before removing AWSPENDING:
    sm.update_secret_version_stage(SecretId=NAME, VersionStage="AWSCURRENT", MoveToVersionId=token,
                                   RemoveFromVersionId=old)
    step(arn, token, "finishSecret")
    assert stages(sm) == {token: ["AWSCURRENT"], old: ["AWSPREVIOUS"]}


def test_a_token_that_is_not_the_pending_version_is_refused(sm):
    token = "44444444-4444-4444-8444-444444444444"
    arn = start_rotation(sm, token)
    before = stages(sm)
    with pytest.raises(ValueError, match="has no stage for rotation"):
        step(arn, "55555555-5555-4555-8555-555555555555", "createSecret")
    for s in STEPS:
        step(arn, token, s)
    previous = next(v for v, st in stages(sm).items() if "AWSPREVIOUS" in st)
    with pytest.raises(ValueError, match="is not AWSPENDING"):
        step(arn, previous, "finishSecret")  # an old version must never become current again
    assert previous in before and current(sm) != OLD


def test_a_secret_without_rotation_or_not_declared_is_refused(sm):
    arn = sm.describe_secret(SecretId=NAME)["ARN"]
    token = sm.get_secret_value(SecretId=NAME)["VersionId"]
    with pytest.raises(ValueError, match="not enabled for rotation"):
        step(arn, token, "createSecret")
    sm.create_secret(Name="someone-elses", SecretString="x" * 20)
    other = start_rotation(sm, "66666666-6666-4666-8666-666666666666", name="someone-elses")
    with pytest.raises(ValueError, match="not one this function rotates"):
        step(other, "66666666-6666-4666-8666-666666666666", "createSecret")
    with pytest.raises(ValueError, match="unknown rotation step"):
        step(arn, token, "create_secret")


def test_test_step_refuses_a_value_that_does_not_fit_the_declaration(sm):
    token = "77777777-7777-4777-8777-777777777777"
    arn = start_rotation(sm, token)
    sm.put_secret_value(SecretId=NAME, ClientRequestToken=token, SecretString="Short1!", VersionStages=["AWSPENDING"])
    with pytest.raises(ValueError, match="length 7, declared 64"):
        step(arn, token, "testSecret")
    assert current(sm) == OLD


def test_problems_names_each_defect():
    spec = {"length": 8, "excludeCharacters": EXCLUDED}
    assert fn.problems("Aa1!Aa1!", None, spec) == []
    assert fn.problems("Aa1!Aa1$", None, spec) == ["a character outside the declared set"]
    assert fn.problems("aaaa1!aa", "x", spec) == ["no uppercase character"]
    assert fn.problems("Aa1!Aa1!", "Aa1!Aa1!", spec) == ["the same as the current value"]
