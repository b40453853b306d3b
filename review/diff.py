"""Compare the review of two revisions: what a pull request adds, removes or changes, and what it costs."""

from __future__ import annotations

import io
import re
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .isolate import one_line
from .model import SECRET, Resource, display_value
from .project import InputError
from .render import Report, md_code, safe


@dataclass
class Change:
    """One resource that differs between the base and the head."""

    urn: str
    type: str
    name: str
    kind: str
    """``create``, ``update``, ``replace`` (an update of a property that forces a new resource) or ``delete``."""
    fields: list[tuple[str, Any, Any]] = field(default_factory=list)
    """(path, before, after) for updates."""

    def to_json(self) -> dict[str, Any]:
        """JSON shape."""
        return {"urn": self.urn, "type": self.type, "name": self.name, "kind": self.kind,
                "fields": [{"path": p, "before": display_value(a), "after": display_value(b)}
                           for p, a, b in self.fields]}


@dataclass
class Diff:
    """Base versus head."""

    base_ref: str
    changes: list[Change]
    cost_before: float | None
    cost_after: float | None
    new_violations: list[str]
    fixed_violations: list[str]
    partial_before: bool = False
    partial_after: bool = False
    """An estimate with a missing price: its total is a lower bound (``at least``)."""

    def to_json(self) -> dict[str, Any]:
        """JSON shape (the ``diff`` key of the review's JSON)."""
        return {
            "base": self.base_ref,
            "summary": {k: sum(1 for c in self.changes if c.kind == k)
                        for k in ("create", "update", "replace", "delete")},
            "changes": [c.to_json() for c in self.changes],
            "cost": {"before": self.cost_before, "after": self.cost_after,
                     "delta": None if self.cost_before is None or self.cost_after is None
                     else round(self.cost_after - self.cost_before, 2),
                     "partial_before": self.partial_before, "partial_after": self.partial_after},
            "new_violations": self.new_violations,
            "fixed_violations": self.fixed_violations,
        }


def resolve_base(ref: str, program: Path) -> tuple[str, str]:
    """``(repository top, full commit id)`` of ``--base REF``; InputError unless REF names a commit.

    REF is checked with ``git rev-parse --verify --end-of-options REF^{commit}``, so it can never be read as an
    option (``--output=FILE``); only the resolved commit id reaches ``git archive``.
    """
    shown = one_line(ref, 80)
    if not ref or ref.startswith("-") or any(not ch.isprintable() for ch in ref) or len(ref) > 256:
        raise InputError(f"--base {shown}: not a git revision")
    try:
        top = subprocess.run(["git", "-C", str(program.resolve()), "rev-parse", "--show-toplevel"], check=True,
                             capture_output=True, text=True).stdout.strip()
        found = subprocess.run(["git", "-C", top, "rev-parse", "--verify", "--quiet", "--end-of-options",
                                f"{ref}^{{commit}}"], capture_output=True, text=True)
    except FileNotFoundError:
        raise InputError("--base needs git on PATH") from None
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or "").strip()
        first = detail.splitlines()[0] if detail else "git failed"
        raise InputError(f"--base {shown}: {one_line(first, 200)}") from None
    commit = found.stdout.strip()
    if found.returncode != 0 or not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", commit):
        raise InputError(f"--base {shown}: not a commit in {top}")
    return top, commit


def checkout(ref: str, program: Path, into: Path) -> Path:
    """Extract the git tree of ``ref`` (see :func:`resolve_base`) into ``into``; return where ``program`` lies
    inside it."""
    program = program.resolve()
    top, commit = resolve_base(ref, program)
    try:
        data = subprocess.run(["git", "-C", top, "archive", "--format=tar", commit], check=True,
                              capture_output=True).stdout
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode(errors="replace").strip() if exc.stderr else ""
        first = detail.splitlines()[0] if detail else "git failed"
        raise InputError(f"--base {one_line(ref, 80)}: {one_line(first, 200)}") from None
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into / program.relative_to(Path(top).resolve())


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


SECRET_CHANGED = "[secret, changed]"
"""What a diff shows for a secret whose real value changed (compared by keyed fingerprint, never printed)."""


def _changed_fields(a: Resource, b: Resource) -> list[tuple[str, Any, Any]]:
    fa, fb = _flatten(a.inputs), _flatten(b.inputs)
    fa.update({f"(option) {k}": v for k, v in a.options.items() if k in ("protect", "retainOnDelete")})
    fb.update({f"(option) {k}": v for k, v in b.options.items() if k in ("protect", "retainOnDelete")})
    out = [(k, fa.get(k), fb.get(k)) for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)]
    shown = {k for k, _, _ in out}
    for path in sorted(set(a.secret_digests) & set(b.secret_digests)):
        if a.secret_digests[path] != b.secret_digests[path] and path not in shown:
            out.append((path, SECRET, SECRET_CHANGED))
    return out


