"""Identity and application secrets (issue 12): the user pool's settings, app clients, the sign-in listener rules
before the service routes, IAP bindings, secret grants, and what reaches the services."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest
from helpers import FakeService, doc_example, documents_every_argument

from components.aws.identity import AppClientArgs, Identity, IdentityArgs
from components.aws.secrets import AppSecret, AppSecretArgs, SecretRotatorArgs
from components.gcp.identity import Identity as GcpIdentity
from components.gcp.identity import IdentityArgs as GcpIdentityArgs
from components.gcp.secrets import AppSecret as GcpAppSecret
from components.gcp.secrets import AppSecretArgs as GcpAppSecretArgs
from stacks.settings import SettingsError, from_values

DOCS = Path(__file__).resolve().parent.parent / "docs" / "components"
POOL = "aws:cognito/userPool:UserPool"
CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
RULE = "aws:lb/listenerRule:ListenerRule"
POLICY = "aws:iam/rolePolicy:RolePolicy"


class _Lb(pulumi.ComponentResource):
    """Stands in for the LoadBalancer: an HTTPS listener ARN, a security group and a URL."""

    def __init__(self) -> None:
        super().__init__("test:aws:LoadBalancer", "lb")
        self.security_group = aws.ec2.SecurityGroup("lb-alb", vpc_id="vpc-1", opts=pulumi.ResourceOptions(parent=self))


class _Svc(FakeService):
    """A service with an execution role (what resolves ECS secret references)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.execution_role = aws.iam.Role(f"{name}-exec", assume_role_policy="{}",
                                           opts=pulumi.ResourceOptions(parent=self))


_CACHE: dict[str, object] = {}


def _aws_identity(run_program, **kw):
    """The identity program's graph, captured once per arguments (tests only read it)."""
    key = repr(sorted(kw.items()))
    if key not in _CACHE:
        _CACHE[key] = _capture_identity(run_program, **kw)
    return _CACHE[key]


def _capture_identity(run_program, **kw):
    def prog():
        ident = Identity("id", IdentityArgs(clients={
            "web": AppClientArgs(type="public", callback_urls=["https://app.example.com/cb"], access_token_minutes=15),
            "backend": AppClientArgs(type="confidential", refresh_token_days=7)}, **kw))
        lb = _Lb()
        ident.require_sign_in(listener_arn="arn:aws:elasticloadbalancing:us-east-1:1:listener/app/x/1/2",
                              security_group=lb.security_group, base_url="https://api.example.com",
                              targets={"/admin/*": "tg-admin", "/ops/*": "tg-ops"})
    return run_program(prog)


def test_user_pool_settings_prod(run_program):
    g = _aws_identity(run_program, mfa="required", threat_protection=True, deletion_protection=True,
                      password_min_length=14)
    pool = g.by_name("id-users", POOL).inputs
    assert pool["usernameAttributes"] == ["email"] and pool["autoVerifiedAttributes"] == ["email"]
    assert pool["passwordPolicy"] == {"minimumLength": 14, "requireLowercase": True, "requireUppercase": True,
                                      "requireNumbers": True, "requireSymbols": True,
                                      "temporaryPasswordValidityDays": 3}
    assert pool["mfaConfiguration"] == "ON" and pool["softwareTokenMfaConfiguration"] == {"enabled": True}
    assert pool["userPoolTier"] == "PLUS" and pool["userPoolAddOns"] == {"advancedSecurityMode": "ENFORCED"}
    assert pool["deletionProtection"] == "ACTIVE"
    assert pool["accountRecoverySetting"] == {"recoveryMechanisms": [{"name": "verified_email", "priority": 1}]}
    assert pool["adminCreateUserConfig"] == {"allowAdminCreateUserOnly": True}


def test_user_pool_settings_dev(run_program):
    g = _aws_identity(run_program)
    pool = g.by_name("id-users", POOL).inputs
    assert pool["mfaConfiguration"] == "OPTIONAL" and pool["softwareTokenMfaConfiguration"] == {"enabled": True}
    assert pool["userPoolTier"] == "ESSENTIALS" and "userPoolAddOns" not in pool
    assert pool["deletionProtection"] == "INACTIVE"


