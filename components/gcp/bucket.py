"""Bucket: a private, versioned, CMEK-encrypted Cloud Storage bucket with lifecycle rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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
    member_of,
    remember_deps,
)

READ_WRITE_ROLE = "roles/storage.objectUser"
"""Read, create, overwrite and delete objects; no bucket or IAM administration."""
READ_ROLE = "roles/storage.objectViewer"
"""Read and list objects."""
USAGE_LOG_WRITER = "group:cloud-storage-analytics@google.com"
"""The identity Cloud Storage writes usage and storage logs as."""


def multi_region(region: str) -> str | None:
    """The multi-region containing a region (``us-east1`` -> ``US``), or None."""
    prefix = region.lower().split("-")[0]
    return {"us": "US", "europe": "EU", "asia": "ASIA"}.get(prefix)


@dataclass
class BucketArgs:
    """Arguments of :class:`Bucket`. Defaults: regional STANDARD, versioned, 30-day noncurrent expiry."""

    location: str
    """Bucket location: the region (a regional CMEK must be in the same location)."""
    dual_region_with: str | None = None
    """A second region: the bucket becomes a configurable dual-region (``location`` and this one, in the same
    multi-region: US, EU or ASIA) with turbo replication (15-minute objective); its CMEK must then be in the
    multi-region (e.g. ``us``). None: a single region."""
    noncurrent_version_days: int = 30
    """Delete noncurrent object versions N days after they become noncurrent."""
    max_noncurrent_versions: int | None = 3
    """Also delete noncurrent versions beyond the newest N; None: no count limit."""
    nearline_after_days: int | None = None
    """Move live STANDARD objects to NEARLINE after N days (``transitionToIaDays``); None: never."""
    abort_incomplete_upload_days: int = 1
    """Abort incomplete multipart (XML API) uploads after N days."""
    soft_delete_days: int = 7
    """Soft-delete retention of deleted objects, days (0 turns soft delete off; 7-90 otherwise)."""
    access_log_bucket: pulumi.Input[str] | None = None
    """Name of a bucket that receives this bucket's usage logs (see ``allow_usage_log_delivery``); None: off."""
    kms_key: Cmek | pulumi.Input[str] | None = None
    """Default customer-managed key (the ``storage`` key). None: Google-managed."""
    force_destroy: bool = False
    """Let ``pulumi destroy`` delete a non-empty bucket (keep False outside throwaway stacks)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels of the bucket (the standard set)."""
    protect: bool = False
    """Pulumi ``protect`` (prod)."""

    def __post_init__(self) -> None:
        if self.noncurrent_version_days < 1:
            raise ValueError("BucketArgs.noncurrent_version_days: at least 1")
        if self.nearline_after_days is not None and self.nearline_after_days < 1:
            raise ValueError("BucketArgs.nearline_after_days: at least 1 (Nearline bills 30 days minimum)")
        if self.dual_region_with is not None and (multi_region(self.location) is None or self.dual_region_with ==
                                                  self.location or multi_region(self.location) != multi_region(
                                                      self.dual_region_with)):
            raise ValueError(f"BucketArgs.dual_region_with {self.dual_region_with!r}: a dual-region pairs two "
                             f"regions of one multi-region (US, EU, ASIA) with {self.location!r}")
        if self.soft_delete_days and not 7 <= self.soft_delete_days <= 90:
            raise ValueError(f"BucketArgs.soft_delete_days {self.soft_delete_days}: 0, or 7 to 90")


class Bucket(pulumi.ComponentResource):
    """A Cloud Storage bucket with uniform bucket-level access, public access prevention enforced, versioning,
    CMEK, soft delete and lifecycle rules (noncurrent versions, optional Nearline, incomplete uploads)."""

    bucket: gcp.storage.Bucket
    name: pulumi.Output[str]
    url: pulumi.Output[str]
    grants: dict[str, gcp.storage.BucketIAMMember]

    def __init__(self, name: str, args: BucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:gcp:Bucket", name, None, opts)
        remember_deps(self, opts)
        self.args = args
        rules: list[dict[str, Any]] = [
            {"action": {"type": "Delete"},
             "condition": {"days_since_noncurrent_time": args.noncurrent_version_days, "with_state": "ARCHIVED"}},
            {"action": {"type": "AbortIncompleteMultipartUpload"},
             "condition": {"age": args.abort_incomplete_upload_days}},
        ]
        if args.max_noncurrent_versions is not None:
            rules.append({"action": {"type": "Delete"},
                          "condition": {"num_newer_versions": args.max_noncurrent_versions, "with_state": "ARCHIVED"}})
        if args.nearline_after_days is not None:
            rules.append({"action": {"type": "SetStorageClass", "storage_class": "NEARLINE"},
                          "condition": {"age": args.nearline_after_days, "matches_storage_classes": ["STANDARD"],
                                        "with_state": "LIVE"}})
        key = cmek_id(args.kms_key)
        placement: dict[str, Any] = {}
        if args.dual_region_with is not None:  # issue 14: copies in two regions, turbo replication
            placement = {"location": multi_region(args.location), "rpo": "ASYNC_TURBO", "custom_placement_config": {
                "data_locations": [args.location.upper(), args.dual_region_with.upper()]}}
        self.bucket = gcp.storage.Bucket(
            f"{name}-bucket", **({"location": args.location.upper()} | placement), storage_class="STANDARD",
            uniform_bucket_level_access=True, public_access_prevention="enforced",
            versioning={"enabled": True}, encryption={"default_kms_key_name": key} if key is not None else None,
            lifecycle_rules=rules, soft_delete_policy={"retention_duration_seconds": args.soft_delete_days * 86400},
            logging={"log_bucket": args.access_log_bucket, "log_object_prefix": name}
            if args.access_log_bucket is not None else None,
            force_destroy=args.force_destroy, labels=gcp_labels(args.labels),
            opts=child_opts(self, protect=args.protect, depends_on=cmek_deps(args.kms_key)))
        self.name = self.bucket.name
        self.url = self.bucket.url
        self.grants = {}
        self.register_outputs({"name": self.name, "url": self.url})

    # -- wiring --------------------------------------------------------------------------------------------------
    def _grant(self, purpose: str, role: str, grantee: Workload | gcp.serviceaccount.Account | str
               ) -> gcp.storage.BucketIAMMember:
        key = f"{self.pulumi_resource_name}-{purpose}-{grantee_name(grantee)}"
        if key not in self.grants:
            self.grants[key] = gcp.storage.BucketIAMMember(
                key, bucket=self.bucket.name, role=role, member=member_of(grantee), opts=child_opts(self))
        return self.grants[key]

    def grant_read_write(self, grantee: Workload | gcp.serviceaccount.Account) -> gcp.storage.BucketIAMMember:
        """``roles/storage.objectUser`` on this bucket only: objects read, written and deleted."""
        return self._grant("rw", READ_WRITE_ROLE, grantee)

    def grant_read(self, grantee: Workload | gcp.serviceaccount.Account) -> gcp.storage.BucketIAMMember:
        """``roles/storage.objectViewer`` on this bucket only."""
        return self._grant("read", READ_ROLE, grantee)

    def allow_usage_log_delivery(self) -> gcp.storage.BucketIAMMember:
        """Let Cloud Storage write usage logs of other buckets here (``roles/storage.objectCreator`` for
        ``cloud-storage-analytics@google.com``, on this bucket only)."""
        return self._grant("usage-logs", "roles/storage.objectCreator", USAGE_LOG_WRITER)
