"""Service: repository, cluster, task definition, least-privilege roles, closed security group, scaling, wiring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import doc_example, documents_every_argument

from components.aws.load_balancer import ApiRoute, LoadBalancer, LoadBalancerArgs
from components.aws.network import Network, NetworkArgs
from components.aws.service import Service, ServiceArgs, secret_resource_arn

DOC = Path(__file__).resolve().parent.parent / "docs" / "components" / "service.md"

INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
POLICY = "aws:appautoscaling/policy:Policy"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
PARAM = "arn:aws:ssm:us-east-1:123456789012:parameter/app/key"
KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
CUSTOM = {
    "secrets": {"DB_PASSWORD": f"{SECRET}:password::", "API_KEY": PARAM}, "secrets_kms_key_arn": KEY,
    "environment": {"LOG_LEVEL": "info"}, "kms_key_arn": KEY, "egress_vpc_ports": [5432], "cpu": 1024,
    "memory": 2048, "architecture": "x86_64", "desired_count": 3, "min_count": 3, "max_count": 20,
    "image_managed_externally": True, "image": "example/app:1.2.3",
}
"""One program exercising every option that changes the shape but not the wiring."""


_CACHE: dict[str, tuple] = {}


def svc(run_program, nat="none", with_lb=True, wire=True, routes=None, **kw):
    """Network + load balancer + service; graphs are cached per arguments (tests only read them)."""
    key = repr((nat, with_lb, wire, routes, sorted(kw.items())))
    if key not in _CACHE:
        _CACHE[key] = _svc(run_program, nat, with_lb, wire, routes, **kw)
    return _CACHE[key]


def _svc(run_program, nat, with_lb, wire, routes, **kw):
    holder = {}

    def prog():
        network = Network("net", NetworkArgs(nat_strategy=nat))
        lb = None
        if with_lb:
            lb = LoadBalancer("web", LoadBalancerArgs(network=network, api_routes=routes or [ApiRoute("v1")]))
        s = Service("api", ServiceArgs(network=network, load_balancer=lb, **kw))
        if wire and lb is not None:
            s.allow_from(lb)
        holder.update(net=network, lb=lb, svc=s)

    return run_program(prog), holder


def container(g):
    [c] = json.loads(g.by_name("api-task", "aws:ecs/taskDefinition:TaskDefinition").inputs["containerDefinitions"])
    return c


def execution_policy(g):
    return json.loads(g.by_name("api-execution", "aws:iam/rolePolicy:RolePolicy").inputs["policy"])


def test_defaults(run_program):
    g, _ = svc(run_program, with_lb=False)
    comp = g.by_name("api", "backend:aws:Service")
    assert all(r.parent == comp.urn for r in g.children(comp, recursive=True))
    repo = g.by_name("api-repo", "aws:ecr/repository:Repository").inputs
    assert repo["imageTagMutability"] == "IMMUTABLE" and repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["encryptionConfigurations"] == [{"encryptionType": "KMS"}]
    lifecycle = json.loads(g.by_name("api-repo", "aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])
    assert lifecycle["rules"][0]["selection"]["countNumber"] == 20
    assert g.inputs("api-cluster")["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    td = g.by_name("api-task", "aws:ecs/taskDefinition:TaskDefinition").inputs
    assert td["requiresCompatibilities"] == ["FARGATE"] and td["networkMode"] == "awsvpc"
    assert (td["cpu"], td["memory"]) == ("256", "512")
    assert td["runtimePlatform"] == {"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"}
    c = container(g)
    assert c["image"] == "public.ecr.aws/nginx/nginx:stable-alpine"
    assert c["readonlyRootFilesystem"] is True and c["user"] == "1000:1000" and c["privileged"] is False
    assert c["portMappings"][0]["containerPort"] == 8080
    assert "/healthz" in c["healthCheck"]["command"][1]
    assert c["logConfiguration"]["options"]["awslogs-group"] == g.by_name(
        "api-logs", "aws:cloudwatch/logGroup:LogGroup").outputs["name"]
    assert c["mountPoints"] == [{"sourceVolume": "scratch-tmp", "containerPath": "/tmp", "readOnly": False}]
    assert g.by_name("api-logs", "aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] == 7
    service = g.by_name("api-service", "aws:ecs/service:Service")
    assert service.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert service.inputs["launchType"] == "FARGATE" and service.inputs["desiredCount"] == 1
    assert service.options["ignoreChanges"] == ["desiredCount"]
    assert "loadBalancers" not in service.inputs
    # Without a load balancer only CPU and memory policies exist.
    assert sorted(p.name for p in g.by_type(POLICY)) == ["api-cpu", "api-memory"]
    # The task role starts empty: no inline or attached policy names it.
    task_role = g.by_name("api-task", "aws:iam/role:Role")
    assert not [p for p in g.by_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == task_role.outputs["name"]]
    assert not g.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert "managedPolicyArns" not in task_role.inputs
    # Only ECS tasks of this account may assume either role (confused-deputy conditions).
    for role in (task_role, g.by_name("api-execution", "aws:iam/role:Role")):
        assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [{
            "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"},
                          "ArnLike": {"aws:SourceArn": "arn:aws:ecs:us-east-1:123456789012:*"}}}]


def test_security_group_egress_443_only_and_no_ingress_until_wired(run_program):
    g, _ = svc(run_program, with_lb=False)
    sg = g.by_name("api-tasks", "aws:ec2/securityGroup:SecurityGroup")
    assert not [r for r in g.by_type(INGRESS) if r.inputs["securityGroupId"] == sg.id]
    egress = [r.inputs for r in g.by_type(EGRESS) if r.inputs["securityGroupId"] == sg.id]
    assert [(e["fromPort"], e["toPort"], e["cidrIpv4"]) for e in egress] == [(443, 443, "0.0.0.0/0")]


def test_extra_vpc_egress_ports_are_scoped_to_the_vpc_cidr(run_program):
    g, _ = svc(run_program, with_lb=False, **CUSTOM)
    rule = g.by_name("api-tasks-vpc-5432", EGRESS).inputs
    assert (rule["fromPort"], rule["toPort"], rule["cidrIpv4"]) == (5432, 5432, "10.0.0.0/16")


def test_allow_from_load_balancer_opens_exactly_one_path(run_program):
    g, _ = svc(run_program, port=9000)
    sg = g.by_name("api-tasks", "aws:ec2/securityGroup:SecurityGroup")
    alb_sg = g.by_name("web-alb", "aws:ec2/securityGroup:SecurityGroup")
    ingress = [r.inputs for r in g.by_type(INGRESS) if r.inputs["securityGroupId"] == sg.id]
    assert ingress == [{"securityGroupId": sg.id, "ipProtocol": "tcp", "fromPort": 9000, "toPort": 9000,
                        "referencedSecurityGroupId": alb_sg.id, "description": "From load balancer web",
                        "tags": {"Name": "api-from-web"}}]
    alb_egress = [r.inputs for r in g.by_type(EGRESS) if r.inputs["securityGroupId"] == alb_sg.id]
    assert alb_egress == [{"securityGroupId": alb_sg.id, "ipProtocol": "tcp", "fromPort": 9000, "toPort": 9000,
                           "referencedSecurityGroupId": sg.id, "description": "To api on 9000",
                           "tags": {"Name": "web-to-api"}}]


@pytest.mark.parametrize(("nat", "public"), [("none", True), ("single", False)])
def test_public_ip_only_when_the_network_has_no_nat(run_program, nat, public):
    g, _ = svc(run_program, nat=nat, port=9000)
    netcfg = g.by_name("api-service", "aws:ecs/service:Service").inputs["networkConfiguration"]
    assert netcfg["assignPublicIp"] is public
    tier = "public" if public else "private"
    expected = {s.id for s in g.by_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["tier"] == tier}
    assert set(netcfg["subnets"]) == expected
    assert netcfg["securityGroups"] == [g.by_name("api-tasks", "aws:ec2/securityGroup:SecurityGroup").id]


def test_registers_in_primary_target_groups_and_scales_on_requests(run_program):
    g, _ = svc(run_program, routes=[ApiRoute("v1", canary_weight=5), ApiRoute("v2")], min_count=2, max_count=6,
               requests_per_target=500)
    service = g.by_name("api-service", "aws:ecs/service:Service")
    tgs = {k: tg.outputs["arn"] for k, tg in ((k, g.by_name(f"web-{k}", "aws:lb/targetGroup:TargetGroup"))
                                               for k in ("v1", "v2"))}
    assert service.inputs["loadBalancers"] == [
        {"targetGroupArn": tgs["v1"], "containerName": "app", "containerPort": 8080},
        {"targetGroupArn": tgs["v2"], "containerName": "app", "containerPort": 8080}]
    assert service.inputs["healthCheckGracePeriodSeconds"] == 60
    # The service waits for the listener and its rules (a target group must be attached to an ALB first).
    assert g.by_name("web-https", "aws:lb/listener:Listener").urn in service.options["dependsOn"]
    target = g.by_name("api-scaling", "aws:appautoscaling/target:Target").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (2, 6)
    policies = {p.name: p.inputs["targetTrackingScalingPolicyConfiguration"] for p in g.by_type(POLICY)}
    assert set(policies) == {"api-cpu", "api-memory", "api-requests"}
    assert policies["api-cpu"]["predefinedMetricSpecification"]["predefinedMetricType"] == \
        "ECSServiceAverageCPUUtilization"
    assert policies["api-memory"]["targetValue"] == 75
    req = policies["api-requests"]
    assert req["targetValue"] == 500
    assert req["predefinedMetricSpecification"]["predefinedMetricType"] == "ALBRequestCountPerTarget"
    lb = g.by_name("web-alb", "aws:lb/loadBalancer:LoadBalancer").outputs["arnSuffix"]
    tg = g.by_name("web-v1", "aws:lb/targetGroup:TargetGroup").outputs["arnSuffix"]
    assert req["predefinedMetricSpecification"]["resourceLabel"] == f"{lb}/{tg}"


def test_a_canary_service_registers_in_the_canary_group_only(run_program):
    holder = {}

    def prog():
        network = Network("net")
        lb = LoadBalancer("web", LoadBalancerArgs(network=network, api_routes=[ApiRoute("v1", canary_weight=10)]))
        holder["canary"] = Service("api-canary", ServiceArgs(network=network, load_balancer=lb,
                                                             target_groups=["v1-canary"]))

    g = run_program(prog)
    arn = g.by_name("web-v1-canary", "aws:lb/targetGroup:TargetGroup").outputs["arn"]
    lbs = g.by_name("api-canary-service", "aws:ecs/service:Service").inputs["loadBalancers"]
    assert [x["targetGroupArn"] for x in lbs] == [arn]


@pytest.mark.parametrize("external", [False, True])
def test_image_managed_externally_ignores_the_task_definition(run_program, external):
    g, _ = svc(run_program, with_lb=False, **CUSTOM) if external else svc(run_program, with_lb=False)
    ignore = g.by_name("api-service", "aws:ecs/service:Service").options["ignoreChanges"]
    assert ignore == (["desiredCount", "taskDefinition"] if external else ["desiredCount"])
    assert container(g)["image"] == ("example/app:1.2.3" if external else "public.ecr.aws/nginx/nginx:stable-alpine")


def test_execution_role_reads_exactly_the_listed_secrets(run_program):
    g, _ = svc(run_program, with_lb=False, **CUSTOM)
    c = container(g)
    assert c["secrets"] == [{"name": "API_KEY", "valueFrom": PARAM},
                            {"name": "DB_PASSWORD", "valueFrom": f"{SECRET}:password::"}]
    assert c["environment"] == [{"name": "LOG_LEVEL", "value": "info"}]
    repo = g.by_name("api-repo", "aws:ecr/repository:Repository")
    logs = g.by_name("api-logs", "aws:cloudwatch/logGroup:LogGroup")
    assert logs.inputs["kmsKeyId"] == KEY
    assert repo.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": KEY}]
    assert execution_policy(g)["Statement"] == [
        {"Sid": "EcrAuth", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "PullOwnImages", "Effect": "Allow",
         "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
         "Resource": repo.outputs["arn"]},
        {"Sid": "WriteOwnLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": [logs.outputs["arn"], f"{logs.outputs['arn']}:log-stream:*"]},
        {"Sid": "ReadListedSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": [SECRET]},
        {"Sid": "ReadListedParameters", "Effect": "Allow", "Action": "ssm:GetParameters", "Resource": [PARAM]},
        {"Sid": "DecryptListedSecrets", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY,
         "Condition": {"StringEquals": {"kms:ViaService": ["secretsmanager.us-east-1.amazonaws.com",
                                                           "ssm.us-east-1.amazonaws.com"]}}},
    ]


def test_without_secrets_the_execution_role_cannot_read_any(run_program):
    g, _ = svc(run_program, with_lb=False)
    sids = [s["Sid"] for s in execution_policy(g)["Statement"]]
    assert sids == ["EcrAuth", "PullOwnImages", "WriteOwnLogs"]


def test_secret_references_reduce_to_the_secret_arn():
    assert secret_resource_arn(f"{SECRET}:password::") == SECRET
    assert secret_resource_arn(f"{SECRET}:password:AWSCURRENT:") == SECRET
    assert secret_resource_arn(SECRET) == SECRET
    assert secret_resource_arn(PARAM) == PARAM


BOUNDARY = "arn:aws:iam::123456789012:policy/backend-hosting-boundary-prod"


def test_permissions_boundary_is_set_on_both_roles_only_when_given(run_program):
    g, _ = svc(run_program, with_lb=False, permissions_boundary=BOUNDARY)
    roles = {r.name: r.inputs.get("permissionsBoundary") for r in g.by_type("aws:iam/role:Role")}
    assert roles["api-task"] == BOUNDARY and roles["api-execution"] == BOUNDARY
    g, _ = svc(run_program, with_lb=False)
    assert all("permissionsBoundary" not in r.inputs for r in g.by_type("aws:iam/role:Role")
               if r.name.startswith("api-"))


def test_sizes_and_architecture(run_program):
    g, _ = svc(run_program, with_lb=False, **CUSTOM)
    td = g.by_name("api-task", "aws:ecs/taskDefinition:TaskDefinition").inputs
    assert (td["cpu"], td["memory"], td["runtimePlatform"]["cpuArchitecture"]) == ("1024", "2048", "X86_64")
    assert g.by_name("api-service", "aws:ecs/service:Service").inputs["desiredCount"] == 3


@pytest.mark.parametrize(("kw", "message"), [
    ({"environment": {"DB_PASSWORD": "hunter2"}}, "looks like a secret"),
    ({"secrets": {"DB_PASSWORD": "hunter2"}}, "must be a Secrets Manager or SSM ARN"),
    ({"min_count": 3, "max_count": 2}, "min_count"),
])
def test_bad_arguments_fail_early(kw, message):
    with pytest.raises(ValueError, match=message):
        ServiceArgs(network=None, **kw)  # type: ignore[arg-type]


def test_doc_example_runs_and_documents_every_argument(run_program):
    g = run_program(doc_example(DOC))
    assert g.outputs["repository_url"].endswith(".amazonaws.com/" + g.by_name(
        "api-repo", "aws:ecr/repository:Repository").outputs["name"])
    assert len(g.by_type(INGRESS)) == 4 + 1
    assert not documents_every_argument(DOC, ServiceArgs)
