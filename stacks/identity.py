"""Identity and application secrets for a stack, on either cloud (issue 12; docs/identity.md).

Two calls from the cloud's composition:

1. ``build_identity_aws(...)`` / ``build_identity_gcp(...)`` **before the services**: the user directory (AWS) and
   the application secrets; returns :class:`IdentityComponents`, whose ``environment`` (``AUTH_ISSUER``,
   ``AUTH_JWKS_URL``, ``AUTH_CLIENT_IDS``) goes into every service's plain environment and whose
   ``resolve_secrets`` turns a service's ``secret:NAME`` references into what the service component injects by
   reference (an ARN / a Secret Manager secret).
2. ``wire_identity_aws(...)`` / ``wire_identity_gcp(...)`` **after the load balancer and the services**: sign-in
   required on the protected paths (AWS: ``authenticate-cognito`` listener rules before the service routes; GCP:
   Identity Platform and IAP members on the protected backend) and the secret grants; then the outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from .settings import NAMESPACE, SECRET_VALUES_KEY, AwsSettings, GcpSettings, SettingsError, app_secret_ref


@dataclass
class IdentityComponents:
    """What the identity part of a stack created and hands to the services."""

    identity: Any | None
    """``components.aws.identity.Identity`` / ``components.gcp.identity.Identity``; None when disabled (GCP: until
    ``wire_identity_gcp``)."""
    secrets: dict[str, Any] = field(default_factory=dict)
    """Application secrets by settings name (``AppSecret`` of the cloud)."""
    environment: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain environment variables for every service (token verification settings; never a secret)."""
    extra: dict[str, pulumi.Resource] = field(default_factory=dict)
    """GCP: the APIs enabled for identity (``api-identitytoolkit``, ``api-iap``)."""
    rotator: Any | None = None
    """AWS: the ``SecretRotator`` of the generated secrets that rotate (None when none does)."""

    def resolve_secrets(self, refs: Mapping[str, Any]) -> dict[str, Any]:
        """A service's secrets with each ``secret:NAME`` replaced by the application secret (AWS: its ARN; GCP:
        the ``gcp.secretmanager.Secret``); other references unchanged."""
        out: dict[str, Any] = {}
        for env_name, ref in refs.items():
            target = app_secret_ref(ref) if isinstance(ref, str) else None
            if target is None:
                out[env_name] = ref
            elif target not in self.secrets:
                raise SettingsError(f"{NAMESPACE}:secrets has no {target!r} (referenced by {env_name})")
            else:
                s = self.secrets[target]
                out[env_name] = s.arn if hasattr(s, "arn") else s.secret
        return out


def _secret_values(settings: AwsSettings | GcpSettings) -> pulumi.Output[Any] | None:
    given = sorted(n for n, s in settings.secrets.items() if not s.generate)
    if not given:
        return None
    values = pulumi.Config(NAMESPACE).get_secret_object(SECRET_VALUES_KEY)
    if values is None:
        raise SettingsError(f"{NAMESPACE}:{SECRET_VALUES_KEY}.{given[0]} is required (secrets.{given[0]}.generate is "
                            f"false): pulumi config set --path --secret '{SECRET_VALUES_KEY}.{given[0]}' VALUE")
    return values


def _value_of(values: pulumi.Output[Any] | None, name: str) -> pulumi.Output[str] | None:
    if values is None:
        return None

    def pick(d: Any) -> str:
        if not isinstance(d, Mapping) or name not in d:
            raise SettingsError(f"{NAMESPACE}:{SECRET_VALUES_KEY}.{name} is required (secrets.{name}.generate is "
                                f"false): pulumi config set --path --secret '{SECRET_VALUES_KEY}.{name}' VALUE")
        return str(d[name])

    return pulumi.Output.secret(values.apply(pick))


# -- AWS ------------------------------------------------------------------------------------------------------------
def build_identity_aws(settings: AwsSettings, *, opts: pulumi.ResourceOptions, key: Any | None,
                       tags: Mapping[str, str], prod: bool, logs_key_arn: pulumi.Input[str] | None = None,
                       log_retention_days: int = 30,
                       permissions_boundary: pulumi.Input[str] | None = None) -> IdentityComponents:
    """The user pool, its clients and domain (``identity.enabled``) and the application secrets, encrypted with
    ``key`` (the stack key) or, when None (a key per component), one key for all application secrets. Generated
    secrets with ``rotationDays`` (and no function of their own) are rotated by one ``SecretRotator``, whose log
    group is encrypted with ``logs_key_arn`` (required then) and whose role carries ``permissions_boundary``."""
    from components.aws.identity import AppClientArgs, Identity, IdentityArgs
    from components.aws.kms import EncryptionKey, EncryptionKeyArgs
    from components.aws.secrets import AppSecret, AppSecretArgs, SecretRotator, SecretRotatorArgs

    base = f"{settings.name}-{settings.environment}"
    out = IdentityComponents(identity=None)
    ident = settings.identity
    if ident.enabled:
        out.identity = Identity(f"{base}-identity", IdentityArgs(
            clients={k: AppClientArgs(type=c.type, callback_urls=c.callback_urls, logout_urls=c.logout_urls,
                                      access_token_minutes=c.access_token_minutes,
                                      refresh_token_days=c.refresh_token_days) for k, c in ident.clients.items()},
            mfa=ident.mfa, password_min_length=ident.password_min_length, self_sign_up=ident.self_sign_up,
            threat_protection=ident.threat_protection, deletion_protection=ident.deletion_protection,
            domain_prefix=ident.domain_prefix, tags=tags, protect=prod), opts=opts)
        out.environment.update(out.identity.environment())

    if settings.secrets:
        if key is None:
            key = EncryptionKey(f"{base}-secrets", EncryptionKeyArgs(
                description=f"{base}: application secrets", via_services=["secretsmanager"], tags=tags,
                protect=prod), opts=opts)
        values = _secret_values(settings)
        for name, s in sorted(settings.secrets.items()):
            out.secrets[name] = AppSecret(f"{base}-{name}", AppSecretArgs(
                value=None if s.generate else _value_of(values, name), length=s.length,
                rotation_days=s.rotation_days, rotation_function_arn=s.rotation_function_arn, kms_key=key,
                tags=tags, protect=prod), opts=opts)
        rotated = [out.secrets[n] for n, s in sorted(settings.secrets.items())
                   if s.rotation_days is not None and s.rotation_function_arn is None]
        if rotated:
            if logs_key_arn is None:
                raise ValueError("build_identity_aws: rotated secrets need logs_key_arn (the rotation function's logs)")
            out.rotator = SecretRotator(f"{base}-secret-rotation", SecretRotatorArgs(
                secrets=rotated, log_kms_key_arn=logs_key_arn, log_retention_days=log_retention_days,
                permissions_boundary=permissions_boundary, tags=tags), opts=opts)
    return out


