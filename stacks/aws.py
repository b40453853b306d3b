"""The AWS stack: one explicit provider (region from settings), then the components, wired together."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from .settings import Settings


def build_aws(settings: Settings) -> None:
    """Compose the AWS components for one environment and export the stack outputs."""
    provider = aws.Provider("aws", region=settings.region)
    opts = pulumi.ResourceOptions(provider=provider)
    del opts  # components are composed here (issue 3)
    pulumi.export("environment", settings.environment)
    pulumi.export("region", settings.region)
