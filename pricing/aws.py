"""AWS pricing rules: per resource type, the cost components its inputs (and the usage file) imply.

Input names are the engine's camelCase names of pulumi-aws 7. Charges that are not a resource of their own are
put on the resource that causes them: public IPv4 addresses (an internet-facing ALB has one per AZ, a Fargate task
with ``assignPublicIp`` one per task, an EIP one), the Secrets Manager secret RDS creates for a managed master
password, the autoscaling minimum of a Fargate service.
"""

from __future__ import annotations

import json
from typing import Any

from engine_values import UNKNOWN_VALUES, dig

from .estimator import Free, Pricing, free, num, pricer, truthy

# --------------------------------------------------------------------------------------------------------------
# Known-free types: no charge of their own (what they cause is priced on the resource that bills it).
# --------------------------------------------------------------------------------------------------------------
free("networking constructs without an hourly or data charge",
     "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/routeTable:RouteTable", "aws:ec2/route:Route",
     "aws:ec2/routeTableAssociation:RouteTableAssociation", "aws:ec2/internetGateway:InternetGateway",
     "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway", "aws:ec2/securityGroup:SecurityGroup",
     "aws:ec2/securityGroupRule:SecurityGroupRule", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
     "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
     "aws:ec2/defaultRouteTable:DefaultRouteTable", "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl",
     "aws:ec2/defaultVpc:DefaultVpc", "aws:ec2/networkAcl:NetworkAcl", "aws:ec2/networkAclRule:NetworkAclRule",
     "aws:ec2/networkAclAssociation:NetworkAclAssociation",
     "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation",
     "aws:ec2/vpcDhcpOptions:VpcDhcpOptions", "aws:ec2/vpcDhcpOptionsAssociation:VpcDhcpOptionsAssociation",
     "aws:ec2/eipAssociation:EipAssociation",
     "aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation",
     "aws:ec2/vpcEndpointSubnetAssociation:VpcEndpointSubnetAssociation", "aws:ec2/keyPair:KeyPair",
     "aws:ec2/placementGroup:PlacementGroup", "aws:ec2/launchTemplate:LaunchTemplate",
     "aws:ec2/networkInterface:NetworkInterface", "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation")
free("VPC flow logs are billed as log ingestion on their destination (the log group's usage)",
     "aws:ec2/flowLog:FlowLog")
free("IAM is free", *[f"aws:iam/{t}" for t in (
    "role:Role", "policy:Policy", "rolePolicy:RolePolicy", "rolePolicyAttachment:RolePolicyAttachment",
    "instanceProfile:InstanceProfile", "user:User", "group:Group", "userPolicy:UserPolicy",
    "groupPolicy:GroupPolicy", "userPolicyAttachment:UserPolicyAttachment",
    "groupPolicyAttachment:GroupPolicyAttachment", "policyAttachment:PolicyAttachment",
    "openIdConnectProvider:OpenIdConnectProvider", "serviceLinkedRole:ServiceLinkedRole",
    "groupMembership:GroupMembership", "rolePolicies:RolePolicies", "rolePoliciesExclusive:RolePoliciesExclusive",
    "rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", "accessKey:AccessKey")])
free("bucket settings resources; storage and requests are priced on the bucket",
     *[f"aws:s3/{t}" for t in (
         "bucketPolicy:BucketPolicy", "bucketPublicAccessBlock:BucketPublicAccessBlock",
         "bucketOwnershipControls:BucketOwnershipControls", "bucketVersioning:BucketVersioning",
         "bucketVersioningV2:BucketVersioningV2",
         "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
         "bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
         "bucketLifecycleConfiguration:BucketLifecycleConfiguration",
         "bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "bucketLogging:BucketLogging",
         "bucketLoggingV2:BucketLoggingV2", "bucketAcl:BucketAcl", "bucketAclV2:BucketAclV2",
         "bucketCorsConfiguration:BucketCorsConfiguration", "bucketCorsConfigurationV2:BucketCorsConfigurationV2",
         "bucketNotification:BucketNotification", "bucketWebsiteConfiguration:BucketWebsiteConfiguration",
         "bucketWebsiteConfigurationV2:BucketWebsiteConfigurationV2",
         "accountPublicAccessBlock:AccountPublicAccessBlock",
         "bucketObjectLockConfiguration:BucketObjectLockConfiguration",
         "bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
         "bucketRequestPaymentConfiguration:BucketRequestPaymentConfiguration",
         "bucketObject:BucketObject",
         "bucketObjectv2:BucketObjectv2")])
free("ECS control plane: clusters cost nothing; Fargate capacity is priced on the service, or for a task definition "
     "run as a job on the task definition", "aws:ecs/cluster:Cluster",
     "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders", "aws:ecs/accountSettingDefault:AccountSettingDefault")
free("SQS queue settings are free; requests are priced on the queue", "aws:sqs/queuePolicy:QueuePolicy",
     "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", "aws:sqs/redrivePolicy:RedrivePolicy")
free("Cloud Map HTTP namespaces (Service Connect names) have no hourly charge",
     "aws:servicediscovery/httpNamespace:HttpNamespace")
free("schedule groups are free; invocations are priced on the schedule", "aws:scheduler/scheduleGroup:ScheduleGroup")
free("load balancer configuration; hours and LCUs are priced on the load balancer",
     "aws:lb/targetGroup:TargetGroup", "aws:lb/listener:Listener", "aws:lb/listenerRule:ListenerRule",
     "aws:lb/targetGroupAttachment:TargetGroupAttachment", "aws:lb/listenerCertificate:ListenerCertificate",
     "aws:alb/targetGroup:TargetGroup", "aws:alb/listener:Listener", "aws:alb/listenerRule:ListenerRule",
     "aws:alb/targetGroupAttachment:TargetGroupAttachment")
free("Application Auto Scaling is free", "aws:appautoscaling/target:Target", "aws:appautoscaling/policy:Policy",
     "aws:appautoscaling/scheduledAction:ScheduledAction")
free("database and cache configuration objects", "aws:rds/subnetGroup:SubnetGroup",
     "aws:rds/parameterGroup:ParameterGroup", "aws:rds/clusterParameterGroup:ClusterParameterGroup",
     "aws:rds/optionGroup:OptionGroup", "aws:elasticache/subnetGroup:SubnetGroup",
     "aws:elasticache/parameterGroup:ParameterGroup", "aws:elasticache/user:User",
     "aws:elasticache/userGroup:UserGroup", "aws:elasticache/userGroupAssociation:UserGroupAssociation")
