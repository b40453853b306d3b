"""Security policies for serverless, edge, data and Kubernetes services: a violating and a compliant case each.

Same harness as tests/test_policies_rules.py (``Case``, ``R``, ``judge``); ``EXTRA_CASES`` counts towards the
"every policy has both cases" check there.
"""

from __future__ import annotations

import json

import pytest
from test_policies_rules import UNKNOWN, Case, R, doc, judge

APIGW_STAGE = "aws:apigateway/stage:Stage"
HTTP_STAGE = "aws:apigatewayv2/stage:Stage"
METHOD = "aws:apigateway/method:Method"
ROUTE = "aws:apigatewayv2/route:Route"
LAMBDA = "aws:lambda/function:Function"
POOL = "aws:cognito/userPool:UserPool"
GCF1 = "gcp:cloudfunctions/function:Function"
GCF2 = "gcp:cloudfunctionsv2/function:Function"
CF = "aws:cloudfront/distribution:Distribution"
QUEUE = "aws:sqs/queue:Queue"
SECRET = "aws:secretsmanager/secret:Secret"
EFS = "aws:efs/fileSystem:FileSystem"
OS = "aws:opensearch/domain:Domain"
ES = "aws:elasticsearch/domain:Domain"
DOCDB = "aws:docdb/cluster:Cluster"
DATASET = "gcp:bigquery/dataset:Dataset"
EKS = "aws:eks/cluster:Cluster"
GKE = "gcp:container/cluster:Cluster"

LOG_ARN = "arn:aws:logs:us-east-1:1:log-group:api"
stage = R(APIGW_STAGE, "stage", stageName="prod", accessLogSettings={"destinationArn": LOG_ARN, "format": "{}"})
secret = R(SECRET, "db-secret", name="db")
fs = R(EFS, "fs", encrypted=True)
fn_v1 = R(GCF1, "fn", name="fn", runtime="python312", triggerHttp=True)
fn_internal = R(GCF2, "fn2", name="fn2", buildConfig={"runtime": "nodejs22"},
                serviceConfig={"ingressSettings": "ALLOW_INTERNAL_AND_GCLB"})
