"""Insecure AWS programs: each function declares resources; ``PROGRAMS`` maps name -> (fn, expected, config)."""

from __future__ import annotations

import base64
import json

import pulumi
import pulumi_aws as aws

PROD = {"insecure:environment": "prod"}
DEV = {"insecure:environment": "dev"}


def public_bucket() -> None:
    """A website bucket made public three ways, with no block, no encryption and no versioning."""
    b = aws.s3.Bucket("site", bucket="insecure-site", force_destroy=True)
    aws.s3.BucketOwnershipControls("site-ownership", bucket=b.id, rule={"object_ownership": "ObjectWriter"})
    aws.s3.BucketAcl("site-acl", bucket=b.id, acl="public-read")
    aws.s3.BucketPolicy("site-policy", bucket=b.id, policy=pulumi.Output.json_dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": pulumi.Output.concat(b.arn, "/*")}],
    }))


def open_database() -> None:
    """Postgres 14 on the internet, unencrypted, no backups, default parameter group, unprotected in prod."""
    aws.rds.Instance("db", engine="postgres", engine_version="14.10", instance_class="db.t4g.micro",
                     allocated_storage=20, username="app", password="not-in-code-please",
                     publicly_accessible=True, storage_encrypted=False, backup_retention_period=0,
                     skip_final_snapshot=True)


def world_ssh() -> None:
    """SSH and Postgres open to the world; a public VM with IMDSv1, an unencrypted root volume, secrets in user
    data."""
    sg = aws.ec2.SecurityGroup("bastion-sg", ingress=[{"protocol": "tcp", "from_port": 22, "to_port": 22,
                                                       "cidr_blocks": ["0.0.0.0/0"]}])
    aws.vpc.SecurityGroupIngressRule("pg-anywhere", security_group_id=sg.id, ip_protocol="tcp", from_port=5432,
                                     to_port=5432, cidr_ipv6="::/0")
    aws.ec2.Instance("bastion", ami="ami-123", instance_type="t3.micro", associate_public_ip_address=True,
                     vpc_security_group_ids=[sg.id], user_data="#!/bin/bash\nexport DB_PASSWORD=hunter2hunter2\n")
    aws.ec2.LaunchTemplate("workers", image_id="ami-123", instance_type="t3.micro",
                           metadata_options={"http_tokens": "optional"},
                           network_interfaces=[{"associate_public_ip_address": "true"}],
                           user_data=base64.b64encode(b"API_TOKEN=abcd1234efgh\n").decode())


def admin_workload() -> None:
    """A role anyone can assume, with AdministratorAccess and a hand-written * on * policy."""
    role = aws.iam.Role("worker", assume_role_policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}))
    aws.iam.RolePolicyAttachment("worker-admin", role=role.name,
                                 policy_arn="arn:aws:iam::aws:policy/AdministratorAccess")
    aws.iam.Policy("everything", policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    aws.iam.RolePolicy("worker-s3", role=role.id, policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::data/*"}]}))


def leaky_container() -> None:
    """A privileged root container with a literal database password, tasks with public IPs, no image scanning."""
    aws.ecr.Repository("app-repo", image_tag_mutability="MUTABLE")
    td = aws.ecs.TaskDefinition("app-task", family="app", cpu="256", memory="512", network_mode="awsvpc",
                                requires_compatibilities=["FARGATE"], container_definitions=json.dumps([{
                                    "name": "app", "image": "nginx", "privileged": True, "user": "root",
                                    "environment": [{"name": "DB_PASSWORD", "value": "s3cr3t-pa55"},
                                                    {"name": "DATABASE_URL",
                                                     "value": "postgres://app:s3cr3t@db:5432/app"}]}]))
    aws.ecs.Service("app-svc", cluster="arn:aws:ecs:us-east-1:123456789012:cluster/c", task_definition=td.arn,
                    desired_count=1, launch_type="FARGATE",
                    network_configuration={"subnets": ["subnet-1"], "assign_public_ip": True})


def plain_http_alb() -> None:
    """An ALB serving plain HTTP, an HTTPS listener on a 2016 TLS policy, no access logs, no deletion protection."""
    lb = aws.lb.LoadBalancer("web", load_balancer_type="application", subnets=["subnet-1", "subnet-2"])
    aws.lb.Listener("web-http", load_balancer_arn=lb.arn, port=80, protocol="HTTP",
                    default_actions=[{"type": "forward", "target_group_arn": "arn:tg"}])
    aws.lb.Listener("web-https", load_balancer_arn=lb.arn, port=443, protocol="HTTPS", certificate_arn="arn:cert",
                    ssl_policy="ELBSecurityPolicy-2016-08",
                    default_actions=[{"type": "forward", "target_group_arn": "arn:tg"}])


def unencrypted_data() -> None:
    """Data and logs kept without encryption, rotation, retention or validation; a VPC with no flow logs."""
    vpc = aws.ec2.Vpc("main", cidr_block="10.0.0.0/16")
    aws.ec2.DefaultSecurityGroup("main-default", vpc_id=vpc.id, ingress=[{"protocol": "-1", "self": True,
                                                                          "from_port": 0, "to_port": 0}])
    aws.elasticache.ReplicationGroup("sessions", description="sessions", engine="redis", node_type="cache.t4g.micro",
                                     num_cache_clusters=1)
    aws.sns.Topic("alerts")
    aws.elasticache.User("sessions-default", user_id="sessions-default", user_name="default", engine="redis",
                         access_string="on ~* +@all", authentication_mode={"type": "no-password-required"})
    aws.secretsmanager.Secret("api-key")
    aws.acm.Certificate("legacy-cert", domain_name="legacy.example.com", validation_method="DNS",
                        key_algorithm="RSA_1024")
    aws.cloudwatch.LogGroup("app-logs")
    aws.kms.Key("data-key", description="data")
    aws.ebs.Volume("scratch", availability_zone="us-east-1a", size=10)
    aws.ssm.Parameter("db-password", name="/app/db/password", type="String", value="plaintext-pw")
    aws.cloudtrail.Trail("trail", s3_bucket_name="trail-bucket")
    aws.dynamodb.Table("orders", hash_key="id", attributes=[{"name": "id", "type": "S"}],
                       billing_mode="PAY_PER_REQUEST")



def weak_identity() -> None:
    """A prod user pool without MFA or deletion protection, a browser client with a secret, the implicit flow and
    day-long tokens, an admin route with no sign-in, and a secret that never rotates."""
    pool = aws.cognito.UserPool("users", mfa_configuration="OFF", deletion_protection="INACTIVE")
    aws.cognito.UserPoolClient("spa", user_pool_id=pool.id, generate_secret=True, allowed_oauth_flows=["implicit"],
                               allowed_oauth_flows_user_pool_client=True, callback_urls=["http://localhost:3000/cb"],
                               access_token_validity=24, id_token_validity=24, refresh_token_validity=3650,
                               token_validity_units={"access_token": "hours", "id_token": "hours",
                                                     "refresh_token": "days"})
    aws.lb.ListenerRule("admin", listener_arn="arn:aws:elasticloadbalancing:us-east-1:1:listener/app/x/1/2",
                        priority=5, conditions=[{"path_pattern": {"values": ["/admin/*"]}}],
                        actions=[{"type": "forward", "target_group_arn": "arn:aws:elasticloadbalancing:tg"}])
    aws.secretsmanager.Secret("api-key", name="api-key")

PROGRAMS = {
    "aws-public-bucket": (public_bucket, [
        ("s3-bucket-no-public-acl", "site-acl"), ("s3-bucket-policy-not-public", "site-policy"),
        ("s3-bucket-public-access-block", "site"), ("s3-bucket-encryption", "site"),
        ("s3-bucket-versioning", "site"), ("s3-bucket-acls-disabled", "site-ownership"),
        ("prod-stateful-protected", "site"),
    ], PROD),
    "aws-open-database": (open_database, [
        ("rds-not-public", "db"), ("rds-storage-encrypted", "db"), ("rds-backup-retention", "db"),
        ("rds-ssl-enforced", "db"), ("rds-deletion-protection", "db"), ("rds-final-snapshot", "db"),
        ("prod-stateful-protected", "db"),
    ], PROD),
    "aws-world-ssh": (world_ssh, [
        ("sg-no-world-ingress", "bastion-sg"), ("sg-no-world-ingress", "pg-anywhere"),
        ("ec2-instance-no-public-ip", "bastion"), ("ec2-instance-no-public-ip", "workers"),
        ("ec2-imdsv2-required", "bastion"), ("ec2-imdsv2-required", "workers"),
        ("ec2-root-volume-encrypted", "bastion"), ("ec2-user-data-no-secrets", "bastion"),
        ("ec2-user-data-no-secrets", "workers"),
    ], DEV),
    "aws-admin-workload": (admin_workload, [
        ("iam-no-wildcard-principal", "worker"), ("iam-no-admin-policy-on-workloads", "worker-admin"),
        ("iam-no-star-action-star-resource", "everything"), ("iam-no-service-wildcard-actions", "worker-s3"),
    ], DEV),
    "aws-leaky-container": (leaky_container, [
        ("ecs-task-no-privileged", "app-task"), ("ecs-task-non-root-user", "app-task"),
        ("ecs-task-readonly-root", "app-task"), ("ecs-task-no-plaintext-secrets", "app-task"),
        ("ecs-service-no-public-ip", "app-svc"), ("ecr-scan-on-push", "app-repo"), ("ecr-immutable-tags", "app-repo"),
    ], DEV),
    "aws-plain-http-alb": (plain_http_alb, [
        ("lb-listener-https-only", "web-http"), ("lb-listener-tls-policy", "web-https"), ("lb-access-logs", "web"),
        ("lb-drop-invalid-headers", "web"), ("lb-deletion-protection", "web"), ("lb-waf-in-prod", "web"),
    ], PROD),
    "aws-unencrypted-data": (unencrypted_data, [
        ("vpc-flow-logs-enabled", "main"), ("vpc-default-security-group-closed", "main-default"),
        ("elasticache-encryption-at-rest", "sessions"), ("elasticache-transit-encryption", "sessions"),
        ("elasticache-auth-enabled", "sessions"), ("sns-topic-encrypted", "alerts"),
        ("elasticache-user-requires-auth", "sessions-default"), ("secretsmanager-secret-cmk", "api-key"),
        ("acm-certificate-strong-key", "legacy-cert"),
        ("log-group-encrypted", "app-logs"), ("log-group-retention", "app-logs"),
        ("kms-key-rotation-enabled", "data-key"), ("ebs-volume-encrypted", "scratch"),
        ("ssm-parameter-secure-string", "db-password"), ("cloudtrail-log-validation", "trail"),
        ("cloudtrail-encrypted", "trail"), ("dynamodb-pitr-enabled", "orders"), ("required-tags", "orders"),
    ], DEV),
    "aws-weak-identity": (weak_identity, [
        ("cognito-mfa-in-prod", "users"), ("cognito-deletion-protection", "users"),
        ("cognito-no-implicit-flow", "spa"), ("cognito-public-client-secret", "spa"),
        ("cognito-token-lifetime", "spa"), ("cognito-refresh-token-lifetime", "spa"),
        ("lb-admin-routes-authenticated", "admin"), ("secretsmanager-rotation", "api-key"),
    ], PROD),
}
