"""Identity: a Cognito user pool for end users (email sign-in, password policy, TOTP MFA, threat protection),
its app clients, a hosted sign-in domain, and sign-in required on protected load-balancer paths.

Tokens are verified by the APIs themselves (``issuer``, ``jwks_url``, ``client_ids``: docs/identity.md); paths
that must never reach a service unauthenticated (``/admin/*``) are guarded by the load balancer with
:meth:`Identity.require_sign_in` (``authenticate-cognito`` then ``forward``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from .common import aws_context, child_opts, tag_set

MFA_CONFIGURATION = {"off": "OFF", "optional": "OPTIONAL", "required": "ON"}
"""``mfa`` -> the user pool's ``mfa_configuration``."""

EXPLICIT_AUTH_FLOWS = ("ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH")
"""The only direct (API) sign-in flows: SRP (the password never leaves the client) and refresh."""

OAUTH_SCOPES = ("openid", "email", "profile")
"""Scopes an app client may request at the hosted sign-in."""

SIGN_IN_RULE_PRIORITY = 1
"""First listener-rule priority of the protected paths; the service routes start at 10 (``LoadBalancer``)."""

ALB_CALLBACK_PATH = "/oauth2/idpresponse"
"""Where Cognito returns to the load balancer after sign-in (fixed by Elastic Load Balancing)."""

_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*\*?$")


@dataclass
class AppClientArgs:
    """One application that signs users in."""

    type: Literal["public", "confidential"]
    """``public``: a browser or mobile app (authorization code with PKCE, no client secret); ``confidential``: a
    server that keeps the client secret Cognito generates."""
    callback_urls: Sequence[str] = ()
    """Where the hosted sign-in may redirect after sign-in (https, or http://localhost for development)."""
    logout_urls: Sequence[str] = ()
    """Where sign-out may redirect."""
    access_token_minutes: int = 60
    """Access and ID token lifetime, minutes (5-60)."""
    refresh_token_days: int = 30
    """Refresh token lifetime, days (1-3650)."""

    def __post_init__(self) -> None:
        if self.type not in ("public", "confidential"):
            raise ValueError(f"AppClientArgs.type {self.type!r}: public or confidential")
        if not 5 <= self.access_token_minutes <= 60:
            raise ValueError(f"AppClientArgs.access_token_minutes {self.access_token_minutes}: 5 to 60")
        if not 1 <= self.refresh_token_days <= 3650:
            raise ValueError(f"AppClientArgs.refresh_token_days {self.refresh_token_days}: 1 to 3650")


@dataclass
class IdentityArgs:
    """Arguments of :class:`Identity`. Defaults: MFA optional (TOTP), 12-character passwords with every
    character class, users created by administrators only, no threat protection, no deletion protection."""

    clients: Mapping[str, AppClientArgs] = field(default_factory=dict)
    """App clients by name."""
    mfa: Literal["off", "optional", "required"] = "optional"
    """Multi-factor authentication with TOTP apps (``required`` in prod)."""
    password_min_length: int = 12
    """Minimum password length (12-99); upper, lower, digit and symbol are always required."""
    temporary_password_days: int = 3
    """Days an administrator-set temporary password stays valid (1-365)."""
    self_sign_up: bool = False
    """Let users sign themselves up; False: only administrators create users."""
    threat_protection: bool = False
    """Cognito threat protection enforced (``advanced_security_mode`` ENFORCED, Plus feature plan, per MAU)."""
    deletion_protection: bool = False
    """Refuse deletion of the user pool through the API (prod)."""
    domain_prefix: pulumi.Input[str] | None = None
    """Hosted sign-in domain prefix (``<prefix>.auth.<region>.amazoncognito.com``); default ``<name>-<account>``."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the user pool."""
    protect: bool = False
    """Pulumi ``protect`` on the user pool (prod): its users exist nowhere else."""

    def __post_init__(self) -> None:
        if self.mfa not in MFA_CONFIGURATION:
            raise ValueError(f"IdentityArgs.mfa {self.mfa!r}: off, optional or required")
        if not 12 <= self.password_min_length <= 99:
            raise ValueError(f"IdentityArgs.password_min_length {self.password_min_length}: 12 to 99")
        if not 1 <= self.temporary_password_days <= 365:
            raise ValueError(f"IdentityArgs.temporary_password_days {self.temporary_password_days}: 1 to 365")
        for name in self.clients:
            if not re.fullmatch(r"[a-z][a-z0-9-]{0,39}", name) or name == "alb":
                raise ValueError(f"IdentityArgs.clients[{name!r}]: a lowercase name other than 'alb'")


