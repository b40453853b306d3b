"""AWS programs of the policy corpus, written as public examples and blog posts write them (plain pulumi-aws, no
components of this repository), hardened as Checkov / AWS FSBP / CIS ask.

Each family is one function: called with ``bad=None`` it declares the hardened program; ``bad="<defect>"`` changes
exactly one thing. ``FAMILIES`` lists, per family, each defect and the policies that count as catching it.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

ACCOUNT = "123456789012"
VPC_SUBNETS = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
VPC_ID = "vpc-0a1b2c3d4e5f60000"
CODE = pulumi.AssetArchive({"index.py": pulumi.StringAsset("def handler(event, context):\n    return {}\n")})
LAMBDA_ASSUME = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def _key(name: str) -> aws.kms.Key:
    return aws.kms.Key(f"{name}-key", description=f"{name} data", enable_key_rotation=True,
                       deletion_window_in_days=30)


def _log_group(name: str, key: aws.kms.Key) -> aws.cloudwatch.LogGroup:
    return aws.cloudwatch.LogGroup(f"{name}-logs", retention_in_days=365, kms_key_id=key.arn)


def _private_bucket(name: str, key: aws.kms.Key, *, v2: bool = True, skip: str = "") -> aws.s3.BucketV2:
    cls = aws.s3.BucketV2 if v2 else aws.s3.Bucket
    b = cls(name)
    if skip != "pab":
        aws.s3.BucketPublicAccessBlock(f"{name}-pab", bucket=b.id, block_public_acls=True, block_public_policy=True,
                                       ignore_public_acls=True, restrict_public_buckets=True)
    if skip != "sse":
        aws.s3.BucketServerSideEncryptionConfigurationV2(f"{name}-sse", bucket=b.id, rules=[{
            "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn},
            "bucket_key_enabled": True}])
    if skip != "versioning":
        aws.s3.BucketVersioningV2(f"{name}-versioning", bucket=b.id,
                                  versioning_configuration={"status": "Enabled"})
    aws.s3.BucketOwnershipControls(f"{name}-ownership", bucket=b.id,
                                   rule={"object_ownership": "BucketOwnerEnforced"})
    aws.s3.BucketLifecycleConfigurationV2(f"{name}-lifecycle", bucket=b.id, rules=[{
        "id": "expire-noncurrent", "status": "Enabled", "filter": {},
        "noncurrent_version_expiration": {"noncurrent_days": 90},
        "abort_incomplete_multipart_upload": {"days_after_initiation": 7}}])
    return b


def _lambda_role(name: str) -> aws.iam.Role:
    role = aws.iam.Role(f"{name}-role", assume_role_policy=LAMBDA_ASSUME)
    aws.iam.RolePolicyAttachment(f"{name}-basic", role=role.name,
                                 policy_arn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
    return role


# -- S3 --------------------------------------------------------------------------------------------------------
def s3_bucket(bad: str | None = None) -> None:
    """A private data bucket: SSE-KMS, public access block, versioning, lifecycle, TLS-only policy."""
    key = _key("data")
    b = _private_bucket("data", key, v2=bad != "legacy-bucket", skip={"no-sse": "sse", "no-pab": "pab",
                                                                      "no-versioning": "versioning"}.get(bad or "", ""))
    statements = [{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                   "Resource": [b.arn, pulumi.Output.concat(b.arn, "/*")],
                   "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]
    if bad == "public-policy":
        statements.append({"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                           "Resource": pulumi.Output.concat(b.arn, "/*")})
    aws.s3.BucketPolicy("data-policy", bucket=b.id,
                        policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}))
    if bad == "public-acl":
        aws.s3.BucketAclV2("data-acl", bucket=b.id, acl="public-read")


# -- API Gateway -----------------------------------------------------------------------------------------------
def _function(name: str, key: aws.kms.Key, **overrides) -> aws.lambda_.Function:
    dlq = aws.sqs.Queue(f"{name}-dlq", kms_master_key_id=key.arn, message_retention_seconds=1209600)
    args = dict(runtime="python3.13", handler="index.handler", code=CODE, role=_lambda_role(name).arn,
                timeout=10, memory_size=256, kms_key_arn=key.arn, tracing_config={"mode": "Active"},
                dead_letter_config={"target_arn": dlq.arn}, reserved_concurrent_executions=50,
                environment={"variables": {"LOG_LEVEL": "info", "TABLE_NAME": "orders"}})
    args.update(overrides)
    return aws.lambda_.Function(name, **args)


def rest_api(bad: str | None = None) -> None:
    """A REST API with a Cognito authorizer, a Lambda proxy integration, access logs, X-Ray, WAF and a TLS 1.2
    custom domain."""
    key = _key("api")
    fn = _function("items", key)
    pool = aws.cognito.UserPool("users", mfa_configuration="ON", software_token_mfa_configuration={"enabled": True},
                                password_policy={"minimum_length": 12, "require_lowercase": True,
                                                 "require_uppercase": True, "require_numbers": True,
                                                 "require_symbols": True},
                                user_pool_add_ons={"advanced_security_mode": "ENFORCED"}, deletion_protection="ACTIVE")
    api = aws.apigateway.RestApi("api", endpoint_configuration={"types": "REGIONAL"})
    auth = aws.apigateway.Authorizer("cognito", rest_api=api.id, type="COGNITO_USER_POOLS",
                                     provider_arns=[pool.arn])
    res = aws.apigateway.Resource("items", rest_api=api.id, parent_id=api.root_resource_id, path_part="items")
    if bad == "no-auth":
        method = aws.apigateway.Method("get-items", rest_api=api.id, resource_id=res.id, http_method="GET",
                                       authorization="NONE")
    else:
        method = aws.apigateway.Method("get-items", rest_api=api.id, resource_id=res.id, http_method="GET",
                                       authorization="COGNITO_USER_POOLS", authorizer_id=auth.id)
    integ = aws.apigateway.Integration("get-items", rest_api=api.id, resource_id=res.id,
                                       http_method=method.http_method, integration_http_method="POST",
                                       type="AWS_PROXY", uri=fn.invoke_arn)
    aws.lambda_.Permission("apigw-invoke", action="lambda:InvokeFunction", function=fn.name,
                           principal="apigateway.amazonaws.com",
                           source_arn=pulumi.Output.concat(api.execution_arn, "/*/*"))
    dep = aws.apigateway.Deployment("deployment", rest_api=api.id, opts=pulumi.ResourceOptions(depends_on=[integ]))
    logs = _log_group("api-access", key)
    stage_args = dict(rest_api=api.id, deployment=dep.id, stage_name="prod", xray_tracing_enabled=True)
    if bad != "no-access-logs":
        stage_args["access_log_settings"] = {"destination_arn": logs.arn, "format": json.dumps(
            {"requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "status": "$context.status"})}
    stage = aws.apigateway.Stage("prod", **stage_args)
    aws.apigateway.MethodSettings("all", rest_api=api.id, stage_name=stage.stage_name, method_path="*/*",
                                  settings={"metrics_enabled": True, "logging_level": "INFO"})
    acl = aws.wafv2.WebAcl("api-waf", scope="REGIONAL", default_action={"allow": {}}, rules=[{
        "name": "common", "priority": 1, "override_action": {"none": {}},
        "statement": {"managed_rule_group_statement": {"vendor_name": "AWS", "name": "AWSManagedRulesCommonRuleSet"}},
        "visibility_config": {"cloudwatch_metrics_enabled": True, "metric_name": "common",
                              "sampled_requests_enabled": True}}],
        visibility_config={"cloudwatch_metrics_enabled": True, "metric_name": "api", "sampled_requests_enabled": True})
    aws.wafv2.WebAclAssociation("api-waf", resource_arn=stage.arn, web_acl_arn=acl.arn)
    aws.apigateway.DomainName("api-domain", domain_name="api.example.com",
                              regional_certificate_arn=f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/abc",
                              endpoint_configuration={"types": "REGIONAL"},
                              security_policy="TLS_1_0" if bad == "tls10-domain" else "TLS_1_2")


def http_api(bad: str | None = None) -> None:
    """An HTTP API with a JWT authorizer, a Lambda integration, access logs and a TLS 1.2 custom domain."""
    key = _key("http")
    fn = _function("orders", key)
    if bad == "quick-create":  # the console's "quick create": one $default route, no authorizer possible
        aws.apigatewayv2.Api("http", protocol_type="HTTP", target=fn.arn)
        return
    api = aws.apigatewayv2.Api("http", protocol_type="HTTP")
    jwt = aws.apigatewayv2.Authorizer("jwt", api_id=api.id, authorizer_type="JWT",
                                      identity_sources=["$request.header.Authorization"],
                                      jwt_configuration={"audiences": ["orders"],
                                                         "issuer": "https://cognito-idp.us-east-1.amazonaws.com/x"})
    integ = aws.apigatewayv2.Integration("orders", api_id=api.id, integration_type="AWS_PROXY",
                                         integration_uri=fn.invoke_arn, payload_format_version="2.0")
    route_args = dict(api_id=api.id, route_key="GET /orders", target=pulumi.Output.concat("integrations/", integ.id))
    if bad != "no-auth":
        route_args.update(authorization_type="JWT", authorizer_id=jwt.id)
    aws.apigatewayv2.Route("get-orders", **route_args)
    aws.lambda_.Permission("http-invoke", action="lambda:InvokeFunction", function=fn.name,
                           principal="apigateway.amazonaws.com",
                           source_arn=pulumi.Output.concat(api.execution_arn, "/*/*"))
    logs = _log_group("http-access", key)
    stage_args = dict(api_id=api.id, name="$default", auto_deploy=True)
    if bad != "no-access-logs":
        stage_args["access_log_settings"] = {"destination_arn": logs.arn,
                                             "format": '{"requestId":"$context.requestId"}'}
    aws.apigatewayv2.Stage("default", **stage_args)
    aws.apigatewayv2.DomainName("http-domain", domain_name="orders.example.com", domain_name_configuration={
        "certificate_arn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/abc", "endpoint_type": "REGIONAL",
        "security_policy": "TLS_1_2"})


# -- Lambda ----------------------------------------------------------------------------------------------------
def lambda_function(bad: str | None = None) -> None:
    """A function with a supported runtime, KMS-encrypted environment, DLQ, tracing; invoked through an IAM-auth
    function URL."""
    key = _key("fn")
    overrides: dict = {}
    if bad == "python38":
        overrides["runtime"] = "python3.8"
    elif bad == "nodejs16":
        overrides.update(runtime="nodejs16.x", handler="index.handler")
    elif bad == "secret-env":
        overrides["environment"] = {"variables": {"LOG_LEVEL": "info", "STRIPE_SECRET_KEY": "sk_live_51Hx0aBcDeFgHiJk"}}
    elif bad == "aws-key-env":
        overrides["environment"] = {"variables": {"UPSTREAM_KEY_ID": "AKIAIOSFODNN7EXAMPLE"}}
    fn = _function("worker", key, **overrides)
    aws.lambda_.FunctionUrl("worker-url", function_name=fn.name,
                            authorization_type="NONE" if bad == "url-auth-none" else "AWS_IAM")
    if bad == "public-permission":
        aws.lambda_.Permission("anyone", action="lambda:InvokeFunction", function=fn.name, principal="*")
    else:
        aws.lambda_.Permission("events", action="lambda:InvokeFunction", function=fn.name,
                               principal="events.amazonaws.com",
                               source_arn=f"arn:aws:events:us-east-1:{ACCOUNT}:rule/nightly")
    _log_group("worker", key)


# -- CloudFront ------------------------------------------------------------------------------------------------
def cloudfront_site(bad: str | None = None) -> None:
    """A static site: private S3 bucket read through OAC, HTTPS only, TLS 1.2, access logs, WAF."""
    key = _key("site")
    site = _private_bucket("site", key)
    logs = aws.s3.BucketV2("cdn-logs")
    aws.s3.BucketPublicAccessBlock("cdn-logs-pab", bucket=logs.id, block_public_acls=True, block_public_policy=True,
                                   ignore_public_acls=True, restrict_public_buckets=True)
    aws.s3.BucketServerSideEncryptionConfigurationV2("cdn-logs-sse", bucket=logs.id, rules=[{
        "apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}])
    aws.s3.BucketVersioningV2("cdn-logs-versioning", bucket=logs.id, versioning_configuration={"status": "Enabled"})
    aws.s3.BucketOwnershipControls("cdn-logs-ownership", bucket=logs.id,  # standard logging needs ACLs
                                   rule={"object_ownership": "BucketOwnerPreferred"})
    aws.s3.BucketLifecycleConfigurationV2("cdn-logs-lifecycle", bucket=logs.id, rules=[{
        "id": "expire", "status": "Enabled", "filter": {}, "expiration": {"days": 365}}])
    oac = aws.cloudfront.OriginAccessControl("site-oac", origin_access_control_origin_type="s3",
                                             signing_behavior="always", signing_protocol="sigv4")
    origin = {"origin_id": "site", "domain_name": site.bucket_regional_domain_name}
    if bad != "no-oac":
        origin["origin_access_control_id"] = oac.id
    waf = aws.wafv2.WebAcl("cdn-waf", scope="CLOUDFRONT", default_action={"allow": {}}, rules=[{
        "name": "rate", "priority": 1, "action": {"block": {}},
        "statement": {"rate_based_statement": {"limit": 2000, "aggregate_key_type": "IP"}},
        "visibility_config": {"cloudwatch_metrics_enabled": True, "metric_name": "rate",
                              "sampled_requests_enabled": True}}],
        visibility_config={"cloudwatch_metrics_enabled": True, "metric_name": "cdn", "sampled_requests_enabled": True})
    args = dict(
        enabled=True, default_root_object="index.html", aliases=["www.example.com"], origins=[origin],
        default_cache_behavior={"target_origin_id": "site", "allowed_methods": ["GET", "HEAD"],
                                "cached_methods": ["GET", "HEAD"], "compress": True,
                                "cache_policy_id": "658327ea-f89d-4fab-a63d-7e88639e58f6",
                                "viewer_protocol_policy": "allow-all" if bad == "allow-http" else "redirect-to-https"},
        restrictions={"geo_restriction": {"restriction_type": "none"}},
        viewer_certificate={"acm_certificate_arn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/site",
                            "ssl_support_method": "sni-only",
                            "minimum_protocol_version": "TLSv1" if bad == "old-tls" else "TLSv1.2_2021"},
        web_acl_id=waf.arn)
    if bad != "no-logging":
        args["logging_config"] = {"bucket": logs.bucket_domain_name, "include_cookies": False, "prefix": "cdn/"}
    cdn = aws.cloudfront.Distribution("cdn", **args)
    aws.s3.BucketPolicy("site-policy", bucket=site.id, policy=pulumi.Output.json_dumps({
        "Version": "2012-10-17", "Statement": [{
            "Sid": "AllowCloudFront", "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject", "Resource": pulumi.Output.concat(site.arn, "/*"),
            "Condition": {"StringEquals": {"AWS:SourceArn": cdn.arn}}}]}))


def cloudfront_api(bad: str | None = None) -> None:
    """CloudFront in front of an API on a custom origin, HTTPS end to end with TLS 1.2."""
    origin_cfg = {"http_port": 80, "https_port": 443, "origin_protocol_policy": "https-only",
                  "origin_ssl_protocols": ["TLSv1.2"]}
    if bad == "http-origin":
        origin_cfg["origin_protocol_policy"] = "http-only"
    elif bad == "sslv3-origin":
        origin_cfg["origin_ssl_protocols"] = ["SSLv3", "TLSv1.2"]
    aws.cloudfront.Distribution(
        "api-cdn", enabled=True, default_root_object="index.html",
        origins=[{"origin_id": "api", "domain_name": "origin.example.com", "custom_origin_config": origin_cfg}],
        default_cache_behavior={"target_origin_id": "api", "allowed_methods": ["GET", "HEAD", "OPTIONS"],
                                "cached_methods": ["GET", "HEAD"], "viewer_protocol_policy": "https-only",
                                "cache_policy_id": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"},
        restrictions={"geo_restriction": {"restriction_type": "none"}},
        viewer_certificate={"acm_certificate_arn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/api",
                            "ssl_support_method": "sni-only", "minimum_protocol_version": "TLSv1.2_2021"},
        logging_config={"bucket": "example-cdn-logs.s3.amazonaws.com", "include_cookies": False},
        web_acl_id=f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/api/1")


# -- Cognito ---------------------------------------------------------------------------------------------------
def cognito_pool(bad: str | None = None) -> None:
    """A user pool with MFA, a strong password policy and threat protection, and an app client."""
    policy = {"minimum_length": 6 if bad == "weak-password" else 14, "require_lowercase": True,
              "require_uppercase": True, "require_numbers": True, "require_symbols": True,
              "temporary_password_validity_days": 3}
    pool = aws.cognito.UserPool("users", mfa_configuration="OFF" if bad == "mfa-off" else "ON",
                                software_token_mfa_configuration={"enabled": True}, password_policy=policy,
                                auto_verified_attributes=["email"], deletion_protection="ACTIVE",
                                user_pool_add_ons={"advanced_security_mode": "ENFORCED"},
                                account_recovery_setting={"recovery_mechanisms": [
                                    {"name": "verified_email", "priority": 1}]})
    aws.cognito.UserPoolClient("web", user_pool_id=pool.id, generate_secret=False,
                               explicit_auth_flows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                               prevent_user_existence_errors="ENABLED", enable_token_revocation=True)


# -- SQS and SNS -------------------------------------------------------------------------------------------------
def queue_and_topic(bad: str | None = None) -> None:
    """A topic fanning out to a queue with a dead-letter queue; both KMS-encrypted; the queue admits only the
    topic."""
    key = _key("msg")
    topic = aws.sns.Topic("orders", kms_master_key_id=None if bad == "topic-unencrypted" else key.arn)
    dlq = aws.sqs.Queue("orders-dlq", kms_master_key_id=key.arn, message_retention_seconds=1209600)
    queue_args = dict(redrive_policy=dlq.arn.apply(lambda a: json.dumps({"deadLetterTargetArn": a,
                                                                          "maxReceiveCount": 5})),
                      visibility_timeout_seconds=60)
    if bad == "queue-sse-disabled":
        queue_args["sqs_managed_sse_enabled"] = False
    elif bad != "queue-unencrypted":
        queue_args["kms_master_key_id"] = key.arn
    queue = aws.sqs.Queue("orders", **queue_args)
    stmt = {"Sid": "FromTopic", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": queue.arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic.arn}}}
    if bad == "queue-policy-public":
        stmt = {"Sid": "Anyone", "Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage",
                "Resource": queue.arn}
    aws.sqs.QueuePolicy("orders", queue_url=queue.url,
                        policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [stmt]}))
    tstmt = {"Sid": "AccountPublish", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
             "Action": "sns:Publish", "Resource": topic.arn}
    if bad == "topic-policy-public":
        tstmt = {"Sid": "AnyonePublish", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sns:Publish",
                 "Resource": topic.arn}
    aws.sns.TopicPolicy("orders", arn=topic.arn,
                        policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [tstmt]}))
    aws.sns.TopicSubscription("orders-to-queue", topic=topic.arn, protocol="sqs", endpoint=queue.arn,
                              raw_message_delivery=True)


# -- Secrets Manager -------------------------------------------------------------------------------------------
def rotated_secret(bad: str | None = None) -> None:
    """An API credential in Secrets Manager with a customer-managed key and 30-day rotation."""
    key = _key("secret")
    secret = aws.secretsmanager.Secret("partner-api", kms_key_id=key.arn, recovery_window_in_days=30)
    value = "pk_live_0123456789abcdef" if bad == "literal-value" else pulumi.Config().require_secret("dbPassword")
    aws.secretsmanager.SecretVersion("partner-api", secret_id=secret.id,
                                     secret_string=pulumi.Output.json_dumps({"apiKey": value}))
    rotator = _function("rotator", key)
    if bad != "no-rotation":
        aws.secretsmanager.SecretRotation("partner-api", secret_id=secret.id, rotation_lambda_arn=rotator.arn,
                                          rotation_rules={"automatically_after_days": 30})


# -- RDS and Aurora --------------------------------------------------------------------------------------------
def rds_postgres(bad: str | None = None) -> None:
    """Private, encrypted PostgreSQL with a managed master password, backups, deletion protection, forced TLS."""
    key = _key("db")
    pg = aws.rds.ParameterGroup("pg16", family="postgres16", parameters=[
        {"name": "rds.force_ssl", "value": "1"}, {"name": "log_connections", "value": "1"}])
    subnets = aws.rds.SubnetGroup("db-subnets", subnet_ids=VPC_SUBNETS)
    args = dict(engine="postgres", engine_version="16.4", instance_class="db.t4g.medium", allocated_storage=50,
                storage_type="gp3", db_subnet_group_name=subnets.name, parameter_group_name=pg.name,
                username="app", manage_master_user_password=True, storage_encrypted=True, kms_key_id=key.arn,
                backup_retention_period=14, deletion_protection=True, publicly_accessible=False, multi_az=True,
                final_snapshot_identifier="app-final", copy_tags_to_snapshot=True, auto_minor_version_upgrade=True,
                iam_database_authentication_enabled=True, performance_insights_enabled=True,
                performance_insights_kms_key_id=key.arn, enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
                monitoring_interval=60)
    if bad == "literal-password":
        args.pop("manage_master_user_password")
        args["password"] = "SuperSecret123!"
    elif bad == "public":
        args["publicly_accessible"] = True
    elif bad == "unencrypted":
        args.update(storage_encrypted=False)
        args.pop("kms_key_id")
        args.pop("performance_insights_kms_key_id")
        args["performance_insights_enabled"] = False
    elif bad == "no-backups":
        args["backup_retention_period"] = 0
    aws.rds.Instance("db", **args)


def aurora_cluster(bad: str | None = None) -> None:
    """An Aurora PostgreSQL cluster whose master password comes from a secret config value."""
    key = _key("aurora")
    cpg = aws.rds.ClusterParameterGroup("aurora-pg", family="aurora-postgresql16",
                                        parameters=[{"name": "rds.force_ssl", "value": "1"}])
    password = pulumi.Config().require_secret("dbPassword") if bad != "literal-password" else "Aurora-Passw0rd-123"
    cluster = aws.rds.Cluster("aurora", engine="aurora-postgresql", engine_version="16.4", master_username="app",
                              master_password=password, storage_encrypted=True, kms_key_id=key.arn,
                              backup_retention_period=14, deletion_protection=True,
                              db_cluster_parameter_group_name=cpg.name, final_snapshot_identifier="aurora-final",
                              enabled_cloudwatch_logs_exports=["postgresql"], iam_database_authentication_enabled=True)
    aws.rds.ClusterInstance("aurora-1", cluster_identifier=cluster.id, engine="aurora-postgresql",
                            instance_class="db.r7g.large", publicly_accessible=False)


# -- EFS -------------------------------------------------------------------------------------------------------
def efs_share(bad: str | None = None) -> None:
    """An encrypted file system, TLS-only policy, an access point with a POSIX user and root directory."""
    key = _key("efs")
    fs = aws.efs.FileSystem("share", encrypted=bad != "unencrypted", kms_key_id=None if bad == "unencrypted"
                            else key.arn, performance_mode="generalPurpose", throughput_mode="elastic",
                            lifecycle_policies=[{"transition_to_ia": "AFTER_30_DAYS"}],
                            opts=pulumi.ResourceOptions(protect=True))
    aws.efs.BackupPolicy("share", file_system_id=fs.id, backup_policy={"status": "ENABLED"})
    if bad != "no-tls-policy":
        aws.efs.FileSystemPolicy("share", file_system_id=fs.id, policy=pulumi.Output.json_dumps({
            "Version": "2012-10-17", "Statement": [{
                "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*",
                "Resource": fs.arn, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
    aws.efs.AccessPoint("app", file_system_id=fs.id, posix_user={"uid": 1000, "gid": 1000},
                        root_directory={"path": "/app", "creation_info": {"owner_uid": 1000, "owner_gid": 1000,
                                                                          "permissions": "750"}})


# -- EKS -------------------------------------------------------------------------------------------------------
def eks_cluster(bad: str | None = None) -> None:
    """A private EKS control plane with secrets encryption and every control plane log type."""
    key = _key("eks")
    role = aws.iam.Role("eks-role", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    aws.iam.RolePolicyAttachment("eks-cluster-policy", role=role.name,
                                 policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy")
    vpc_config = {"subnet_ids": VPC_SUBNETS, "endpoint_private_access": True, "endpoint_public_access": False}
    if bad == "public-endpoint":
        vpc_config.update(endpoint_public_access=True)
    elif bad == "world-cidrs":
        vpc_config.update(endpoint_public_access=True, public_access_cidrs=["0.0.0.0/0"])
    args = dict(role_arn=role.arn, version="1.31", vpc_config=vpc_config,
                encryption_config={"resources": ["secrets"], "provider": {"key_arn": key.arn}},
                enabled_cluster_log_types=["api", "audit", "authenticator", "controllerManager", "scheduler"],
                access_config={"authentication_mode": "API"})
    if bad == "no-secrets-encryption":
        args.pop("encryption_config")
    elif bad == "no-logging":
        args.pop("enabled_cluster_log_types")
    aws.eks.Cluster("eks", **args)


# -- Kinesis and Firehose --------------------------------------------------------------------------------------
def kinesis_pipeline(bad: str | None = None) -> None:
    """A KMS-encrypted stream and an encrypted direct-PUT Firehose to an encrypted bucket."""
    key = _key("stream")
    stream_args = dict(shard_count=1, retention_period=48, encryption_type="KMS", kms_key_id=key.arn)
    if bad == "stream-unencrypted":
        stream_args = dict(shard_count=1, retention_period=48)
    aws.kinesis.Stream("events", **stream_args)
    dest = _private_bucket("events-archive", key)
    role = aws.iam.Role("firehose-role", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "firehose.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": ACCOUNT}}}]}))
    fh = dict(destination="extended_s3", extended_s3_configuration={
        "role_arn": role.arn, "bucket_arn": dest.arn, "kms_key_arn": key.arn, "buffering_interval": 300})
    if bad != "firehose-unencrypted":
        fh["server_side_encryption"] = {"enabled": True, "key_type": "CUSTOMER_MANAGED_CMK", "key_arn": key.arn}
    aws.kinesis.FirehoseDeliveryStream("archive", **fh)


# -- OpenSearch ------------------------------------------------------------------------------------------------
def opensearch_domain(bad: str | None = None) -> None:
    """A VPC OpenSearch domain: encrypted at rest and between nodes, HTTPS with TLS 1.2, fine-grained access
    control, audit logs."""
    key = _key("search")
    logs = _log_group("search-audit", key)
    args = dict(
        engine_version="OpenSearch_2.13",
        cluster_config={"instance_type": "r6g.large.search", "instance_count": 3, "zone_awareness_enabled": True,
                        "zone_awareness_config": {"availability_zone_count": 3},
                        "dedicated_master_enabled": True, "dedicated_master_type": "m6g.large.search",
                        "dedicated_master_count": 3},
        ebs_options={"ebs_enabled": True, "volume_size": 100, "volume_type": "gp3"},
        encrypt_at_rest={"enabled": True, "kms_key_id": key.arn},
        node_to_node_encryption={"enabled": True},
        domain_endpoint_options={"enforce_https": True, "tls_security_policy": "Policy-Min-TLS-1-2-PFS-2023-10"},
        advanced_security_options={"enabled": True, "internal_user_database_enabled": False,
                                   "master_user_options": {"master_user_arn": f"arn:aws:iam::{ACCOUNT}:role/admin"}},
        vpc_options={"subnet_ids": VPC_SUBNETS, "security_group_ids": ["sg-0123456789abcdef0"]},
        log_publishing_options=[{"log_type": "AUDIT_LOGS", "cloudwatch_log_group_arn": logs.arn}],
        access_policies=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/search-app"}, "Action": "es:ESHttp*",
            "Resource": f"arn:aws:es:us-east-1:{ACCOUNT}:domain/search/*"}]}))
    if bad == "no-encryption-at-rest":
        args["encrypt_at_rest"] = {"enabled": False}
    elif bad == "no-node-to-node":
        args["node_to_node_encryption"] = {"enabled": False}
    elif bad == "http-allowed":
        args["domain_endpoint_options"] = {"enforce_https": False}
    elif bad == "anonymous-access":
        args["advanced_security_options"] = {**args["advanced_security_options"], "anonymous_auth_enabled": True}
    elif bad == "public-open-policy":
        args.pop("vpc_options")
        args.pop("advanced_security_options")
        args.pop("log_publishing_options")
        args["access_policies"] = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "es:*",
            "Resource": f"arn:aws:es:us-east-1:{ACCOUNT}:domain/search/*"}]})
    aws.opensearch.Domain("search", **args)


# -- DocumentDB ------------------------------------------------------------------------------------------------
def documentdb_cluster(bad: str | None = None) -> None:
    """An encrypted DocumentDB cluster with TLS, audit logs, 14-day backups and a managed master password."""
    key = _key("docdb")
    params = [{"name": "tls", "value": "disabled" if bad == "tls-disabled" else "enabled"},
              {"name": "audit_logs", "value": "enabled"}]
    pg = aws.docdb.ClusterParameterGroup("docdb-params", family="docdb5.0", parameters=params)
    args = dict(engine="docdb", master_username="app", manage_master_user_password=True, storage_encrypted=True,
                kms_key_id=key.arn, backup_retention_period=14, deletion_protection=True,
                db_cluster_parameter_group_name=pg.name, enabled_cloudwatch_logs_exports=["audit", "profiler"],
                final_snapshot_identifier="docdb-final")
    if bad == "unencrypted":
        args.update(storage_encrypted=False)
        args.pop("kms_key_id")
    elif bad == "no-audit-logs":
        args["enabled_cloudwatch_logs_exports"] = ["profiler"]
    elif bad == "short-backups":
        args["backup_retention_period"] = 1
    cluster = aws.docdb.Cluster("docdb", **args)
    aws.docdb.ClusterInstance("docdb-1", cluster_identifier=cluster.id, instance_class="db.r6g.large")


# -- DynamoDB --------------------------------------------------------------------------------------------------
def dynamodb_table(bad: str | None = None) -> None:
    """An on-demand table with a customer-managed key, point-in-time recovery and deletion protection."""
    key = _key("table")
    aws.dynamodb.Table("orders", billing_mode="PAY_PER_REQUEST", hash_key="pk", range_key="sk",
                       attributes=[{"name": "pk", "type": "S"}, {"name": "sk", "type": "S"}],
                       server_side_encryption={"enabled": True, "kms_key_arn": key.arn},
                       point_in_time_recovery={"enabled": bad != "no-pitr"}, deletion_protection_enabled=True)


# -- ElastiCache -----------------------------------------------------------------------------------------------
def redis_cache(bad: str | None = None) -> None:
    """A Redis replication group: encrypted at rest and in transit, AUTH token from a secret config value,
    snapshots."""
    key = _key("cache")
    token = pulumi.Config().require_secret("redisAuthToken") if bad != "literal-auth-token" else \
        "redis-auth-token-0123456789"
    aws.elasticache.ReplicationGroup("cache", description="sessions", engine="redis", engine_version="7.1",
                                     node_type="cache.t4g.medium", num_cache_clusters=2,
                                     automatic_failover_enabled=True, multi_az_enabled=True,
                                     at_rest_encryption_enabled=bad != "no-at-rest-encryption",
                                     kms_key_id=None if bad == "no-at-rest-encryption" else key.arn,
                                     transit_encryption_enabled=True, auth_token=token,
                                     snapshot_retention_limit=7, subnet_group_name="cache-subnets",
                                     final_snapshot_identifier="cache-final")


# -- EC2 -------------------------------------------------------------------------------------------------------
def ec2_instance(bad: str | None = None) -> None:
    """A private instance: IMDSv2, encrypted root volume, SSM instead of SSH, egress-only security group."""
    ingress = [] if bad != "world-ssh" else [{"protocol": "tcp", "from_port": 22, "to_port": 22,
                                              "cidr_blocks": ["0.0.0.0/0"]}]
    sg = aws.ec2.SecurityGroup("app-sg", vpc_id=VPC_ID, description="app", ingress=ingress,
                               egress=[{"protocol": "tcp", "from_port": 443, "to_port": 443,
                                        "cidr_blocks": ["0.0.0.0/0"]}])
    aws.ec2.Instance("app", ami="ami-0123456789abcdef0", instance_type="t3.small", subnet_id=VPC_SUBNETS[0],
                     vpc_security_group_ids=[sg.id], associate_public_ip_address=False, monitoring=True,
                     ebs_optimized=True, iam_instance_profile="app-ssm",
                     metadata_options={"http_tokens": "optional" if bad == "imdsv1" else "required",
                                       "http_put_response_hop_limit": 1, "http_endpoint": "enabled"},
                     root_block_device={"encrypted": True, "volume_type": "gp3", "volume_size": 20})


# -- OpenAPI-defined REST API and WebSocket API ------------------------------------------------------------------
def openapi_rest_api(bad: str | None = None) -> None:
    """A REST API defined by an OpenAPI body with a Cognito authorizer on every operation."""
    key = _key("oas")
    security = [] if bad == "no-security" else [{"cognito": []}]
    body = {"openapi": "3.0.1", "info": {"title": "pets", "version": "1"},
            "components": {"securitySchemes": {"cognito": {
                "type": "apiKey", "name": "Authorization", "in": "header",
                "x-amazon-apigateway-authtype": "cognito_user_pools",
                "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools", "providerARNs": [
                    f"arn:aws:cognito-idp:us-east-1:{ACCOUNT}:userpool/us-east-1_abc"]}}}},
            "security": security,
            "paths": {"/pets": {"get": {"x-amazon-apigateway-integration": {
                "type": "http_proxy", "httpMethod": "GET", "uri": "https://pets.example.com/pets"}},
                "options": {"x-amazon-apigateway-integration": {"type": "mock"}}}}}
    api = aws.apigateway.RestApi("pets", body=json.dumps(body), endpoint_configuration={"types": "REGIONAL"})
    dep = aws.apigateway.Deployment("pets", rest_api=api.id, triggers={"body": json.dumps(body)})
    logs = _log_group("pets-access", key)
    aws.apigateway.Stage("pets", rest_api=api.id, deployment=dep.id, stage_name="v1", xray_tracing_enabled=True,
                         access_log_settings={"destination_arn": logs.arn, "format": '{"id":"$context.requestId"}'})


def websocket_api(bad: str | None = None) -> None:
    """A WebSocket API: a Lambda authorizer on $connect (the only route that can carry one), access logs."""
    key = _key("ws")
    fn = _function("chat", key)
    api = aws.apigatewayv2.Api("chat", protocol_type="WEBSOCKET", route_selection_expression="$request.body.action")
    auth = aws.apigatewayv2.Authorizer("chat-auth", api_id=api.id, authorizer_type="REQUEST",
                                       authorizer_uri=fn.invoke_arn, identity_sources=["route.request.header.Auth"])
    integ = aws.apigatewayv2.Integration("chat", api_id=api.id, integration_type="AWS_PROXY",
                                         integration_uri=fn.invoke_arn)
    target = pulumi.Output.concat("integrations/", integ.id)
    connect = dict(api_id=api.id, route_key="$connect", target=target)
    if bad != "connect-no-auth":
        connect.update(authorization_type="CUSTOM", authorizer_id=auth.id)
    aws.apigatewayv2.Route("connect", **connect)
    aws.apigatewayv2.Route("send", api_id=api.id, route_key="sendMessage", target=target)
    aws.apigatewayv2.Route("disconnect", api_id=api.id, route_key="$disconnect", target=target)
    logs = _log_group("chat-access", key)
    aws.apigatewayv2.Stage("chat", api_id=api.id, name="prod", auto_deploy=True,
                           access_log_settings={"destination_arn": logs.arn, "format": '{"id":"$context.requestId"}'})


def container_lambda(bad: str | None = None) -> None:
    """A container-image function (no managed runtime), invoked by S3 events from its own account."""
    key = _key("img")
    variables = {"OUTPUT_PREFIX": "thumbs/"}
    if bad == "secret-env":
        variables["GITHUB_TOKEN"] = "ghp_0123456789abcdefghijABCDEFGHIJ012345"
    fn = aws.lambda_.Function("thumbnailer", package_type="Image",
                              image_uri=f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/thumbnailer:1.4.2",
                              role=_lambda_role("thumbnailer").arn, timeout=30, memory_size=1024,
                              tracing_config={"mode": "Active"}, kms_key_arn=key.arn,
                              environment={"variables": variables})
    aws.lambda_.Permission("s3-invoke", action="lambda:InvokeFunction", function=fn.name,
                           principal="s3.amazonaws.com", source_account=ACCOUNT,
                           source_arn="arn:aws:s3:::example-uploads")


# -- ALB and ECS Fargate -----------------------------------------------------------------------------------------
def alb_fargate(bad: str | None = None) -> None:
    """A Fargate service behind an internet-facing ALB: HTTPS with a TLS 1.3 policy, HTTP redirected, access logs,
    tasks in private subnets with a read-only root filesystem, a non-root user and secrets from Secrets Manager."""
    key = _key("web")
    logs_bucket = aws.s3.BucketV2("alb-logs")
    aws.s3.BucketPublicAccessBlock("alb-logs-pab", bucket=logs_bucket.id, block_public_acls=True,
                                   block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True)
    aws.s3.BucketServerSideEncryptionConfigurationV2("alb-logs-sse", bucket=logs_bucket.id, rules=[{
        "apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}])
    aws.s3.BucketVersioningV2("alb-logs-versioning", bucket=logs_bucket.id,
                              versioning_configuration={"status": "Enabled"})
    aws.s3.BucketPolicy("alb-logs-policy", bucket=logs_bucket.id, policy=pulumi.Output.json_dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::127311923021:root"}, "Action": "s3:PutObject",
            "Resource": pulumi.Output.concat(logs_bucket.arn, "/*")}]}))
    alb_sg = aws.ec2.SecurityGroup("alb-sg", vpc_id=VPC_ID, description="alb", ingress=[
        {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]},
        {"protocol": "tcp", "from_port": 80, "to_port": 80, "cidr_blocks": ["0.0.0.0/0"]}],
        egress=[{"protocol": "tcp", "from_port": 8080, "to_port": 8080, "cidr_blocks": ["10.0.0.0/16"]}])
    task_ingress = [{"protocol": "tcp", "from_port": 8080, "to_port": 8080, "security_groups": [alb_sg.id]}]
    if bad == "world-open-task-port":
        task_ingress = [{"protocol": "tcp", "from_port": 8080, "to_port": 8080, "cidr_blocks": ["0.0.0.0/0"]}]
    task_sg = aws.ec2.SecurityGroup("task-sg", vpc_id=VPC_ID, description="tasks", ingress=task_ingress,
                                    egress=[{"protocol": "tcp", "from_port": 443, "to_port": 443,
                                             "cidr_blocks": ["0.0.0.0/0"]}])
    alb = aws.lb.LoadBalancer("web", load_balancer_type="application", internal=False, subnets=VPC_SUBNETS,
                              security_groups=[alb_sg.id], drop_invalid_header_fields=True,
                              enable_deletion_protection=True,
                              access_logs={"bucket": logs_bucket.bucket, "enabled": True, "prefix": "web"})
    tg = aws.lb.TargetGroup("web", port=8080, protocol="HTTP", target_type="ip", vpc_id=VPC_ID,
                            health_check={"path": "/health", "matcher": "200"})
    aws.lb.Listener("https", load_balancer_arn=alb.arn, port=443, protocol="HTTPS",
                    ssl_policy="ELBSecurityPolicy-2016-08" if bad == "old-tls-policy"
                    else "ELBSecurityPolicy-TLS13-1-2-2021-06",
                    certificate_arn=f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/web",
                    default_actions=[{"type": "forward", "target_group_arn": tg.arn}])
    http_action = {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"}}
    if bad == "http-forward":
        http_action = {"type": "forward", "target_group_arn": tg.arn}
    aws.lb.Listener("http", load_balancer_arn=alb.arn, port=80, protocol="HTTP", default_actions=[http_action])
    repo = aws.ecr.Repository("web", image_tag_mutability="IMMUTABLE",
                              image_scanning_configuration={"scan_on_push": True},
                              encryption_configurations=[{"encryption_type": "KMS", "kms_key": key.arn}])
    logs = _log_group("web-app", key)
    container = {"name": "web", "image": pulumi.Output.concat(repo.repository_url, ":1.0.0"), "essential": True,
                 "user": "1000:1000", "readonlyRootFilesystem": True, "privileged": bad == "privileged",
                 "portMappings": [{"containerPort": 8080}],
                 "secrets": [{"name": "DB_PASSWORD",
                              "valueFrom": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:web-db"}],
                 "logConfiguration": {"logDriver": "awslogs", "options": {
                     "awslogs-group": logs.name, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"}}}
    execution = aws.iam.Role("web-exec", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    td = aws.ecs.TaskDefinition("web", family="web", cpu="512", memory="1024", network_mode="awsvpc",
                                requires_compatibilities=["FARGATE"], execution_role_arn=execution.arn,
                                runtime_platform={"cpu_architecture": "ARM64", "operating_system_family": "LINUX"},
                                container_definitions=pulumi.Output.json_dumps([container]))
    cluster = aws.ecs.Cluster("web", settings=[{"name": "containerInsights", "value": "enabled"}])
    aws.ecs.Service("web", cluster=cluster.arn, task_definition=td.arn, desired_count=3, launch_type="FARGATE",
                    network_configuration={"subnets": VPC_SUBNETS, "security_groups": [task_sg.id],
                                           "assign_public_ip": bad == "public-ip-tasks"},
                    load_balancers=[{"target_group_arn": tg.arn, "container_name": "web", "container_port": 8080}])


FAMILIES = {
    "aws-s3-bucket": (s3_bucket, {
        "no-sse": ["s3-bucket-encryption"], "no-pab": ["s3-bucket-public-access-block"],
        "no-versioning": ["s3-bucket-versioning"], "public-policy": ["s3-bucket-policy-not-public"],
        "public-acl": ["s3-bucket-no-public-acl"]}),
    "aws-rest-api": (rest_api, {
        "no-auth": ["apigw-authorization"], "no-access-logs": ["apigw-stage-access-logs"],
        "tls10-domain": ["apigw-domain-tls12"]}),
    "aws-http-api": (http_api, {"no-auth": ["apigw-authorization"], "no-access-logs": ["apigw-stage-access-logs"],
                                "quick-create": ["apigw-authorization"]}),
    "aws-openapi-rest-api": (openapi_rest_api, {"no-security": ["apigw-authorization"]}),
    "aws-websocket-api": (websocket_api, {"connect-no-auth": ["apigw-authorization"]}),
    "aws-container-lambda": (container_lambda, {"secret-env": ["lambda-no-plaintext-secrets"]}),
    "aws-lambda": (lambda_function, {
        "python38": ["lambda-runtime-supported"], "nodejs16": ["lambda-runtime-supported"],
        "secret-env": ["lambda-no-plaintext-secrets"], "aws-key-env": ["lambda-no-plaintext-secrets"],
        "url-auth-none": ["lambda-function-url-auth"], "public-permission": ["iam-no-wildcard-principal"]}),
    "aws-cloudfront-site": (cloudfront_site, {
        "allow-http": ["cloudfront-viewer-https"], "old-tls": ["cloudfront-min-tls12"],
        "no-oac": ["cloudfront-s3-origin-access"], "no-logging": ["cloudfront-access-logs"]}),
    "aws-cloudfront-api": (cloudfront_api, {"http-origin": ["cloudfront-origin-tls"],
                                            "sslv3-origin": ["cloudfront-origin-tls"]}),
    "aws-cognito": (cognito_pool, {"mfa-off": ["cognito-mfa-in-prod"], "weak-password": ["cognito-password-policy"]}),
    "aws-queue-topic": (queue_and_topic, {
        "queue-unencrypted": ["sqs-queue-encrypted"], "queue-sse-disabled": ["sqs-queue-encrypted"],
        "topic-unencrypted": ["sns-topic-encrypted"],
        "queue-policy-public": ["iam-no-wildcard-principal"], "topic-policy-public": ["iam-no-wildcard-principal"]}),
    "aws-secret": (rotated_secret, {"no-rotation": ["secretsmanager-rotation"],
                                    "literal-value": ["db-password-not-literal"]}),
    "aws-rds": (rds_postgres, {
        "literal-password": ["db-password-not-literal"], "public": ["rds-not-public"],
        "unencrypted": ["rds-storage-encrypted"], "no-backups": ["rds-backup-retention"]}),
    "aws-aurora": (aurora_cluster, {"literal-password": ["db-password-not-literal"]}),
    "aws-efs": (efs_share, {"unencrypted": ["efs-encrypted"], "no-tls-policy": ["efs-tls-enforced"]}),
    "aws-eks": (eks_cluster, {"public-endpoint": ["eks-endpoint-not-public"],
                              "world-cidrs": ["eks-endpoint-not-public"],
                              "no-secrets-encryption": ["eks-secrets-encryption"],
                              "no-logging": ["eks-control-plane-logging"]}),
    "aws-kinesis": (kinesis_pipeline, {"stream-unencrypted": ["kinesis-encrypted"],
                                       "firehose-unencrypted": ["kinesis-encrypted"]}),
    "aws-opensearch": (opensearch_domain, {
        "no-encryption-at-rest": ["opensearch-encrypted-at-rest"], "no-node-to-node": [
            "opensearch-node-to-node-encryption"], "http-allowed": ["opensearch-https-tls12"],
        "public-open-policy": ["opensearch-access-restricted"],
        "anonymous-access": ["opensearch-access-restricted"]}),
    "aws-documentdb": (documentdb_cluster, {
        "unencrypted": ["docdb-storage-encrypted"], "tls-disabled": ["docdb-tls-enabled"],
        "no-audit-logs": ["docdb-audit-logs"], "short-backups": ["docdb-backup-retention"]}),
    "aws-dynamodb": (dynamodb_table, {"no-pitr": ["dynamodb-pitr-enabled"]}),
    "aws-redis": (redis_cache, {"no-at-rest-encryption": ["elasticache-encryption-at-rest"],
                                "literal-auth-token": ["db-password-not-literal"]}),
    "aws-ec2": (ec2_instance, {"imdsv1": ["ec2-imdsv2-required"], "world-ssh": ["sg-no-world-ingress"]}),
    "aws-alb-fargate": (alb_fargate, {"http-forward": ["lb-listener-https-only"],
                                      "old-tls-policy": ["lb-listener-tls-policy"],
                                      "public-ip-tasks": ["ecs-service-no-public-ip"],
                                      "privileged": ["ecs-task-no-privileged"],
                                      "world-open-task-port": ["sg-no-world-ingress"]}),
}
"""name -> (program function, {defect: policies that count as catching it})."""

NEEDS_REAL_SECRETS = {("aws-rds", "literal-password"), ("aws-aurora", "literal-password"),
                      ("aws-redis", "literal-auth-token"), ("aws-secret", "literal-value")}
"""Defects only visible when the review passes secret-wrapped inputs' real values to policies (issue 11)."""
