"""Queue: a Pub/Sub topic and its consumer's subscription, with a dead-letter topic, retry policy and CMEK.

The GCP peer of an SQS queue with a dead-letter queue. Messages go to the worker by **push** (the default): Pub/Sub
POSTs each message to the worker's Cloud Run URL with an OIDC token of a dedicated push identity, so the worker
scales on requests and to zero; or by **pull** (``delivery="pull"``) for a consumer that pulls itself.

Wiring, one call per ``uses`` entry: ``grant_send(service)`` (``roles/pubsub.publisher`` on the topic only) and
``grant_consume(worker)`` (push: ``roles/run.invoker`` for the push identity on that worker only; pull:
``roles/pubsub.subscriber`` on the subscription only).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_gcp as gcp

from components.gcp.common import (
    Cmek,
    Workload,
    child_opts,
    cmek_deps,
    cmek_id,
    gcp_labels,
    grantee_name,
    invoke_opts,
    member_of,
    remember_deps,
)
from components.gcp.service import account_id

PUBLISHER = "roles/pubsub.publisher"
SUBSCRIBER = "roles/pubsub.subscriber"
INVOKER = "roles/run.invoker"
TOKEN_CREATOR = "roles/iam.serviceAccountTokenCreator"
PUBSUB_AGENT = "gcp-sa-pubsub.iam.gserviceaccount.com"
"""Domain of the Pub/Sub service agent ``service-<project number>@gcp-sa-pubsub.iam.gserviceaccount.com``."""


@dataclass
class QueueArgs:
    """Arguments of :class:`Queue`. Defaults: push delivery, 60 s ack deadline, 4-day retention, 5 attempts."""

    topic_name: str
    """Pub/Sub topic id (``<topic_name>-dead-letter`` for the dead-letter topic): fixed, so a publisher's
    ``QUEUE_<NAME>_TOPIC`` is known before the topic exists (rename = replace)."""
    kms_key: Cmek | pulumi.Input[str] | None = None
    """Customer-managed key of both topics (the ``pubsub`` key of the stack's ``EncryptionKey``, whose agent
    grant the topics wait for)."""
    storage_regions: Sequence[str] = ()
    """Regions messages may be stored in (``message_storage_policy``, both topics): the stack's region keeps the
    data next to its regional CMEK; empty: wherever Pub/Sub publishes from."""
    delivery: Literal["push", "pull"] = "push"
    """``push``: Pub/Sub calls ``push_endpoint`` with an OIDC token of the queue's push identity. ``pull``: the
    consumer pulls (``grant_consume`` gives it ``roles/pubsub.subscriber`` on the subscription)."""
    push_endpoint: pulumi.Input[str] | None = None
    """Push: the worker's URL (``Service.uri``), also the OIDC token's audience. Refused with pull."""
    fifo: bool = False
    """Ordered delivery per ordering key (``enable_message_ordering``)."""
    ack_deadline_seconds: int = 60
    """Time the consumer has to acknowledge (push: to answer 2xx) before redelivery, 10-600 s."""
    retention_days: int = 4
    """How long an unacknowledged message is kept, 1-7 days (also on the dead-letter subscription: 7 days)."""
    max_delivery_attempts: int = 5
    """Deliveries before a message goes to the dead-letter topic, 5-100."""
    minimum_backoff_seconds: int = 10
    """Retry policy: first redelivery delay (exponential backoff up to ``maximum_backoff_seconds``), 0-600."""
    maximum_backoff_seconds: int = 600
    """Retry policy: longest redelivery delay, 0-600."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels on the topics and subscriptions (the standard set)."""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9._~+%-]{2,200}", self.topic_name) or \
                self.topic_name.lower().startswith("goog"):
            raise ValueError(f"QueueArgs.topic_name {self.topic_name!r}: 3-200 characters, a letter first, no goog "
                             "prefix")
        if self.delivery == "push" and self.push_endpoint is None:
            raise ValueError("QueueArgs: push delivery needs push_endpoint (the worker's URL)")
        if self.delivery == "pull" and self.push_endpoint is not None:
            raise ValueError("QueueArgs.push_endpoint does not apply to pull delivery")
        if not 10 <= self.ack_deadline_seconds <= 600:
            raise ValueError(f"QueueArgs.ack_deadline_seconds {self.ack_deadline_seconds}: use 10 to 600")
        if not 1 <= self.retention_days <= 7:
            raise ValueError(f"QueueArgs.retention_days {self.retention_days}: use 1 to 7")
        if not 5 <= self.max_delivery_attempts <= 100:
            raise ValueError(f"QueueArgs.max_delivery_attempts {self.max_delivery_attempts}: use 5 to 100")
        if not 0 <= self.minimum_backoff_seconds <= self.maximum_backoff_seconds <= 600:
            raise ValueError("QueueArgs: need 0 <= minimum_backoff_seconds <= maximum_backoff_seconds <= 600")


