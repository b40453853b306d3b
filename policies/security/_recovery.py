"""Recovery assessment: the recovery point and time a deployed design achieves, derived from its resources.

Shared by the ``dr-objectives-met`` rule (:mod:`.rules_recovery`) and the review's recovery section
(``review/recovery.py``), so both read the same model. Pure: resources and objectives in, a result out.

The model (every figure is a documented assumption, see docs/runbook.md "How the review measures RPO and RTO"):

* A **data store** is a database (RDS instance, Aurora cluster, Cloud SQL primary) or an application bucket (S3
  or Cloud Storage, not a log bucket, replica or copy destination).
* Each store has **recovery paths**: where a copy lives (same region or not), how old it can be (RPO) and how
  long bringing it back takes (restore minutes). In-region: PITR (5 min), versioning (0), snapshots (their
  schedule). Cross-region: RDS automated-backup replication (10 min: logs shipped every 5 min plus copy lag),
  Cloud SQL cross-region replica (5 min, asynchronous lag), S3 replication with Replication Time Control (15 min)
  or without (720 min, no bound), dual-region Cloud Storage with turbo replication (15 min) or default (720 min),
  AWS Backup copies and Cloud SQL backups stored in another region (the schedule: a day).
* **Stated scenario**: with a DR region, a regional disaster (only cross-region paths count); without one, the
  loss of a store in its region (every path counts). A store's RPO is its best path's; the stack's RPO is its
  worst store's. RTO = (DR: deploying the stack in the DR region, 60 min) + the slowest store's best restore
  (PITR or snapshot restore 60 min, replica promotion 10 min, replica bucket or dual-region 0) + cut-over
  (config change, ``pulumi up``, DNS: 30 min).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from policies.common import Res, ResourceIndex, as_list, is_true, is_unknown

from ._helpers import (
    CLOUD_SQL,
    GCS_BUCKET,
    LOAD_BALANCERS,
    MEMORYSTORE,
    RDS_CLUSTER,
    RDS_INSTANCE,
    REPLICATION_GROUP,
    S3_BUCKETS,
    SERVERLESS_CACHE,
)

RDS_BACKUP_REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
S3_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
S3_LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
LOG_DESTINATION = "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination"
BACKUP_PLAN = "aws:backup/plan:Plan"
BACKUP_SELECTION = "aws:backup/selection:Selection"
BACKUP_VAULT = "aws:backup/vault:Vault"
CACHES = (REPLICATION_GROUP, SERVERLESS_CACHE, MEMORYSTORE)
"""Caches (node-based or serverless ElastiCache, Memorystore): not data stores. Their contents are rebuilt by the
application; in a regional disaster the stack deployed in the DR region creates an empty one (within
``DEPLOY_DR_STACK``), so a cache never sets the RPO and adds nothing to the RTO (docs/runbook.md)."""

PITR_RPO = 5
"""Point-in-time recovery: RDS uploads transaction logs every 5 minutes; Cloud SQL's are continuous (5: a bound)."""
RDS_REPLICATED_RPO = 10
CLOUDSQL_REPLICA_RPO = 5
S3_RTC_RPO = 15
GCS_TURBO_RPO = 15
UNBOUNDED_REPLICATION_RPO = 720
DAILY = 1440
RESTORE_DB = 60
PROMOTE_REPLICA = 10
DEPLOY_DR_STACK = 60
CUT_OVER = 30


@dataclass(frozen=True)
class Path:
    """One way to recover a store: a copy somewhere, how stale, how long to bring back."""

    mechanism: str
    region: str | None
    rpo_minutes: float
    restore_minutes: float
    cross_region: bool


@dataclass
class Store:
    """A data store and its recovery paths."""

    name: str
    kind: str
    region: str | None
    paths: list[Path] = field(default_factory=list)

    def best(self, cross_region_only: bool) -> tuple[Path | None, Path | None]:
        """(lowest-RPO path, fastest path) among the paths the scenario allows."""
        usable = [p for p in self.paths if p.cross_region or not cross_region_only]
        if not usable:
            return None, None
        return (min(usable, key=lambda p: (p.rpo_minutes, p.restore_minutes)),
                min(usable, key=lambda p: (p.restore_minutes, p.rpo_minutes)))


@dataclass
class Objectives:
    """What the stack states (``<project>:dr``)."""

    rpo_minutes: float | None = None
    rto_minutes: float | None = None
    region: str | None = None

    @classmethod
    def parse(cls, raw: Any) -> Objectives | None:
        """From a ``dr`` config or output value (camelCase keys); None when it states nothing usable."""
        if not isinstance(raw, Mapping):
            return None

        def minutes(key: str) -> float | None:
            v = raw.get(key)
            if isinstance(v, bool) or not isinstance(v, (int, float, str)):
                return None
            try:
                f = float(v)
            except ValueError:
                return None
            return f if f > 0 else None

        region = raw.get("region")
        obj = cls(minutes("rpoMinutes"), minutes("rtoMinutes"),
                  region if isinstance(region, str) and region else None)
        return obj if (obj.rpo_minutes or obj.rto_minutes or obj.region) else None


