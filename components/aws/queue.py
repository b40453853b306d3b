"""Queue: an SQS queue with a dead-letter queue (redrive after ``max_receives``), KMS encryption, TLS-only
policies, and two grants: :meth:`Queue.grant_send` and :meth:`Queue.grant_consume`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from .common import Grantable, Grants, KeyLike, aws_context, child_opts, data_key, key_arn, policy_json, tag_set

_DAY = 86_400


@dataclass
class QueueArgs:
    """Arguments of :class:`Queue`. Defaults: a standard queue, 60 s visibility, 4 days retention, 5 receives
    before the dead-letter queue (which keeps messages 14 days), encrypted with a key of its own."""

    queue_name: str | None = None
    """Physical name without ``.fifo`` (added for FIFO queues); None: the component's name. The dead-letter
    queue is ``<name>-dlq``."""
    fifo: bool = False
    """A FIFO queue (and FIFO dead-letter queue): ordered, exactly-once processing."""
    content_based_deduplication: bool = True
    """FIFO only: deduplicate on a SHA-256 of the body when the sender gives no deduplication id."""
    visibility_timeout_seconds: int = 60
    """How long a received message stays hidden before redelivery (set it above the processing time)."""
    retention_days: int = 4
    """How long an unconsumed message is kept (1-14 days)."""
    max_receives: int = 5
    """Receives before a message moves to the dead-letter queue (1-1000)."""
    dead_letter_retention_days: int = 14
    """How long the dead-letter queue keeps messages (the maximum: time to inspect and redrive them)."""
    kms_key: KeyLike | None = None
    """Key encrypting both queues (the stack's key); None: a key of its own (``encryption.keyPerComponent``)."""
    kms_data_key_reuse_period_seconds: int = 300
    """How long SQS reuses a data key before calling KMS again (60-86400): longer is cheaper, shorter is tighter."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on both queues (and an own key)."""
    protect: bool = False
    """Pulumi ``protect`` on the queues and an own key (prod)."""

    def __post_init__(self) -> None:
        if not 0 <= self.visibility_timeout_seconds <= 43_200:
            raise ValueError("QueueArgs.visibility_timeout_seconds must be 0-43200")
        if not 1 <= self.retention_days <= 14 or not 1 <= self.dead_letter_retention_days <= 14:
            raise ValueError("QueueArgs: SQS keeps messages 1-14 days (retention_days, dead_letter_retention_days)")
        if not 1 <= self.max_receives <= 1000:
            raise ValueError("QueueArgs.max_receives must be 1-1000")
        if not 60 <= self.kms_data_key_reuse_period_seconds <= 86_400:
            raise ValueError("QueueArgs.kms_data_key_reuse_period_seconds must be 60-86400")
        if self.dead_letter_retention_days < self.retention_days:
            raise ValueError("QueueArgs.dead_letter_retention_days must be at least retention_days (SQS keeps a "
                             "message's original enqueue time when it moves to the dead-letter queue)")


def tls_only_statement(queue_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Deny every SQS action on the queue over plain HTTP."""
    return {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "sqs:*",
            "Resource": queue_arn, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


class Queue(pulumi.ComponentResource):
    """An encrypted SQS queue whose failed messages go to an encrypted dead-letter queue."""

    queue: aws.sqs.Queue
    dead_letter_queue: aws.sqs.Queue
    arn: pulumi.Output[str]
    url: pulumi.Output[str]
    name: pulumi.Output[str]
    dead_letter_name: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: QueueArgs | None = None, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:aws:Queue", name, None, opts)
        args = args or QueueArgs()
        self.args = args
        tags = args.tags
        self._ctx = aws_context(self)
        self._grants = Grants(self, name)
        key = data_key(self, name, args.kms_key, description=f"{name}: queue messages", via_services=("sqs",),
                       tags=tags, protect=args.protect)
        self.kms_key = key
        self.kms_key_arn = key_arn(key)
        base = args.queue_name or name
        suffix = ".fifo" if args.fifo else ""
        common: dict[str, Any] = dict(
            kms_master_key_id=self.kms_key_arn,
            kms_data_key_reuse_period_seconds=args.kms_data_key_reuse_period_seconds)
        if args.fifo:
            common.update(fifo_queue=True, content_based_deduplication=args.content_based_deduplication)
        self.dead_letter_queue = aws.sqs.Queue(
            f"{name}-dlq", name=f"{base}-dlq{suffix}", message_retention_seconds=args.dead_letter_retention_days * _DAY,
            tags=tag_set(tags, f"{base}-dlq{suffix}"), opts=child_opts(self, protect=args.protect), **common)
        self.queue = aws.sqs.Queue(
            name, name=f"{base}{suffix}", visibility_timeout_seconds=args.visibility_timeout_seconds,
            message_retention_seconds=args.retention_days * _DAY,
            redrive_policy=self.dead_letter_queue.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": args.max_receives})),
            tags=tag_set(tags, f"{base}{suffix}"), opts=child_opts(self, protect=args.protect), **common)
        # Only this queue may move messages into its dead-letter queue.
        aws.sqs.RedriveAllowPolicy(
            f"{name}-dlq", queue_url=self.dead_letter_queue.id,
            redrive_allow_policy=self.queue.arn.apply(
                lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})),
            opts=child_opts(self))
        for key_name, q in ((name, self.queue), (f"{name}-dlq", self.dead_letter_queue)):
            aws.sqs.QueuePolicy(key_name, queue_url=q.id, policy=policy_json([tls_only_statement(q.arn)]),
                                opts=child_opts(self))
        self.arn = self.queue.arn
        self.url = self.queue.url
        self.name = self.queue.name
        self.dead_letter_name = self.dead_letter_queue.name
        self.register_outputs({
            "url": self.url, "arn": self.arn, "name": self.name, "dead_letter_url": self.dead_letter_queue.url,
            "dead_letter_arn": self.dead_letter_queue.arn, "kms_key_arn": self.kms_key_arn,
        })

    def _kms(self, actions: list[str]) -> dict[str, Any]:
        return {"Sid": "UseQueueKeyThroughSqs", "Effect": "Allow", "Action": actions, "Resource": self.kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": pulumi.Output.concat(
                    "sqs.", self._ctx.region, ".", self._ctx.dns_suffix)}}}

    # -- wiring ----------------------------------------------------------------------------------------------
    def grant_send(self, grantee: Grantable | aws.iam.Role) -> aws.iam.RolePolicy:
        """Send messages: ``sqs:SendMessage`` on this queue, and the key's ``GenerateDataKey``/``Decrypt`` through
        SQS (one role policy)."""
        return self._grants.add("send", grantee, [
            {"Sid": "SendMessages", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": self.arn},
            self._kms(["kms:GenerateDataKey", "kms:Decrypt"]),
        ])

    def grant_consume(self, grantee: Grantable | aws.iam.Role) -> aws.iam.RolePolicy:
        """Receive, delete and extend messages, read the queue's attributes (backlog), and ``kms:Decrypt`` through
        SQS (one role policy)."""
        return self._grants.add("consume", grantee, [
            {"Sid": "ConsumeMessages", "Effect": "Allow",
             "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                        "sqs:GetQueueAttributes"],
             "Resource": self.arn},
            self._kms(["kms:Decrypt"]),
        ])
