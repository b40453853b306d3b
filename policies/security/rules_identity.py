"""End-user identity and application secrets: MFA and deletion protection of the user directory in prod, token
lifetimes, public clients without secrets, no implicit flow, sign-in in front of admin routes, rotated secrets; and
service-to-service identity: internal services in VPC Lattice authenticate their callers with IAM."""

from __future__ import annotations

import re
from collections.abc import Iterator

from policies.common import Context, Res, ResourceIndex, as_list, is_true, is_unknown, resource_rule, stack_rule

from ._helpers import public_principal_statements, stmt_label

IDENTITY = "identity"

USER_POOL = "aws:cognito/userPool:UserPool"
USER_POOL_CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
IDENTITY_PLATFORM = "gcp:identityplatform/config:Config"
LISTENER_RULES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
SM_SECRET = "aws:secretsmanager/secret:Secret"
SM_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
SM_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"

_UNIT_MINUTES = {"seconds": 1 / 60, "minutes": 1, "hours": 60, "days": 24 * 60}
_NATIVE_REDIRECT = re.compile(r"^(?!https?://)[a-z][a-z0-9+.-]*:", re.I)
_LOCALHOST = re.compile(r"^http://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?(/|$)", re.I)


@resource_rule(
    "cognito-mfa-in-prod", category=IDENTITY, severity="high", types=(USER_POOL, IDENTITY_PLATFORM),
    description="In prod, the user directory does not turn multi-factor authentication off (Cognito "
                "mfaConfiguration OFF, Identity Platform mfa.state DISABLED) (prod).",
    remediation="Set identity.mfa to required (the prod profile) or optional: mfa_configuration ON/OPTIONAL with "
                "software_token_mfa_configuration enabled; Identity Platform mfa.state MANDATORY or ENABLED.",
    rationale="Mandatory unless the environment is known not to be prod (an unknown environment is judged as prod): "
              "a production user directory without any MFA is an authentication defect; OPTIONAL is accepted "
              "(consumer apps).",
)
def mfa_in_prod(r: Res, ctx: Context) -> Iterator[str]:
    if ctx.environment(r) is not None and not ctx.is_prod(r):  # an unknown environment is judged as prod
        return
    if r.type == USER_POOL:
        v = r.get("mfaConfiguration")
        if is_unknown(v):
            return
        if str(v or "OFF").upper() == "OFF":
            yield "mfaConfiguration is OFF: no second factor protects prod accounts"
    else:
        v = r.get("mfa.state")
        if is_unknown(v):
            return
        if str(v or "DISABLED").upper() == "DISABLED":
            yield "mfa.state is DISABLED: no second factor protects prod accounts"