@dataclass
class Assessment:
    """The achieved recovery point and time of a design, per store and for the stack."""

    stores: list[Store]
    objectives: Objectives | None
    scenario: str
    rpo_minutes: float | None
    rto_minutes: float | None
    unrecoverable: list[str]
    """Stores with no usable path in the scenario."""
    caches: list[str] = field(default_factory=list)
    """Caches (:data:`CACHES`), rebuilt empty rather than restored."""

    @property
    def problems(self) -> list[str]:
        """Why the design cannot meet the stated objectives (empty: it can, or nothing is stated)."""
        o = self.objectives
        if o is None:
            return []
        out: list[str] = []
        if o.region and self.unrecoverable:
            out.append(f"no copy outside the primary region for {', '.join(self.unrecoverable)} "
                       f"(dr.region is {o.region})")
        elif self.unrecoverable:
            out.append(f"no recovery path for {', '.join(self.unrecoverable)}")
        if o.rpo_minutes and self.rpo_minutes is not None and self.rpo_minutes > o.rpo_minutes:
            out.append(f"achieved RPO {fmt_minutes(self.rpo_minutes)} exceeds the objective "
                       f"{fmt_minutes(o.rpo_minutes)} ({self._worst('rpo')})")
        if o.rto_minutes and self.rto_minutes is not None and self.rto_minutes > o.rto_minutes:
            out.append(f"achieved RTO {fmt_minutes(self.rto_minutes)} exceeds the objective "
                       f"{fmt_minutes(o.rto_minutes)} ({self._worst('rto')})")
        return out

    def _worst(self, what: str) -> str:
        cross = self.scenario == "regional"
        worst, value = "", -1.0
        for s in self.stores:
            rpo_path, rto_path = s.best(cross)
            p = rpo_path if what == "rpo" else rto_path
            if p is None:
                continue
            v = p.rpo_minutes if what == "rpo" else p.restore_minutes
            if v > value:
                worst, value = f"{s.name}: {p.mechanism}", v
        return worst


def fmt_minutes(m: float) -> str:
    """``15 min``, ``4 h``, ``1 d``."""
    if m >= DAILY and m % DAILY == 0:
        return f"{int(m // DAILY)} d"
    if m >= 60 and m % 60 == 0:
        return f"{int(m // 60)} h"
    return f"{m:g} min"


# -- graph reading -------------------------------------------------------------------------------------------------
def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value and not is_unknown(value) else None


def region_of(r: Res, default: str | None) -> str | None:
    """The resource's own region, its provider's, else the stack's."""
    return _str(r.get("region")) or _str(r.provider_props.get("region")) or default


def _cron_interval(expr: Any) -> float:
    """Minutes between runs of an AWS Backup schedule (``cron(...)``/``rate(...)``); unknown: a day."""
    text = _str(expr) or ""
    m = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", text.strip())
    if m:
        n, unit = int(m.group(1)), m.group(2)
        return float(n * (1 if unit.startswith("minute") else 60 if unit.startswith("hour") else DAILY))
    m = re.fullmatch(r"cron\((\S+) (\S+) .*\)", text.strip())
    if m and m.group(2) in ("*", "*/1"):
        return 60.0
    if m and m.group(2).startswith("*/") and m.group(2)[2:].isdigit():
        return 60.0 * int(m.group(2)[2:])
    return float(DAILY)


def _log_or_copy_buckets(index: ResourceIndex) -> set[str]:
    """URNs of buckets that hold logs or copies (not application data)."""
    out: set[str] = set()
    for lg in index.of_type(*S3_LOGGING):
        out.update(b.urn for b in index.referenced(lg, "targetBucket", S3_BUCKETS, ("bucket",)))
    for lb in index.of_type(*LOAD_BALANCERS):
        out.update(b.urn for b in index.referenced(lb, "accessLogs.bucket", S3_BUCKETS, ("bucket",)))
    for rep in index.of_type(S3_REPLICATION):
        for rule in range(len(as_list(rep.get("rules")))):
            out.update(b.urn for b in index.referenced(rep, f"rules.{rule}.destination.bucket", S3_BUCKETS,
                                                       ("arn",)))
        out.update(b.urn for b in _dest_buckets(index, rep))
    for dest in index.of_type(LOG_DESTINATION):
        out.update(b.urn for b in _refs(index, dest, "deliveryDestinationConfiguration", S3_BUCKETS))
    for b in index.of_type(GCS_BUCKET):
        for other in index.of_type(GCS_BUCKET):
            if other is not b and b in index.referenced(other, "logging.logBucket", (GCS_BUCKET,), ("name",)):
                out.add(b.urn)
    return out


