"""EncryptionKey: rotation, deletion window, alias, key policy per service principal, grants, protect."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import FakeService, doc_example, documents_every_argument

from components.aws.kms import ENCRYPT_DECRYPT_ACTIONS, EncryptionKey, EncryptionKeyArgs

DOC = Path(__file__).resolve().parent.parent / "docs" / "components" / "kms.md"
KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROOT = "arn:aws:iam::123456789012:root"


def key_policy(g, name="k"):
    return json.loads(g.by_name(name, KEY).inputs["policy"])


def by_sid(doc):
    return {s["Sid"]: s for s in doc["Statement"]}


def assert_least_privilege(doc):
    for st in doc["Statement"]:
        assert st["Action"] != "*" and "*" not in (st["Action"] if isinstance(st["Action"], list) else [])
        assert st.get("Principal") != "*" and "*" not in (st.get("Principal") or {}).values()


def test_defaults(run_program):
    g = run_program(lambda: EncryptionKey("k"))
    comp = g.by_name("k", "backend:aws:EncryptionKey")
    key = g.by_name("k", KEY)
    assert key.parent == comp.urn and g.by_name("k", ALIAS).parent == comp.urn
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["rotationPeriodInDays"] == 365
    assert key.inputs["deletionWindowInDays"] == 30
    assert key.inputs["keyUsage"] == "ENCRYPT_DECRYPT"
    assert key.inputs["customerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert key.options["protect"] is False
    assert g.inputs("k", ALIAS)["name"] == "alias/k"
    assert g.inputs("k", ALIAS)["targetKeyId"] == key.outputs["keyId"]
    doc = key_policy(g)
    assert doc["Version"] == "2012-10-17"
    assert doc["Statement"] == [{"Sid": "AccountAdministersKeyAndDelegatesToIam", "Effect": "Allow",
                                 "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}]
    assert_least_privilege(doc)


def test_service_principals_and_via_services(run_program):
    g = run_program(lambda: EncryptionKey("k", EncryptionKeyArgs(
        alias="app/data", deletion_window_days=7, rotation_period_days=90,
        service_principals=["logs", "cloudwatch", "budgets"], via_services=["rds", "secretsmanager"],
        tags={"environment": "prod"})), region="eu-west-1")
    key = g.by_name("k", KEY).inputs
    assert key["deletionWindowInDays"] == 7 and key["rotationPeriodInDays"] == 90
    assert key["tags"] == {"environment": "prod", "Name": "k"}
    assert g.inputs("k", ALIAS)["name"] == "alias/app/data"
    doc = key_policy(g)
    assert_least_privilege(doc)
    sids = by_sid(doc)
    logs = sids["CloudWatchLogsInThisAccountAndRegion"]
    assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert logs["Condition"] == {"ArnLike": {
        "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-1:123456789012:log-group:*"}}
    assert set(logs["Action"]) == set(ENCRYPT_DECRYPT_ACTIONS)
    cw = sids["CloudWatchAlarmsPublishToEncryptedTopics"]
    assert cw["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert cw["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    budgets = sids["BudgetsPublishToEncryptedTopics"]
    assert budgets["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"},
                                    "ArnLike": {"aws:SourceArn": "arn:aws:budgets::123456789012:*"}}
    via = sids["AccountPrincipalsThroughServices"]
    assert via["Principal"] == {"AWS": ROOT}
    assert via["Condition"] == {"StringEquals": {
        "kms:CallerAccount": "123456789012",
        "kms:ViaService": ["rds.eu-west-1.amazonaws.com", "secretsmanager.eu-west-1.amazonaws.com"]}}
    assert "kms:CreateGrant" in via["Action"] and "kms:PutKeyPolicy" not in via["Action"]


def test_protect_is_on_the_key_only(run_program):
    g = run_program(lambda: EncryptionKey("k", EncryptionKeyArgs(protect=True)))
    assert g.by_name("k", KEY).options["protect"] is True
    assert g.by_name("k", ALIAS).options["protect"] is False


@pytest.mark.parametrize("kw", [
    {"deletion_window_days": 5}, {"deletion_window_days": 31}, {"rotation_period_days": 30},
    {"service_principals": ["sqs"]}, {"via_services": ["rds.amazonaws.com/x"]},
])
def test_invalid_arguments(run_program, kw):
    with pytest.raises(Exception, match="k:"):
        run_program(lambda: EncryptionKey("k", EncryptionKeyArgs(**kw)))


def test_grants_write_one_statement_on_the_key(run_program):
    holder = {}

    def prog():
        app = FakeService("app")
        k = EncryptionKey("k")
        holder["same"] = k.grant_decrypt(app) is k.grant_decrypt(app)
        k.grant_encrypt_decrypt(app.task_role)

    g = run_program(prog)
    assert holder["same"]
    key_arn = g.by_name("k", KEY).outputs["arn"]
    role = g.by_name("app-task", "aws:iam/role:Role")
    policies = {p.name: p for p in g.by_type(ROLE_POLICY)}
    assert set(policies) == {"k-decrypt-app-task", "k-encrypt-decrypt-app-task"}
    assert all(p.inputs["role"] == role.id for p in policies.values())
    assert json.loads(policies["k-decrypt-app-task"].inputs["policy"])["Statement"] == [
        {"Sid": "Decrypt", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn}]
    assert json.loads(policies["k-encrypt-decrypt-app-task"].inputs["policy"])["Statement"] == [
        {"Sid": "EncryptDecrypt", "Effect": "Allow", "Action": ENCRYPT_DECRYPT_ACTIONS, "Resource": key_arn}]


def test_grant_needs_a_role(run_program):
    with pytest.raises(Exception, match=r"neither an aws\.iam\.Role nor has a task_role"):
        run_program(lambda: EncryptionKey("k").grant_decrypt(object()))


def test_doc_example_runs_and_documents_every_argument(run_program):
    g = run_program(doc_example(DOC))
    assert g.by_type(KEY) and g.outputs["key_arn"]
    assert not documents_every_argument(DOC, EncryptionKeyArgs)
