"""Deliberately insecure programs (tests/policy_programs), run under the mock engine: each expected rule catches
the expected resource, and the review exits 1 on a program that breaks a mandatory rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from policy_programs import PROGRAMS, Program

from policies.security import PACK
from review.cli import main as review_main
from review.policy_runner import run_policies

PROGRAM_DIR = Path(__file__).parent / "policy_programs" / "open_bucket_project"


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_insecure_program_is_caught(run_program, program: Program) -> None:
    graph = run_program(program.fn, project="insecure", stack="test", config=program.config)
    violations, packs = run_policies(graph, packs=[PACK])
    assert packs == ["security"]
    found = {(v.policy, v.resource_name) for v in violations}
    missing = [e for e in program.expect if e not in found]
    assert not missing, f"not reported: {missing}; reported: {sorted(found)}"
    assert any(v.blocking for v in violations)


def test_programs_cover_both_clouds_and_every_category() -> None:
    policies = {p for prog in PROGRAMS for p, _ in prog.expect}
    categories = {PACK.rule(p).category for p in policies}
    assert {r.category for r in PACK.rules} - categories <= {"waivers"}
    assert any(p.name.startswith("aws-") for p in PROGRAMS) and any(p.name.startswith("gcp-") for p in PROGRAMS)
    assert len(policies) >= 60


@pytest.mark.usefixtures("trusted_in_process")
def test_review_exits_1_on_a_program_that_breaks_a_mandatory_rule(capsys) -> None:
    code = review_main(["dev", "--program", str(PROGRAM_DIR), "--format", "json", "--no-cost"])
    out = capsys.readouterr().out
    assert code == 1
    assert '"policy": "s3-bucket-policy-not-public"' in out


@pytest.mark.usefixtures("trusted_in_process")
def test_review_text_groups_findings_by_resource_with_remediation(capsys) -> None:
    code = review_main(["dev", "--program", str(PROGRAM_DIR), "--no-cost"])
    out = capsys.readouterr().out
    assert code == 1
    assert "[MANDATORY] security/s3-bucket-policy-not-public (critical)" in out
    assert "fix: Name the principals" in out


@pytest.mark.usefixtures("trusted_in_process")
def test_review_exits_2_on_a_directory_that_is_not_a_pack(tmp_path, capsys) -> None:
    code = review_main(["dev", "--program", str(PROGRAM_DIR), "--policy-pack", str(tmp_path), "--no-cost"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a policy pack (no PulumiPolicy.yaml)" in err