FORCE_NEW: dict[str, tuple[str, ...]] = {
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix"),
    "aws:s3/bucketV2:BucketV2": ("bucket", "bucketPrefix"),
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
    "aws:ec2/subnet:Subnet": ("vpcId", "cidrBlock", "availabilityZone"),
    "aws:ec2/securityGroup:SecurityGroup": ("name", "namePrefix", "description", "vpcId"),
    "aws:rds/instance:Instance": ("identifier", "storageEncrypted", "kmsKeyId", "availabilityZone"),
    "aws:kms/alias:Alias": ("name",),
    "gcp:storage/bucket:Bucket": ("name", "location"),
    "gcp:sql/databaseInstance:DatabaseInstance": ("name", "region"),
    "gcp:compute/subnetwork:Subnetwork": ("name", "network", "region"),
}
"""Top-level inputs whose change replaces the resource (the providers' ForceNew properties; a short list of
well-known ones, not exhaustive). A resource's ``replaceOnChanges`` option adds its own."""


def _replaces(r: Resource, fields: list[tuple[str, Any, Any]]) -> bool:
    keys = set(FORCE_NEW.get(r.type, ())) | set(r.options.get("replaceOnChanges") or ())
    tops = {p.split(".", 1)[0] for p, _, _ in fields if not p.startswith("(option)")}
    return ("*" in keys and bool(tops)) or bool(keys & tops)


def compare(base: Report, head: Report, base_ref: str) -> Diff:
    """What changes from ``base`` to ``head``."""
    before = {r.urn: r for r in base.graph.resources}
    after = {r.urn: r for r in head.graph.resources}
    changes = []
    for urn, r in after.items():
        if urn not in before:
            changes.append(Change(urn, r.type, r.name, "create"))
        else:
            fields = _changed_fields(before[urn], r)
            if fields:
                changes.append(Change(urn, r.type, r.name, "replace" if _replaces(r, fields) else "update", fields))
    changes += [Change(urn, r.type, r.name, "delete") for urn, r in before.items() if urn not in after]

    def keys(rep: Report) -> set[str]:
        return {f"{v.pack}/{v.policy} {v.resource_name or 'stack'}" for v in rep.violations if not v.waived}

    return Diff(
        base_ref=base_ref,
        changes=changes,
        cost_before=round(base.cost.monthly_total, 2) if base.cost else None,
        cost_after=round(head.cost.monthly_total, 2) if head.cost else None,
        new_violations=sorted(keys(head) - keys(base)),
        fixed_violations=sorted(keys(base) - keys(head)),
        partial_before=bool(base.cost and base.cost.partial),
        partial_after=bool(head.cost and head.cost.partial),
    )


def _partial_note(d: Diff) -> str:
    which = [w for w, flag in (("before", d.partial_before), ("after", d.partial_after)) if flag]
    return f" (partial {' and '.join(which)}: prices missing, so a lower bound)" if which else ""


def diff_text(d: Diff) -> str:
    """Plain-text section for the review."""
    j = d.to_json()
    s = j["summary"]
    lines = [f"Changes against {safe(d.base_ref)}: {s['create']} to create, {s['update']} to update, "
             f"{s['replace']} to replace, {s['delete']} to delete"]
    sign = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}
    for c in d.changes:
        lines.append(f"  {sign[c.kind]} {safe(c.type)}  {safe(c.name)}")
        for path, a, b in c.fields[:12]:
            lines.append(f"      {safe(path)}: {safe(repr(display_value(a)))} => {safe(repr(display_value(b)))}")
        if len(c.fields) > 12:
            lines.append(f"      ... {len(c.fields) - 12} more")
    if j["cost"]["delta"] is not None:
        lines.append(f"  Monthly cost: {d.cost_before:.2f} -> {d.cost_after:.2f} USD ({j['cost']['delta']:+.2f})"
                     f"{_partial_note(d)}")
    for v in d.new_violations:
        lines.append(f"  new finding: {safe(v)}")
    for v in d.fixed_violations:
        lines.append(f"  fixed finding: {safe(v)}")
    return "\n".join(lines)


def diff_markdown(d: Diff) -> str:
    """Markdown section for a pull-request comment."""
    j = d.to_json()
    s = j["summary"]
    out = [f"### Changes against {md_code(d.base_ref, table=False)}", "",
           f"**{s['create']}** to create · **{s['update']}** to update · **{s['replace']}** to replace · "
           f"**{s['delete']}** to delete", ""]
    if j["cost"]["delta"] is not None:
        out += [f"Monthly cost: ${d.cost_before:,.2f} → ${d.cost_after:,.2f} (**{j['cost']['delta']:+,.2f}**)"
                f"{_partial_note(d)}", ""]
    if d.changes:
        out += ["| | Type | Name | Changed |", "|---|---|---|---|"]
        sign = {"create": "➕", "update": "✏️", "replace": "♻️", "delete": "➖"}
        for c in d.changes:
            fields = ", ".join(md_code(p) for p, _, _ in c.fields[:6]) + (" …" if len(c.fields) > 6 else "")
            out.append(f"| {sign[c.kind]} | {md_code(c.type)} | {md_code(c.name)} | {fields} |")
        out.append("")
    for v in d.new_violations:
        out.append(f"- new finding: {md_code(v, table=False)}")
    for v in d.fixed_violations:
        out.append(f"- fixed finding: {md_code(v, table=False)}")
    return "\n".join(out) + "\n"


def base_workdir() -> tempfile.TemporaryDirectory[str]:
    """A scratch directory for the base revision."""
    return tempfile.TemporaryDirectory(prefix="review-base-")