def _refs(index: ResourceIndex, res: Res, prop_prefix: str, types: Iterable[str]) -> list[Res]:
    """Resources of ``types`` that any property under ``prop_prefix`` depends on."""
    types = tuple(types)
    urns = {u for k, v in res.prop_deps.items() if k == prop_prefix or k.startswith(prop_prefix + ".")
            for u in v}
    return [r for u in urns if (r := index.get(u)) is not None and r.type in types]


def _dest_buckets(index: ResourceIndex, rep: Res) -> list[Res]:
    return _refs(index, rep, "rules", S3_BUCKETS)


def _selected(index: ResourceIndex, store: Res) -> list[Res]:
    """AWS Backup selections that name ``store`` (by dependency on the resource, or its ARN literally)."""
    out = []
    for sel in index.of_type(BACKUP_SELECTION):
        if store in _refs(index, sel, "resources", (store.type,)):
            out.append(sel)
            continue
        arn = _str(store.get("arn"))
        if arn and arn in [_str(v) for v in as_list(sel.get("resources"))]:
            out.append(sel)
    return out


def _backup_paths(index: ResourceIndex, store: Res, region: str | None, default: str | None,
                  restore: float) -> list[Path]:
    paths: list[Path] = []
    for sel in _selected(index, store):
        for plan in _refs(index, sel, "planId", (BACKUP_PLAN,)):
            for i, rule in enumerate(as_list(plan.get("rules"))):
                if not isinstance(rule, Mapping):
                    continue
                every = _cron_interval(rule.get("schedule"))
                vaults = _refs(index, plan, f"rules.{i}.targetVaultName", (BACKUP_VAULT,)) or \
                    _refs(index, plan, "rules", (BACKUP_VAULT,))
                wanted = _str(rule.get("targetVaultName"))
                target = [v for v in vaults if wanted and _str(v.get("name")) == wanted] or \
                    [v for v in vaults if region_of(v, default) == region] or vaults[:1]
                vregion = region_of(target[0], default) if target else region
                paths.append(Path("AWS Backup", vregion, every, restore, vregion != region))
                copies = [c for c in as_list(rule.get("copyActions")) if isinstance(c, Mapping)]
                if not copies:
                    continue
                arns = {_str(c.get("destinationVaultArn")) for c in copies} - {None}
                dests = [v for v in vaults if v not in target and (not arns or _str(v.get("arn")) in arns
                                                                   or _str(v.get("arn")) is None)]
                for d in dests[:len(copies)]:
                    dregion = region_of(d, default)
                    paths.append(Path("AWS Backup copy", dregion, every, restore, dregion != region))
    return paths


