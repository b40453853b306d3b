"""GCP workloads: Pub/Sub topics and subscriptions (CMEK, no public IAM, dead lettering, authenticated push),
Cloud Scheduler jobs (authenticated calls) and internal Cloud Run services (not public).

Cloud Run jobs' own service account is ``cloudrun-dedicated-service-account`` (rules_hardening).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from policies.common import Context, Res, ResourceIndex, is_true, is_unknown, resource_rule, stack_rule

from ._helpers import CLOUD_RUN_SERVICE

ENCRYPTION = "encryption-at-rest"
EXPOSURE = "public-exposure"
RESILIENCE = "backup-and-data-loss"
IAM = "iam-least-privilege"

TOPIC = "gcp:pubsub/topic:Topic"
SUBSCRIPTION = "gcp:pubsub/subscription:Subscription"
PUBSUB_IAM = (
    "gcp:pubsub/topicIAMMember:TopicIAMMember", "gcp:pubsub/topicIAMBinding:TopicIAMBinding",
    "gcp:pubsub/topicIAMPolicy:TopicIAMPolicy", "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember",
    "gcp:pubsub/subscriptionIAMBinding:SubscriptionIAMBinding",
    "gcp:pubsub/subscriptionIAMPolicy:SubscriptionIAMPolicy",
)
RUN_IAM = (
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding",
    "gcp:cloudrunv2/serviceIamPolicy:ServiceIamPolicy", "gcp:cloudrunv2/jobIamMember:JobIamMember",
    "gcp:cloudrunv2/jobIamBinding:JobIamBinding", "gcp:cloudrunv2/jobIamPolicy:JobIamPolicy",
    "gcp:cloudrun/iamMember:IamMember", "gcp:cloudrun/iamBinding:IamBinding", "gcp:cloudrun/iamPolicy:IamPolicy",
)
SCHEDULER = "gcp:cloudscheduler/job:Job"
PUBLIC = ("allusers", "allauthenticatedusers")


def _members(r: Res) -> list[str]:
    from .rules_exposure import _gcp_members

    return _gcp_members(r)


def _public(member: str) -> bool:
    return member.strip().lower() in PUBLIC


# -- Pub/Sub ---------------------------------------------------------------------------------------------------------
@resource_rule(
    "pubsub-topic-cmek", category=ENCRYPTION, severity="medium", types=(TOPIC,),
    description="Pub/Sub topics are encrypted with a customer-managed key (kms_key_name), like the stack's other "
                "data stores.",
    remediation="Set kms_key_name to a key of the stack's key ring (EncryptionKey purpose pubsub) and grant the "
                "Pub/Sub service agent roles/cloudkms.cryptoKeyEncrypterDecrypter on that key.",
)
def pubsub_topic_cmek(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("kmsKeyName")
    if not is_unknown(v) and not v:
        yield "kmsKeyName is not set (Google-managed encryption)"


@resource_rule(
    "pubsub-no-public-access", category=EXPOSURE, severity="critical", types=PUBSUB_IAM,
    description="No Pub/Sub topic or subscription IAM member, binding or policy grants a role to allUsers or "
                "allAuthenticatedUsers (anyone could publish or read the messages).",
    remediation="Grant roles/pubsub.publisher or roles/pubsub.subscriber to the service accounts that need them "
                "(Queue.grant_send / grant_consume).",
)
def pubsub_no_public(r: Res, ctx: Context) -> Iterator[str]:
    for m in _members(r):
        if _public(m):
            yield f"grants {r.get('role') or 'access'} to {m}"


def _dead_letter_topics(index: ResourceIndex) -> set[str]:
    """URNs of the topics some subscription dead-letters to."""
    out: set[str] = set()
    for sub in index.of_type(SUBSCRIPTION):
        for dep in sub.prop_deps.get("deadLetterPolicy", ()):
            target = index.get(dep)
            if target is not None and target.type == TOPIC:
                out.add(target.urn)
        name = sub.get("deadLetterPolicy.deadLetterTopic")
        if isinstance(name, str) and not is_unknown(name):
            out.update(t.urn for t in index.of_type(TOPIC) if name in (t.id, t.get("name")) or
                       (t.get("name") and name.endswith(f"/topics/{t.get('name')}")))
    return out


@stack_rule(
    "pubsub-subscription-dead-letter", category=RESILIENCE, severity="medium",
    description="Every Pub/Sub subscription, except those on a dead-letter topic, has a dead-letter policy: a "
                "message that keeps failing goes to a dead-letter topic after max_delivery_attempts instead of being "
                "redelivered until retention drops it.",
    remediation="Set dead_letter_policy={dead_letter_topic, max_delivery_attempts} (the Queue component does), "
                "grant the Pub/Sub service agent publisher on the dead-letter topic and subscriber on the "
                "subscription, and keep a subscription on the dead-letter topic to inspect and replay.",
)
def pubsub_dead_letter(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    dlq = _dead_letter_topics(index)
    for sub in index.of_type(SUBSCRIPTION):
        topics = index.referenced(sub, "topic", (TOPIC,), ("name",))
        if any(t.urn in dlq for t in topics):
            continue
        policy = sub.get("deadLetterPolicy")
        if is_unknown(policy):
            continue
        if not isinstance(policy, Mapping) or not policy.get("deadLetterTopic"):
            yield sub, "no dead-letter policy: a poison message is redelivered until retention drops it"


@resource_rule(
    "pubsub-push-authenticated", category=IAM, severity="high", types=(SUBSCRIPTION,),
    description="Push subscriptions send an OIDC token (push_config.oidc_token with a service account) to an "
                "HTTPS endpoint, so the receiver can require IAM instead of accepting anyone's requests.",
    remediation="Set push_config.oidc_token.service_account_email to a push identity that holds roles/run.invoker "
                "on the worker only (Queue does), with audience the worker's URL; keep the worker's invoker check "
                "on.",
)
def pubsub_push_authenticated(r: Res, ctx: Context) -> Iterator[str]:
    push = r.get("pushConfig")
    if is_unknown(push) or not isinstance(push, Mapping) or not push.get("pushEndpoint"):
        return
    endpoint = push.get("pushEndpoint")
    if isinstance(endpoint, str) and not is_unknown(endpoint) and not endpoint.startswith("https://"):
        yield f"pushes to {endpoint}: not HTTPS"
    token = push.get("oidcToken")
    if not isinstance(token, Mapping) or not token.get("serviceAccountEmail"):
        yield "pushes without an OIDC token: the endpoint cannot authenticate Pub/Sub"


# -- Cloud Scheduler ---------------------------------------------------------------------------------------------------
@resource_rule(
    "scheduler-job-authenticated", category=IAM, severity="high", types=(SCHEDULER,),
    description="Cloud Scheduler HTTP jobs call with an OAuth token (Google APIs, e.g. Cloud Run jobs:run) or an OIDC "
                "token (a Cloud Run service) of a dedicated service account, so the target can stay private.",
    remediation="Set http_target.oauth_token (scope cloud-platform, for *.googleapis.com) or http_target.oidc_token "
                "with a service account that may run only that job (roles/run.invoker on it).",
)
def scheduler_authenticated(r: Res, ctx: Context) -> Iterator[str]:
    target = r.get("httpTarget")
    if is_unknown(target) or not isinstance(target, Mapping):
        return
    oauth, oidc = target.get("oauthToken"), target.get("oidcToken")
    if not any(isinstance(t, Mapping) and t.get("serviceAccountEmail") for t in (oauth, oidc)):
        yield "calls its HTTP target without an OAuth or OIDC token of a service account"


# -- internal Cloud Run services ------------------------------------------------------------------------------------
@resource_rule(
    "cloudrun-not-publicly-invokable", category=EXPOSURE, severity="critical", types=RUN_IAM, enforcement="advisory",
    rationale="Advisory: a public website on Cloud Run is invoked by allUsers by design (Google's own quickstart); "
              "this project, whose services sit behind the load balancer, makes it mandatory.",
    description="No Cloud Run service or job IAM member, binding or policy grants a role (e.g. run.invoker) to "
                "allUsers or allAuthenticatedUsers: public services are reached through the load balancer, internal "
                "ones only by the callers granted run.invoker.",
    remediation="Grant roles/run.invoker to the callers' service accounts (Service.grant_invoke, Job.grant_run); "
                "a public service uses ingress INTERNAL_LOAD_BALANCER behind the external load balancer.",
)
def cloudrun_not_public(r: Res, ctx: Context) -> Iterator[str]:
    for m in _members(r):
        if _public(m):
            yield f"grants {r.get('role') or 'access'} to {m}"


@resource_rule(
    "cloudrun-internal-requires-iam", category=EXPOSURE, severity="high", types=(CLOUD_RUN_SERVICE,),
    description="A Cloud Run service with internal ingress keeps the IAM invoker check (invoker_iam_disabled is "
                "not true): internal ingress admits every workload in the project and its VPC, so IAM is what limits "
                "it to the services that use it.",
    remediation="Leave invoker_iam_disabled unset/false on internal services and grant roles/run.invoker to each "
                "caller (Service.grant_invoke); only a load-balancer service disables the check.",
)
def cloudrun_internal_requires_iam(r: Res, ctx: Context) -> Iterator[str]:
    ingress = r.get("ingress")
    if ingress == "INGRESS_TRAFFIC_INTERNAL_ONLY" and is_true(r.get("invokerIamDisabled")):
        yield "internal ingress with invokerIamDisabled: any workload in the project or VPC can call it"
    if ingress in (None, "INGRESS_TRAFFIC_ALL") and is_true(r.get("invokerIamDisabled")):
        yield "ingress all with invokerIamDisabled: anyone on the internet can call it"


RULES = [pubsub_topic_cmek, pubsub_no_public, pubsub_dead_letter, pubsub_push_authenticated, scheduler_authenticated,
         cloudrun_not_public, cloudrun_internal_requires_iam]
"""This module's rules, in the order the pack lists them."""