free("key aliases, grants and policies are free; keys are priced", "aws:kms/alias:Alias", "aws:kms/grant:Grant",
     "aws:kms/keyPolicy:KeyPolicy")
free("Lambda permissions are free; invocations are priced on the function", "aws:lambda/permission:Permission")
free("secret versions, policies and rotation settings are free; secrets are priced",
     "aws:secretsmanager/secretVersion:SecretVersion", "aws:secretsmanager/secretPolicy:SecretPolicy",
     "aws:secretsmanager/secretRotation:SecretRotation")
free("ECR policies are free; storage is priced on the repository", "aws:ecr/lifecyclePolicy:LifecyclePolicy",
     "aws:ecr/repositoryPolicy:RepositoryPolicy")
free("SNS topics cost nothing to keep; deliveries (alarm emails) are negligible and not modelled",
     "aws:sns/topic:Topic", "aws:sns/topicSubscription:TopicSubscription", "aws:sns/topicPolicy:TopicPolicy")
free("public ACM certificates are free", "aws:acm/certificate:Certificate",
     "aws:acm/certificateValidation:CertificateValidation")
free("AWS Budgets without budget actions are not charged", "aws:budgets/budget:Budget")
free("log group settings are free; ingestion and storage are priced on the log group",
     "aws:cloudwatch/logResourcePolicy:LogResourcePolicy", "aws:cloudwatch/logStream:LogStream",
     "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter", "aws:cloudwatch/logMetricFilter:LogMetricFilter",
     "aws:cloudwatch/eventRule:EventRule", "aws:cloudwatch/eventTarget:EventTarget",
     "aws:cloudwatch/logDataProtectionPolicy:LogDataProtectionPolicy")
free("WAF associations and logging settings are free; rule groups are counted as rules of the web ACL",
     "aws:wafv2/webAclAssociation:WebAclAssociation", "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
     "aws:wafv2/ruleGroup:RuleGroup", "aws:wafv2/ipSet:IpSet", "aws:wafv2/regexPatternSet:RegexPatternSet")
free("Cognito app clients, domains and resource servers are free; monthly active users are priced on the pool",
     "aws:cognito/userPoolClient:UserPoolClient", "aws:cognito/userPoolDomain:UserPoolDomain",
     "aws:cognito/resourceServer:ResourceServer", "aws:cognito/userGroup:UserGroup")
free("VPC Lattice networks, associations, target groups, listeners and policies are free; each service is priced",
     "aws:vpclattice/serviceNetwork:ServiceNetwork",
     "aws:vpclattice/serviceNetworkVpcAssociation:ServiceNetworkVpcAssociation",
     "aws:vpclattice/serviceNetworkServiceAssociation:ServiceNetworkServiceAssociation",
     "aws:vpclattice/targetGroup:TargetGroup", "aws:vpclattice/targetGroupAttachment:TargetGroupAttachment",
     "aws:vpclattice/listener:Listener", "aws:vpclattice/listenerRule:ListenerRule",
     "aws:vpclattice/authPolicy:AuthPolicy", "aws:vpclattice/resourcePolicy:ResourcePolicy",
     "aws:vpclattice/accessLogSubscription:AccessLogSubscription")
free("generated values live in the Pulumi state, not in a cloud", "random:index/randomPassword:RandomPassword",
     "random:index/randomString:RandomString", "random:index/randomId:RandomId")
free("IAM-side and account-level settings", "aws:ec2/ebsEncryptionByDefault:EbsEncryptionByDefault",
     "aws:ec2/serialConsoleAccess:SerialConsoleAccess", "aws:ec2/instanceMetadataDefaults:InstanceMetadataDefaults")


def _arch(value: Any) -> str:
    return "arm64" if str(value or "X86_64").upper() in ("ARM64", "ARM") else "x86_64"


def _count(value: Any) -> int | None:
    """Length of a known list (None when the list itself is unknown)."""
    if isinstance(value, list):
        return len(value)
    return None


# --------------------------------------------------------------------------------------------------------------
# Compute
# --------------------------------------------------------------------------------------------------------------
@pricer("aws:ecs/service:Service")
def ecs_service(p: Pricing) -> None:
    """Fargate vCPU and GB hours x running tasks (desired count, autoscaling minimum or usage), public IPv4s."""
    r = p.res
    launch = r.get("launchType")
    strategies = [s for s in (r.get("capacityProviderStrategies") or []) if isinstance(s, dict)]
    providers = {str(s.get("capacityProvider")) for s in strategies if s.get("capacityProvider")}
    if launch in ("EC2", "EXTERNAL") or (providers and not providers <= {"FARGATE", "FARGATE_SPOT"}):
        raise Free("tasks run on EC2 capacity that is priced as instances")
    td = p.linked("taskDefinition", "aws:ecs/taskDefinition:TaskDefinition") or _task_definition_by_ref(p)
    tasks, tasks_from_usage = _task_count(p)
    label = f"{tasks:g} task{'s' if tasks != 1 else ''}"
    if td is None:
        p.not_found.append("Fargate capacity [task definition not found in the stack]")
        return
    extra_hours, _ = p.usage("extra_task_hours")
    if extra_hours:
        # Above the floor (a worker at 0 tasks that runs while its queue has messages): priced as task-hours.
        _fargate_hours(p, td, float(extra_hours), f"{float(extra_hours):g} task-hours above the floor",
                       usage_based=True, public_ip=truthy(r.get("networkConfiguration.assignPublicIp")))
    vcpu = (num(td.get("cpu"), 0.0) or 0.0) / 1024
    mem_gb = (num(td.get("memory"), 0.0) or 0.0) / 1024
    arch = _arch(td.get("runtimePlatform.cpuArchitecture"))
    os_family = str(td.get("runtimePlatform.operatingSystemFamily") or "LINUX").upper()
    spot = "FARGATE_SPOT" in providers and "FARGATE" not in providers
    suffix = f"{arch}{':windows' if os_family.startswith('WINDOWS') else ''}{':spot' if spot else ''}"
    hours = p.hours() * tasks
    p.charge(f"Fargate vCPU ({vcpu:g} vCPU x {label}, {arch})", vcpu * hours, "vCPU-hours", "fargate",
             f"vcpu-hour:{suffix}", usage_based=tasks_from_usage)
    p.charge(f"Fargate memory ({mem_gb:g} GB x {label}, {arch})", mem_gb * hours, "GB-hours", "fargate",
             f"gb-hour:{suffix}", usage_based=tasks_from_usage)
    extra_storage = (num(td.get("ephemeralStorage.sizeInGib"), 20.0) or 20.0) - 20
    if extra_storage > 0:
        p.charge(f"Fargate ephemeral storage above 20 GB ({extra_storage:g} GB x {label})", extra_storage * hours,
                 "GB-hours", "fargate", "ephemeral-storage-gb-hour", usage_based=tasks_from_usage)
    if truthy(r.get("networkConfiguration.assignPublicIp")):
        p.charge(f"public IPv4 address per task ({label})", hours, "hours", "vpc", "public-ipv4-hour",
                 usage_based=tasks_from_usage)


