"""Stand-ins for other components in component tests."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.base import service_principal_policy


class FakeService(pulumi.ComponentResource):
    """Stands in for the Service: a security group (``Connectable``) and a task role (``Grantable``)."""

    def __init__(self, name: str) -> None:
        super().__init__("test:aws:Service", name)
        self.security_group = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id="vpc-0123",
                                                    opts=pulumi.ResourceOptions(parent=self))
        self.task_role = aws.iam.Role(f"{name}-task", assume_role_policy=service_principal_policy(
            "ecs-tasks.amazonaws.com"), opts=pulumi.ResourceOptions(parent=self))
