"""AWS workloads of a multi-service stack: SQS queues (encryption, no public policy, a dead-letter queue),
EventBridge Scheduler roles scoped to one task definition, internal ECS services kept off internet-facing load
balancers."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping

from policies.common import Context, Res, ResourceIndex, as_list, is_true, is_unknown, resource_rule, stack_rule

from ._helpers import LOAD_BALANCERS, allows, public_principal_statements, statements, stmt_label

QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
REDRIVE_POLICY = "aws:sqs/redrivePolicy:RedrivePolicy"
REDRIVE_ALLOW = "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy"
SCHEDULE = "aws:scheduler/schedule:Schedule"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ECS_SERVICE = "aws:ecs/service:Service"
TARGET_GROUPS = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LISTENER_RULES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")

EXPOSURE = "public-exposure"
ENCRYPTION = "encryption-at-rest"
RESILIENCE = "backup-and-data-loss"
IAM = "iam-least-privilege"


# -- queues ----------------------------------------------------------------------------------------------------
# (queue encryption: sqs-queue-encrypted in rules_data.py)


@resource_rule(
    "sqs-queue-policy-not-public", category=EXPOSURE, severity="critical", types=(QUEUE, QUEUE_POLICY),
    description="SQS queue policies grant nothing to anyone (Principal \"*\") without a condition that pins the "
                "caller (aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID...).",
    remediation="Name the principals (an account, a role, a service) or add a restricting condition such as "
                "aws:SourceArn of the sending topic or bucket.",
)
def sqs_policy_not_public(r: Res, ctx: Context) -> Iterator[str]:
    for stmt in public_principal_statements(r.get("policy")):
        yield f"{stmt_label(stmt)} allows anyone ({', '.join(map(str, as_list(stmt.get('Action'))))})"


def _dead_letter_queues(index: ResourceIndex) -> set[str]:
    """URNs of the queues that serve as a dead-letter queue (of a queue, or of a schedule's target)."""
    out: set[str] = set()
    for q in index.of_type(QUEUE):
        out.update(d.urn for d in index.referenced(q, "redrivePolicy", (QUEUE,)))
    for rp in index.of_type(REDRIVE_POLICY):
        out.update(d.urn for d in index.referenced(rp, "redrivePolicy", (QUEUE,)))
    for ra in index.of_type(REDRIVE_ALLOW):
        out.update(d.urn for d in index.referenced(ra, "queueUrl", (QUEUE,), ("url", "name")))
    for s in index.of_type(SCHEDULE):
        target_arn = s.get("target.arn")
        for q in index.referenced(s, "target", (QUEUE,)):
            if q.get("arn") != target_arn or is_unknown(target_arn):
                out.add(q.urn)
    # the dead-letter queue of a Lambda function, an SNS subscription or an EventBridge target
    for typ, path in (("aws:lambda/function:Function", "deadLetterConfig"),
                      ("aws:sns/topicSubscription:TopicSubscription", "redrivePolicy"),
                      ("aws:cloudwatch/eventTarget:EventTarget", "deadLetterConfig"),
                      ("aws:pipes/pipe:Pipe", "sourceParameters")):
        for r in index.of_type(typ):
            out.update(d.urn for d in index.referenced(r, path, (QUEUE,)))
    return out


@stack_rule(
    "sqs-queue-has-dead-letter-queue", category=RESILIENCE, severity="medium",
    description="Every SQS queue that is not itself a dead-letter queue has a redrive policy (a dead-letter queue "
                "and maxReceiveCount), so a message that keeps failing stops being retried and is kept.",
    remediation="Set redrive_policy={\"deadLetterTargetArn\": dlq.arn, \"maxReceiveCount\": 5} (or an "
                "aws.sqs.RedrivePolicy), as components.aws.queue.Queue does.",
)
def sqs_has_dlq(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    dlqs = _dead_letter_queues(index)
    with_policy = {q.urn for rp in index.of_type(REDRIVE_POLICY)
                   for q in index.referenced(rp, "queueUrl", (QUEUE,), ("url", "name"))}
    for q in index.of_type(QUEUE):
        if q.urn in dlqs or q.urn in with_policy or q.has("redrivePolicy"):
            continue
        yield q, "no redrive policy: a message that always fails is retried until it expires, then lost"


# -- scheduler roles -------------------------------------------------------------------------------------------
def _action_matches(stmt: Mapping[str, object], action: str) -> bool:
    return any(isinstance(a, str) and fnmatch.fnmatchcase(action.lower(), a.lower())
               for a in as_list(stmt.get("Action")))


def _role_statements(index: ResourceIndex, role: Res) -> Iterator[tuple[str, Mapping[str, object]]]:
    for p in index.referrers(role, "role", (ROLE_POLICY,), ("name", "id")):
        for s in statements(p.get("policy")):
            yield p.name, s
    for inline in as_list(role.get("inlinePolicies")):
        if isinstance(inline, Mapping):
            for s in statements(inline.get("policy")):
                yield role.name, s


@stack_rule(
    "scheduler-role-scoped-to-task", category=IAM, severity="high",
    description="The role an EventBridge Scheduler schedule runs an ECS task with may run only named task "
                "definitions (ecs:RunTask on a task-definition ARN, not \"*\" or every family) and pass only named "
                "roles (iam:PassRole not on \"*\"); no managed policy is attached to it.",
    remediation="Allow ecs:RunTask on arn:aws:ecs:<region>:<account>:task-definition/<family>:* with an "
                "ecs:cluster condition, and iam:PassRole on the task's execution and task role ARNs only "
                "(components.aws.job.Job writes exactly that).",
)
def scheduler_role_scoped(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    for schedule in index.of_type(SCHEDULE):
        if not schedule.has("target.ecsParameters"):
            continue
        for role in index.referenced(schedule, "target", (ROLE,), ("arn",)):
            for att in index.referrers(role, "role", (ROLE_ATTACHMENT,), ("name", "id")):
                yield role, f"managed policy attachment {att.name!r}: the scheduler role's scope cannot be checked"
            for where, s in _role_statements(index, role):
                if not allows(s):
                    continue
                resources = [x for x in as_list(s.get("Resource")) if isinstance(x, str)]
                if _action_matches(s, "ecs:RunTask"):
                    wide = [x for x in resources if x == "*" or x.endswith("task-definition/*")
                            or x.endswith(":task-definition/*:*")]
                    if wide or not resources:
                        yield role, (f"{where}: {stmt_label(s)} allows ecs:RunTask on "
                                     f"{', '.join(wide) or 'no named resource'} (any task definition)")
                if _action_matches(s, "iam:PassRole") and ("*" in resources or not resources):
                    yield role, f"{where}: {stmt_label(s)} allows iam:PassRole on any role"


# -- internal services -----------------------------------------------------------------------------------------
def _declared_internal(svc: Res) -> bool:
    """An ECS service serving through Service Connect (a server entry) or tagged ``exposure: internal``."""
    tags = svc.get("tags") or {}
    if isinstance(tags, Mapping) and str(tags.get("exposure", "")).lower() == "internal":
        return True
    return bool(as_list(svc.get("serviceConnectConfiguration.services")))


def _public_listeners_forwarding_to(index: ResourceIndex, tg: Res) -> list[Res]:
    out = []
    sources = [*index.referrers(tg, "actions", LISTENER_RULES), *index.referrers(tg, "defaultActions", LISTENERS)]
    for src in sources:
        listeners = [src] if src.type in LISTENERS else index.referenced(src, "listenerArn", LISTENERS)
        for listener in listeners:
            for lb in index.referenced(listener, "loadBalancerArn", LOAD_BALANCERS):
                if not is_true(lb.get("internal")) and not is_unknown(lb.get("internal")):
                    out.append(lb)
    return out


@stack_rule(
    "internal-service-not-public", category=EXPOSURE, severity="high",
    description="An ECS service declared internal (it serves through ECS Service Connect, or is tagged "
                "exposure=internal) is not registered in a target group that an internet-facing load balancer "
                "forwards to.",
    remediation="Remove the service's load_balancers entry (callers reach it through Service Connect and the "
                "security-group path allow_from opens), or put it behind an internal load balancer.",
)
def internal_service_not_public(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    for svc in index.of_type(ECS_SERVICE):
        if not _declared_internal(svc):
            continue
        for tg in index.referenced(svc, "loadBalancers", TARGET_GROUPS, ("arn",)):
            for lb in _public_listeners_forwarding_to(index, tg):
                yield svc, f"it is internal but target group {tg.name!r} is served by internet-facing {lb.name!r}"


RULES = [sqs_policy_not_public, sqs_has_dlq, scheduler_role_scoped, internal_service_not_public]