def _fargate_hours(p: Pricing, td: Any, task_hours: float, label: str, *, usage_based: bool,
                   public_ip: bool) -> None:
    """Fargate vCPU and memory (and a public IPv4 per task) for ``task_hours`` of one task definition."""
    vcpu = (num(td.get("cpu"), 0.0) or 0.0) / 1024
    mem_gb = (num(td.get("memory"), 0.0) or 0.0) / 1024
    arch = _arch(td.get("runtimePlatform.cpuArchitecture"))
    p.charge(f"Fargate vCPU ({vcpu:g} vCPU, {label}, {arch})", vcpu * task_hours, "vCPU-hours", "fargate",
             f"vcpu-hour:{arch}", usage_based=usage_based)
    p.charge(f"Fargate memory ({mem_gb:g} GB, {label}, {arch})", mem_gb * task_hours, "GB-hours", "fargate",
             f"gb-hour:{arch}", usage_based=usage_based)
    if public_ip:
        p.charge(f"public IPv4 address per task ({label})", task_hours, "hours", "vpc", "public-ipv4-hour",
                 usage_based=usage_based)


_CRON_NAMES = {**{m: i + 1 for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"))},
    **{d: i + 1 for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}}


def _cron_values(field: str, low: int, high: int) -> int:
    """How many values of ``low..high`` a cron field matches (``*``, ``?``, lists, ranges, steps, names)."""
    out: set[int] = set()
    for part in field.upper().split(","):
        base, _, step = part.partition("/")
        if base in ("*", "?", ""):
            start, stop = low, high
        else:
            a, _, b = base.partition("-")
            start = int(_CRON_NAMES.get(a, a))
            stop = int(_CRON_NAMES.get(b, b)) if b else (high if step else start)
        out.update(range(start, stop + 1, int(step) if step else 1))
    return len({v for v in out if low <= v <= high}) or 1


def runs_per_month(expression: str) -> float:
    """Invocations a month (730 hours) of an EventBridge Scheduler ``rate(...)`` or ``cron(...)`` expression
    (cron: matched minutes x hours x days a month; unparsable parts count as one); one for ``at(...)``."""
    import re

    m = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression.strip())
    if m:
        minutes = int(m.group(1)) * {"minute": 1, "hour": 60, "day": 1440}[m.group(2).rstrip("s")]
        return 730 * 60 / minutes
    m = re.fullmatch(r"cron\((.*)\)", expression.strip())
    if not m or len(m.group(1).split()) < 5:
        return 1.0
    minute, hour, dom, month, dow, *_ = m.group(1).split()
    try:
        per_day = _cron_values(minute, 0, 59) * _cron_values(hour, 0, 23)
        months = _cron_values(month, 1, 12) / 12
        if dow not in ("*", "?"):
            days = _cron_values(dow.split("#")[0].rstrip("L"), 1, 7) * 730 / 24 / 7
        elif dom not in ("*", "?"):
            days = min(_cron_values(dom.rstrip("LW"), 1, 31), 30.42)
        else:
            days = 730 / 24
    except ValueError:
        return 1.0
    return round(per_day * days * months, 2)


def _schedules_of(p: Pricing) -> list[Any]:
    return [s for s in p.est.by_type.get("aws:scheduler/schedule:Schedule", [])
            if p.res.urn in s.property_dependencies.get("target", [])]


@pricer("aws:ecs/taskDefinition:TaskDefinition")
def ecs_task_definition(p: Pricing) -> None:
    """A job: Fargate for its runs (scheduled runs from its schedules + on-demand ``monthly_runs``, each
    ``average_run_minutes`` long). A task definition an ECS service runs is priced on the service."""
    for svc in p.est.by_type.get("aws:ecs/service:Service", []):
        if p.res.urn in svc.property_dependencies.get("taskDefinition", []):
            raise Free("its capacity is priced on the ECS service that runs it")
    scheduled = 0.0
    public_ip = False
    for sched in _schedules_of(p):
        expr = sched.get("scheduleExpression")
        if isinstance(expr, str) and sched.get("state") != "DISABLED":
            scheduled += runs_per_month(expr)
        public_ip = public_ip or truthy(sched.get("target.ecsParameters.networkConfiguration.assignPublicIp"))
    on_demand, _ = p.usage("monthly_runs")
    minutes, _ = p.usage("average_run_minutes")
    runs = scheduled + float(on_demand or 0)
    if runs == 0:
        raise Free("no scheduled runs and no monthly_runs in the usage file")
    _fargate_hours(p, p.res, runs * float(minutes) / 60, f"{runs:g} runs x {float(minutes):g} min",
                   usage_based=True, public_ip=public_ip)


@pricer("aws:scheduler/schedule:Schedule")
def scheduler_schedule(p: Pricing) -> None:
    """EventBridge Scheduler invocations from the expression (the 14M a month free tier is not deducted)."""
    expr = p.res.get("scheduleExpression")
    if p.res.get("state") == "DISABLED":
        raise Free("a disabled schedule is not invoked")
    runs = runs_per_month(expr) if isinstance(expr, str) else 1.0
    p.charge(f"invocations ({runs:g} a month)", runs / 1e6, "1M requests", "scheduler", "invocations")


ROTATION_STEPS = 4
"""Invocations of a rotation function per rotation (createSecret, setSecret, testSecret, finishSecret)."""


