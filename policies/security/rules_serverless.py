"""Serverless and API front doors: API Gateway (REST and HTTP/WebSocket APIs), Lambda, Cognito user pools and
Cloud Functions (1st and 2nd gen).

References: Checkov (CKV_AWS_59/76/73/120/206/309, CKV_AWS_45/50/116/173/258, CKV_GCP_107), AWS Foundational
Security Best Practices (APIGateway.1-5, Lambda.1-2, Cognito.1) and Google's runtime support schedule.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterator, Mapping
from typing import Any

from policies.common import Context, Res, ResourceIndex, as_list, is_true, is_unknown, resource_rule, stack_rule

from ._helpers import plaintext_env_findings

EXPOSURE = "public-exposure"
IN_TRANSIT = "encryption-in-transit"
AT_REST = "encryption-at-rest"
LOGGING = "logging"
HARDENING = "hardening"
SECRETS = "plaintext-secrets"

REST_STAGE = "aws:apigateway/stage:Stage"
HTTP_STAGE = "aws:apigatewayv2/stage:Stage"
REST_METHOD = "aws:apigateway/method:Method"
HTTP_ROUTE = "aws:apigatewayv2/route:Route"
REST_DOMAIN = "aws:apigateway/domainName:DomainName"
HTTP_DOMAIN = "aws:apigatewayv2/domainName:DomainName"
LAMBDA = "aws:lambda/function:Function"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
USER_POOL = "aws:cognito/userPool:UserPool"
GCF_V1 = "gcp:cloudfunctions/function:Function"
GCF_V2 = "gcp:cloudfunctionsv2/function:Function"
WAF_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"


# -- API Gateway -------------------------------------------------------------------------------------------------
@resource_rule(
    "apigw-stage-access-logs", category=LOGGING, severity="medium", types=(REST_STAGE, HTTP_STAGE),
    description="API Gateway stages (REST and HTTP/WebSocket APIs) write access logs to CloudWatch Logs or Firehose "
                "(Checkov CKV_AWS_76, CKV_AWS_95; FSBP APIGateway.9).",
    remediation="Set access_log_settings={destination_arn: <log group ARN>, format: <JSON format with "
                "$context.requestId, $context.identity.sourceIp, $context.status...>}.",
)
def apigw_access_logs(r: Res, ctx: Context) -> Iterator[str]:
    dest = r.get("accessLogSettings.destinationArn")
    if is_unknown(dest) or is_unknown(r.get("accessLogSettings")):
        return
    if not dest:
        yield "accessLogSettings.destinationArn is not set: the stage writes no access logs"


def _websocket_non_connect(route_key: Any) -> bool:
    """A WebSocket route other than $connect (only $connect can carry an authorizer)."""
    return isinstance(route_key, str) and " " not in route_key.strip() and route_key not in ("$default", "$connect")


REST_API = "aws:apigateway/restApi:RestApi"
HTTP_API = "aws:apigatewayv2/api:Api"
OPENAPI_METHODS = ("get", "put", "post", "delete", "patch", "head", "x-amazon-apigateway-any-method")


def _openapi(body: Any) -> Mapping[str, Any] | None:
    """An OpenAPI document given as JSON or YAML text (None when absent, unknown or unreadable)."""
    if isinstance(body, Mapping):
        return body
    if not isinstance(body, str) or is_unknown(body) or not body.strip():
        return None
    try:
        doc = json.loads(body)
    except ValueError:
        try:
            import yaml

            doc = yaml.safe_load(body)
        except Exception:  # any unreadable body is simply not judged
            return None
    return doc if isinstance(doc, Mapping) else None


def _unauthenticated_operations(doc: Mapping[str, Any]) -> list[str]:
    """``METHOD /path`` of OpenAPI operations with no security requirement (own or global), OPTIONS excepted."""
    default = doc.get("security")
    out = []
    paths = doc.get("paths")
    for path, item in (paths.items() if isinstance(paths, Mapping) else ()):
        if not isinstance(item, Mapping):
            continue
        for method, op in item.items():
            if str(method).lower() not in OPENAPI_METHODS or not isinstance(op, Mapping):
                continue
            security = op.get("security", default)
            if op.get("x-amazon-apigateway-auth"):
                continue
            reqs = [s for s in as_list(security) if isinstance(s, Mapping) and s]
            if not reqs:
                out.append(f"{str(method).upper()} {path}")
    return out


@resource_rule(
    "apigw-authorization", category=EXPOSURE, severity="high",
    types=(REST_METHOD, HTTP_ROUTE, REST_API, HTTP_API),
    description="API Gateway REST methods and HTTP API routes require authorization (IAM, Cognito, a Lambda or JWT "
                "authorizer) or, for REST methods, an API key; CORS preflight (OPTIONS) routes are exempt "
                "(Checkov CKV_AWS_59, CKV_AWS_309).",
    remediation="Set authorization=\"AWS_IAM\" / \"COGNITO_USER_POOLS\" / \"CUSTOM\" with authorizer_id (REST) or "
                "authorization_type=\"JWT\" / \"AWS_IAM\" / \"CUSTOM\" with authorizer_id (HTTP APIs); an endpoint "
                "that is public by design is a waiver with its reason.",
)
def apigw_authorization(r: Res, ctx: Context) -> Iterator[str]:
    if r.type in (REST_API, HTTP_API):
        if r.type == HTTP_API and r.has("target") and str(r.get("protocolType") or "HTTP").upper() == "HTTP":
            yield "quick-create HTTP API (target set): its $default route has no authorization"
        doc = _openapi(r.get("body"))
        if doc is not None:
            ops = _unauthenticated_operations(doc)
            if ops:
                more = f" and {len(ops) - 5} more" if len(ops) > 5 else ""
                yield f"the OpenAPI body has operations without a security requirement: {', '.join(ops[:5])}{more}"
        return
    if r.type == REST_METHOD:
        method, auth = r.get("httpMethod"), r.get("authorization")
        if is_unknown(method) or is_unknown(auth) or str(method).upper() == "OPTIONS":
            return
        if str(auth or "NONE").upper() == "NONE" and not is_true(r.get("apiKeyRequired")):
            yield f"method {method} has authorization NONE and no API key: anyone can call it"
        return
    key, auth = r.get("routeKey"), r.get("authorizationType")
    if is_unknown(key) or is_unknown(auth) or _websocket_non_connect(key):
        return
    if isinstance(key, str) and key.strip().upper().startswith("OPTIONS "):
        return
    if str(auth or "NONE").upper() == "NONE":
        yield f"route {key!r} has authorizationType NONE: anyone can call it"


REST_TLS_OK = ("TLS_1_2", "SecurityPolicy_TLS13_1_3_2025_09", "SecurityPolicy_TLS13_1_2_2021_06",
               "SecurityPolicy_TLS13_1_2_PQ_2025_09", "SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09",
               "SecurityPolicy_TLS13_1_2_FIPS_PQ_2025_09", "SecurityPolicy_TLS12_PFS_2025_EDGE",
               "SecurityPolicy_TLS12_2018_EDGE", "SecurityPolicy_TLS13_2025_EDGE",
               "SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09")


@resource_rule(
    "apigw-domain-tls12", category=IN_TRANSIT, severity="high", types=(REST_DOMAIN, HTTP_DOMAIN),
    description="API Gateway custom domain names use a TLS 1.2+ security policy, set explicitly (Checkov "
                "CKV_AWS_206).",
    remediation="Set security_policy=\"TLS_1_2\" (REST) or domain_name_configuration.security_policy=\"TLS_1_2\" "
                "(HTTP APIs).",
)
def apigw_domain_tls(r: Res, ctx: Context) -> Iterator[str]:
    policy = r.get("securityPolicy") if r.type == REST_DOMAIN else r.get("domainNameConfiguration.securityPolicy")
    if is_unknown(policy):
        return
    if not policy:
        yield "securityPolicy is not set (edge-optimized domains then accept TLS 1.0)"
    elif not (str(policy) in REST_TLS_OK or "TLS13" in str(policy) or str(policy).upper().startswith("TLS_1_2")):
        yield f"securityPolicy {policy} allows TLS older than 1.2"


@stack_rule(
    "apigw-waf", category=EXPOSURE, severity="low", enforcement="advisory",
    description="Public REST API stages have a WAFv2 web ACL associated (FSBP APIGateway.4, Checkov CKV2_AWS_29).",
    remediation="Create an aws.wafv2.WebAcl (scope REGIONAL, managed rule groups, a rate limit) and an "
                "aws.wafv2.WebAclAssociation with resource_arn=stage.arn.",
)
def apigw_waf(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    assoc = index.of_type(WAF_ASSOCIATION)
    for stage in index.of_type(REST_STAGE):
        if not any(stage in index.referenced(a, "resourceArn", (REST_STAGE,)) for a in assoc):
            yield stage, "no WAF web ACL is associated with this stage"


@resource_rule(
    "apigw-xray-tracing", category=LOGGING, severity="low", enforcement="advisory", types=(REST_STAGE,),
    description="REST API stages have X-Ray tracing enabled (FSBP APIGateway.3, Checkov CKV_AWS_73).",
    remediation="Set xray_tracing_enabled=True.",
)
def apigw_xray(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("xrayTracingEnabled")
    if not is_unknown(v) and not is_true(v):
        yield "xrayTracingEnabled is not true"


# -- Lambda ------------------------------------------------------------------------------------------------------
LAMBDA_DEPRECATED: dict[str, str] = {
    # https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html (deprecation dates)
    "nodejs": "2016-10-31", "nodejs4.3": "2020-03-05", "nodejs4.3-edge": "2020-03-05", "nodejs6.10": "2019-08-12",
    "nodejs8.10": "2020-03-06", "nodejs10.x": "2021-07-30", "nodejs12.x": "2023-03-31", "nodejs14.x": "2023-12-04",
    "nodejs16.x": "2024-06-12", "nodejs18.x": "2025-09-01", "nodejs20.x": "2026-04-30", "nodejs22.x": "2027-04-30",
    "python2.7": "2021-07-15", "python3.6": "2022-07-18", "python3.7": "2023-12-04", "python3.8": "2024-10-14",
    "python3.9": "2025-12-15", "python3.10": "2026-06-30", "python3.11": "2026-06-30", "python3.12": "2028-10-31",
    "java8": "2024-01-08", "java8.al2": "2026-06-30", "java11": "2026-06-30", "java17": "2026-06-30",
    "dotnetcore1.0": "2019-07-27", "dotnetcore2.0": "2019-05-30", "dotnetcore2.1": "2022-01-05",
    "dotnetcore3.1": "2023-04-03", "dotnet5.0": "2022-05-10", "dotnet6": "2024-11-12", "dotnet7": "2024-05-14",
    "dotnet8": "2026-11-10", "ruby2.5": "2021-07-30", "ruby2.7": "2023-11-27", "ruby3.2": "2026-03-31",
    "ruby3.3": "2027-03-31", "go1.x": "2024-01-08", "provided": "2024-01-08", "provided.al2": "2026-06-30",
}

GCF_DEPRECATED: dict[str, str] = {
    # https://cloud.google.com/functions/docs/runtime-support (deprecation dates)
    "nodejs6": "2020-08-05", "nodejs8": "2021-06-05", "nodejs10": "2024-01-30", "nodejs12": "2024-01-30",
    "nodejs14": "2024-01-30", "nodejs16": "2024-01-30", "nodejs18": "2025-04-30", "nodejs20": "2026-04-30",
    "nodejs22": "2027-04-30", "python37": "2024-01-30", "python38": "2024-10-14", "python39": "2025-10-05",
    "python310": "2026-10-04", "go111": "2024-01-30", "go113": "2024-01-30", "go116": "2024-01-30",
    "go118": "2024-01-30", "go119": "2024-04-30", "go120": "2024-05-01", "go121": "2025-08-05", "java11": "2024-10-31",
    "ruby26": "2024-01-30", "ruby27": "2024-01-30", "ruby30": "2024-03-31", "ruby32": "2026-03-31",
    "php74": "2024-01-30", "php81": "2025-11-25", "dotnet3": "2024-01-30", "dotnet6": "2024-11-12",
}


def _today(ctx: Context) -> _dt.date:
    given = ctx.config.get("asOf")
    if isinstance(given, str) and given:
        try:
            return _dt.date.fromisoformat(given)
        except ValueError:
            pass
    return _dt.date.today()


def _deprecated(runtime: Any, table: Mapping[str, str], ctx: Context) -> str | None:
    """The deprecation date of a runtime that is deprecated as of today (or ``asOf``), else None."""
    if not isinstance(runtime, str) or is_unknown(runtime):
        return None
    extra = ctx.config.get("extraDeprecated") or {}
    date = (extra if isinstance(extra, Mapping) else {}).get(runtime) or table.get(runtime)
    if not date:
        return None
    try:
        when = _dt.date.fromisoformat(str(date))
    except ValueError:
        return None
    return str(date) if when <= _today(ctx) else None


_RUNTIME_CONFIG = {
    "asOf": {"type": "string", "default": "",
             "description": "Judge deprecation as of this ISO date (default: today)."},
    "extraDeprecated": {"type": "object", "default": {}, "additionalProperties": {"type": "string"},
                        "description": "More runtime identifiers and their deprecation dates (ISO)."},
}


@resource_rule(
    "lambda-runtime-supported", category=HARDENING, severity="high", types=(LAMBDA,),
    description="Lambda functions use a runtime that AWS has not deprecated (deprecated runtimes get no security "
                "patches; FSBP Lambda.2). The table of deprecation dates is in the rule.",
    remediation="Move to a supported runtime (e.g. python3.13, nodejs22.x, java21, provided.al2023) and test the "
                "function on it.",
    config=_RUNTIME_CONFIG,
)
def lambda_runtime(r: Res, ctx: Context) -> Iterator[str]:
    runtime = r.get("runtime")
    date = _deprecated(runtime, LAMBDA_DEPRECATED, ctx)
    if date:
        yield f"runtime {runtime} is deprecated since {date}"


@resource_rule(
    "lambda-function-url-auth", category=EXPOSURE, severity="high", types=(FUNCTION_URL,),
    description="Lambda function URLs require IAM authentication (authorization_type NONE makes the function "
                "callable by anyone on the internet; Checkov CKV_AWS_258).",
    remediation="Set authorization_type=\"AWS_IAM\" (put CloudFront with OAC in front for public traffic), or "
                "waive a deliberately public webhook with its reason.",
)
def lambda_url_auth(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("authorizationType")
    if not is_unknown(v) and str(v or "").upper() == "NONE":
        yield "authorizationType is NONE: anyone can invoke the function URL"


@resource_rule(
    "lambda-env-kms", category=AT_REST, severity="low", enforcement="advisory", types=(LAMBDA,),
    description="Lambda functions with environment variables encrypt them with a customer-managed KMS key "
                "(Checkov CKV_AWS_173).",
    remediation="Set kms_key_arn to a customer-managed key the function's role may decrypt with.",
)
def lambda_env_kms(r: Res, ctx: Context) -> Iterator[str]:
    if r.has("environment.variables") and not r.has("kmsKeyArn") and r.known("kmsKeyArn"):
        yield "environment variables are encrypted with the AWS-managed key only (kmsKeyArn is not set)"


@resource_rule(
    "lambda-dead-letter-queue", category=HARDENING, severity="low", enforcement="advisory", types=(LAMBDA,),
    description="Lambda functions have a dead-letter queue (or on-failure destination) for failed asynchronous "
                "invocations (Checkov CKV_AWS_116).",
    remediation="Set dead_letter_config={target_arn: <SQS queue or SNS topic ARN>} or add an "
                "aws.lambda_.FunctionEventInvokeConfig with an on_failure destination.",
)
def lambda_dlq(r: Res, ctx: Context) -> Iterator[str]:
    if is_unknown(r.get("deadLetterConfig")):
        return
    if not r.has("deadLetterConfig.targetArn"):
        yield "no dead-letter queue: failed asynchronous invocations are dropped"


@resource_rule(
    "lambda-xray-tracing", category=LOGGING, severity="low", enforcement="advisory", types=(LAMBDA,),
    description="Lambda functions have active X-Ray tracing (Checkov CKV_AWS_50).",
    remediation="Set tracing_config={mode: \"Active\"} and allow xray:PutTraceSegments in the role.",
)
def lambda_tracing(r: Res, ctx: Context) -> Iterator[str]:
    mode = r.get("tracingConfig.mode")
    if not is_unknown(mode) and str(mode or "PassThrough") != "Active":
        yield f"tracingConfig.mode is {mode or 'unset (PassThrough)'}"


# -- Cognito -----------------------------------------------------------------------------------------------------
def not_prod(ctx: Context, r: Res) -> bool:
    """The environment is known and is not production (standards-derived rules judge an unknown environment as
    prod: a third-party program rarely says which it is)."""
    return ctx.environment(r) is not None and not ctx.is_prod(r)


@resource_rule(
    "cognito-password-policy", category=EXPOSURE, severity="medium", types=(USER_POOL,),
    description="Cognito user pools require passwords of at least minimumLength characters, and passwords shorter "
                "than 12 characters combine character classes (unset fields keep Cognito's default: 8 "
                "characters, all classes).",
    remediation="Set password_policy={minimum_length: 12, require_lowercase: True, require_uppercase: True, "
                "require_numbers: True, require_symbols: True}.",
    config={"minimumLength": {"type": "integer", "default": 8, "minimum": 6,
                              "description": "Shortest allowed minimum password length."}},
)
def cognito_password(r: Res, ctx: Context) -> Iterator[str]:
    pol = r.get("passwordPolicy")
    if not isinstance(pol, Mapping):
        return
    length = pol.get("minimumLength")
    if is_unknown(length):
        return
    n = _int(length, 8)
    if n is None:
        return
    need = int(ctx.config.get("minimumLength") or 8)
    if n < need:
        yield f"passwordPolicy.minimumLength is {n}, below {need}"
        return
    classes = ("requireLowercase", "requireUppercase", "requireNumbers", "requireSymbols")
    if n < 12 and all(pol.get(c) is not None and not is_true(pol.get(c)) for c in classes):
        yield f"passwordPolicy allows {n}-character passwords with no character-class requirement"


@resource_rule(
    "cognito-advanced-security", category=HARDENING, severity="low", enforcement="advisory", types=(USER_POOL,),
    description="Cognito user pools enforce threat protection (advanced security: compromised credentials, adaptive "
                "authentication; FSBP Cognito.1).",
    remediation="Set user_pool_add_ons={advanced_security_mode: \"ENFORCED\"} (requires the Plus tier).",
)
def cognito_advanced(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("userPoolAddOns.advancedSecurityMode")
    if not is_unknown(v) and v != "ENFORCED":
        yield f"userPoolAddOns.advancedSecurityMode is {v or 'unset (OFF)'}"


# -- Cloud Functions ---------------------------------------------------------------------------------------------
def _int(value: Any, default: int) -> int | None:
    """A whole number from an int, float or numeric string; ``default`` when None; None when not a number."""
    if value is None:
        return default
    if isinstance(value, bool):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _gcf_runtime(r: Res) -> Any:
    return r.get("runtime") if r.type == GCF_V1 else r.get("buildConfig.runtime")


@resource_rule(
    "cloudfunctions-runtime-supported", category=HARDENING, severity="high", types=(GCF_V1, GCF_V2),
    description="Cloud Functions use a runtime that Google has not deprecated (the table of deprecation dates is in "
                "the rule).",
    remediation="Move to a supported runtime (e.g. python312, nodejs22, go123, java21) and redeploy.",
    config=_RUNTIME_CONFIG,
)
def gcf_runtime(r: Res, ctx: Context) -> Iterator[str]:
    runtime = _gcf_runtime(r)
    date = _deprecated(runtime, GCF_DEPRECATED, ctx)
    if date:
        yield f"runtime {runtime} is deprecated since {date}"


@resource_rule(
    "cloudfunctions-https-only", category=IN_TRANSIT, severity="high", types=(GCF_V1,),
    description="HTTP-triggered 1st gen Cloud Functions redirect plain HTTP to HTTPS (https_trigger_security_level "
                "SECURE_ALWAYS; 2nd gen functions are HTTPS-only).",
    remediation="Set https_trigger_security_level=\"SECURE_ALWAYS\".",
)
def gcf_https_only(r: Res, ctx: Context) -> Iterator[str]:
    if not is_true(r.get("triggerHttp")):
        return
    level = r.get("httpsTriggerSecurityLevel")
    if not is_unknown(level) and level != "SECURE_ALWAYS":
        yield f"httpsTriggerSecurityLevel is {level or 'unset (SECURE_OPTIONAL)'}: the function answers plain HTTP"


GCF_IAM_V1 = ("gcp:cloudfunctions/functionIamMember:FunctionIamMember",
              "gcp:cloudfunctions/functionIamBinding:FunctionIamBinding")
GCF_IAM_V2 = ("gcp:cloudfunctionsv2/functionIamMember:FunctionIamMember",
              "gcp:cloudfunctionsv2/functionIamBinding:FunctionIamBinding")
RUN_IAM = ("gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding",
           "gcp:cloudrun/iamMember:IamMember", "gcp:cloudrun/iamBinding:IamBinding")
PUBLIC = ("allUsers", "allAuthenticatedUsers")
INVOKER = ("roles/cloudfunctions.invoker", "roles/run.invoker")


def _ingress(fn: Res) -> Any:
    return fn.get("ingressSettings") if fn.type == GCF_V1 else fn.get("serviceConfig.ingressSettings")


@stack_rule(
    "cloudfunctions-not-public", category=EXPOSURE, severity="high",
    description="No Cloud Function accepts traffic from all sources (ingress ALLOW_ALL, the default) while granting "
                "the invoker role to allUsers or allAuthenticatedUsers (Checkov CKV_GCP_107).",
    remediation="Grant roles/cloudfunctions.invoker (2nd gen: roles/run.invoker) to specific service accounts, or "
                "set ingress_settings=\"ALLOW_INTERNAL_AND_GCLB\" behind a load balancer with Cloud Armor; a "
                "deliberately public webhook is a waiver with its reason.",
)
def gcf_not_public(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    fns = index.of_type(GCF_V1, GCF_V2)
    grants = index.of_type(*GCF_IAM_V1, *GCF_IAM_V2, *RUN_IAM)
    for g in grants:
        role = g.get("role")
        members = as_list(g.get("members")) + as_list(g.get("member"))
        public = [m for m in members if m in PUBLIC]
        if role not in INVOKER or not public:
            continue
        prop = "cloudFunction" if g.type in GCF_IAM_V1 + GCF_IAM_V2 else ("name" if "v2" in g.type else "service")
        targets = index.referenced(g, prop, (GCF_V1, GCF_V2), ("name",))
        if not targets and g.type in RUN_IAM:
            continue  # a Cloud Run service of its own: the Cloud Run rules judge it
        if not targets and len(fns) == 1 and g.type not in RUN_IAM:
            targets = fns
        if not targets:
            yield g, f"grants {role} to {', '.join(public)} on a function this program does not declare"
            continue
        for fn in targets:
            ingress = _ingress(fn)
            if is_unknown(ingress):
                continue
            if ingress in (None, "ALLOW_ALL"):
                yield g, (f"grants {role} to {', '.join(public)} on {fn.name!r}, whose ingress is "
                          f"{ingress or 'unset (ALLOW_ALL)'}: anyone on the internet can invoke it")


@resource_rule(
    "cloudfunctions-no-plaintext-secrets", category=SECRETS, severity="critical", types=(GCF_V1, GCF_V2),
    description="Cloud Functions environment variables do not hold credentials.",
    remediation="Store the value in Secret Manager and use secret_environment_variables (2nd gen: "
                "service_config.secret_environment_variables); grant the function's service account access.",
)
def gcf_plaintext(r: Res, ctx: Context) -> Iterator[str]:
    for path in ("environmentVariables", "serviceConfig.environmentVariables", "buildConfig.environmentVariables",
                 "buildEnvironmentVariables"):
        env = r.get(path)
        if isinstance(env, Mapping):
            yield from plaintext_env_findings(iter(env.items()), path)


RULES = [
    apigw_access_logs, apigw_authorization, apigw_domain_tls, apigw_waf, apigw_xray,
    lambda_runtime, lambda_url_auth, lambda_env_kms, lambda_dlq, lambda_tracing,
    cognito_password, cognito_advanced,
    gcf_runtime, gcf_https_only, gcf_not_public, gcf_plaintext,
]

RATIONALE = {
    "apigw-authorization": "Mandatory: an unauthenticated method is the exposure defect Checkov flags; a public-by-"
                           "design endpoint is a waiver with its reason, so it stays visible.",
    "apigw-domain-tls12": "Mandatory: TLS older than 1.2 is a defect in every standard; an unset policy is "
                          "flagged because the edge default still accepts TLS 1.0.",
    "apigw-waf": "Advisory: FSBP lists it, but WAF is defence in depth whose absence is not itself a defect.",
    "apigw-xray-tracing": "Advisory: observability hygiene.",
    "lambda-runtime-supported": "Mandatory from the deprecation date: a deprecated runtime gets no security patches "
                                "(FSBP Lambda.2); dates come from the vendor's schedule (asOf, extraDeprecated).",
    "lambda-env-kms": "Advisory: Lambda always encrypts environment variables; a customer-managed key is hygiene.",
    "lambda-dead-letter-queue": "Advisory: reliability hygiene; on-failure destinations are an alternative.",
    "lambda-xray-tracing": "Advisory: observability hygiene.",
    "cognito-advanced-security": "Advisory: threat protection needs the paid Plus tier.",
    "cloudfunctions-not-public": "Mandatory: allUsers invoker with ALLOW_ALL ingress is public exposure (Checkov "
                                 "CKV_GCP_107); a deliberate public webhook is a waiver.",
}
for _r in RULES:
    _r.rationale = RATIONALE.get(_r.name, _r.rationale)
