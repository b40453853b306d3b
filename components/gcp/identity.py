"""Identity: Identity Platform for end users (email and password sign-in, TOTP MFA, authorized domains) and
Identity-Aware Proxy access on the load balancer's protected backend.

APIs verify Identity Platform ID tokens themselves (``issuer``, ``jwks_url``, ``audience``: docs/identity.md);
protected paths are guarded by IAP on their backend service (``LoadBalancerArgs.iap_paths``), and
:meth:`Identity.require_sign_in` admits the members given (``roles/iap.httpsResourceAccessor``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_gcp as gcp

from components.gcp.common import child_opts, remember_deps

MFA_STATE = {"off": "DISABLED", "optional": "ENABLED", "required": "MANDATORY"}
"""``mfa`` -> Identity Platform's MFA ``state``."""

IAP_ACCESSOR = "roles/iap.httpsResourceAccessor"
"""The role IAP checks on a backend service."""

JWKS_URL = "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com"
"""Public keys of Identity Platform ID tokens (the same for every project)."""

_MEMBER = re.compile(r"(user|group|domain|serviceAccount):\S+")
_DOMAIN = re.compile(r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


@dataclass
class IdentityArgs:
    """Arguments of :class:`Identity`. Defaults: MFA optional (TOTP), administrators create users."""

    project: str
    """The project whose Identity Platform this configures (one configuration per project)."""
    authorized_domains: Sequence[pulumi.Input[str]] = ()
    """Domains the sign-in may redirect to (the load balancer's domain, the apps' hosts)."""
    mfa: Literal["off", "optional", "required"] = "optional"
    """Multi-factor authentication with TOTP apps (``required`` in prod)."""
    self_sign_up: bool = False
    """Let users sign themselves up; False: only administrators create users."""
    totp_adjacent_intervals: int = 1
    """TOTP codes of this many 30-second windows before and after now are accepted (0-10)."""

    def __post_init__(self) -> None:
        if self.mfa not in MFA_STATE:
            raise ValueError(f"IdentityArgs.mfa {self.mfa!r}: off, optional or required")
        if not 0 <= self.totp_adjacent_intervals <= 10:
            raise ValueError(f"IdentityArgs.totp_adjacent_intervals {self.totp_adjacent_intervals}: 0 to 10")
        for d in self.authorized_domains:
            if isinstance(d, str) and not _DOMAIN.fullmatch(d):
                raise ValueError(f"IdentityArgs.authorized_domains: {d!r} is not a domain name")


class Identity(pulumi.ComponentResource):
    """Identity Platform's project configuration; ``require_sign_in`` admits members through IAP."""

    config: gcp.identityplatform.Config
    issuer: str
    jwks_url: str
    audience: str
    iap_members: dict[str, gcp.iap.WebBackendServiceIamMember]

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:gcp:Identity", name, None, opts)
        remember_deps(self, opts)
        self.args = args
        mfa: dict[str, object] = {"state": MFA_STATE[args.mfa]}
        if args.mfa != "off":
            mfa["provider_configs"] = [{"state": "ENABLED", "totp_provider_config": {
                "adjacent_intervals": args.totp_adjacent_intervals}}]
        self.config = gcp.identityplatform.Config(
            f"{name}-config", project=args.project,
            sign_in={"allow_duplicate_emails": False, "email": {"enabled": True, "password_required": True}},
            mfa=mfa,
            client={"permissions": {"disabled_user_signup": not args.self_sign_up, "disabled_user_deletion": False}},
            authorized_domains=list(args.authorized_domains) or None,
            autodelete_anonymous_users=True,
            opts=child_opts(self))
        self.issuer = f"https://securetoken.google.com/{args.project}"
        self.jwks_url = JWKS_URL
        self.audience = args.project
        self.iap_members = {}
        self.register_outputs({"issuer": self.issuer, "jwks_url": self.jwks_url, "audience": self.audience})

    # -- wiring ----------------------------------------------------------------------------------------------
    def require_sign_in(self, backend: gcp.compute.BackendService,
                        members: Sequence[str]) -> dict[str, gcp.iap.WebBackendServiceIamMember]:
        """Admit ``members`` (``user:``, ``group:``, ``domain:``, ``serviceAccount:``) through IAP on ``backend``
        (a backend service with IAP on): one ``roles/iap.httpsResourceAccessor`` binding each."""
        name = self.pulumi_resource_name
        for member in members:
            if not _MEMBER.fullmatch(member) or member.endswith(("allUsers", "allAuthenticatedUsers")):
                raise ValueError(f"require_sign_in: {member!r} is not a user:, group:, domain: or serviceAccount: "
                                 "member")
            key = re.sub(r"[^a-z0-9]+", "-", member.lower()).strip("-")
            if key not in self.iap_members:
                self.iap_members[key] = gcp.iap.WebBackendServiceIamMember(
                    f"{name}-iap-{key}", project=self.args.project, web_backend_service=backend.name,
                    role=IAP_ACCESSOR, member=member, opts=child_opts(self))
        return dict(self.iap_members)

    def environment(self) -> dict[str, pulumi.Input[str]]:
        """What a service needs to verify ID tokens: ``AUTH_ISSUER``, ``AUTH_JWKS_URL`` and ``AUTH_CLIENT_IDS``
        (Identity Platform's token audience: the project id)."""
        return {"AUTH_ISSUER": self.issuer, "AUTH_JWKS_URL": self.jwks_url, "AUTH_CLIENT_IDS": self.audience}