@pricer("aws:lambda/function:Function")
def lambda_function(p: Pricing) -> None:
    """Lambda requests and duration (GB-seconds at the function's memory and architecture). Invocations: the usage
    file's ``monthly_requests``, else 4 per rotation of each secret the function rotates (its SecretRotation
    schedules). The free tier (1M requests, 400,000 GB-seconds a month per account) is not deducted."""
    requests, given = p.usage("monthly_requests")
    if not given or requests is None:
        requests = 0.0
        for rot in p.est.by_type.get("aws:secretsmanager/secretRotation:SecretRotation", []):
            if p.res.urn in rot.property_dependencies.get("rotationLambdaArn", []):
                days = rot.get("rotationRules.automaticallyAfterDays")
                if isinstance(days, (int, float)) and not isinstance(days, bool) and days > 0:
                    requests += ROTATION_STEPS * (730 / 24) / float(days)
    requests = float(requests)
    if requests == 0:
        raise Free("no invocations: no monthly_requests in the usage file and no rotation schedule")
    duration_ms, _ = p.usage("average_duration_ms")
    memory = p.res.get("memorySize")
    memory_gb = (float(memory) if isinstance(memory, (int, float)) and not isinstance(memory, bool) else 128.0) / 1024
    archs = p.res.get("architectures")
    arch = "arm64" if isinstance(archs, list) and archs == ["arm64"] else "x86_64"
    p.charge(f"requests ({requests:g} a month)", requests / 1e6, "1M requests", "lambda", "requests",
             usage_based=True)
    p.charge(f"duration ({arch}, {memory_gb * 1024:g} MB x {float(duration_ms):g} ms)",
             requests * float(duration_ms) / 1000 * memory_gb, "GB-second", "lambda", f"gb-second:{arch}",
             usage_based=True)


@pricer("aws:sqs/queue:Queue")
def sqs_queue(p: Pricing) -> None:
    """SQS requests (every 64 KB chunk of every API call, empty receives included), standard or FIFO; the 1M a
    month free tier is not deducted."""
    millions, _ = p.usage("monthly_requests_millions")
    kind = "fifo" if truthy(p.res.get("fifoQueue")) else "standard"
    if not millions:
        raise Free("no requests in the usage file")
    p.charge(f"{kind} requests", float(millions), "1M requests", "sqs", f"requests:{kind}", usage_based=True)


def _task_definition_by_ref(p: Pricing):
    """The task definition a service names by family (``family``, ``family:3`` or an ARN)."""
    ref = p.res.get("taskDefinition")
    if not isinstance(ref, str):
        return None
    family = ref.rsplit("task-definition/", 1)[-1].split(":", 1)[0]
    for td in p.est.by_type.get("aws:ecs/taskDefinition:TaskDefinition", []):
        if td.get("family") == family:
            return td
    return None


def _task_count(p: Pricing) -> tuple[float, bool]:
    value, from_file = p.usage("average_task_count")
    if value is not None:
        return float(value), from_file
    desired = num(p.res.get("desiredCount"), 0.0) or 0.0
    minimum = 0.0
    for target in p.est.by_type.get("aws:appautoscaling/target:Target", []):
        if _targets_service(target, p):
            minimum = max(minimum, num(target.get("minCapacity"), 0.0) or 0.0)
    return max(desired, minimum), False


def _targets_service(target, p: Pricing) -> bool:
    if target.get("serviceNamespace") not in (None, "ecs"):
        return False
    if p.res.urn in target.property_dependencies.get("resourceId", []):
        return True
    rid, name = target.get("resourceId"), p.res.get("name")
    return isinstance(rid, str) and isinstance(name, str) and rid.endswith(f"/{name}")


@pricer("aws:ec2/instance:Instance")
def ec2_instance(p: Pricing) -> None:
    """Instance hours, root and attached EBS volumes, a public IPv4 when associated."""
    r = p.res
    itype = r.get("instanceType")
    if not isinstance(itype, str):
        p.not_found.append("instance hours [instance type unknown]")
    else:
        p.charge(f"instance hours ({itype}, Linux)", p.hours(), "hours", "ec2", f"instance:{itype}")
    root = r.get("rootBlockDevice") or {}
    _ebs(p, "root volume", str(root.get("volumeType") or "gp3"), num(root.get("volumeSize"), 8.0) or 8.0,
         num(root.get("iops")), num(root.get("throughput")))
    for i, dev in enumerate(r.get("ebsBlockDevices") or []):
        if isinstance(dev, dict):
            _ebs(p, f"EBS volume {dev.get('deviceName') or i}", str(dev.get("volumeType") or "gp2"),
                 num(dev.get("volumeSize"), 8.0) or 8.0, num(dev.get("iops")), num(dev.get("throughput")))
    if truthy(r.get("associatePublicIpAddress")):
        p.charge("public IPv4 address", p.hours(), "hours", "vpc", "public-ipv4-hour")


@pricer("aws:ebs/volume:Volume")
def ebs_volume(p: Pricing) -> None:
    """Storage (and gp3/io1/io2 IOPS and throughput above the included baseline)."""
    r = p.res
    _ebs(p, "volume", str(r.get("type") or "gp2"), num(r.get("size"), 0.0) or 0.0, num(r.get("iops")),
         num(r.get("throughput")))


def _ebs(p: Pricing, label: str, vtype: str, size_gb: float, iops: float | None, throughput: float | None) -> None:
    p.charge(f"{label} storage ({vtype}, {size_gb:g} GB)", size_gb, "GB-months", "ebs", f"storage:{vtype}")
    if vtype == "gp3":
        if iops and iops > 3000:
            p.charge(f"{label} IOPS above 3,000", iops - 3000, "IOPS-months", "ebs", "iops:gp3")
        if throughput and throughput > 125:
            p.charge(f"{label} throughput above 125 MBps", throughput - 125, "MBps-months", "ebs", "throughput:gp3")
    elif vtype in ("io1", "io2") and iops:
        p.charge(f"{label} provisioned IOPS", iops, "IOPS-months", "ebs", f"iops:{vtype}")


@pricer("aws:autoscaling/group:Group")
def autoscaling_group(p: Pricing) -> None:
    """Instance hours x desired capacity (or the minimum), from the launch template's instance type."""
    r = p.res
    count = num(r.get("desiredCapacity")) or num(r.get("minSize"), 0.0) or 0.0
    lt = p.linked("launchTemplate", "aws:ec2/launchTemplate:LaunchTemplate")
    if lt is None:
        lt = p.linked("mixedInstancesPolicy", "aws:ec2/launchTemplate:LaunchTemplate")
    itype = lt.get("instanceType") if lt else None
    if not isinstance(itype, str):
        p.not_found.append("instance hours [instance type not found on a launch template in the stack]")
        return
    p.charge(f"instance hours ({itype} x {count:g})", p.hours() * count, "hours", "ec2", f"instance:{itype}")


