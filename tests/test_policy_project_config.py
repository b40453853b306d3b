"""Per-project pack config (policies/<pack>/config/<project>.json): our project keeps its stricter stance, any other
program gets the standards' defaults, and an explicit --policy-pack-config wins."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from policies.common import discover_packs, project_config
from review.engine import run_callable
from review.policy_runner import run_policies
from review.project import InputError


def _db() -> None:
    """A prod database guarded by its own deletion protection, not by Pulumi's protect option."""
    aws.rds.Instance("db", engine="postgres", engine_version="16.4", instance_class="db.t4g.micro",
                     allocated_storage=20, manage_master_user_password=True, username="app", storage_encrypted=True,
                     backup_retention_period=7, deletion_protection=True,
                     opts=pulumi.ResourceOptions(protect=False))


def _levels(project: str, policy_config=None) -> dict[str, str]:
    graph = run_callable(_db, project=project, stack="prod", config={f"{project}:environment": "prod"})
    violations, _ = run_policies(graph, policy_config=policy_config)
    return {v.policy: v.enforcement for v in violations if v.resource_name == "db"}


def test_cloud_deletion_protection_is_enough_for_a_third_party_program() -> None:
    assert "prod-stateful-protected" not in _levels("someone-else")


def test_our_project_requires_protect_in_prod() -> None:
    assert _levels("backend-hosting")["prod-stateful-protected"] == "mandatory"


def test_an_explicit_policy_pack_config_replaces_the_project_default(tmp_path) -> None:
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"security": {"prod-stateful-protected": {"requireProtect": True}}}))
    assert _levels("backend-hosting", str(cfg))["prod-stateful-protected"] == "advisory"


def test_project_configs_name_real_policies_and_levels() -> None:
    for pack in discover_packs():
        cfg = project_config(pack, "backend-hosting") or {}
        names = {r.name for r in pack.rules}
        assert set(cfg) <= names, set(cfg) - names
        for entry in cfg.values():
            level = entry if isinstance(entry, str) else entry.get("enforcementLevel", "mandatory")
            assert level in ("advisory", "mandatory", "disabled")


def test_a_broken_project_config_is_one_clear_error(tmp_path, monkeypatch) -> None:
    pack = next(p for p in discover_packs() if p.name == "security")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "broken.json").write_text("{not json")
    monkeypatch.setattr(pack, "directory", tmp_path)
    graph = run_callable(lambda: None, project="broken", stack="dev")
    with pytest.raises(InputError, match=r"broken\.json"):
        run_policies(graph, packs=[pack])