def collect(index: ResourceIndex, default_region: str | None) -> list[Store]:
    """Every data store of the stack with its recovery paths."""
    stores: list[Store] = []
    skip = _log_or_copy_buckets(index)
    for db in index.of_type(RDS_INSTANCE):
        if db.has("replicateSourceDb"):
            continue
        region = region_of(db, default_region)
        s = Store(db.name, "database", region)
        retention = db.get("backupRetentionPeriod")
        if isinstance(retention, (int, float)) and not isinstance(retention, bool) and retention >= 1:
            s.paths.append(Path("point-in-time restore", region, PITR_RPO, RESTORE_DB, False))
        for rep in index.of_type(RDS_BACKUP_REPLICATION):
            if db in index.referenced(rep, "sourceDbInstanceArn", (RDS_INSTANCE,), ("arn",)):
                rregion = region_of(rep, default_region)
                s.paths.append(Path("replicated automated backups (PITR)", rregion, RDS_REPLICATED_RPO, RESTORE_DB,
                                    rregion != region))
        s.paths += _backup_paths(index, db, region, default_region, RESTORE_DB)
        stores.append(s)
    for cl in index.of_type(RDS_CLUSTER):
        region = region_of(cl, default_region)
        s = Store(cl.name, "database", region)
        s.paths.append(Path("point-in-time restore", region, PITR_RPO, RESTORE_DB, False))
        s.paths += _backup_paths(index, cl, region, default_region, RESTORE_DB)
        stores.append(s)
    for b in index.of_type(*S3_BUCKETS):
        if b.urn in skip:
            continue
        region = region_of(b, default_region)
        s = Store(b.name, "bucket", region)
        versioned = any(b in index.referenced(v, "bucket", S3_BUCKETS, ("bucket",)) and
                        v.get("versioningConfiguration.status") == "Enabled"
                        for v in index.of_type("aws:s3/bucketVersioning:BucketVersioning",
                                               "aws:s3/bucketVersioningV2:BucketVersioningV2"))
        if versioned or is_true(b.get("versioning.enabled")):
            s.paths.append(Path("object versions", region, 0, 0, False))
        for rep in index.of_type(S3_REPLICATION):
            if b not in index.referenced(rep, "bucket", S3_BUCKETS, ("bucket",)):
                continue
            for i, rule in enumerate(as_list(rep.get("rules"))):
                if not isinstance(rule, Mapping) or rule.get("status") != "Enabled":
                    continue
                dests = _refs(index, rep, f"rules.{i}.destination.bucket", S3_BUCKETS) or _dest_buckets(index, rep)
                dregion = region_of(dests[0], default_region) if dests else None
                rtc = (rule.get("destination") or {}).get("replicationTime") or {}
                rpo = S3_RTC_RPO if isinstance(rtc, Mapping) and rtc.get("status") == "Enabled" \
                    else UNBOUNDED_REPLICATION_RPO
                s.paths.append(Path("replication" + (" (RTC)" if rpo == S3_RTC_RPO else ""), dregion, rpo, 0,
                                    dregion is not None and dregion != region))
        s.paths += _backup_paths(index, b, region, default_region, RESTORE_DB)
        stores.append(s)
    for sql in index.of_type(CLOUD_SQL):
        if sql.has("masterInstanceName"):
            continue
        region = region_of(sql, default_region)
        s = Store(sql.name, "database", region)
        backup = sql.get("settings.backupConfiguration") or {}
        if isinstance(backup, Mapping) and is_true(backup.get("enabled")):
            location = _str(backup.get("location"))
            elsewhere = location is not None and location != region
            if is_true(backup.get("pointInTimeRecoveryEnabled")):
                s.paths.append(Path("point-in-time restore", region, PITR_RPO, RESTORE_DB, False))
            s.paths.append(Path(f"daily backup{' in ' + location if elsewhere else ''}", location or region,
                                DAILY, RESTORE_DB, elsewhere))
        for rep in index.of_type(CLOUD_SQL):
            if rep is sql or sql not in index.referenced(rep, "masterInstanceName", (CLOUD_SQL,), ("name",)):
                continue
            rregion = region_of(rep, default_region)
            s.paths.append(Path("cross-region replica (promote)" if rregion != region else "read replica (promote)",
                                rregion, CLOUDSQL_REPLICA_RPO, PROMOTE_REPLICA, rregion != region))
        stores.append(s)
    for b in index.of_type(GCS_BUCKET):
        if b.urn in skip:
            continue
        location = (_str(b.get("location")) or "").lower()
        s = Store(b.name, "bucket", location or default_region)
        if is_true(b.get("versioning.enabled")):
            s.paths.append(Path("object versions", location, 0, 0, False))
        places = [str(x).lower() for x in as_list(b.get("customPlacementConfig.dataLocations")) if _str(x)]
        if len(places) >= 2:
            turbo = str(b.get("rpo") or "").upper() == "ASYNC_TURBO"
            s.region = places[0]
            s.paths.append(Path("dual-region" + (" (turbo)" if turbo else ""), places[1],
                                GCS_TURBO_RPO if turbo else UNBOUNDED_REPLICATION_RPO, 0, True))
        elif location in ("us", "eu", "asia"):  # a multi-region: geo-redundant by default replication
            s.paths.append(Path("multi-region", location, UNBOUNDED_REPLICATION_RPO, 0, True))
        stores.append(s)
    return stores


def assess(index: ResourceIndex, objectives: Objectives | None, default_region: str | None) -> Assessment:
    """The design's achieved RPO and RTO in the stated scenario (regional with ``objectives.region``)."""
    stores = collect(index, default_region)
    regional = objectives is not None and objectives.region is not None
    rpos: list[float] = []
    restores: list[float] = []
    unrecoverable: list[str] = []
    for s in stores:
        rpo_path, rto_path = s.best(regional)
        if rpo_path is None or rto_path is None:
            unrecoverable.append(s.name)
            continue
        rpos.append(rpo_path.rpo_minutes)
        restores.append(rto_path.restore_minutes)
    if not stores or unrecoverable:
        rpo = rto = None
    else:
        rpo = max(rpos)
        rto = (DEPLOY_DR_STACK if regional else 0) + max(restores) + CUT_OVER
    caches = sorted(r.name for r in index.of_type(*CACHES))
    return Assessment(stores, objectives, "regional" if regional else "in-region", rpo, rto, unrecoverable, caches)