# --------------------------------------------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------------------------------------------
@pricer("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
def load_balancer(p: Pricing) -> None:
    """ALB hours and LCU-hours (usage); a public IPv4 per AZ when internet-facing. NLB/GWLB: not in the catalog."""
    r = p.res
    kind = str(r.get("loadBalancerType") or "application")
    if kind == "application":
        p.charge("Application Load Balancer hours", p.hours(), "hours", "elb", "alb-hour")
        lcus, _ = p.usage("average_lcus")
        p.charge(f"LCU-hours ({lcus:g} LCU average)", lcus * p.hours(), "LCU-hours", "elb", "alb-lcu-hour",
                 usage_based=True)
    else:
        p.charge(f"{kind} load balancer hours", p.hours(), "hours", "elb", f"{kind}-lb-hour")
        p.charge(f"{kind} load balancer capacity units", 0, "LCU-hours", "elb", f"{kind}-lb-lcu-hour", usage_based=True)
    if truthy(r.get("internal")) or r.get("ipAddressType") == "dualstack-without-public-ipv4":
        return
    azs = _count(r.inputs.get("subnets"))
    if azs is None:
        azs = _count(r.inputs.get("subnetMappings"))
    note = ""
    if not azs:
        azs, note = 2, ", assumed: subnets unknown"
    p.charge(f"public IPv4 addresses (one per AZ, {azs}{note})", azs * p.hours(), "hours", "vpc", "public-ipv4-hour")


@pricer("aws:ec2/natGateway:NatGateway")
def nat_gateway(p: Pricing) -> None:
    """Hours (per AZ for a regional NAT gateway), GB processed (usage); EIPs not in the stack as public IPv4s."""
    r = p.res
    azs = 1
    if r.get("availabilityMode") == "regional":
        azs = _count(r.inputs.get("availabilityZoneAddresses")) or 1
    p.charge(f"NAT gateway hours{f' ({azs} AZs)' if azs > 1 else ''}", azs * p.hours(), "hours", "vpc",
             "nat-gateway-hour")
    gb, _ = p.usage("monthly_data_processed_gb")
    p.charge("data processed", gb, "GB", "vpc", "nat-gateway-gb", usage_based=True)
    if r.get("connectivityType") == "private":
        return
    # An allocation that is an aws:ec2/eip:Eip of this stack is charged there; others (EIPs made elsewhere) here.
    external = 0
    if r.inputs.get("allocationId") not in (None, "") and not p.linked("allocationId", "aws:ec2/eip:Eip"):
        external += 1
    secondary = r.inputs.get("secondaryAllocationIds")
    if isinstance(secondary, list):
        own = {u for u in r.property_dependencies.get("secondaryAllocationIds", [])
               if (x := p.est.by_urn.get(u)) is not None and x.type == "aws:ec2/eip:Eip"}
        external += max(0, len(secondary) - len(own))
    if external:
        p.charge(f"public IPv4 addresses of EIPs allocated outside this stack ({external})", external * p.hours(),
                 "hours", "vpc", "public-ipv4-hour")


@pricer("aws:ec2/eip:Eip")
def eip(p: Pricing) -> None:
    """A public IPv4 address, in use or idle."""
    if p.res.get("domain") not in (None, "vpc") or p.res.get("publicIpv4Pool") not in (None, "amazon"):
        raise Free("BYOIP addresses are not charged as Amazon-provided public IPv4")
    p.charge("public IPv4 address", p.hours(), "hours", "vpc", "public-ipv4-hour")


@pricer("aws:ec2/vpcEndpoint:VpcEndpoint")
def vpc_endpoint(p: Pricing) -> None:
    """Interface endpoints: hours per AZ (subnet) and GB processed; gateway endpoints are free."""
    r = p.res
    kind = str(r.get("vpcEndpointType") or "Gateway")
    if kind == "Gateway":
        raise Free("gateway endpoints (S3, DynamoDB) are free")
    azs = _count(r.inputs.get("subnetIds"))
    note = ""
    if not azs:
        azs, note = 1, ", assumed"
    sku = "interface-endpoint" if kind == "Interface" else "gwlb-endpoint"
    p.charge(f"{kind} endpoint hours ({azs} AZ{'s' if azs != 1 else ''}{note})", azs * p.hours(), "hours", "vpc",
             f"{sku}-hour")
    gb, _ = p.usage("monthly_data_processed_gb")
    p.charge("data processed", gb, "GB", "vpc", f"{sku}-gb", usage_based=True)


# --------------------------------------------------------------------------------------------------------------
# Databases and caches
# --------------------------------------------------------------------------------------------------------------
_ENGINE_FAMILY = {"postgres": "postgres", "mysql": "mysql", "mariadb": "mariadb"}


@pricer("aws:rds/instance:Instance")
def rds_instance(p: Pricing) -> None:
    """Instance hours (x2 Multi-AZ), storage and IOPS, extra backups (usage), the managed master secret."""
    r = p.res
    engine = str(r.get("engine") or "postgres")
    klass = r.get("instanceClass")
    multi = truthy(r.get("multiAz"))
    mult = 1.0
    if multi:
        mult = p.factor("rds", "multi-az-multiplier", "Multi-AZ multiplier") or 2.0
    deploy = "Multi-AZ: primary + standby" if multi else "Single-AZ"
    if not isinstance(klass, str):
        p.not_found.append("instance hours [instance class unknown]")
    else:
        family = _ENGINE_FAMILY.get(engine, engine)
        p.charge(f"instance hours ({klass}, {engine}, {deploy})", p.hours() * mult, "hours", "rds",
                 f"instance:{family}:{klass}")
    storage_type = str(r.get("storageType") or ("io1" if r.get("iops") else "gp2"))
    gb, gb_from_file = p.usage("storage_gb")
    if gb is None:
        gb = num(r.get("allocatedStorage"), 20.0) or 20.0
    p.charge(f"storage ({storage_type}, {gb:g} GB{', x2 Multi-AZ' if multi else ''})", gb * mult, "GB-months", "rds",
             f"storage:{storage_type}", usage_based=gb_from_file)
    iops = num(r.get("iops"))
    if iops:
        if storage_type in ("io1", "io2"):
            p.charge(f"provisioned IOPS ({iops:g})", iops * mult, "IOPS-months", "rds", f"iops:{storage_type}")
        elif storage_type == "gp3":
            baseline = 12000 if gb >= 400 else 3000
            if iops > baseline:
                p.charge(f"gp3 IOPS above {baseline:,}", (iops - baseline) * mult, "IOPS-months", "rds", "iops:gp3")
    backup, _ = p.usage("additional_backup_storage_gb")
    if backup:
        p.charge("additional backup storage", backup, "GB-months", "rds", "backup-storage", usage_based=True)
    _managed_secret(p)
    retention = num(r.get("performanceInsightsRetentionPeriod"))
    if truthy(r.get("performanceInsightsEnabled")) and retention and retention > 7:
        p.charge(f"Performance Insights long-term retention ({retention:g} days)", 1, "x", "rds",
                 "performance-insights-long-term")
    if truthy(r.get("publiclyAccessible")):
        p.charge("public IPv4 address", p.hours(), "hours", "vpc", "public-ipv4-hour")


def _managed_secret(p: Pricing) -> None:
    if truthy(p.res.get("manageMasterUserPassword")):
        p.charge("master password secret (Secrets Manager, created by RDS)", 1, "secrets", "secretsmanager", "secret")


@pricer("aws:rds/cluster:Cluster")
def rds_cluster(p: Pricing) -> None:
    """Aurora storage, I/O and backups (usage) and the managed master secret; instances are priced separately."""
    r = p.res
    engine = str(r.get("engine") or "aurora-postgresql")
    if not engine.startswith("aurora"):
        # Multi-AZ DB clusters (non-Aurora) bill instances and storage on the cluster: not in the catalog.
        p.charge(f"Multi-AZ DB cluster ({engine}, {r.get('dbClusterInstanceClass')})", p.hours() * 3, "hours", "rds",
                 f"multi-az-cluster:{engine}:{r.get('dbClusterInstanceClass')}")
        return
    if r.get("engineMode") == "serverless":
        p.charge("Aurora Serverless v1 capacity", 0, "ACU-hours", "rds", "aurora:serverless-v1-acu-hour",
                 usage_based=True)
    io_optimized = r.get("storageType") == "aurora-iopt1"
    gb, _ = p.usage("storage_gb")
    p.charge(f"storage{' (I/O-Optimized)' if io_optimized else ''}", gb, "GB-months", "rds",
             "aurora:storage:io-optimized" if io_optimized else "aurora:storage", usage_based=True)
    if not io_optimized:
        ios, _ = p.usage("monthly_io_requests_millions")
        p.charge("I/O requests", ios, "1M requests", "rds", "aurora:io-requests", usage_based=True)
    backup, _ = p.usage("backup_storage_gb")
    if backup:
        p.charge("backup storage", backup, "GB-months", "rds", "aurora:backup-storage", usage_based=True)
    _managed_secret(p)


@pricer("aws:rds/clusterInstance:ClusterInstance")
def rds_cluster_instance(p: Pricing) -> None:
    """Aurora instance hours, or Serverless v2 ACU-hours (the cluster's minimum unless the usage file says)."""
    r = p.res
    klass = r.get("instanceClass")
    cluster = p.linked("clusterIdentifier", "aws:rds/cluster:Cluster")
    io_optimized = bool(cluster and cluster.get("storageType") == "aurora-iopt1")
    if klass == "db.serverless":
        acu, _ = p.usage("average_acu")
        if acu is None:
            acu = num(cluster.get("serverlessv2ScalingConfiguration.minCapacity"), 0.5) if cluster else 0.5
        p.charge(f"Serverless v2 capacity ({acu:g} ACU average)", (acu or 0) * p.hours(), "ACU-hours", "rds",
                 "aurora:serverless-v2-acu-hour" + (":io-optimized" if io_optimized else ""), usage_based=True)
    elif isinstance(klass, str):
        engine = str(r.get("engine") or (cluster.get("engine") if cluster else None) or "aurora-postgresql")
        p.charge(f"instance hours ({klass}, {engine})", p.hours(), "hours", "rds", f"aurora:instance:{klass}")
    else:
        p.not_found.append("instance hours [instance class unknown]")
    if truthy(r.get("publiclyAccessible")):
        p.charge("public IPv4 address", p.hours(), "hours", "vpc", "public-ipv4-hour")


@pricer("aws:elasticache/replicationGroup:ReplicationGroup")
def replication_group(p: Pricing) -> None:
    """Node hours x nodes (primary and replicas; shards x (1 + replicas) in cluster mode), snapshots (usage)."""
    r = p.res
    node = r.get("nodeType")
    nodes = num(r.get("numCacheClusters"))
    if nodes is None:
        groups = num(r.get("numNodeGroups"))
        replicas = num(r.get("replicasPerNodeGroup"), 0.0) or 0.0
        nodes = groups * (1 + replicas) if groups else 1.0
    engine = str(r.get("engine") or "redis")
    _cache_nodes(p, node, nodes, engine)


@pricer("aws:elasticache/cluster:Cluster")
def cache_cluster(p: Pricing) -> None:
    """Node hours x nodes; a cluster that is a member of a replication group is priced on the group."""
    r = p.res
    if r.get("replicationGroupId") or r.property_dependencies.get("replicationGroupId"):
        raise Free("a member of a replication group, which is priced")
    _cache_nodes(p, r.get("nodeType"), num(r.get("numCacheNodes"), 1.0) or 1.0, str(r.get("engine") or "redis"))


def _cache_nodes(p: Pricing, node: Any, nodes: float, engine: str) -> None:
    if not isinstance(node, str):
        p.not_found.append("node hours [node type unknown]")
    else:
        p.charge(f"node hours ({node} x {nodes:g}, {engine})", p.hours() * nodes, "hours", "elasticache",
                 f"node:{node}")
    snap, _ = p.usage("snapshot_storage_gb")
    if snap:
        p.charge("snapshot storage", snap, "GB-months", "elasticache", "backup-storage", usage_based=True)


@pricer("aws:elasticache/serverlessCache:ServerlessCache")
def serverless_cache(p: Pricing) -> None:
    """Data stored (GB-hours, with the engine's minimum) and ECPUs, both usage-based."""
    engine = str(p.res.get("engine") or "redis").lower()
    engine = "valkey" if engine == "valkey" else "redis" if engine == "redis" else engine
    minimum = 0.1 if engine == "valkey" else 1.0
    gb, _ = p.usage("average_data_gb")
    gb = max(gb, minimum)
    p.charge(f"data stored ({gb:g} GB average)", gb * p.hours(), "GB-hours", "elasticache",
             f"serverless:{engine}:data-gb-hour", usage_based=True)
    ecpu, _ = p.usage("monthly_ecpu_millions")
    p.charge("ElastiCache Processing Units", ecpu, "1M ECPUs", "elasticache", f"serverless:{engine}:ecpu-million",
             usage_based=True)


# --------------------------------------------------------------------------------------------------------------
# Storage, logs, monitoring, keys, secrets, edge
# --------------------------------------------------------------------------------------------------------------
@pricer("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
def s3_bucket(p: Pricing) -> None:
    """Standard storage and requests, all usage-based."""
    gb, _ = p.usage("storage_gb")
    put, _ = p.usage("monthly_put_requests")
    get, _ = p.usage("monthly_get_requests")
    p.charge("Standard storage", gb, "GB-months", "s3", "storage:standard", usage_based=True)
    p.charge("PUT/COPY/POST/LIST requests", put / 1000, "1k requests", "s3", "requests:put", usage_based=True)
    p.charge("GET/SELECT and other requests", get / 1000, "1k requests", "s3", "requests:get", usage_based=True)


@pricer("aws:cloudwatch/logGroup:LogGroup")
def log_group(p: Pricing) -> None:
    """Ingestion and storage (usage; storage defaults to ingestion x retention months)."""
    r = p.res
    klass = str(r.get("logGroupClass") or "STANDARD").upper()
    sku = "logs:ingest" if klass == "STANDARD" else f"logs:ingest:{klass.lower().replace('_', '-')}"
    gb, _ = p.usage("monthly_ingested_gb")
    p.charge(f"data ingested ({klass.lower()} class)", gb, "GB", "cloudwatch", sku, usage_based=True)
    stored, _ = p.usage("stored_gb")
    if stored is None:
        days = num(r.get("retentionInDays"), 0.0) or 0.0
        months = min(days / 30, 12.0) if days > 0 else 12.0
        stored = gb * months
    p.charge("storage", stored, "GB-months", "cloudwatch", "logs:storage", usage_based=True)


@pricer("aws:cloudwatch/metricAlarm:MetricAlarm")
def metric_alarm(p: Pricing) -> None:
    """Per alarm metric (each metric of a metric-math alarm; anomaly detection counts 3), by resolution."""
    r = p.res
    queries = [q for q in (r.get("metricQueries") or []) if isinstance(q, dict)]
    if queries:
        metrics = [q for q in queries if q.get("metric")]
        n = max(len(metrics), 1)
        high = any((num((q.get("metric") or {}).get("period"), 60) or 60) < 60 for q in metrics)
        if any("ANOMALY_DETECTION_BAND" in str(q.get("expression") or "") for q in queries):
            n *= 3
    else:
        n = 1
        high = (num(r.get("period"), 60) or 60) < 60
    res = "high-resolution" if high else "standard"
    p.charge(f"alarm metrics ({n}, {res} resolution)", n, "alarm metrics", "cloudwatch", f"alarm:{res}")


@pricer("aws:cloudwatch/compositeAlarm:CompositeAlarm")
def composite_alarm(p: Pricing) -> None:
    """A composite alarm."""
    p.charge("composite alarm", 1, "alarms", "cloudwatch", "alarm:composite")


@pricer("aws:cloudwatch/dashboard:Dashboard")
def dashboard(p: Pricing) -> None:
    """A dashboard per month (the account's first three are free: not modelled, an upper bound)."""
    p.charge("dashboard", 1, "dashboards", "cloudwatch", "dashboard")


@pricer("aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey", "aws:kms/externalKey:ExternalKey")
def kms_key(p: Pricing) -> None:
    """A customer managed key per month and its requests (usage)."""
    p.charge("customer managed key", 1, "keys", "kms", "key")
    if p.res.type == "aws:kms/key:Key":
        n, _ = p.usage("monthly_requests")
        p.charge("requests", n / 10_000, "10k requests", "kms", "requests", usage_based=True)


@pricer("aws:secretsmanager/secret:Secret")
def secret(p: Pricing) -> None:
    """A secret per month (each replica region counts as a secret) and API requests (usage)."""
    replicas = _count(p.res.inputs.get("replicas")) or 0
    p.charge(f"secret{f' + {replicas} replicas' if replicas else ''}", 1 + replicas, "secrets", "secretsmanager",
             "secret")
    n, _ = p.usage("monthly_api_requests")
    p.charge("API requests", n / 10_000, "10k requests", "secretsmanager", "api-requests", usage_based=True)


COGNITO_FREE_MAU = {"ESSENTIALS": 10_000, "LITE": 10_000, "PLUS": 0}
"""Monthly active users free per account by feature plan (Plus has no free tier; the free MAUs are the account's,
counted here per pool: a second pool in the account is overestimated by at most the free tier)."""


@pricer("aws:cognito/userPool:UserPool")
def cognito_user_pool(p: Pricing) -> None:
    """Monthly active users beyond the feature plan's free tier (usage), at the plan's per-MAU price."""
    tier = str(p.res.get("userPoolTier") or "ESSENTIALS").upper()
    if tier not in COGNITO_FREE_MAU:
        tier = "ESSENTIALS"
    mau, _ = p.usage("monthly_active_users")
    billable = max(0.0, float(mau) - COGNITO_FREE_MAU[tier])
    free_note = f"beyond {COGNITO_FREE_MAU[tier]:,} free" if COGNITO_FREE_MAU[tier] else "no free tier"
    p.charge(f"monthly active users, {tier.title()} ({mau:,.0f} MAU, {free_note})", billable, "MAU", "cognito",
             f"mau:{tier.lower()}", usage_based=True)


LATTICE_FREE_REQUESTS_PER_HOUR = 300_000
"""Requests a VPC Lattice service receives free each hour (aws.amazon.com/vpc/lattice/pricing)."""


@pricer("aws:vpclattice/service:Service")
def lattice_service(p: Pricing) -> None:
    """Service hours, GB processed and requests beyond the free 300,000 an hour (usage, spread evenly)."""
    p.charge("service hours", p.hours(), "hours", "vpc-lattice", "service-hour")
    gb, _ = p.usage("monthly_data_processed_gb")
    p.charge("data processed", gb, "GB", "vpc-lattice", "data-gb", usage_based=True)
    millions, _ = p.usage("monthly_requests_millions")
    billable = max(0.0, float(millions) - LATTICE_FREE_REQUESTS_PER_HOUR * p.hours() / 1e6)
    p.charge(f"requests beyond {LATTICE_FREE_REQUESTS_PER_HOUR:,} an hour ({float(millions):g}M a month)", billable,
             "1M requests", "vpc-lattice", "requests", usage_based=True)


@pricer("aws:wafv2/webAcl:WebAcl")
def web_acl(p: Pricing) -> None:
    """The web ACL, one charge per rule or rule group in it, and requests (usage)."""
    rules = p.res.inputs.get("rules")
    n = len(rules) if isinstance(rules, list) else _count_json_rules(p.res.inputs.get("ruleJson"))
    p.charge("web ACL", 1, "web ACLs", "wafv2", "web-acl")
    p.charge(f"rules and rule groups ({n})", n, "rules", "wafv2", "rule")
    req, _ = p.usage("monthly_requests")
    p.charge("requests", req / 1_000_000, "1M requests", "wafv2", "requests", usage_based=True)


def _count_json_rules(value: Any) -> int:
    if isinstance(value, str) and value not in UNKNOWN_VALUES:
        try:
            data = json.loads(value)
        except ValueError:
            return 0
        return len(data) if isinstance(data, list) else 0
    return 0


@pricer("aws:ecr/repository:Repository")
def ecr_repository(p: Pricing) -> None:
    """Image storage (usage)."""
    gb, _ = p.usage("storage_gb")
    p.charge("image storage", gb, "GB-months", "ecr", "storage", usage_based=True)


@pricer("aws:route53/zone:Zone")
def hosted_zone(p: Pricing) -> None:
    """A hosted zone per month."""
    p.charge("hosted zone", 1, "hosted zones", "route53", "hosted-zone")


@pricer("aws:route53/record:Record")
def dns_record(p: Pricing) -> None:
    """Standard queries (usage); alias records pointing at AWS resources answer for free."""
    queries, _ = p.usage("monthly_queries_millions")
    if p.res.inputs.get("aliases") or not queries:
        raise Free("alias queries to AWS resources are free; no standard queries in the usage file")
    p.charge("standard queries", queries, "1M queries", "route53", "queries:standard", usage_based=True)


@pricer("aws:ssm/parameter:Parameter")
def ssm_parameter(p: Pricing) -> None:
    """Standard parameters are free; advanced ones are charged per parameter-month."""
    tier = str(p.res.get("tier") or "Standard")
    if tier == "Standard" or (tier == "Intelligent-Tiering" and len(str(p.res.get("value") or "")) <= 4096):
        raise Free("standard-tier parameters are free")
    p.charge("advanced parameter", 1, "parameters", "ssm", "parameter:advanced")



# -- issue 14: edge and disaster recovery ---------------------------------------------------------------------------
free("CloudFront policies and origin access controls are free; requests and data out are priced on the "
     "distribution", "aws:cloudfront/cachePolicy:CachePolicy", "aws:cloudfront/originAccessControl:OriginAccessControl",
     "aws:cloudfront/originRequestPolicy:OriginRequestPolicy",
     "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
free("log delivery sources and destinations are free; delivered GB are priced on the delivery",
     "aws:cloudwatch/logDeliverySource:LogDeliverySource",
     "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination")
free("AWS Backup plans' settings, selections and vault locks are free; storage is priced on the vault, copies on "
     "the plan", "aws:backup/selection:Selection", "aws:backup/vaultLockConfiguration:VaultLockConfiguration")
free("generated values live in the Pulumi state only", "random:index/randomPassword:RandomPassword",
     "random:index/randomString:RandomString", "random:index/randomId:RandomId")


@pricer("aws:cloudfront/distribution:Distribution")
def cloudfront_distribution(p: Pricing) -> None:
    """HTTPS requests and data out to viewers (usage), at the price class's rate."""
    klass = str(p.res.get("priceClass") or "PriceClass_All")
    req, _ = p.usage("monthly_requests")
    gb, _ = p.usage("monthly_data_out_gb")
    p.charge(f"HTTPS requests ({klass})", req / 10_000, "10k requests", "cloudfront", f"requests:https:{klass}",
             usage_based=True)
    p.charge(f"data out to viewers ({klass})", gb, "GB", "cloudfront", f"data-out:{klass}", usage_based=True)


@pricer("aws:cloudwatch/logDelivery:LogDelivery")
def log_delivery(p: Pricing) -> None:
    """Vended logs delivered to S3 (usage)."""
    gb, _ = p.usage("monthly_delivered_gb")
    p.charge("vended logs delivered to S3", gb, "GB", "cloudwatch", "logs:vended-s3", usage_based=True)


@pricer("aws:backup/vault:Vault")
def backup_vault(p: Pricing) -> None:
    """Recovery points held: database snapshots and S3 backups (usage)."""
    rds, _ = p.usage("rds_snapshot_gb")
    s3, _ = p.usage("s3_backup_gb")
    p.charge("database snapshot storage", rds, "GB-months", "backup", "storage:rds", usage_based=True)
    p.charge("S3 backup storage", s3, "GB-months", "backup", "storage:s3", usage_based=True)


@pricer("aws:backup/plan:Plan")
def backup_plan(p: Pricing) -> None:
    """Cross-region copies of the plan's recovery points (usage), when a rule copies to another vault."""
    rules = p.res.get("rules") or []
    if any(isinstance(r, dict) and r.get("copyActions") for r in rules):
        gb, _ = p.usage("monthly_copied_gb")
        p.charge("cross-region copy (data transfer)", gb, "GB", "backup", "copy:cross-region", usage_based=True)


@pricer("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication")
def rds_backup_replication(p: Pricing) -> None:
    """Replicated backups held in the DR region and the cross-region transfer (usage), at the DR region's rates."""
    gb, _ = p.usage("backup_storage_gb")
    moved, _ = p.usage("monthly_transferred_gb")
    p.charge("replicated backup storage", gb, "GB-months", "rds", "backup-storage", usage_based=True)
    p.charge("cross-region transfer", moved, "GB", "rds", "transfer:cross-region", usage_based=True)


@pricer("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
def s3_replication(p: Pricing) -> None:
    """Cross-region transfer of replicated objects and Replication Time Control (usage); the replica bucket's
    storage is priced on that bucket."""
    gb, _ = p.usage("monthly_replicated_gb")
    p.charge("cross-region replication transfer", gb, "GB", "s3", "replication:transfer", usage_based=True)
    rules = p.res.get("rules") or []
    if any(isinstance(r, dict) and str(dig(r, "destination.replicationTime.status", "")) == "Enabled"
           for r in rules):
        p.charge("Replication Time Control", gb, "GB", "s3", "replication:rtc", usage_based=True)
