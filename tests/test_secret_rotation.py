"""SecretRotator (components/aws/secrets.py): the project's rotation function for generated secrets, asserted
exactly at the component level under mocks: the role and its one policy, the function, the invoke permission and
the rotation schedule of each secret, and what it refuses. The handler itself: tests/test_rotation_handler.py."""

from __future__ import annotations

import json
import string

import pytest

from components.aws.rotation import generated_secret
from components.aws.secrets import HANDLER, AppSecret, AppSecretArgs, SecretRotator, SecretRotatorArgs

ACCOUNT = "123456789012"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/secrets"
LOGS_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/logs"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/backend-hosting-boundary-prod"
ALLOWED = "!#%&*()-_=+[]{}<>:?"  # the punctuation of a generated value (docs/components/app_secret.md)
SECRET, ROTATION = "aws:secretsmanager/secret:Secret", "aws:secretsmanager/secretRotation:SecretRotation"
FUNCTION, PERMISSION = "aws:lambda/function:Function", "aws:lambda/permission:Permission"
ROLE, POLICY, LOGS = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:cloudwatch/logGroup:LogGroup"


def two_secrets(**rotator):
    def prog():
        a = AppSecret("app-prod-session-key", AppSecretArgs(length=64, rotation_days=30, kms_key=KEY))
        b = AppSecret("app-prod-csrf-key", AppSecretArgs(rotation_days=90, kms_key=KEY))
        SecretRotator("app-prod-secret-rotation", SecretRotatorArgs(
            secrets=[a, b], log_kms_key_arn=LOGS_KEY, log_retention_days=365, permissions_boundary=BOUNDARY,
            tags={"environment": "prod"}, **rotator))
    return prog


@pytest.fixture(scope="module")
def graph():
    from review.engine import run_callable

    return run_callable(two_secrets())


def arn(g, name):
    return g.by_name(f"{name}-secret", SECRET).outputs["arn"]


