"""AppSecret: one application secret in Secrets Manager, encrypted with the stack's key, its value generated
(``pulumi_random.RandomPassword``, kept encrypted in the Pulumi state) or taken from the stack's secret config,
and read by services only by reference (ECS ``secrets`` ``valueFrom``).

SecretRotator: the project's rotation Lambda for generated secrets (``components/aws/rotation/generated_secret.py``,
shipped in this repository), its least-privilege role and encrypted log group, and one rotation schedule per secret.
A secret with its own rotation function (``AppSecretArgs.rotation_function_arn``) gets its schedule from AppSecret.

The database's credentials are not an ``AppSecret``: RDS creates and rotates its managed master secret itself
(every 7 days by default, docs/identity.md#secret-rotation).
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from .common import (
    Grantable,
    Grants,
    KeyLike,
    aws_context,
    child_opts,
    data_key,
    key_arn,
    policy_json,
    role_of,
    service_principal_policy,
    tag_set,
)

ALLOWED_SPECIAL = "!#%&*()-_=+[]{}<>:?"
"""The punctuation a generated value may contain (``RandomPassword`` at creation, the rotation function later); no
quote, backslash, slash, ``$`` or ``@``, which shells, URLs and config files treat specially."""
EXCLUDED_CHARACTERS = "".join(c for c in string.punctuation if c not in ALLOWED_SPECIAL)
"""``GetRandomPassword``'s ``ExcludeCharacters`` giving the same character set as :data:`ALLOWED_SPECIAL`."""
HANDLER = Path(__file__).parent / "rotation" / "generated_secret.py"
"""The rotation function's source, packaged as the Lambda's only file."""
ROTATION_ACTIONS = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
                    "secretsmanager:UpdateSecretVersionStage"]
"""What the rotation function does to a secret it rotates (AWS's single-secret rotation template's set)."""


@dataclass
class AppSecretArgs:
    """Arguments of :class:`AppSecret`. Default: a generated 40-character value, no rotation."""

    value: pulumi.Input[str] | None = None
    """The value, e.g. ``pulumi.Config().require_secret("...")``; None: generate one (``length`` characters)."""
    length: int = 40
    """Length of a generated value (16-4096)."""
    rotation_days: int | None = None
    """Rotate every N days (1-1000); None: no rotation. Without ``rotation_function_arn`` the value must be generated
    and the secret given to a :class:`SecretRotator`, which creates the schedule."""
    rotation_function_arn: pulumi.Input[str] | None = None
    """Your own Lambda that rotates this secret (Secrets Manager calls it every ``rotation_days``); AppSecret then
    creates the schedule itself."""
    kms_key: KeyLike | None = None
    """Customer-managed key; None: a key of its own (usable through Secrets Manager only)."""
    recovery_window_days: int = 30
    """Days a deleted secret can be restored (7-30)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the secret (and its own key)."""
    protect: bool = False
    """Pulumi ``protect`` on the secret (prod)."""

    def __post_init__(self) -> None:
        if not 16 <= self.length <= 4096:
            raise ValueError(f"AppSecretArgs.length {self.length}: 16 to 4096")
        if self.rotation_function_arn is not None and self.rotation_days is None:
            raise ValueError("AppSecretArgs: rotation_function_arn needs rotation_days")
        if self.rotation_days is not None and self.rotation_function_arn is None and self.value is not None:
            raise ValueError("AppSecretArgs: a given value cannot be rotated by the project's function (it would "
                             "replace the value with a random one): give rotation_function_arn or no rotation_days")
        if self.rotation_days is not None and not 1 <= self.rotation_days <= 1000:
            raise ValueError(f"AppSecretArgs.rotation_days {self.rotation_days}: 1 to 1000")
        if not 7 <= self.recovery_window_days <= 30:
            raise ValueError(f"AppSecretArgs.recovery_window_days {self.recovery_window_days}: 7 to 30")


