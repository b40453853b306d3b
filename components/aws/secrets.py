"""AppSecret: one application secret in Secrets Manager, encrypted with the stack's key, its value generated
(``pulumi_random.RandomPassword``, kept encrypted in the Pulumi state) or taken from the stack's secret config,
rotated by a Lambda when one is given, and read by services only by reference (ECS ``secrets`` ``valueFrom``).

The database's credentials are not an ``AppSecret``: RDS creates and rotates its managed master secret itself
(every 7 days by default, docs/identity.md#secret-rotation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from .common import Grantable, Grants, KeyLike, aws_context, child_opts, data_key, key_arn, role_of, tag_set


@dataclass
class AppSecretArgs:
    """Arguments of :class:`AppSecret`. Default: a generated 40-character value, no rotation."""

    value: pulumi.Input[str] | None = None
    """The value, e.g. ``pulumi.Config().require_secret("...")``; None: generate one (``length`` characters)."""
    length: int = 40
    """Length of a generated value (16-4096)."""
    rotation_days: int | None = None
    """Rotate every N days (1-1000) with ``rotation_function_arn``; None: no rotation."""
    rotation_function_arn: pulumi.Input[str] | None = None
    """The Lambda that rotates this secret (Secrets Manager calls it every ``rotation_days``)."""
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
        if (self.rotation_days is None) != (self.rotation_function_arn is None):
            raise ValueError("AppSecretArgs: rotation_days and rotation_function_arn go together")
        if self.rotation_days is not None and not 1 <= self.rotation_days <= 1000:
            raise ValueError(f"AppSecretArgs.rotation_days {self.rotation_days}: 1 to 1000")
        if not 7 <= self.recovery_window_days <= 30:
            raise ValueError(f"AppSecretArgs.recovery_window_days {self.recovery_window_days}: 7 to 30")


class AppSecret(pulumi.ComponentResource):
    """A Secrets Manager secret with one version and, with a rotation function, a rotation schedule.
    Wiring: :meth:`grant_read` (one policy: this secret, and its key through Secrets Manager only)."""

    secret: aws.secretsmanager.Secret
    version: aws.secretsmanager.SecretVersion
    rotation: aws.secretsmanager.SecretRotation | None
    password: random.RandomPassword | None
    arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AppSecretArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:aws:AppSecret", name, None, opts)
        self.args = args
        self._ctx = aws_context(self)
        self._grants = Grants(self, name)
        key = data_key(self, name, args.kms_key, description=f"{name}: application secret",
                       via_services=("secretsmanager",), tags=args.tags, protect=args.protect)
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
                f"{name}-value", length=args.length, special=True, override_special="!#%&*()-_=+[]{}<>:?",
                min_lower=1, min_upper=1, min_numeric=1, opts=child_opts(self))
            value = self.password.result
        rotated = args.rotation_days is not None
        self.version = aws.secretsmanager.SecretVersion(
            f"{name}-value", secret_id=self.secret.id, secret_string=pulumi.Output.secret(value),
            # A rotated secret's current value is the rotation function's: Pulumi must not write it back.
            opts=child_opts(self, ignore_changes=["secretString"] if rotated else None))
        self.rotation = None
        if rotated:
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

