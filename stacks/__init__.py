"""Composition of components into one environment per stack, driven by the validated settings."""

from __future__ import annotations

from .composition import StackComponents
from .settings import Settings, SettingsError, load

__all__ = ["Settings", "SettingsError", "StackComponents", "build", "load"]


def build(settings: Settings | None = None) -> StackComponents:
    """Build the current stack from its settings (read from Pulumi config when not given); returns its
    components."""
    settings = settings or load()
    if settings.cloud == "aws":
        from .aws import build_aws

        return build_aws(settings)
    from .gcp import build_gcp

    return build_gcp(settings)