@resource_rule(
    "cognito-deletion-protection", category=IDENTITY, severity="high", types=(USER_POOL,),
    description="In prod, Cognito user pools have deletion protection: the users exist nowhere else (prod).",
    remediation="Set deletion_protection='ACTIVE' (identity.deletionProtection, on in the prod profile).",
)
def deletion_protection(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("deletionProtection")
    if ctx.is_prod(r) and not is_unknown(v) and str(v or "INACTIVE").upper() != "ACTIVE":
        yield "deletionProtection is not ACTIVE: one API call deletes every user"


def _minutes(r: Res, kind: str, default_value: float, default_unit: str) -> float | None:
    v = r.get(f"{kind}Validity")
    unit = r.get(f"tokenValidityUnits.{kind}") or default_unit
    if is_unknown(v) or is_unknown(unit):
        return None
    value = float(v) if v is not None else default_value
    return value * _UNIT_MINUTES.get(str(unit).lower(), 1)


@resource_rule(
    "cognito-token-lifetime", category=IDENTITY, severity="medium", types=(USER_POOL_CLIENT,),
    description="Cognito access and ID tokens live at most an hour (a stolen token cannot be revoked before it "
                "expires).",
    remediation="Set access_token_validity and id_token_validity to 60 minutes or less with token_validity_units "
                "(identity.clients.<name>.accessTokenMinutes); keep sessions long with refresh tokens instead.",
    config={"maxMinutes": {"type": "number", "default": 60}},
)
def token_lifetime(r: Res, ctx: Context) -> Iterator[str]:
    limit = float(ctx.config.get("maxMinutes") or 60)
    long = [f"{kind} {m:g} minutes" for kind in ("accessToken", "idToken")
            if (m := _minutes(r, kind, 1, "hours")) is not None and m > limit]  # Cognito's default: 1 hour
    if long:
        yield f"tokens live longer than {limit:g} minutes: {', '.join(long)}"


@resource_rule(
    "cognito-refresh-token-lifetime", category=IDENTITY, severity="low", types=(USER_POOL_CLIENT,),
    enforcement="advisory",
    description="Cognito refresh tokens live at most 90 days (a lost device keeps access that long).",
    remediation="Set refresh_token_validity to 90 days or less (identity.clients.<name>.refreshTokenDays).",
    config={"maxDays": {"type": "number", "default": 90}},
)
def refresh_token_lifetime(r: Res, ctx: Context) -> Iterator[str]:
    limit = float(ctx.config.get("maxDays") or 90)
    m = _minutes(r, "refreshToken", 30, "days")  # Cognito's default: 30 days
    if m is not None and m / (24 * 60) > limit:
        yield f"refresh tokens live {m / (24 * 60):g} days (more than {limit:g})"


def _looks_public(r: Res) -> str | None:
    """Why a client looks like a browser or mobile app (a public client), or None."""
    flows = {str(f).lower() for f in as_list(r.get("allowedOauthFlows")) if isinstance(f, str)}
    if "implicit" in flows:
        return "it allows the implicit flow (browser apps)"
    urls = [u for u in as_list(r.get("callbackUrls")) if isinstance(u, str) and not is_unknown(u)]
    if urls and "code" in flows and all(_LOCALHOST.match(u) or _NATIVE_REDIRECT.match(u) for u in urls):
        return "every callback URL is localhost or an app scheme (a browser or mobile app)"
    return None


@resource_rule(
    "cognito-public-client-secret", category=IDENTITY, severity="medium", types=(USER_POOL_CLIENT,),
    description="A client that looks public (implicit flow, or code flow whose callback URLs are all localhost or "
                "custom app schemes) has no client secret: a secret shipped in a browser or mobile app is public.",
    remediation="Set generate_secret=False and use the authorization code flow with PKCE (identity.clients.<name> "
                "type public); keep secrets for server-side (confidential) clients.",
)
def public_client_secret(r: Res, ctx: Context) -> Iterator[str]:
    if not is_true(r.get("generateSecret")):
        return
    why = _looks_public(r)
    if why:
        yield f"generateSecret is true but {why}"


@resource_rule(
    "cognito-no-implicit-flow", category=IDENTITY, severity="high", types=(USER_POOL_CLIENT,),
    description="Cognito app clients do not allow the OAuth implicit flow (tokens in URL fragments, no PKCE).",
    remediation="Set allowed_oauth_flows=['code'] (authorization code with PKCE for public clients).",
)
def no_implicit_flow(r: Res, ctx: Context) -> Iterator[str]:
    flows = {str(f).lower() for f in as_list(r.get("allowedOauthFlows")) if isinstance(f, str)}
    if "implicit" in flows:
        yield "allowedOauthFlows includes implicit"


def _actions(rule: Res) -> list[dict]:
    return [a for a in as_list(rule.get("actions")) if isinstance(a, dict)]


@stack_rule(
    "lb-admin-routes-authenticated", category=IDENTITY, severity="high",
    description="An ALB listener rule that forwards an admin path (matching /admin*) authenticates first "
                "(an authenticate-cognito or authenticate-oidc action before the forward).",
    remediation="Add the path to identity.protectedPaths (authenticate-cognito then forward, at a priority before "
                "the service routes), or add an authenticate action to the rule.",
    config={"adminPrefixes": {"type": "array", "items": {"type": "string"}, "default": ["/admin"]}},
)
def admin_routes_authenticated(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    prefixes = [str(p).lower().rstrip("/") for p in ctx.config.get("adminPrefixes") or ["/admin"]]
    for rule in index.of_type(*LISTENER_RULES):
        paths = []
        for cond in as_list(rule.get("conditions")):
            if isinstance(cond, dict):
                paths += [p for p in as_list((cond.get("pathPattern") or {}).get("values")) if isinstance(p, str)]
        admin = [p for p in paths if any(re.search(re.escape(x) + r"(/|\*|$)", p.lower()) for x in prefixes)]
        if not admin:
            continue
        acts = _actions(rule)
        types = [str(a.get("type", "")).lower() for a in acts]
        if "forward" not in types and not any(a.get("targetGroupArn") for a in acts):
            continue
        if not any(t in ("authenticate-cognito", "authenticate-oidc") for t in types):
            yield rule, f"forwards {', '.join(admin)} without an authenticate-cognito/oidc action"


LATTICE_AUTH_TYPES = ("aws:vpclattice/service:Service", "aws:vpclattice/serviceNetwork:ServiceNetwork")
LATTICE_AUTH_POLICY = "aws:vpclattice/authPolicy:AuthPolicy"


@resource_rule(
    "internal-service-iam-auth", category=IDENTITY, severity="high",
    types=(*LATTICE_AUTH_TYPES, LATTICE_AUTH_POLICY),
    description="VPC Lattice services and service networks authenticate callers with IAM (authType AWS_IAM), and "
                "their auth policies do not allow Principal \"*\" without a condition that pins the caller.",
    remediation="Set auth_type='AWS_IAM' (identity.serviceAuth: iam) and name the callers' task roles in the auth "
                "policy (Principal and an aws:PrincipalArn condition), or pin \"*\" with aws:PrincipalAccount / "
                "aws:PrincipalOrgID.",
    rationale="With authType NONE (the default) anyone who can reach the service network calls the service, and "
              "an unconditioned \"*\" principal admits any signed request: the service no longer knows its "
              "callers.",
)
def internal_service_iam_auth(r: Res, ctx: Context) -> Iterator[str]:
    if r.type in LATTICE_AUTH_TYPES:
        v = r.get("authType")
        if not is_unknown(v) and str(v or "NONE").upper() != "AWS_IAM":
            yield f"authType is {v or 'NONE (the default)'}: callers are not authenticated"
        return
    for stmt in public_principal_statements(r.get("policy")):
        yield f"the auth policy's {stmt_label(stmt)} allows Principal \"*\" with no condition pinning the caller"


# Secret rotation is judged once, by secretsmanager-rotation (rules_data.py: FSBP SecretsManager.1).


RULES = [mfa_in_prod, deletion_protection, token_lifetime, refresh_token_lifetime, public_client_secret,
         no_implicit_flow, admin_routes_authenticated, internal_service_iam_auth]