def test_the_role_may_rotate_exactly_these_secrets(graph):
    role = graph.by_name("app-prod-secret-rotation-role", ROLE).inputs
    assert json.loads(role["assumeRolePolicy"]) == {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    assert role["permissionsBoundary"] == BOUNDARY
    (policy,) = graph.by_type(POLICY)
    log_arn = graph.by_name("app-prod-secret-rotation-logs", LOGS).outputs["arn"]
    assert json.loads(policy.inputs["policy"]) == {"Version": "2012-10-17", "Statement": [
        {"Sid": "RotateSecrets", "Effect": "Allow",
         "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                    "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
         "Resource": [arn(graph, "app-prod-session-key"), arn(graph, "app-prod-csrf-key")]},
        {"Sid": "GenerateValues", "Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"},
        {"Sid": "SecretKeys", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": [KEY],  # both secrets share the key: named once
         "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}},
        {"Sid": "WriteLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"{log_arn}:*"},
        {"Sid": "Tracing", "Effect": "Allow", "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
         "Resource": "*"}]}


def test_the_function_runs_the_shipped_handler_with_each_secrets_declaration(graph):
    fn = graph.by_name("app-prod-secret-rotation-function", FUNCTION)
    logs = graph.by_name("app-prod-secret-rotation-logs", LOGS)
    excluded = "".join(c for c in string.punctuation if c not in ALLOWED)
    assert json.loads(fn.inputs["environment"]["variables"]["ROTATION_SPECS"]) == {
        "app-prod-csrf-key": {"length": 40, "excludeCharacters": excluded},
        "app-prod-session-key": {"length": 64, "excludeCharacters": excluded}}
    assert {k: fn.inputs[k] for k in ("runtime", "architectures", "handler", "memorySize", "timeout",
                                      "tracingConfig", "loggingConfig")} == {
        "runtime": "python3.13", "architectures": ["arm64"], "handler": "generated_secret.lambda_handler",
        "memorySize": 128, "timeout": 60, "tracingConfig": {"mode": "Active"},
        "loggingConfig": {"logFormat": "Text", "logGroup": logs.outputs["name"]}}
    assert fn.inputs["role"] == graph.by_name("app-prod-secret-rotation-role", ROLE).outputs["arn"]
    assert "vpcConfig" not in fn.inputs and "reservedConcurrentExecutions" not in fn.inputs
    # the archive's one file is the module the moto tests run, and the handler names its entry point
    assert HANDLER.resolve() == __import__("pathlib").Path(generated_secret.__file__).resolve()
    assert callable(generated_secret.lambda_handler)
    assert {k: logs.inputs[k] for k in ("kmsKeyId", "retentionInDays")} == {"kmsKeyId": LOGS_KEY,
                                                                           "retentionInDays": 365}


def test_each_secret_gets_a_pinned_invoke_permission_and_its_schedule(graph):
    fn = graph.by_name("app-prod-secret-rotation-function", FUNCTION)
    for name, days in (("app-prod-session-key", 30), ("app-prod-csrf-key", 90)):
        perm = graph.by_name(f"{name}-rotation-invoke", PERMISSION)
        assert perm.inputs == {"action": "lambda:InvokeFunction", "function": fn.outputs["name"],
                               "principal": "secretsmanager.amazonaws.com", "sourceArn": arn(graph, name),
                               "sourceAccount": ACCOUNT}
        rot = graph.by_name(f"{name}-rotation", ROTATION)
        secret = graph.by_name(f"{name}-secret", SECRET)
        assert rot.inputs == {"secretId": secret.id, "rotationLambdaArn": fn.outputs["arn"],
                              "rotationRules": {"automaticallyAfterDays": days}}
        assert rot.property_dependencies["secretId"] == [secret.urn]
        assert rot.property_dependencies["rotationLambdaArn"] == [fn.urn]
        # Secrets Manager may invoke the function before the schedule exists: permission and policy first
        assert perm.urn in rot.options["dependsOn"] and graph.by_type(POLICY)[0].urn in rot.options["dependsOn"]
        version = graph.by_name(f"{name}-value", "aws:secretsmanager/secretVersion:SecretVersion")
        assert version.options["ignoreChanges"] == ["secretString"]  # the function owns the value
    assert len(graph.by_type(PERMISSION)) == 2 and len(graph.by_type(ROTATION)) == 2


def test_without_tracing_the_role_has_no_xray_statement(run_program):
    g = run_program(two_secrets(tracing=False))
    assert g.by_name("app-prod-secret-rotation-function", FUNCTION).inputs["tracingConfig"] == {"mode": "PassThrough"}
    sids = [s["Sid"] for s in json.loads(g.by_type(POLICY)[0].inputs["policy"])["Statement"]]
    assert sids == ["RotateSecrets", "GenerateValues", "SecretKeys", "WriteLogs"]


@pytest.mark.parametrize(("secret_args", "error"), [
    ({"value": "given", "rotation_days": 30}, "a given value cannot be rotated by the project's function"),
    ({"rotation_function_arn": "arn:aws:lambda:us-east-1:1:function:f"}, "rotation_function_arn needs rotation_days"),
])
def test_app_secret_args_refuse(secret_args, error):
    with pytest.raises(ValueError, match=error):
        AppSecretArgs(**secret_args)


@pytest.mark.parametrize(("secret_args", "error"), [
    ({}, "needs rotation_days and no rotation_function_arn"),
    ({"rotation_days": 30, "rotation_function_arn": "arn:aws:lambda:us-east-1:1:function:f"},
     "needs rotation_days and no rotation_function_arn"),
    ({"value": "given"}, "has a given value"),
])
def test_the_rotator_refuses_a_secret_it_cannot_rotate(run_program, secret_args, error):
    def prog():
        s = AppSecret("s", AppSecretArgs(kms_key=KEY, **secret_args))
        SecretRotator("r", SecretRotatorArgs(secrets=[s], log_kms_key_arn=LOGS_KEY))

    with pytest.raises(Exception, match=error):
        run_program(prog)


def test_prod_rotates_its_generated_secret_and_needs_no_waiver(run_stack):
    """The rule that prod used to waive (secretsmanager-rotation) passes on prod as it is, and fails on the same
    graph without the schedule."""
    import dataclasses

    from review.policy_runner import run_policies

    g = run_stack("prod")
    rot = g.by_name("app-prod-session-key-rotation", ROTATION)
    assert rot.inputs["rotationRules"] == {"automaticallyAfterDays": 90}  # the prod profile's default
    violations, _ = run_policies(g)
    assert [v for v in violations if v.policy == "secretsmanager-rotation"] == []
    assert not [v for v in violations if v.waived]
    without = dataclasses.replace(g, resources=[r for r in g.resources if r.type != ROTATION])
    violations, _ = run_policies(without)
    assert [(v.resource_name, v.blocking) for v in violations if v.policy == "secretsmanager-rotation"] == [
        ("app-prod-session-key-secret", True)]
