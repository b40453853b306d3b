"""Composition of components into one environment per stack, driven by the validated settings."""

from __future__ import annotations

from .settings import Settings, SettingsError, load

__all__ = ["Settings", "SettingsError", "build", "load"]


def build(settings: Settings | None = None) -> None:
    """Build the current stack from its settings (read from Pulumi config when not given)."""
    settings = settings or load()
    if settings.cloud == "aws":
        from .aws import build_aws

        build_aws(settings)
    else:
        from .gcp import build_gcp

        build_gcp(settings)
