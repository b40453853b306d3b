"""Bucket: companion resources, TLS-only policy, lifecycle, access logging, log-bucket mode, exact grants."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest
from helpers import doc_example, documents_every_argument

from components.aws.bucket import Bucket, BucketArgs
from components.aws.common import service_principal_policy
from components.aws.kms import EncryptionKey
from review.engine import run_callable

DOC = Path(__file__).resolve().parent.parent / "docs" / "components" / "bucket.md"
BUCKET = "aws:s3/bucket:Bucket"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
KEY = "aws:kms/key:Key"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def role(name: str = "app-task") -> aws.iam.Role:
    return aws.iam.Role(name, assume_role_policy=service_principal_policy("ecs-tasks.amazonaws.com"))


def policy_doc(g, name):
    return json.loads(g.by_name(name, POLICY).inputs["policy"])


@pytest.fixture(scope="module")
def dev():
    def prog():
        b = Bucket("assets")
        r = role()
        b.grant_read(r)
        b.grant_read_write(r)
        pulumi.export("name", b.name)
    return run_callable(prog)


def test_defaults_private_versioned_encrypted(dev):
    comp = dev.by_name("assets", "backend:aws:Bucket")
    kids = dev.children(comp, recursive=True)
    assert {r.type for r in kids} >= {BUCKET, PAB, OWNERSHIP, VERSIONING, SSE, POLICY, LIFECYCLE, KEY}
    assert dev.by_type(LOGGING) == []
    bucket = dev.by_name("assets", BUCKET)
    name = bucket.id
    assert bucket.inputs["forceDestroy"] is True  # not protected: a dev stack destroys cleanly
    assert bucket.options["protect"] is False
    assert dev.inputs("assets", PAB) == {"bucket": name, "blockPublicAcls": True, "blockPublicPolicy": True,
                                         "ignorePublicAcls": True, "restrictPublicBuckets": True}
    assert dev.inputs("assets", OWNERSHIP)["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    assert dev.inputs("assets", VERSIONING)["versioningConfiguration"] == {"status": "Enabled"}
    key_arn = dev.by_name("assets-key", KEY).outputs["arn"]
    assert dev.inputs("assets", SSE)["rules"] == [{
        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn},
        "bucketKeyEnabled": True}]
    [rule] = dev.inputs("assets", LIFECYCLE)["rules"]
    assert rule == {"id": "default", "status": "Enabled", "filter": {"prefix": ""},
                    "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7},
                    "noncurrentVersionExpiration": {"noncurrentDays": 30},
                    "expiration": {"expiredObjectDeleteMarker": True}}
    assert dev.outputs["name"] == name


def test_policy_is_one_resource_denying_plain_http(dev):
    assert len(dev.by_type(POLICY)) == 1
    arn = dev.by_name("assets", BUCKET).outputs["arn"]
    assert policy_doc(dev, "assets")["Statement"] == [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]
    pol = dev.by_name("assets", POLICY)
    assert set(pol.options["dependsOn"]) == {dev.by_name("assets", PAB).urn, dev.by_name("assets", OWNERSHIP).urn}


def test_grant_read_and_read_write_statements(dev):
    arn = dev.by_name("assets", BUCKET).outputs["arn"]
    key_arn = dev.by_name("assets-key", KEY).outputs["arn"]
    via = {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    read = json.loads(dev.by_name("assets-read-app-task", ROLE_POLICY).inputs["policy"])["Statement"]
    assert read == [
        {"Sid": "ReadObjects", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{arn}/*"},
        {"Sid": "ListBucket", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": arn},
        {"Sid": "UseBucketKeyThroughS3", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key_arn,
         "Condition": via},
    ]
    rw = json.loads(dev.by_name("assets-read-write-app-task", ROLE_POLICY).inputs["policy"])["Statement"]
    assert rw == [
        {"Sid": "ReadWriteObjects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": f"{arn}/*"},
        {"Sid": "ListBucket", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": arn},
        {"Sid": "UseBucketKeyThroughS3", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": key_arn, "Condition": via},
    ]
    role_id = dev.by_name("app-task", "aws:iam/role:Role").id
    assert all(p.inputs["role"] == role_id for p in dev.by_type(ROLE_POLICY))


def test_prod_protect_and_no_force_destroy(run_program):
    g = run_program(lambda: Bucket("assets", BucketArgs(protect=True, bucket_name="app-prod-assets")))
    bucket = g.by_name("assets", BUCKET)
    assert bucket.options["protect"] is True and bucket.inputs["forceDestroy"] is False
    assert bucket.inputs["bucket"] == "app-prod-assets"
    assert g.by_name("assets-key", KEY).options["protect"] is True


def test_lifecycle_options_and_given_key(run_program):
    g = run_program(lambda: Bucket("assets", BucketArgs(noncurrent_version_days=90, transition_to_ia_days=60,
                                                        abort_incomplete_upload_days=3, expire_days=400,
                                                        kms_key=KEY_ARN)))
    [rule] = g.inputs("assets", LIFECYCLE)["rules"]
    assert rule["transitions"] == [{"days": 60, "storageClass": "STANDARD_IA"}]
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 90}
    assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 3}
    assert rule["expiration"] == {"days": 400}
    assert g.by_type(KEY) == []
    assert g.inputs("assets", SSE)["rules"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == KEY_ARN


def test_access_logging_to_a_log_bucket(run_program):
    def prog():
        logs = Bucket("logs", BucketArgs(encryption="s3", log_delivery=["s3", "alb"], expire_days=90))
        Bucket("assets", BucketArgs(access_log_bucket=logs))
        Bucket("uploads", BucketArgs(access_log_bucket="external-log-bucket", access_log_prefix="s3/uploads/"))
        logs.grant_read(role())
    g = run_program(prog)
    log_name = g.by_name("logs", BUCKET).id
    logging = g.by_name("assets", LOGGING).inputs
    assert logging["targetBucket"] == log_name and logging["targetPrefix"] == "assets/"
    assert logging["bucket"] == g.by_name("assets", BUCKET).id
    assert g.inputs("uploads", LOGGING)["targetBucket"] == "external-log-bucket"
    assert g.inputs("uploads", LOGGING)["targetPrefix"] == "s3/uploads/"
    # the log bucket: SSE-S3, no key of its own, statements for both deliveries
    assert g.inputs("logs", SSE)["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"},
                                               "bucketKeyEnabled": False}]
    assert g.find("logs-key", KEY) is None
    arn = g.by_name("logs", BUCKET).outputs["arn"]
    sids = {s["Sid"]: s for s in policy_doc(g, "logs")["Statement"]}
    assert sids["S3ServerAccessLogsFromThisAccount"] == {
        "Sid": "S3ServerAccessLogsFromThisAccount", "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject", "Resource": f"{arn}/*",
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}
    alb_objects = f"{arn}/alb/AWSLogs/123456789012/*"
    assert sids["LoadBalancerLogsLegacyRegions"]["Principal"] == {"AWS": "arn:aws:iam::127311923021:root"}
    assert sids["LoadBalancerLogsLegacyRegions"]["Resource"] == alb_objects
    assert sids["LoadBalancerLogsDelivery"]["Principal"] == {
        "Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    assert all(s["Action"] == "s3:PutObject" for sid, s in sids.items() if sid != "DenyInsecureTransport")
    # an SSE-S3 bucket's grant has no KMS statement
    read = json.loads(g.by_name("logs-read-app-task", ROLE_POLICY).inputs["policy"])["Statement"]
    assert [s["Sid"] for s in read] == ["ReadObjects", "ListBucket"]
    assert g.inputs("logs", LIFECYCLE)["rules"][0]["expiration"] == {"days": 90}


def test_extra_policy_statements_are_merged(run_program):
    extra = {"Sid": "DenyOutsideOrg", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": "arn:aws:s3:::x/*", "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-123"}}}
    g = run_program(lambda: Bucket("assets", BucketArgs(policy_statements=[extra])))
    assert [s["Sid"] for s in policy_doc(g, "assets")["Statement"]] == ["DenyInsecureTransport", "DenyOutsideOrg"]


def test_shared_encryption_key(run_program):
    def prog():
        key = EncryptionKey("shared")
        Bucket("assets", BucketArgs(kms_key=key))
    g = run_program(prog)
    rule = g.inputs("assets", SSE)["rules"][0]["applyServerSideEncryptionByDefault"]
    assert rule["kmsMasterKeyId"] == g.by_name("shared", KEY).outputs["arn"]
    assert len(g.by_type(KEY)) == 1


@pytest.mark.parametrize("kw", [
    {"protect": True, "force_destroy": True}, {"transition_to_ia_days": 10}, {"log_delivery": ["s3"]},
    {"encryption": "s3", "kms_key": KEY_ARN}, {"log_delivery": ["cloudfront"], "encryption": "s3"},
    {"bucket_name": "Not_A_Bucket"}, {"noncurrent_version_days": 0},
    {"transition_to_ia_days": 60, "expire_days": 30},
    {"policy_statements": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]},
    {"policy_statements": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject"}]},
])
def test_invalid_arguments(run_program, kw):
    with pytest.raises(Exception, match="assets:"):
        run_program(lambda: Bucket("assets", BucketArgs(**kw)))


def test_doc_example_runs_and_documents_every_argument(run_program):
    g = run_program(doc_example(DOC))
    assert len(g.by_type(BUCKET)) == 2 and g.by_type(LOGGING) and g.outputs["assets_bucket"]
    assert not documents_every_argument(DOC, BucketArgs)