class Identity(pulumi.ComponentResource):
    """A Cognito user pool with email sign-in, its app clients and hosted domain; ``require_sign_in`` puts
    ``authenticate-cognito`` in front of protected paths on an ALB listener."""

    user_pool: aws.cognito.UserPool
    clients: dict[str, aws.cognito.UserPoolClient]
    domain: aws.cognito.UserPoolDomain
    issuer: pulumi.Output[str]
    jwks_url: pulumi.Output[str]
    hosted_ui_url: pulumi.Output[str]
    client_ids: dict[str, pulumi.Output[str]]
    sign_in_rules: dict[str, aws.lb.ListenerRule]

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:aws:Identity", name, None, opts)
        self.args = args
        ctx = aws_context(self)
        self.user_pool = aws.cognito.UserPool(
            f"{name}-users", name=name,
            username_attributes=["email"], auto_verified_attributes=["email"],
            username_configuration={"case_sensitive": False},
            password_policy={
                "minimum_length": args.password_min_length, "require_lowercase": True, "require_uppercase": True,
                "require_numbers": True, "require_symbols": True,
                "temporary_password_validity_days": args.temporary_password_days,
            },
            mfa_configuration=MFA_CONFIGURATION[args.mfa],
            software_token_mfa_configuration={"enabled": True} if args.mfa != "off" else None,
            account_recovery_setting={"recovery_mechanisms": [{"name": "verified_email", "priority": 1}]},
            admin_create_user_config={"allow_admin_create_user_only": not args.self_sign_up},
            user_attribute_update_settings={"attributes_require_verification_before_update": ["email"]},
            user_pool_tier="PLUS" if args.threat_protection else "ESSENTIALS",
            user_pool_add_ons={"advanced_security_mode": "ENFORCED"} if args.threat_protection else None,
            deletion_protection="ACTIVE" if args.deletion_protection else "INACTIVE",
            tags=tag_set(args.tags, name),
            opts=child_opts(self, protect=args.protect))

        prefix: pulumi.Input[str] = args.domain_prefix if args.domain_prefix is not None else \
            pulumi.Output.concat(name, "-", ctx.account_id)
        self.domain = aws.cognito.UserPoolDomain(
            f"{name}-domain", domain=prefix, user_pool_id=self.user_pool.id, opts=child_opts(self))
        self.issuer = pulumi.Output.concat("https://cognito-idp.", ctx.region, ".", ctx.dns_suffix, "/",
                                           self.user_pool.id)
        self.jwks_url = pulumi.Output.concat(self.issuer, "/.well-known/jwks.json")
        self.hosted_ui_url = pulumi.Output.concat("https://", self.domain.domain, ".auth.", ctx.region,
                                                  ".amazoncognito.com")

        self.clients = {key: self._client(name, key, c) for key, c in sorted(args.clients.items())}
        self.client_ids = {k: c.id for k, c in self.clients.items()}
        self.sign_in_rules = {}
        self.register_outputs({
            "user_pool_id": self.user_pool.id, "user_pool_arn": self.user_pool.arn, "issuer": self.issuer,
            "jwks_url": self.jwks_url, "hosted_ui_url": self.hosted_ui_url, "client_ids": self.client_ids,
        })

    def _client(self, name: str, key: str, c: AppClientArgs, *,
                callback_urls: Sequence[pulumi.Input[str]] | None = None) -> aws.cognito.UserPoolClient:
        """An app client: authorization code flow only, short tokens, revocation on, no user-existence leaks."""
        return aws.cognito.UserPoolClient(
            f"{name}-{key}", name=f"{name}-{key}", user_pool_id=self.user_pool.id,
            generate_secret=c.type == "confidential",
            allowed_oauth_flows_user_pool_client=True, allowed_oauth_flows=["code"],
            allowed_oauth_scopes=list(OAUTH_SCOPES), supported_identity_providers=["COGNITO"],
            callback_urls=list(callback_urls if callback_urls is not None else c.callback_urls) or None,
            logout_urls=list(c.logout_urls) or None,
            explicit_auth_flows=list(EXPLICIT_AUTH_FLOWS),
            access_token_validity=c.access_token_minutes, id_token_validity=c.access_token_minutes,
            refresh_token_validity=c.refresh_token_days,
            token_validity_units={"access_token": "minutes", "id_token": "minutes", "refresh_token": "days"},
            prevent_user_existence_errors="ENABLED", enable_token_revocation=True,
            opts=child_opts(self))

    # -- wiring ----------------------------------------------------------------------------------------------
    def require_sign_in(self, *, listener_arn: pulumi.Input[str], security_group: aws.ec2.SecurityGroup,
                        base_url: pulumi.Input[str], targets: Mapping[str, pulumi.Input[str]],
                        first_priority: int = SIGN_IN_RULE_PRIORITY, session_minutes: int = 60,
                        conditions: Sequence[Mapping[str, Any]] = (),
                        ) -> dict[str, aws.lb.ListenerRule]:
        """Require sign-in on protected paths of an HTTPS listener: for each ``path pattern -> target group
        ARN`` of ``targets``, a listener rule at ``first_priority``, ``first_priority + 1``, ... (before the
        service routes, which start at 10) that runs ``authenticate-cognito`` and then forwards.

        Creates the load balancer's own confidential app client (Cognito redirects to
        ``<base_url>/oauth2/idpresponse``) and the one egress path the ALB needs to reach the Cognito token and
        user-info endpoints (HTTPS to the internet: they have no fixed addresses). ``conditions`` are added to each
        rule's path condition (e.g. the CDN origin header, ``LoadBalancer.origin_conditions``)."""
        if not targets:
            return {}
        bad = [p for p in targets if not _PATH.fullmatch(p)]
        if bad:
            raise ValueError(f"require_sign_in: {bad[0]!r} is not a path pattern like /admin/*")
        if first_priority < 1 or first_priority + len(targets) - 1 >= 10:
            raise ValueError(f"require_sign_in: {len(targets)} paths from priority {first_priority} overlap the "
                             "service routes (priority 10 and up): at most 9 protected paths")
        if not 1 <= session_minutes <= 7 * 24 * 60:
            raise ValueError(f"require_sign_in: session_minutes {session_minutes}: 1 to 10080")
        name = self.pulumi_resource_name
        alb_client = self._client(name, "alb", AppClientArgs(type="confidential", access_token_minutes=60,
                                                             refresh_token_days=1),
                                  callback_urls=[pulumi.Output.concat(base_url, ALB_CALLBACK_PATH)])
        self.clients["alb"] = alb_client
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-alb-to-cognito", security_group_id=security_group.id, ip_protocol="tcp", from_port=443,
            to_port=443, cidr_ipv4="0.0.0.0/0",
            description="ALB to the Cognito token and user-info endpoints (authenticate-cognito)",
            tags=tag_set(self.args.tags, f"{name}-alb-to-cognito"), opts=child_opts(self))
        for i, (path, target) in enumerate(sorted(targets.items())):
            key = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "root"
            self.sign_in_rules[path] = aws.lb.ListenerRule(
                f"{name}-signin-{key}", listener_arn=listener_arn, priority=first_priority + i,
                conditions=[{"path_pattern": {"values": [path]}}, *conditions],
                actions=[
                    {"type": "authenticate-cognito", "order": 1, "authenticate_cognito": {
                        "user_pool_arn": self.user_pool.arn, "user_pool_client_id": alb_client.id,
                        "user_pool_domain": self.domain.domain, "on_unauthenticated_request": "authenticate",
                        "scope": "openid email", "session_timeout": session_minutes * 60,
                        "session_cookie_name": f"{name}-session"}},
                    {"type": "forward", "order": 2, "target_group_arn": target},
                ],
                tags=tag_set(self.args.tags, f"{name}-signin-{key}"), opts=child_opts(self))
        return dict(self.sign_in_rules)

    def environment(self) -> dict[str, pulumi.Input[str]]:
        """What a service needs to verify bearer tokens: ``AUTH_ISSUER``, ``AUTH_JWKS_URL`` and
        ``AUTH_CLIENT_IDS`` (comma-separated ids of the app clients, the accepted ``client_id`` claims; not the
        load balancer's own client)."""
        ids = [self.client_ids[k] for k in sorted(self.args.clients)]
        return {"AUTH_ISSUER": self.issuer, "AUTH_JWKS_URL": self.jwks_url,
                "AUTH_CLIENT_IDS": pulumi.Output.all(*ids).apply(lambda v: ",".join(v))}