def test_app_clients(run_program):
    g = _aws_identity(run_program)
    web = g.by_name("id-web", CLIENT).inputs
    backend = g.by_name("id-backend", CLIENT).inputs
    assert web["generateSecret"] is False and backend["generateSecret"] is True
    for c in (web, backend):
        assert c["allowedOauthFlows"] == ["code"] and c["allowedOauthFlowsUserPoolClient"] is True
        assert c["explicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"]
        assert c["preventUserExistenceErrors"] == "ENABLED" and c["enableTokenRevocation"] is True
        assert c["tokenValidityUnits"] == {"accessToken": "minutes", "idToken": "minutes", "refreshToken": "days"}
    assert (web["accessTokenValidity"], web["idTokenValidity"], web["refreshTokenValidity"]) == (15, 15, 30)
    assert (backend["accessTokenValidity"], backend["refreshTokenValidity"]) == (60, 7)
    assert web["callbackUrls"] == ["https://app.example.com/cb"]


def test_sign_in_rules_authenticate_then_forward_before_the_routes(run_program):
    g = _aws_identity(run_program)
    rules = {r.name: r.inputs for r in g.by_type(RULE)}
    assert sorted(rules) == ["id-signin-admin", "id-signin-ops"]
    assert [rules["id-signin-admin"]["priority"], rules["id-signin-ops"]["priority"]] == [1, 2]  # routes start at 10
    alb = g.by_name("id-alb", CLIENT)
    for path, name, target in (("/admin/*", "id-signin-admin", "tg-admin"), ("/ops/*", "id-signin-ops", "tg-ops")):
        r = rules[name]
        assert r["conditions"] == [{"pathPattern": {"values": [path]}}]
        auth, forward = r["actions"]
        assert (auth["type"], auth["order"], forward["type"], forward["order"]) == (
            "authenticate-cognito", 1, "forward", 2)
        assert forward["targetGroupArn"] == target
        assert auth["authenticateCognito"]["userPoolClientId"] == alb.id
        assert auth["authenticateCognito"]["onUnauthenticatedRequest"] == "authenticate"
    # The load balancer's own client: a secret (ELB needs one), Cognito returns to /oauth2/idpresponse.
    assert alb.inputs["generateSecret"] is True
    assert alb.inputs["callbackUrls"] == ["https://api.example.com/oauth2/idpresponse"]
    egress = g.by_name("id-alb-to-cognito", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").inputs
    assert (egress["fromPort"], egress["toPort"], egress["cidrIpv4"]) == (443, 443, "0.0.0.0/0")


def test_too_many_protected_paths_would_overlap_the_routes(run_program):
    def prog():
        ident = Identity("id", IdentityArgs())
        ident.require_sign_in(listener_arn="arn", security_group=_Lb().security_group, base_url="https://x",
                              targets={f"/p{i}/*": "tg" for i in range(10)})

    with pytest.raises(Exception, match="at most 9 protected paths"):
        run_program(prog)


def test_secret_grant_is_exactly_this_secret_and_its_key_via_secrets_manager(run_program):
    def prog():
        s = AppSecret("api-key", AppSecretArgs(kms_key="arn:aws:kms:us-east-1:123456789012:key/k1",
                                               rotation_days=30, rotation_function_arn="arn:aws:lambda:us-east-1:1:"
                                               "function:rotate"))
        s.grant_read(_Svc("svc"))

    g = run_program(prog)
    secret = g.by_name("api-key-secret", "aws:secretsmanager/secret:Secret")
    assert secret.inputs["kmsKeyId"] == "arn:aws:kms:us-east-1:123456789012:key/k1"
    (policy,) = [p for p in g.by_type(POLICY) if p.name.startswith("api-key-read")]
    assert policy.name == "api-key-read-svc-exec"  # the execution role: it resolves ECS secret references
    assert json.loads(policy.inputs["policy"])["Statement"] == [
        {"Sid": "ReadSecret", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": secret.outputs["arn"]},
        {"Sid": "DecryptSecret", "Effect": "Allow", "Action": "kms:Decrypt",
         "Resource": "arn:aws:kms:us-east-1:123456789012:key/k1",
         "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}}]
    rotation = g.by_name("api-key-rotation", "aws:secretsmanager/secretRotation:SecretRotation").inputs
    assert rotation["rotationRules"] == {"automaticallyAfterDays": 30}
    assert rotation["rotationLambdaArn"] == "arn:aws:lambda:us-east-1:1:function:rotate"
    version = g.by_name("api-key-value", "aws:secretsmanager/secretVersion:SecretVersion")
    assert version.options["ignoreChanges"] == ["secretString"]  # the rotation function owns the value
    assert g.by_name("api-key-value", "random:index/randomPassword:RandomPassword").inputs["length"] == 40


def test_a_function_of_your_own_needs_a_schedule():
    with pytest.raises(ValueError, match="rotation_function_arn needs rotation_days"):
        AppSecretArgs(rotation_function_arn="arn:aws:lambda:us-east-1:1:function:rotate")


def test_gcp_identity_platform_and_iap_members(run_program):
    def prog():
        ident = GcpIdentity("id", GcpIdentityArgs(project="acme-prod", authorized_domains=["api.example.com"],
                                                  mfa="required"))
        import pulumi_gcp as gcp
        backend = gcp.compute.BackendService("protected", load_balancing_scheme="EXTERNAL_MANAGED",
                                             iap={"enabled": True})
        ident.require_sign_in(backend, ["group:admins@example.com", "user:ops@example.com"])

    g = run_program(prog)
    cfg = g.by_name("id-config", "gcp:identityplatform/config:Config").inputs
    assert cfg["mfa"] == {"state": "MANDATORY", "providerConfigs": [
        {"state": "ENABLED", "totpProviderConfig": {"adjacentIntervals": 1}}]}
    assert cfg["signIn"] == {"allowDuplicateEmails": False, "email": {"enabled": True, "passwordRequired": True}}
    assert cfg["authorizedDomains"] == ["api.example.com"]
    assert cfg["client"]["permissions"]["disabledUserSignup"] is True
    members = sorted((m.inputs["member"], m.inputs["role"], m.inputs["webBackendService"])
                     for m in g.by_type("gcp:iap/webBackendServiceIamMember:WebBackendServiceIamMember"))
    name = g.by_name("protected", "gcp:compute/backendService:BackendService").outputs.get("name", "protected")
    assert members == [("group:admins@example.com", "roles/iap.httpsResourceAccessor", name),
                       ("user:ops@example.com", "roles/iap.httpsResourceAccessor", name)]


def test_gcp_iap_refuses_public_members(run_program):
    def prog():
        import pulumi_gcp as gcp
        ident = GcpIdentity("id", GcpIdentityArgs(project="acme-prod"))
        ident.require_sign_in(gcp.compute.BackendService("protected"), ["allUsers"])

    with pytest.raises(Exception, match="not a user:, group:, domain: or serviceAccount: member"):
        run_program(prog)


def test_gcp_secret_cmek_rotation_and_grant(run_program):
    def prog():
        s = GcpAppSecret("api-key", GcpAppSecretArgs(region="us-central1", rotation_days=90,
                                                     kms_key="projects/p/locations/us-central1/keyRings/r/cryptoKeys/s"))
        s.grant_read("serviceAccount:svc@p.iam.gserviceaccount.com")

    g = run_program(prog)
    secret = g.by_name("api-key-secret", "gcp:secretmanager/secret:Secret")
    assert secret.inputs["replication"] == {"userManaged": {"replicas": [{
        "location": "us-central1",
        "customerManagedEncryption": {"kmsKeyName": "projects/p/locations/us-central1/keyRings/r/cryptoKeys/s"}}]}}
    assert secret.inputs["rotation"]["rotationPeriod"] == f"{90 * 86400}s"
    topic = g.by_name("api-key-rotation", "gcp:pubsub/topic:Topic")
    assert secret.inputs["topics"] == [{"name": topic.id}]
    pub = g.by_name("api-key-rotation-publisher", "gcp:pubsub/topicIAMMember:TopicIAMMember").inputs
    assert pub["role"] == "roles/pubsub.publisher" and pub["member"].endswith(
        "@gcp-sa-secretmanager.iam.gserviceaccount.com")
    (grant,) = g.by_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert (grant.inputs["role"], grant.inputs["member"]) == (
        "roles/secretmanager.secretAccessor", "serviceAccount:svc@p.iam.gserviceaccount.com")


# -- settings ----------------------------------------------------------------------------------------------------
BASE = {"environment": "dev", "region": "us-east-1", "budget": {"monthlyUsd": 100}}
GCP = {"cloud": "gcp", "environment": "dev", "region": "us-central1", "gcpProject": "acme-dev-1",
       "budget": {"monthlyUsd": 100}}


@pytest.mark.parametrize(("values", "error"), [
    ({**BASE, "services": {"api": {"kind": "web", "routes": [{"path": "/v1"}], "secrets": {"API_KEY": "secret:nope"}}}},
     "backend-hosting:services.api.secrets.API_KEY: secret:nope names no secret of secrets (none)"),
    ({**BASE, "secrets": {"k": {"generate": False, "rotationDays": 30}}},
     "backend-hosting:secrets.k.rotationDays does not apply: generate is false, and a value set with pulumi config "
     "set --secret cannot be rotated by the cloud; rotate it outside the stack or name your own rotation function "
     "(rotationFunctionArn) and waive the rotation rule"),
    ({**GCP, "secrets": {"k": {"generate": False, "rotationDays": 30}}},
     "backend-hosting:secrets.k.rotationDays does not apply: generate is false, and a value set with pulumi config "
     "set --secret cannot be rotated by the cloud; rotate it outside the stack and waive the rotation rule"),
    ({**BASE, "secrets": {"k": {"rotationFunctionArn": "arn:aws:lambda:us-east-1:1:function:f"}}},
     "backend-hosting:secrets.k.rotationFunctionArn needs rotationDays"),
    ({**GCP, "secrets": {"k": {"rotationFunctionArn": "arn:aws:lambda:us-east-1:1:function:f"}}},
     "backend-hosting:secrets.k.rotationFunctionArn does not apply to cloud gcp"),
    ({**GCP, "identity": {"passwordMinLength": 16}},
     "backend-hosting:identity.passwordMinLength does not apply to cloud gcp"),
    ({**GCP, "identity": {"clients": {"web": {"type": "public", "accessTokenMinutes": 30}}}},
     "backend-hosting:identity.clients.web.accessTokenMinutes does not apply to cloud gcp"),
    ({**BASE, "secrets": {"k": {"generate": False, "length": 50}}},
     "backend-hosting:secrets.k.length does not apply: generate is false"),
    ({**BASE, "services": {"api": {"kind": "web", "routes": [{"path": "/v1"}], "secrets": {"API_KEY": "plain-text"}}}},
     "or secret:NAME (a secret of secrets)"),
])
def test_settings_refuse_with_one_line(values, error):
    with pytest.raises(SettingsError) as exc:
        from_values(values)
    assert error in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize(("env", "secret", "days"), [
    ("prod", {}, 90),                                   # the prod profile rotates generated secrets
    ("prod", {"rotationDays": 30}, 30),                 # the stack file says otherwise
    ("prod", {"rotationDays": None}, None),             # turned off (the rotation rule then needs a waiver)
    ("prod", {"generate": False}, None),                # a given value gets no default: the cloud cannot rotate it
    ("prod", {"generate": "false"}, None),              # however the stack file spells false
    ("prod", {"generate": False, "rotationDays": 7,
              "rotationFunctionArn": "arn:aws:lambda:us-east-1:1:function:f"}, 7),  # your own function may
    ("staging", {}, None),
    ("dev", {}, None),
])
@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_generated_secrets_rotate_by_default_in_prod_on_both_clouds(cloud, env, secret, days):
    if cloud == "gcp" and "rotationFunctionArn" in secret:
        return
    base = BASE if cloud == "aws" else GCP
    s = from_values({**base, "environment": env, "secrets": {"k": secret}})
    assert s.secrets["k"].rotation_days == days


def test_settings_accept_a_secret_reference():
    api = {"kind": "web", "routes": [{"path": "/v1"}], "secrets": {"API_KEY": "secret:api-key"}}
    s = from_values({**BASE, "secrets": {"api-key": {}}, "services": {"api": api}})
    assert s.services["api"].secrets == {"API_KEY": "secret:api-key"} and s.secrets["api-key"].generate is True


# -- the stacks ---------------------------------------------------------------------------------------------------
def test_prod_wires_sign_in_before_the_routes_and_tokens_settings_into_the_service(run_stack):
    g = run_stack("prod")
    rules = {r.name: r.inputs for r in g.by_type(RULE)}
    signin = rules["app-prod-identity-signin-admin"]
    routes = [r for n, r in rules.items() if "signin" not in n]
    assert signin["priority"] < min(r["priority"] for r in routes)
    assert [a["type"] for a in signin["actions"]] == ["authenticate-cognito", "forward"]
    # forwards to the api's primary target group (the first public web service)
    assert signin["actions"][1]["targetGroupArn"] == rules["app-prod-api-v1"]["actions"][0]["targetGroupArn"]
    td = g.by_name("app-prod-api-task", "aws:ecs/taskDefinition:TaskDefinition").inputs["containerDefinitions"]
    (container,) = json.loads(td) if isinstance(td, str) else td
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["AUTH_ISSUER"] == g.outputs["auth_issuer"] and env["AUTH_JWKS_URL"] == g.outputs["auth_jwks_url"]
    assert env["AUTH_CLIENT_IDS"] == ",".join(g.outputs["auth_client_ids"][k] for k in sorted(
        g.outputs["auth_client_ids"]))
    secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
    assert secrets["SESSION_SIGNING_KEY"] == g.outputs["app_secret_arns"]["session-key"]
    assert "SESSION_SIGNING_KEY" not in env


def test_gcp_prod_puts_iap_on_the_protected_backend(run_stack):
    g = run_stack("gcp-prod")
    backend = g.by_name("app-prod-lb-protected", "gcp:compute/backendService:BackendService").inputs
    assert backend["iap"] == {"enabled": True}
    assert g.by_name("app-prod-lb-api-v1", "gcp:compute/backendService:BackendService").inputs.get("iap") is None
    url_map = g.by_name("app-prod-lb-https", "gcp:compute/uRLMap:URLMap").inputs
    rules = [r for m in url_map["pathMatchers"] for r in m.get("pathRules", [])]
    assert {"paths": ["/admin/*"], "service": g.by_name("app-prod-lb-protected",
                                                        "gcp:compute/backendService:BackendService").id} in rules
    (member,) = g.by_type("gcp:iap/webBackendServiceIamMember:WebBackendServiceIamMember")
    assert member.inputs["member"] == "group:backend-admins@example.com"
    run = g.by_name("app-prod-api-run", "gcp:cloudrunv2/service:Service").inputs
    envs = {e["name"]: e for e in run["template"]["containers"][0]["envs"]}
    assert envs["AUTH_ISSUER"]["value"] == "https://securetoken.google.com/acme-backend-prod"
    assert "valueSource" in envs["SESSION_SIGNING_KEY"] and "value" not in envs["SESSION_SIGNING_KEY"]


# -- component pages ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("page", "classes"), [
    ("identity.md", (IdentityArgs, AppClientArgs)), ("app_secret.md", (AppSecretArgs, SecretRotatorArgs)),
    ("gcp-identity.md", (GcpIdentityArgs,)), ("gcp-app-secret.md", (GcpAppSecretArgs,)),
])
def test_component_pages(run_program, page, classes):
    doc = DOCS / page
    assert documents_every_argument(doc, *classes) == []
    g = run_program(doc_example(doc))
    assert len(g) > 1


def test_a_given_secret_value_comes_from_the_stack_secret_config(run_program):
    from stacks.identity import build_identity_aws

    settings = from_values({**BASE, "identity": {"enabled": False}, "secrets": {"api-key": {"generate": False}}})

    def prog():
        build_identity_aws(settings, opts=pulumi.ResourceOptions(), key="arn:aws:kms:us-east-1:1:key/k", tags={},
                           prod=False)

    g = run_program(prog, config={"backend-hosting:secretValues": json.dumps({"api-key": "from-config"})})
    assert g.find("app-dev-api-key-value", "random:index/randomPassword:RandomPassword") is None
    assert g.by_name("app-dev-api-key-value", "aws:secretsmanager/secretVersion:SecretVersion")
    with pytest.raises(Exception, match=r"secretValues.api-key is required"):
        run_program(prog)