class AppSecret(pulumi.ComponentResource):
    """A Secrets Manager secret with one version and, with a rotation function of your own, a rotation schedule
    (generated secrets rotated by the project's function get theirs from :class:`SecretRotator`).
    Wiring: :meth:`grant_read` (one policy: this secret, and its key through Secrets Manager only)."""

    secret_name: str

    secret: aws.secretsmanager.Secret
    version: aws.secretsmanager.SecretVersion
    rotation: aws.secretsmanager.SecretRotation | None
    password: random.RandomPassword | None
    arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AppSecretArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:aws:AppSecret", name, None, opts)
        self.args = args
        self.secret_name = name
        self._ctx = aws_context(self)
        self._grants = Grants(self, name)
        key = data_key(self, name, args.kms_key, description=f"{name}: application secret",
                       via_services=("secretsmanager",), tags=args.tags, protect=args.protect)
        self.kms_key = key
        self.kms_key_arn = key_arn(key)
        self.secret = aws.secretsmanager.Secret(
            f"{name}-secret", name=name, description=f"{name} (backend-hosting)", kms_key_id=self.kms_key_arn,
            recovery_window_in_days=args.recovery_window_days, tags=tag_set(args.tags, name),
            opts=child_opts(self, protect=args.protect))
        self.arn = self.secret.arn
        self.password = None
        value = args.value
        if value is None:
            # Generated once and kept (encrypted) in the state; a rotation function replaces it in AWS afterwards.
            self.password = random.RandomPassword(
                f"{name}-value", length=args.length, special=True, override_special=ALLOWED_SPECIAL,
                min_lower=1, min_upper=1, min_numeric=1, opts=child_opts(self))
            value = self.password.result
        rotated = args.rotation_days is not None
        self.version = aws.secretsmanager.SecretVersion(
            f"{name}-value", secret_id=self.secret.id, secret_string=pulumi.Output.secret(value),
            # A rotated secret's current value is the rotation function's: Pulumi must not write it back.
            opts=child_opts(self, ignore_changes=["secretString"] if rotated else None))
        self.rotation = None
        if rotated and args.rotation_function_arn is not None:
            self.rotation = aws.secretsmanager.SecretRotation(
                f"{name}-rotation", secret_id=self.secret.id, rotation_lambda_arn=args.rotation_function_arn,
                rotation_rules={"automatically_after_days": args.rotation_days},
                opts=child_opts(self, depends_on=[self.version]))
        self.register_outputs({"arn": self.arn, "kms_key_arn": self.kms_key_arn})

    def grant_read(self, grantee: Grantable | aws.iam.Role) -> aws.iam.RolePolicy:
        """Allow reading this secret: ``secretsmanager:GetSecretValue`` on it and ``kms:Decrypt`` on its key
        through Secrets Manager only. A service (anything with an ``execution_role``) gets it on its execution
        role, which resolves the ECS ``secrets`` references; pass a role to grant a role."""
        role = getattr(grantee, "execution_role", None)
        target = role if isinstance(role, aws.iam.Role) else role_of(grantee)
        ctx = self._ctx
        return self._grants.add("read", target, [
            {"Sid": "ReadSecret", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": self.arn},
            {"Sid": "DecryptSecret", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": self.kms_key_arn,
             "Condition": {"StringEquals": {"kms:ViaService": pulumi.Output.concat(
                 "secretsmanager.", ctx.region, ".", ctx.dns_suffix)}}},
        ])



@dataclass
class SecretRotatorArgs:
    """Arguments of :class:`SecretRotator`."""

    secrets: Sequence[AppSecret]
    """The secrets to rotate: generated values (no ``value``), each with ``rotation_days`` and no
    ``rotation_function_arn``."""
    log_kms_key_arn: pulumi.Input[str]
    """The key of the function's log group (a key CloudWatch Logs may use: ``service_principals=["logs"]``)."""
    log_retention_days: int = 30
    """Days the function's log group keeps its events."""
    permissions_boundary: pulumi.Input[str] | None = None
    """Permissions boundary of the function's role (the bootstrap's, like every role of the stack)."""
    tracing: bool = True
    """Active X-Ray tracing (a few traces a rotation; within the free tier)."""
    memory_mb: int = 128
    """Function memory (128-10240 MB); the function makes five API calls a step."""
    timeout_seconds: int = 60
    """Function timeout (1-900 s) per step."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the role, log group and function."""

    def __post_init__(self) -> None:
        if not self.secrets:
            raise ValueError("SecretRotatorArgs.secrets: at least one secret to rotate")
        names = [s.secret_name for s in self.secrets]
        if len(set(names)) != len(names):
            raise ValueError(f"SecretRotatorArgs.secrets: {names} names a secret twice")
        for s in self.secrets:
            if s.password is None:
                raise ValueError(f"SecretRotatorArgs.secrets: {s.secret_name} has a given value; only generated "
                                 "values are rotated by this function")
            if s.args.rotation_days is None or s.args.rotation_function_arn is not None:
                raise ValueError(f"SecretRotatorArgs.secrets: {s.secret_name} needs rotation_days and no "
                                 "rotation_function_arn")
        if not 128 <= self.memory_mb <= 10240:
            raise ValueError(f"SecretRotatorArgs.memory_mb {self.memory_mb}: 128 to 10240")
        if not 1 <= self.timeout_seconds <= 900:
            raise ValueError(f"SecretRotatorArgs.timeout_seconds {self.timeout_seconds}: 1 to 900")


class SecretRotator(pulumi.ComponentResource):
    """The project's rotation function for generated secrets, and a rotation schedule for each.

    - ``function``: Python 3.13 on arm64, the one file ``components/aws/rotation/generated_secret.py``; its
      environment says each secret's declared length and excluded characters (``ROTATION_SPECS``, no credentials);
      active tracing; logs in its own log group (customer-managed key, retention).
    - ``role``: assumed by Lambda only; one inline policy: the four rotation actions on exactly the rotated
      secrets' ARNs, ``GetRandomPassword`` (no resource-level permission exists), ``kms:Decrypt`` and
      ``kms:GenerateDataKey`` on their keys through Secrets Manager only, its own log group's streams, X-Ray.
    - per secret: an ``aws.lambda_.Permission`` for ``secretsmanager.amazonaws.com`` pinned to that secret's ARN
      and this account, and the ``aws.secretsmanager.SecretRotation`` (``automatically_after_days``).

    Not set, on purpose: a VPC (the function calls only the Secrets Manager API), reserved concurrency (Secrets
    Manager warns that fewer than 10 throttles rotations; accounts with a small concurrency quota cannot reserve any),
    a dead-letter queue (Secrets Manager invokes synchronously and retries the rotation itself), a customer-managed
    key for the environment (it holds names and lengths, not secrets). docs/identity.md#secret-rotation.
    """

    role: aws.iam.Role
    policy: aws.iam.RolePolicy
    log_group: aws.cloudwatch.LogGroup
    function: aws.lambda_.Function
    permissions: dict[str, aws.lambda_.Permission]
    rotations: dict[str, aws.secretsmanager.SecretRotation]

    def __init__(self, name: str, args: SecretRotatorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:aws:SecretRotator", name, None, opts)
        self.args = args
        ctx = aws_context(self)
        tags = args.tags
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", retention_in_days=args.log_retention_days, kms_key_id=args.log_kms_key_arn,
            tags=tag_set(tags, f"{name}-logs"), opts=child_opts(self))
        self.role = aws.iam.Role(
            f"{name}-role", description=f"{name}: rotate the stack's generated secrets",
            assume_role_policy=service_principal_policy("lambda.amazonaws.com"),
            permissions_boundary=args.permissions_boundary, tags=tag_set(tags, f"{name}-role"),
            opts=child_opts(self))
        keys: dict[int, pulumi.Output[str]] = {}
        for s in args.secrets:  # one statement resource per key, however many secrets share it
            keys.setdefault(id(s.kms_key), s.kms_key_arn)
        statements: list[dict[str, object]] = [
            {"Sid": "RotateSecrets", "Effect": "Allow", "Action": ROTATION_ACTIONS,
             "Resource": [s.arn for s in args.secrets]},
            {"Sid": "GenerateValues", "Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"},
            {"Sid": "SecretKeys", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
             "Resource": list(keys.values()),
             "Condition": {"StringEquals": {"kms:ViaService": pulumi.Output.concat(
                 "secretsmanager.", ctx.region, ".", ctx.dns_suffix)}}},
            {"Sid": "WriteLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": pulumi.Output.concat(self.log_group.arn, ":*")},
        ]
        if args.tracing:
            statements.append({"Sid": "Tracing", "Effect": "Allow",
                               "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "Resource": "*"})
        self.policy = aws.iam.RolePolicy(f"{name}-role", role=self.role.id, policy=policy_json(statements),
                                         opts=child_opts(self))
        rotated = sorted(args.secrets, key=lambda s: s.secret_name)
        specs = {s.secret_name: {"length": s.args.length, "excludeCharacters": EXCLUDED_CHARACTERS} for s in rotated}
        self.function = aws.lambda_.Function(
            f"{name}-function", description=f"{name}: rotates the stack's generated secrets (backend-hosting)",
            role=self.role.arn, runtime="python3.13", architectures=["arm64"],
            handler="generated_secret.lambda_handler",
            code=pulumi.AssetArchive({"generated_secret.py": pulumi.FileAsset(str(HANDLER))}),
            memory_size=args.memory_mb, timeout=args.timeout_seconds,
            environment={"variables": {"ROTATION_SPECS": json.dumps(specs, sort_keys=True)}},
            tracing_config={"mode": "Active" if args.tracing else "PassThrough"},
            logging_config={"log_format": "Text", "log_group": self.log_group.name},
            tags=tag_set(tags, f"{name}-function"),
            opts=child_opts(self, depends_on=[self.policy, self.log_group]))
        self.permissions = {}
        self.rotations = {}
        for s in rotated:
            self.permissions[s.secret_name] = aws.lambda_.Permission(
                f"{s.secret_name}-rotation-invoke", action="lambda:InvokeFunction", function=self.function.name,
                principal="secretsmanager.amazonaws.com", source_arn=s.arn, source_account=ctx.account_id,
                opts=child_opts(self))
            self.rotations[s.secret_name] = aws.secretsmanager.SecretRotation(
                f"{s.secret_name}-rotation", secret_id=s.secret.id, rotation_lambda_arn=self.function.arn,
                rotation_rules={"automatically_after_days": s.args.rotation_days},
                opts=child_opts(self, depends_on=[self.permissions[s.secret_name], self.policy, s.version]))
        self.register_outputs({"function_arn": self.function.arn, "role_arn": self.role.arn})
