"""Disaster recovery: in prod, the deployed design can meet the recovery objectives the stack states."""

from __future__ import annotations

from collections.abc import Iterator

from policies.common import Context, Res, ResourceIndex, stack_rule

from ._recovery import Objectives, assess

BACKUP = "backup-and-data-loss"


@stack_rule(
    "dr-objectives-met", category=BACKUP, severity="high",
    description="In prod, the design can meet the recovery objectives the stack states in <project>:dr "
                "(rpoMinutes, rtoMinutes, region): the worst data store's best copy is no older than rpoMinutes, "
                "restoring the stack takes no longer than rtoMinutes, and with a DR region every database and "
                "bucket has a copy outside the primary region (model: docs/runbook.md).",
    rationale="Mandatory in prod: a design that cannot meet its stated objectives loses data or time the business "
              "said it cannot lose.",
    remediation="Add the missing copy (AWS: AWS Backup copy actions, RDS automated-backup replication, S3 "
                "replication with Replication Time Control; GCP: a cross-region Cloud SQL replica, backups in the "
                "DR region, dual-region buckets with turbo replication) or state objectives the design meets.",
)
def dr_objectives(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    if not ctx.is_prod():
        return
    objectives = Objectives.parse(ctx.stack.setting("dr"))
    if objectives is None:
        return
    region = None
    for key in ("aws:region", "gcp:region"):
        if isinstance(ctx.stack.config.get(key), str):
            region = ctx.stack.config[key]
    region = region or ctx.stack.setting("region")
    result = assess(index, objectives, region if isinstance(region, str) else None)
    for problem in result.problems:
        yield None, problem


RULES = [dr_objectives]
