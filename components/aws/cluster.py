"""Cluster: the one ECS cluster of a stack (Container Insights), its shared image repository and, when a stack
has internal services, the Cloud Map namespace ECS Service Connect resolves them in."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.base import with_aliases

from .common import child_opts, tag_set


def image_repository(parent: pulumi.Resource, name: str, *, kms_key_arn: pulumi.Input[str] | None,
                     image_retention_count: int, tags: Mapping[str, str]) -> aws.ecr.Repository:
    """An ECR repository with immutable tags, scan on push, KMS encryption (``kms_key_arn``, else the AWS-managed
    key), never force-deleted, and a lifecycle policy keeping the last ``image_retention_count`` images."""
    encryption: dict[str, Any] = {"encryption_type": "KMS"}
    if kms_key_arn is not None:
        encryption["kms_key"] = kms_key_arn
    repository = aws.ecr.Repository(
        f"{name}-repo", image_tag_mutability="IMMUTABLE", image_scanning_configuration={"scan_on_push": True},
        encryption_configurations=[encryption], force_delete=False, tags=tag_set(tags, f"{name}-repo"),
        opts=child_opts(parent))
    aws.ecr.LifecyclePolicy(
        f"{name}-repo", repository=repository.name,
        policy=json.dumps({"rules": [{
            "rulePriority": 1, "description": f"Keep the last {image_retention_count} images",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                          "countNumber": image_retention_count},
            "action": {"type": "expire"}}]}),
        opts=child_opts(parent))
    return repository


@dataclass
class ClusterArgs:
    """Arguments of :class:`Cluster`. Defaults: Container Insights on, a KMS-encrypted immutable repository
    keeping the last 20 images, no Service Connect namespace."""

    container_insights: Literal["enabled", "enhanced"] = "enabled"
    """Container Insights level; it supplies the per-service task counts workers scale on (never off)."""
    kms_key_arn: pulumi.Input[str] | None = None
    """Key encrypting the image repository; None: the AWS-managed ECR key."""
    image_retention_count: int = 20
    """Images the repository's lifecycle policy keeps (the most recent N, over every service's tags)."""
    service_connect_namespace: str | None = None
    """Name of a Cloud Map HTTP namespace made the cluster's Service Connect default (e.g. ``app-dev.internal``);
    needed when a service is internal. None: no namespace."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource that takes them."""

    def __post_init__(self) -> None:
        if not 1 <= self.image_retention_count <= 1000:
            raise ValueError("ClusterArgs.image_retention_count must be 1-1000")


class Cluster(pulumi.ComponentResource):
    """One ECS cluster for every service and job of the stack, and one image repository they all pull from
    (images are told apart by tag, ``<service>-<git sha>``: one lifecycle policy, one place CI pushes to)."""

    cluster: aws.ecs.Cluster
    repository: aws.ecr.Repository
    namespace: aws.servicediscovery.HttpNamespace | None
    name: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterArgs | None = None, opts: pulumi.ResourceOptions | None = None) -> None:
        # The cluster and repository were children of the single ``backend:aws:Service`` of the same name (issue 8):
        # the alias keeps their URNs, so a deployed stack keeps its images instead of replacing the repository.
        super().__init__("backend:aws:Cluster", name, None, with_aliases(opts, "backend:aws:Service"))
        args = args or ClusterArgs()
        self.args = args
        tags = args.tags
        self.repository = image_repository(self, name, kms_key_arn=args.kms_key_arn,
                                           image_retention_count=args.image_retention_count, tags=tags)
        self.namespace = None
        if args.service_connect_namespace:
            self.namespace = aws.servicediscovery.HttpNamespace(
                f"{name}-namespace", name=args.service_connect_namespace,
                description=f"Service Connect names of {name}'s internal services",
                tags=tag_set(tags, args.service_connect_namespace), opts=child_opts(self))
        self.cluster = aws.ecs.Cluster(
            f"{name}-cluster", settings=[{"name": "containerInsights", "value": args.container_insights}],
            service_connect_defaults={"namespace": self.namespace.arn} if self.namespace else None,
            tags=tag_set(tags, f"{name}-cluster"), opts=child_opts(self))
        self.name = self.cluster.name
        self.arn = self.cluster.arn
        self.register_outputs({
            "cluster_name": self.cluster.name, "cluster_arn": self.cluster.arn,
            "repository_url": self.repository.repository_url,
            "namespace_arn": self.namespace.arn if self.namespace else None,
        })