def wire_identity_aws(ic: IdentityComponents, settings: AwsSettings, *, load_balancer: Any,
                      protected_target_group_arn: pulumi.Input[str] | None,
                      services: Mapping[str, tuple[Any, Mapping[str, str]]]) -> None:
    """Sign-in on the protected paths (forwarding to ``protected_target_group_arn``), the secret grants of each
    service (``name -> (service, its secrets settings)``), and the stack outputs."""
    if ic.identity is not None and settings.identity.protected_paths and protected_target_group_arn is not None:
        ic.identity.require_sign_in(
            listener_arn=load_balancer.https_listener.arn, security_group=load_balancer.security_group,
            base_url=load_balancer.url, conditions=load_balancer.origin_conditions(),
            targets={p: protected_target_group_arn for p in settings.identity.protected_paths})
    for _, (service, refs) in sorted(services.items()):
        for ref in sorted({app_secret_ref(r) for r in refs.values()} - {None}):
            ic.secrets[ref].grant_read(service)
    if ic.identity is not None:
        pulumi.export("auth_issuer", ic.identity.issuer)
        pulumi.export("auth_jwks_url", ic.identity.jwks_url)
        pulumi.export("auth_client_ids", ic.identity.client_ids)
        pulumi.export("auth_hosted_ui_url", ic.identity.hosted_ui_url)
    if ic.secrets:
        pulumi.export("app_secret_arns", {k: s.arn for k, s in ic.secrets.items()})


# -- GCP ------------------------------------------------------------------------------------------------------------
def build_identity_gcp(settings: GcpSettings, *, opts: pulumi.ResourceOptions, kms: Any,
                       labels: Mapping[str, str], prod: bool) -> IdentityComponents:
    """The application secrets (CMEK: ``kms.cmek("secrets")``) and the token verification environment; the
    Identity Platform configuration follows in :func:`wire_identity_gcp` (it needs the load balancer's domain)."""
    from components.gcp.identity import JWKS_URL
    from components.gcp.secrets import AppSecret, AppSecretArgs

    prefix = f"{settings.name}-{settings.environment}"
    out = IdentityComponents(identity=None)
    if settings.identity.enabled:
        out.environment.update(AUTH_ISSUER=f"https://securetoken.google.com/{settings.gcp_project}",
                               AUTH_JWKS_URL=JWKS_URL, AUTH_CLIENT_IDS=settings.gcp_project)
    values = _secret_values(settings)
    for name, s in sorted(settings.secrets.items()):
        out.secrets[name] = AppSecret(f"{prefix}-{name}", AppSecretArgs(
            region=settings.region, value=None if s.generate else _value_of(values, name), length=s.length,
            rotation_days=s.rotation_days, kms_key=kms.cmek("secrets"),
            topic_kms_key=kms.cmek("pubsub") if s.rotation_days else None, labels=labels, protect=prod), opts)
    return out


def wire_identity_gcp(ic: IdentityComponents, settings: GcpSettings, *, opts: pulumi.ResourceOptions,
                      load_balancer: Any) -> None:
    """Identity Platform (authorized domains: the load balancer's and the app clients' hosts), IAP members on the
    protected backend (``LoadBalancerArgs.iap_paths``), and the stack outputs."""
    import pulumi_gcp as gcp

    from components.gcp.identity import Identity, IdentityArgs

    ident = settings.identity
    if not ident.enabled:
        return
    prefix = f"{settings.name}-{settings.environment}"
    apis = {f"api-{a.split('.')[0]}": gcp.projects.Service(f"api-{a.split('.')[0]}", service=a,
                                                           disable_on_destroy=False, opts=opts)
            for a in ("identitytoolkit.googleapis.com", "iap.googleapis.com")}
    ic.extra.update(apis)
    hosts = sorted({u.split("/")[2].split(":")[0] for c in ident.clients.values()
                    for u in (*c.callback_urls, *c.logout_urls)})
    ic.identity = Identity(f"{prefix}-identity", IdentityArgs(
        project=settings.gcp_project, authorized_domains=[load_balancer.domain, *hosts], mfa=ident.mfa,
        self_sign_up=ident.self_sign_up),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(apis.values()))))
    protected = load_balancer.backends.get("protected")
    if protected is not None and ident.iap_members:
        ic.identity.require_sign_in(protected, ident.iap_members)
    pulumi.export("auth_issuer", ic.identity.issuer)
    pulumi.export("auth_jwks_url", ic.identity.jwks_url)
    pulumi.export("auth_client_ids", {"audience": ic.identity.audience})
    if ic.secrets:
        pulumi.export("app_secret_ids", {k: s.secret_id for k, s in ic.secrets.items()})