s3_origin = {"originId": "s3", "domainName": "site.s3.us-east-1.amazonaws.com"}
behavior = {"targetOriginId": "s3", "viewerProtocolPolicy": "redirect-to-https"}
cert = {"acmCertificateArn": "arn:aws:acm:us-east-1:1:certificate/x", "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.2_2021"}
open_access = doc({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "es:*", "Resource": "*"})
tls_deny = doc({"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*", "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
cpg = R("aws:docdb/clusterParameterGroup:ClusterParameterGroup", "docdb-params", name="docdb-params",
        parameters=[{"name": "tls", "value": "disabled"}])

# dr-objectives-met (issue 14): a prod database in us-east-1 with point-in-time recovery; the stack states a 15-minute
# RPO, a 4-hour RTO and the DR region us-west-2.
DR_CONFIG = {"proj:dr": {"rpoMinutes": 15, "rtoMinutes": 240, "region": "us-west-2"}, "aws:region": "us-east-1"}
dr_db = R("aws:rds/instance:Instance", "db", backupRetentionPeriod=7)
dr_replication = R("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication", "db-dr",
                   deps={"sourceDbInstanceArn": [dr_db]}, provider={"region": "us-west-2"})

EXTRA_CASES: list[Case] = [
    # only in-region copies while a DR region is stated: violates
    Case("dr-objectives-met", [dr_db], ["<stack>"], env="prod", stack_config=DR_CONFIG, id="no-copy-outside"),
    # replicated automated backups in us-west-2: RPO 10 min, RTO 60 + 60 + 30 = 150 min: complies
    Case("dr-objectives-met", [dr_db, dr_replication], [], env="prod", stack_config=DR_CONFIG),
    # the same design against a 5-minute RPO: violates
    Case("dr-objectives-met", [dr_db, dr_replication], ["<stack>"], env="prod", id="rpo-too-tight",
         stack_config={**DR_CONFIG, "proj:dr": {"rpoMinutes": 5, "rtoMinutes": 240, "region": "us-west-2"}}),
    # dev is not judged
    Case("dr-objectives-met", [dr_db], [], env="dev", stack_config=DR_CONFIG, id="dev"),
    # ---- API Gateway ------------------------------------------------------------------------------------------------
    Case("apigw-stage-access-logs", [R(APIGW_STAGE, "s", stageName="prod"), R(HTTP_STAGE, "h", name="$default")],
         ["h", "s"]),
    Case("apigw-stage-access-logs", [stage, R(HTTP_STAGE, "h", accessLogSettings={"destinationArn": LOG_ARN})], []),
    Case("apigw-authorization", [R(METHOD, "get", httpMethod="GET", authorization="NONE"),
                                 R(ROUTE, "r", routeKey="GET /items")], ["get", "r"]),
    Case("apigw-authorization", [R(METHOD, "get", httpMethod="GET", authorization="COGNITO_USER_POOLS"),
                                 R(METHOD, "opts", httpMethod="OPTIONS", authorization="NONE"),
                                 R(METHOD, "keyed", httpMethod="GET", authorization="NONE", apiKeyRequired=True),
                                 R(ROUTE, "r", routeKey="GET /items", authorizationType="JWT"),
                                 R(ROUTE, "ws", routeKey="sendMessage"),
                                 R(ROUTE, "pre", routeKey="OPTIONS /items")], []),
    Case("apigw-authorization", [
        R("aws:apigatewayv2/api:Api", "quick", protocolType="HTTP", target="arn:aws:lambda:x"),
        R("aws:apigateway/restApi:RestApi", "oas", body=json.dumps({"openapi": "3.0.1", "paths": {
            "/items": {"get": {"x-amazon-apigateway-integration": {}}, "options": {}}}}))], ["oas", "quick"],
         id="openapi-and-quick-create"),
    Case("apigw-authorization", [
        R("aws:apigatewayv2/api:Api", "http", protocolType="HTTP"),
        R("aws:apigateway/restApi:RestApi", "oas", body=json.dumps({
            "openapi": "3.0.1", "security": [{"cognito": []}],
            "paths": {"/items": {"get": {}}, "/health": {"get": {"security": [{"api_key": []}]}}}}))], [],
         id="openapi-secured"),
    Case("apigw-domain-tls12", [R("aws:apigateway/domainName:DomainName", "d", domainName="api.example.com",
                                  securityPolicy="TLS_1_0"),
                                R("aws:apigateway/domainName:DomainName", "unset", domainName="x.example.com")],
         ["d", "unset"]),
    Case("apigw-domain-tls12", [R("aws:apigateway/domainName:DomainName", "d", securityPolicy="TLS_1_2"),
                                R("aws:apigatewayv2/domainName:DomainName", "h", domainNameConfiguration={
                                    "securityPolicy": "TLS_1_2", "endpointType": "REGIONAL"})], []),
    Case("apigw-waf", [stage], ["stage"]),
    Case("apigw-waf", [stage, R("aws:wafv2/webAclAssociation:WebAclAssociation", "assoc",
                                deps={"resourceArn": [stage]}, resourceArn=UNKNOWN)], []),
    Case("apigw-xray-tracing", [stage], ["stage"]),
    Case("apigw-xray-tracing", [R(APIGW_STAGE, "s", xrayTracingEnabled=True)], []),
    # ---- Lambda ---------------------------------------------------------------------------------------------------
    Case("lambda-runtime-supported", [R(LAMBDA, "old", runtime="python3.8"), R(LAMBDA, "node", runtime="nodejs16.x")],
         ["node", "old"]),
    Case("lambda-runtime-supported", [R(LAMBDA, "f", runtime="python3.13"), R(LAMBDA, "img", packageType="Image"),
                                      R(LAMBDA, "future", runtime="nodejs22.x")], [],
         config={"asOf": "2026-12-01"}),
    Case("lambda-runtime-supported", [R(LAMBDA, "f", runtime="nodejs22.x")], ["f"],
         config={"asOf": "2027-05-01"}, id="as-of-date"),
    Case("lambda-function-url-auth", [R("aws:lambda/functionUrl:FunctionUrl", "url", authorizationType="NONE")],
         ["url"]),
    Case("lambda-function-url-auth", [R("aws:lambda/functionUrl:FunctionUrl", "url", authorizationType="AWS_IAM")],
         []),
    Case("lambda-env-kms", [R(LAMBDA, "f", environment={"variables": {"LOG_LEVEL": "info"}})], ["f"]),
    Case("lambda-env-kms", [R(LAMBDA, "f", environment={"variables": {"A": "b"}}, kmsKeyArn="arn:aws:kms:x"),
                            R(LAMBDA, "noenv")], []),
    Case("lambda-dead-letter-queue", [R(LAMBDA, "f")], ["f"]),
    Case("lambda-dead-letter-queue", [R(LAMBDA, "f", deadLetterConfig={"targetArn": "arn:aws:sqs:x"})], []),
    Case("lambda-xray-tracing", [R(LAMBDA, "f", tracingConfig={"mode": "PassThrough"})], ["f"]),
    Case("lambda-xray-tracing", [R(LAMBDA, "f", tracingConfig={"mode": "Active"})], []),
    Case("lambda-no-plaintext-secrets", [R(LAMBDA, "f", environment={"variables": {
        "UPSTREAM": "AKIAIOSFODNN7EXAMPLE"}})], ["f"], id="credential-format"),
    Case("lambda-no-plaintext-secrets", [R(LAMBDA, "f", environment={"variables": {
        "JWT_KEY": "jwt-signing-key-literal"}}), R(LAMBDA, "g", environment={"variables": {
            "PARTITION_KEY": "tenant", "CACHE_KEY_PREFIX": "v1"}})], ["f"], id="jwt-key-name"),
    # ---- Cognito --------------------------------------------------------------------------------------------------
    Case("cognito-mfa-in-prod", [R(POOL, "pool"), R(POOL, "off", mfaConfiguration="OFF")], ["off", "pool"],
         env="prod"),
    Case("cognito-mfa-in-prod", [R(POOL, "pool", mfaConfiguration="OPTIONAL")], [], env="prod"),
    Case("cognito-mfa-in-prod", [R(POOL, "pool")], [], env="dev"),
    Case("cognito-mfa-in-prod", [R(POOL, "pool")], ["pool"], id="unknown-environment-judged-as-prod"),
    Case("cognito-password-policy", [R(POOL, "short", passwordPolicy={"minimumLength": 6}),
                                     R(POOL, "simple", passwordPolicy={
                                         "minimumLength": 8, "requireLowercase": False, "requireUppercase": False,
                                         "requireNumbers": False, "requireSymbols": False})], ["short", "simple"]),
    Case("cognito-password-policy", [R(POOL, "default"), R(POOL, "long", passwordPolicy={
        "minimumLength": 14, "requireLowercase": False, "requireUppercase": False, "requireNumbers": False,
        "requireSymbols": False})], []),
    Case("cognito-advanced-security", [R(POOL, "pool", userPoolAddOns={"advancedSecurityMode": "AUDIT"})], ["pool"]),
    Case("cognito-advanced-security", [R(POOL, "pool", userPoolAddOns={"advancedSecurityMode": "ENFORCED"})], []),
    # ---- Cloud Functions ----------------------------------------------------------------------------------------
    Case("cloudfunctions-runtime-supported", [R(GCF1, "f", runtime="python38"),
                                              R(GCF2, "g", buildConfig={"runtime": "nodejs16"})], ["f", "g"]),
    Case("cloudfunctions-runtime-supported", [R(GCF1, "f", runtime="python312"),
                                              R(GCF2, "g", buildConfig={"runtime": "nodejs22"})], [],
         config={"asOf": "2026-12-01"}),
    Case("cloudfunctions-https-only", [fn_v1], ["fn"]),
    Case("cloudfunctions-https-only", [R(GCF1, "fn", triggerHttp=True, httpsTriggerSecurityLevel="SECURE_ALWAYS"),
                                       R(GCF1, "events", eventTrigger={"eventType": "x"})], []),
    Case("cloudfunctions-not-public", [fn_v1, R("gcp:cloudfunctions/functionIamMember:FunctionIamMember", "inv",
                                                deps={"cloudFunction": [fn_v1]}, cloudFunction=UNKNOWN,
                                                role="roles/cloudfunctions.invoker", member="allUsers")], ["inv"]),
    Case("cloudfunctions-not-public", [fn_internal, R("gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "inv",
                                                      name="fn2", role="roles/run.invoker", member="allUsers"),
                                       R("gcp:cloudfunctions/functionIamMember:FunctionIamMember", "sa",
                                         cloudFunction="fn", role="roles/cloudfunctions.invoker",
                                         member="serviceAccount:caller@p.iam.gserviceaccount.com")], []),
    Case("cloudfunctions-no-plaintext-secrets", [R(GCF2, "g", serviceConfig={"environmentVariables": {
        "DB_PASSWORD": "hunter2hunter2"}})], ["g"]),
    Case("cloudfunctions-no-plaintext-secrets", [R(GCF2, "g", serviceConfig={"environmentVariables": {
        "LOG_LEVEL": "info"}, "secretEnvironmentVariables": [{"key": "DB_PASSWORD", "secret": "db"}]})], []),
    # ---- CloudFront -----------------------------------------------------------------------------------------------
    Case("cloudfront-viewer-https", [R(CF, "cdn", defaultCacheBehavior={**behavior,
                                                                        "viewerProtocolPolicy": "allow-all"}),
                                     R(CF, "cdn2", defaultCacheBehavior=behavior, orderedCacheBehaviors=[
                                         {"pathPattern": "/img/*", "viewerProtocolPolicy": "allow-all"}])],
         ["cdn", "cdn2"]),
    Case("cloudfront-viewer-https", [R(CF, "cdn", defaultCacheBehavior=behavior)], []),
    Case("cloudfront-min-tls12", [R(CF, "cdn", viewerCertificate={**cert, "minimumProtocolVersion": "TLSv1"}),
                                  R(CF, "unset", viewerCertificate={"acmCertificateArn": "arn:x"})], ["cdn", "unset"]),
    Case("cloudfront-min-tls12", [R(CF, "cdn", viewerCertificate={"cloudfrontDefaultCertificate": True,
                                                                   "minimumProtocolVersion": "TLSv1"})], ["cdn"],
         id="explicit-old-tls-on-default-certificate"),
    Case("cloudfront-min-tls12", [R(CF, "cdn", viewerCertificate=cert),
                                  R(CF, "default", viewerCertificate={"cloudfrontDefaultCertificate": True})], []),
    Case("cloudfront-origin-tls", [R(CF, "cdn", origins=[{"originId": "api", "domainName": "api.example.com",
                                                          "customOriginConfig": {"originProtocolPolicy": "http-only",
                                                                                 "originSslProtocols": ["TLSv1"]}}])],
         ["cdn", "cdn"]),
    Case("cloudfront-origin-tls", [R(CF, "cdn", origins=[{"originId": "api", "domainName": "api.example.com",
                                                          "customOriginConfig": {"originProtocolPolicy": "https-only",
                                                                                 "originSslProtocols": ["TLSv1.2"]}}]),
                                   R(CF, "mv", defaultCacheBehavior=behavior, origins=[{
                                       "originId": "api", "domainName": "api.example.com",
                                       "customOriginConfig": {"originProtocolPolicy": "match-viewer",
                                                              "originSslProtocols": ["TLSv1.2"]}}])], []),
    Case("cloudfront-s3-origin-access", [R(CF, "cdn", origins=[s3_origin])], ["cdn"]),
    Case("cloudfront-s3-origin-access", [R(CF, "cdn", origins=[{**s3_origin, "originAccessControlId": "E1"}]),
                                         R(CF, "oai", origins=[{**s3_origin, "s3OriginConfig": {
                                             "originAccessIdentity": "origin-access-identity/cloudfront/E2"}}]),
                                         R(CF, "web", origins=[{"originId": "w", "domainName":
                                                                "b.s3-website-us-east-1.amazonaws.com"}])], []),
    Case("cloudfront-access-logs", [R(CF, "cdn")], ["cdn"]),
    Case("cloudfront-access-logs", [R(CF, "cdn", loggingConfig={"bucket": "logs.s3.amazonaws.com"})], []),
    Case("cloudfront-waf", [R(CF, "cdn")], ["cdn"]),
    Case("cloudfront-waf", [R(CF, "cdn", webAclId="arn:aws:wafv2:us-east-1:1:global/webacl/x")], []),
    Case("cloudfront-default-root-object", [R(CF, "cdn")], ["cdn"]),
    Case("cloudfront-default-root-object", [R(CF, "cdn", defaultRootObject="index.html")], []),
    # ---- SQS, Secrets Manager, EFS, Kinesis -------------------------------------------------------------------
    Case("sqs-queue-encrypted", [R(QUEUE, "q"), R(QUEUE, "off", sqsManagedSseEnabled=False)], ["off", "q"]),
    Case("sqs-queue-encrypted", [R(QUEUE, "kms", kmsMasterKeyId="alias/aws/sqs"),
                                 R(QUEUE, "sse", sqsManagedSseEnabled=True)], []),
    Case("iam-no-wildcard-principal", [R("aws:sqs/queuePolicy:QueuePolicy", "qp", policy=doc(
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sqs:SendMessage", "Resource": "*"}))], ["qp"],
         id="queue-policy"),
    Case("secretsmanager-rotation", [secret], ["db-secret"]),
    Case("secretsmanager-rotation", [secret, R("aws:secretsmanager/secretRotation:SecretRotation", "rot",
                                               deps={"secretId": [secret]}, secretId=UNKNOWN,
                                               rotationRules={"automaticallyAfterDays": 30})], []),
    Case("secretsmanager-rotation", [secret, R("aws:secretsmanager/secretRotation:SecretRotation", "rot",
                                               secretId="db", rotationRules={"automaticallyAfterDays": 365})],
         ["db-secret"], id="too-slow"),
    Case("efs-encrypted", [R(EFS, "fs")], ["fs"]),
    Case("efs-encrypted", [fs], []),
    Case("efs-tls-enforced", [fs], ["fs"]),
    Case("efs-tls-enforced", [fs, R("aws:efs/fileSystemPolicy:FileSystemPolicy", "pol", deps={"fileSystemId": [fs]},
                                    fileSystemId=UNKNOWN, policy=tls_deny)], []),
    Case("kinesis-encrypted", [R("aws:kinesis/stream:Stream", "s"),
                               R("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", "fh",
                                 destination="extended_s3")], ["fh", "s"]),
    Case("kinesis-encrypted", [R("aws:kinesis/stream:Stream", "s", encryptionType="KMS", kmsKeyId="alias/aws/kinesis"),
                               R("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", "fh",
                                 serverSideEncryption={"enabled": True}),
                               R("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", "from-stream",
                                 kinesisSourceConfiguration={"kinesisStreamArn": "arn:x", "roleArn": "arn:r"})], []),
    # ---- OpenSearch -----------------------------------------------------------------------------------------------
    Case("opensearch-encrypted-at-rest", [R(OS, "d"), R(ES, "e", encryptAtRest={"enabled": False})], ["d", "e"]),
    Case("opensearch-encrypted-at-rest", [R(OS, "d", encryptAtRest={"enabled": True})], []),
    Case("opensearch-node-to-node-encryption", [R(OS, "d")], ["d"]),
    Case("opensearch-node-to-node-encryption", [R(OS, "d", nodeToNodeEncryption={"enabled": True})], []),
    Case("opensearch-https-tls12", [R(OS, "d", domainEndpointOptions={"enforceHttps": False}),
                                    R(OS, "old", domainEndpointOptions={
                                        "enforceHttps": True, "tlsSecurityPolicy": "Policy-Min-TLS-1-0-2019-07"})],
         ["d", "old"]),
    Case("opensearch-https-tls12", [R(OS, "d", domainEndpointOptions={
        "enforceHttps": True, "tlsSecurityPolicy": "Policy-Min-TLS-1-2-PFS-2023-10"})], []),
    Case("opensearch-access-restricted", [R(OS, "d", accessPolicies=open_access),
                                          R(OS, "anon", advancedSecurityOptions={"enabled": True,
                                                                                 "anonymousAuthEnabled": True})],
         ["anon", "d"]),
    Case("opensearch-access-restricted", [R(OS, "vpc", accessPolicies=open_access, vpcOptions={"subnetIds": ["s"]}),
                                          R(OS, "fgac", accessPolicies=open_access,
                                            advancedSecurityOptions={"enabled": True}),
                                          R(OS, "ip", accessPolicies=doc({
                                              "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "es:*",
                                              "Resource": "*",
                                              "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}}}))], []),
    Case("opensearch-audit-logs", [R(OS, "d")], ["d"]),
    Case("opensearch-audit-logs", [R(OS, "d", logPublishingOptions=[
        {"logType": "AUDIT_LOGS", "cloudwatchLogGroupArn": LOG_ARN}])], []),
    # ---- DocumentDB -----------------------------------------------------------------------------------------------
    Case("docdb-storage-encrypted", [R(DOCDB, "docdb")], ["docdb"]),
    Case("docdb-storage-encrypted", [R(DOCDB, "docdb", storageEncrypted=True)], []),
    Case("docdb-backup-retention", [R(DOCDB, "docdb", backupRetentionPeriod=1)], ["docdb"], env="prod"),
    Case("docdb-backup-retention", [R(DOCDB, "docdb", backupRetentionPeriod=14)], [], env="prod"),
    Case("docdb-backup-retention", [R(DOCDB, "docdb")], ["docdb"], id="unknown-environment-default-1-day"),
    Case("docdb-backup-retention", [R(DOCDB, "docdb", backupRetentionPeriod=1)], [], env="dev"),
    Case("docdb-audit-logs", [R(DOCDB, "docdb", enabledCloudwatchLogsExports=["profiler"])], ["docdb"]),
    Case("docdb-audit-logs", [R(DOCDB, "docdb", enabledCloudwatchLogsExports=["audit", "profiler"])], []),
    Case("docdb-tls-enabled", [cpg, R(DOCDB, "docdb", deps={"dbClusterParameterGroupName": [cpg]},
                                      dbClusterParameterGroupName=UNKNOWN)], ["docdb"]),
    Case("docdb-tls-enabled", [R(DOCDB, "docdb"), R(DOCDB, "other", dbClusterParameterGroupName="docdb-params",
                                                    ), R(
        "aws:docdb/clusterParameterGroup:ClusterParameterGroup", "p2", name="docdb-params",
        parameters=[{"name": "tls", "value": "enabled"}])], []),
    # ---- BigQuery -------------------------------------------------------------------------------------------------
    Case("bigquery-dataset-not-public", [R(DATASET, "ds", accesses=[{"role": "READER",
                                                                    "specialGroup": "allAuthenticatedUsers"}]),
                                         R("gcp:bigquery/datasetAccess:DatasetAccess", "acc", datasetId="ds",
                                           role="READER", iamMember="allUsers")], ["acc", "ds"]),
    Case("bigquery-dataset-not-public", [R(DATASET, "ds", accesses=[{"role": "OWNER", "specialGroup": "projectOwners"},
                                                                   {"role": "READER",
                                                                    "groupByEmail": "analysts@example.com"}])], []),
    Case("gcp-iam-no-public-members", [R("gcp:bigquery/datasetIamMember:DatasetIamMember", "m", datasetId="ds",
                                         role="roles/bigquery.dataViewer", member="allUsers")], ["m"],
         id="bigquery-iam"),
    Case("bigquery-dataset-cmek", [R(DATASET, "ds")], ["ds"]),
    Case("bigquery-dataset-cmek", [R(DATASET, "ds", defaultEncryptionConfiguration={"kmsKeyName": "projects/p/k"})],
         []),
    Case("s3-bucket-no-public-acl", [R("aws:s3/bucketAclV2:BucketAclV2", "acl", acl="public-read")], ["acl"],
         id="acl-v2"),
    # ---- literal database passwords ---------------------------------------------------------------------------
    Case("db-password-not-literal", [R("aws:rds/instance:Instance", "db", password="hunter2hunter2"),
                                     R("aws:rds/cluster:Cluster", "aurora", masterPassword="Passw0rd!"),
                                     R("gcp:sql/user:User", "user", password="changeme123"),
                                     R("aws:elasticache/replicationGroup:ReplicationGroup", "redis",
                                       authToken="a-long-redis-auth-token"),
                                     R("aws:mq/broker:Broker", "mq",
                                       users=[{"username": "a", "password": "pw12345678"}])],
         ["aurora", "db", "mq", "redis", "user"]),
    Case("db-password-not-literal", [
        R("aws:rds/instance:Instance", "managed", manageMasterUserPassword=True),
        R("aws:rds/instance:Instance", "computed", password=UNKNOWN),
        R("aws:rds/instance:Instance", "generated", password="x7Gk2pQ",
          deps={"password": [R("random:index/randomPassword:RandomPassword", "pw")]}),
        R("aws:rds/cluster:Cluster", "from-config", masterPassword="s3cr3t-from-config"),
        R("gcp:sql/user:User", "iam-user", type="CLOUD_IAM_SERVICE_ACCOUNT"),
        R("aws:secretsmanager/secretVersion:SecretVersion", "doc",
          secretString=json.dumps({"username": "app", "password": "s3cr3t-from-config"})),
        R("gcp:secretmanager/secretVersion:SecretVersion", "unknown", secretData=UNKNOWN)],
        [], stack_config={"proj:dbPassword": "s3cr3t-from-config"}),
    Case("db-password-not-literal", [
        R("aws:secretsmanager/secretVersion:SecretVersion", "sv", secretString='{"password": "hunter2hunter2"}'),
        R("gcp:secretmanager/secretVersion:SecretVersion", "gsv", secretData="sk_live_abcdefgh")], ["gsv", "sv"],
         id="secret-versions"),
    # ---- EKS ------------------------------------------------------------------------------------------------------
    Case("eks-endpoint-not-public", [R(EKS, "eks", vpcConfig={"subnetIds": ["a"]}),
                                     R(EKS, "world", vpcConfig={"endpointPublicAccess": True,
                                                                "publicAccessCidrs": ["0.0.0.0/0"]})],
         ["eks", "world"]),
    Case("eks-endpoint-not-public", [R(EKS, "private", vpcConfig={"endpointPublicAccess": False,
                                                                  "endpointPrivateAccess": True}),
                                     R(EKS, "office", vpcConfig={"endpointPublicAccess": True,
                                                                 "publicAccessCidrs": ["203.0.113.0/24"]})], []),
    Case("eks-secrets-encryption", [R(EKS, "eks")], ["eks"]),
    Case("eks-secrets-encryption", [R(EKS, "eks", encryptionConfig={"resources": ["secrets"],
                                                                    "provider": {"keyArn": "arn:aws:kms:x"}})], []),
    Case("eks-control-plane-logging", [R(EKS, "eks", enabledClusterLogTypes=["api"]), R(EKS, "none")],
         ["eks", "none"]),
    Case("eks-control-plane-logging", [R(EKS, "eks", enabledClusterLogTypes=[
        "api", "audit", "authenticator", "controllerManager", "scheduler"])], []),
    # ---- GKE ------------------------------------------------------------------------------------------------------
    Case("gke-private-nodes", [R(GKE, "gke")], ["gke"]),
    Case("gke-private-nodes", [R(GKE, "gke", privateClusterConfig={"enablePrivateNodes": True})], []),
    Case("gke-private-nodes", [gke_pools := R(GKE, "pools", name="pools", removeDefaultNodePool=True),
                               R("gcp:container/nodePool:NodePool", "np", deps={"cluster": [gke_pools]},
                                 cluster=UNKNOWN, networkConfig={"enablePrivateNodes": True})], [],
         id="private-node-pools"),
    Case("gke-private-nodes", [gke_pub := R(GKE, "pools", name="pools", removeDefaultNodePool=True),
                               R("gcp:container/nodePool:NodePool", "np", deps={"cluster": [gke_pub]},
                                 cluster=UNKNOWN, networkConfig={"enablePrivateNodes": False})], ["pools"],
         id="public-node-pool"),
    Case("gke-control-plane-restricted", [R(GKE, "gke"), R(GKE, "world", masterAuthorizedNetworksConfig={
        "cidrBlocks": [{"cidrBlock": "0.0.0.0/0"}]})], ["gke", "world"]),
    Case("gke-control-plane-restricted", [R(GKE, "gke", masterAuthorizedNetworksConfig={
        "cidrBlocks": [{"cidrBlock": "10.0.0.0/8", "displayName": "vpc"}]}),
        R(GKE, "private", privateClusterConfig={"enablePrivateEndpoint": True}),
        R(GKE, "dns-only", controlPlaneEndpointsConfig={"ipEndpointsConfig": {"enabled": False}})], []),
    Case("gke-legacy-abac-disabled", [R(GKE, "gke", enableLegacyAbac=True)], ["gke"]),
    Case("gke-legacy-abac-disabled", [R(GKE, "gke", enableLegacyAbac=False)], []),
    Case("gke-network-policy", [R(GKE, "gke")], ["gke"]),
    Case("gke-network-policy", [R(GKE, "dpv2", datapathProvider="ADVANCED_DATAPATH"),
                                R(GKE, "calico", networkPolicy={"enabled": True, "provider": "CALICO"}),
                                R(GKE, "ap", enableAutopilot=True)], []),
    Case("gke-shielded-nodes", [R(GKE, "gke", enableShieldedNodes=False)], ["gke"]),
    Case("gke-shielded-nodes", [R(GKE, "gke"), R(GKE, "on", enableShieldedNodes=True)], []),
    Case("gke-workload-identity", [R(GKE, "gke")], ["gke"]),
    Case("gke-workload-identity", [R(GKE, "gke", workloadIdentityConfig={"workloadPool": "p.svc.id.goog"})], []),
    Case("gke-logging-monitoring", [R(GKE, "gke", loggingService="none"),
                                    R(GKE, "empty", loggingConfig={"enableComponents": []})], ["empty", "gke"]),
    Case("gke-logging-monitoring", [R(GKE, "gke", loggingConfig={"enableComponents": ["SYSTEM_COMPONENTS",
                                                                                       "WORKLOADS"]})], []),
]


def _case_id(c: Case) -> str:
    return f"{c.policy}-{'violates' if c.expect else 'complies'}{'-' + c.id if c.id else ''}"


@pytest.mark.parametrize("case", EXTRA_CASES, ids=[_case_id(c) for c in EXTRA_CASES])
def test_policy_case(case: Case) -> None:
    assert judge(case) == sorted(case.expect)


def test_known_credential_formats_are_not_flagged_on_references() -> None:
    case = Case("lambda-no-plaintext-secrets", [R(LAMBDA, "f", environment={"variables": {
        "KEY_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:stripe", "REGION": "eu-west-1",
        "CONFIG": json.dumps({"mode": "x"})}})], [])
    assert judge(case) == []
