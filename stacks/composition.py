"""What ``build_aws`` and ``build_gcp`` return: the stack's components, one field per concern of the kit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi


@dataclass(frozen=True)
class StackComponents:
    """The components of one stack, under the same field names on both clouds (the concerns of
    ``components.base.KIT``); ``None`` where the settings turn a concern off."""

    provider: pulumi.ProviderResource
    """The one explicit provider every resource uses."""
    encryption_key: pulumi.ComponentResource
    """AWS: the stack key (one key) or the logs key (a key per component); GCP: the key ring and its keys."""
    network: pulumi.ComponentResource
    load_balancer: pulumi.ComponentResource
    service: pulumi.ComponentResource | None
    """GCP: the one Cloud Run service; AWS: the first public web service of ``services`` (None without one)."""
    database: pulumi.ComponentResource | None
    cache: pulumi.ComponentResource | None
    buckets: Mapping[str, pulumi.ComponentResource]
    """By the bucket's settings name."""
    access_logs: pulumi.ComponentResource | None
    """The bucket receiving the other buckets' access logs, when any bucket logs access."""
    monitoring: pulumi.ComponentResource
    cluster: pulumi.ComponentResource | None = None
    """AWS: the one ECS cluster (and shared image repository) of every service and job."""
    services: Mapping[str, pulumi.ComponentResource] = field(default_factory=dict)
    """By the service's settings name (``services``): web services, workers and jobs."""
    queues: Mapping[str, pulumi.ComponentResource] = field(default_factory=dict)
    """By the queue's settings name (``queues``)."""
    identity: pulumi.ComponentResource | None = None
    """The user directory (Cognito user pool / Identity Platform); None with ``identity.enabled: false``."""
    secrets: Mapping[str, pulumi.ComponentResource] = field(default_factory=dict)
    """Application secrets by their settings name."""
    service_network: pulumi.ComponentResource | None = None
    """AWS: the VPC Lattice service network of the internal services (``identity.serviceAuth: iam``); None
    without internal services (GCP: Cloud Run's invoker check needs none)."""
    extra: Mapping[str, pulumi.Resource] = field(default_factory=dict)
    """What only one cloud has (GCP: the enabled APIs as ``api-<name>``)."""
    services: dict[str, Any] = field(default_factory=dict)
    """By the service's settings name: its component (web service or worker: ``Service``; job: ``Job``)."""
    queues: dict[str, Any] = field(default_factory=dict)
    """By the queue's settings name."""