class Queue(pulumi.ComponentResource):
    """A CMEK-encrypted topic, its consumer's subscription (dead lettering after ``max_delivery_attempts``,
    exponential retry, never expiring), a CMEK dead-letter topic with a pull subscription to inspect and replay
    dead letters, and the Pub/Sub service agent's grants dead lettering needs (publisher on the dead-letter topic,
    subscriber on the subscription). Push delivery authenticates with an OIDC token of a dedicated push identity
    that holds nothing until ``grant_consume`` gives it ``roles/run.invoker`` on the worker."""

    topic: gcp.pubsub.Topic
    dead_letter_topic: gcp.pubsub.Topic
    subscription: gcp.pubsub.Subscription
    dead_letter_subscription: gcp.pubsub.Subscription
    push_identity: gcp.serviceaccount.Account | None
    agent_grants: dict[str, pulumi.CustomResource]
    publishers: dict[str, gcp.pubsub.TopicIAMMember]
    consumers: dict[str, pulumi.CustomResource]
    topic_id: pulumi.Output[str]
    subscription_id: pulumi.Output[str]

    def __init__(self, name: str, args: QueueArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:gcp:Queue", name, None, opts)
        remember_deps(self, opts)
        self.args = args
        labels = gcp_labels(args.labels)
        project = gcp.organizations.get_project_output(opts=invoke_opts(self))
        agent = pulumi.Output.concat("serviceAccount:service-", project.number, "@", PUBSUB_AGENT)
        key_deps = cmek_deps(args.kms_key)
        retention = f"{args.retention_days * 86400}s"
        storage = {"allowed_persistence_regions": list(args.storage_regions)} if args.storage_regions else None
        self.publishers = {}
        self.consumers = {}
        self.agent_grants = {}

        # -- dead letters: a topic and a pull subscription to inspect / replay them ---------------------------------
        self.dead_letter_topic = gcp.pubsub.Topic(
            f"{name}-dead-letter", name=f"{args.topic_name}-dead-letter", kms_key_name=cmek_id(args.kms_key),
            message_storage_policy=storage,
            labels={**labels, "queue-role": "dead-letter"}, opts=child_opts(self, depends_on=key_deps))
        self.dead_letter_subscription = gcp.pubsub.Subscription(
            f"{name}-dead-letters", name=f"{args.topic_name}-dead-letters", topic=self.dead_letter_topic.id,
            ack_deadline_seconds=60, message_retention_duration=f"{7 * 86400}s", expiration_policy={"ttl": ""},
            labels={**labels, "queue-role": "dead-letter"}, opts=child_opts(self))
        self.agent_grants["dead-letter-publisher"] = gcp.pubsub.TopicIAMMember(
            f"{name}-agent-publishes-dead-letters", topic=self.dead_letter_topic.name, role=PUBLISHER, member=agent,
            opts=child_opts(self))

        # -- the topic and the consumer's subscription -----------------------------------------------------------
        self.topic = gcp.pubsub.Topic(
            f"{name}-topic", name=args.topic_name, kms_key_name=cmek_id(args.kms_key), message_storage_policy=storage,
            labels={**labels, "queue-role": "main"}, opts=child_opts(self, depends_on=key_deps))
        self.push_identity = None
        push: dict[str, Any] | None = None
        if args.delivery == "push":
            self.push_identity = gcp.serviceaccount.Account(
                f"{name}-push", account_id=account_id(f"{name}-push"),
                display_name=f"{name} (Pub/Sub push)",
                description=f"Identity Pub/Sub pushes {name} with; may invoke only the queue's worker",
                opts=child_opts(self))
            # Pub/Sub mints the OIDC token as the push identity: token creator on that account only.
            self.agent_grants["push-token-creator"] = gcp.serviceaccount.IAMMember(
                f"{name}-agent-signs-push", service_account_id=self.push_identity.name, role=TOKEN_CREATOR,
                member=agent, opts=child_opts(self))
            push = {"push_endpoint": args.push_endpoint,
                    "oidc_token": {"service_account_email": self.push_identity.email,
                                   "audience": args.push_endpoint}}
        self.subscription = gcp.pubsub.Subscription(
            f"{name}-subscription", name=args.topic_name, topic=self.topic.id,
            ack_deadline_seconds=args.ack_deadline_seconds, message_retention_duration=retention,
            enable_message_ordering=args.fifo, expiration_policy={"ttl": ""},
            dead_letter_policy={"dead_letter_topic": self.dead_letter_topic.id,
                                "max_delivery_attempts": args.max_delivery_attempts},
            retry_policy={"minimum_backoff": f"{args.minimum_backoff_seconds}s",
                          "maximum_backoff": f"{args.maximum_backoff_seconds}s"},
            push_config=push, labels={**labels, "queue-role": "main"},
            opts=child_opts(self, depends_on=[self.agent_grants["dead-letter-publisher"],
                                              *([self.agent_grants["push-token-creator"]] if push else [])]))
        # Dead lettering acknowledges the message on the source subscription as the Pub/Sub agent.
        self.agent_grants["subscriber"] = gcp.pubsub.SubscriptionIAMMember(
            f"{name}-agent-forwards-dead-letters", subscription=self.subscription.name, role=SUBSCRIBER,
            member=agent, opts=child_opts(self))

        self.topic_id = self.topic.id
        self.subscription_id = self.subscription.id
        self.register_outputs({
            "topic": self.topic.id,
            "subscription": self.subscription.id,
            "dead_letter_topic": self.dead_letter_topic.id,
            "dead_letter_subscription": self.dead_letter_subscription.id,
            "push_identity": self.push_identity.email if self.push_identity else None,
        })

    # -- wiring --------------------------------------------------------------------------------------------------
    def grant_send(self, grantee: Workload | gcp.serviceaccount.Account | str) -> gcp.pubsub.TopicIAMMember:
        """Let the grantee publish: ``roles/pubsub.publisher`` on this topic only."""
        who = grantee_name(grantee)
        if who not in self.publishers:
            self.publishers[who] = gcp.pubsub.TopicIAMMember(
                f"{self.pulumi_resource_name}-publish-{who}", topic=self.topic.name, role=PUBLISHER,
                member=member_of(grantee), opts=child_opts(self))
        return self.publishers[who]

    def grant_consume(self, worker: Any) -> pulumi.CustomResource:
        """Let the worker consume. Push: the push identity gets ``roles/run.invoker`` on that worker only (a
        Cloud Run ``Service`` with ``ingress="internal"``: its ``grant_invoke``). Pull: the worker's account gets
        ``roles/pubsub.subscriber`` on this subscription only."""
        who = grantee_name(worker)
        if who in self.consumers:
            return self.consumers[who]
        if self.push_identity is not None:
            grant_invoke = getattr(worker, "grant_invoke", None)
            if grant_invoke is None:
                raise TypeError(f"Queue {self.pulumi_resource_name}: push delivery needs a Cloud Run Service worker "
                                f"(with grant_invoke), got {worker!r}")
            self.consumers[who] = grant_invoke(self.push_identity)
        else:
            self.consumers[who] = gcp.pubsub.SubscriptionIAMMember(
                f"{self.pulumi_resource_name}-consume-{who}", subscription=self.subscription.name, role=SUBSCRIBER,
                member=member_of(worker), opts=child_opts(self))
        return self.consumers[who]
