"""``python -m review``: formats, exit codes, and one clear line for every kind of bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from review.cli import main

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
THIRD = str(FIXTURES / "thirdparty")

# Our stacks and fixtures are trusted: run them in-process (isolation is tested in test_security_boundary.py).
pytestmark = pytest.mark.usefixtures("trusted_in_process")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_text_output_is_a_preview_tree(capsys):
    code, out, err = run(capsys, "dev", "--program", THIRD, "--no-policies", "--no-cost")
    assert code == 0 and err == ""
    assert out.splitlines()[0] == "webapp / dev  (7 resources, preview)"
    assert "+ aws:rds/instance:Instance  payments-db" in out
    assert "instanceClass=db.t4g.micro" in out and "protect" in out
    assert "db_password: [secret]" in out


def test_json_output_follows_the_contract(capsys):
    code, out, _ = run(capsys, "dev", "--program", THIRD, "--format", "json", "--no-policies")
    doc = json.loads(out)
    assert code == 0
    assert {"project", "stack", "resources", "violations", "cost", "outputs"} <= set(doc)
    assert (doc["project"], doc["stack"]) == ("webapp", "dev")
    db = next(r for r in doc["resources"] if r["name"] == "payments-db")
    assert db["type"] == "aws:rds/instance:Instance" and db["custom"] is True and db["parent"] is None
    assert db["options"]["protect"] is True and db["inputs"]["password"] == "[secret]"
    assert {"currency", "monthly_total", "resources", "unpriced"} <= set(doc["cost"])
    assert "AAABAKPeZ3Z3mIvYQ2x1LkM5oV8Qm9y0y6y0VJb4ZQ" not in out


@pytest.mark.parametrize("fmt", ["markdown", "mermaid"])
def test_other_formats(capsys, fmt):
    code, out, _ = run(capsys, "dev", "--program", THIRD, "--format", fmt, "--no-policies")
    assert code == 0
    if fmt == "markdown":
        assert out.startswith("## Pulumi review: `webapp` / `dev`")
        assert "| `aws:ec2/instance:Instance` | 3 |" in out
    else:
        assert out.startswith("flowchart LR")
        assert "Instance payments-web-0" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["--format", "yaml"], "argument --format: invalid choice: 'yaml'"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["dev", "--program", str(FIXTURES / "missing")], "no such directory"),
    (["dev", "--program", str(FIXTURES / "broken")], "ValueError: subnet count must be positive (__main__.py:9)"),
    (["missing-module", "--program", str(FIXTURES / "broken")], "imports 'not_a_real_package'"),
    (["bad-yaml", "--program", str(FIXTURES / "broken")], "invalid YAML"),
    (["bad-type", "--program", THIRD], "is not of the declared type integer"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert message in err


@pytest.fixture
def program_copy(tmp_path):
    """This repository's program in a scratch directory, to try broken stack files on."""
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO / name, tmp_path / name)
    for name in ("stacks", "components"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


@pytest.mark.parametrize(("stack_yaml", "message"), [
    ("backend-hosting:environment: dev\n  backend-hosting:region: us-east-1\n"
     "  backend-hosting:budget: {monthlyUsd: 10}\n"
     "  backend-hosting:services: {api: {kind: web, routes: [{path: /v1}], cpu: 300}}\n",
     "backend-hosting:services.api.cpu = 300 is invalid: not a Fargate CPU size"),
    ("backend-hosting:environment: dev\n  backend-hosting:region: us-east-1\n  backend-hosting:service: {cpu: 512}\n",
     "backend-hosting:service was replaced by services"),
    ("backend-hosting:environment: dev\n  backend-hosting:region: us-east-1\n  backend-hosting:netwrk: {}\n",
     "unknown setting backend-hosting:netwrk"),
    ("backend-hosting:region: us-east-1\n", "missing required config backend-hosting:environment"),
    ("backend-hosting:environment: dev\n  backend-hosting:region: us-east-1\n"
     "  backend-hosting:network: {azCount: many}\n", "backend-hosting:network.azCount = \"many\" is invalid"),
])
def test_our_settings_errors_are_one_line(capsys, program_copy, stack_yaml, message):
    (program_copy / "Pulumi.bad.yaml").write_text("config:\n  " + stack_yaml)
    code, out, err = run(capsys, "bad", "--program", str(program_copy), "--no-policies", "--no-cost")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert message in err


def test_the_real_command_prints_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "review", "dev", "--program", str(FIXTURES / "broken")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == "error: the program raised ValueError: subnet count must be positive (__main__.py:9)\n"


def _git(cwd, *args):
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=cwd, check=True,
                   capture_output=True)


def test_base_diff_shows_what_a_change_adds_and_alters(capsys, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "thirdparty", repo)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    stack = repo / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text().replace("webapp:instanceCount: 3", "webapp:instanceCount: 4"))
    main_py = repo / "__main__.py"
    main_py.write_text(main_py.read_text().replace('instance_type="t4g.micro"', 'instance_type="t4g.small"'))
    code, out, _ = run(capsys, "dev", "--program", str(repo), "--base", "HEAD", "--format", "json",
                       "--no-policies", "--no-cost")
    doc = json.loads(out)
    assert code == 0
    assert doc["diff"]["summary"] == {"create": 1, "update": 3, "replace": 0, "delete": 0}
    created = [c["name"] for c in doc["diff"]["changes"] if c["kind"] == "create"]
    assert created == ["payments-web-3"]
    update = next(c for c in doc["diff"]["changes"] if c["name"] == "payments-web-0")
    assert update["fields"] == [{"path": "instanceType", "before": "t4g.micro", "after": "t4g.small"}]
    code, out, err = run(capsys, "dev", "--program", str(repo), "--base", "no-such-ref", "--no-policies")
    assert code == 2 and "--base no-such-ref" in err


def test_policy_pack_config_changes_enforcement_like_the_cli(capsys, tmp_path):
    cfg = tmp_path / "policy-config.json"
    cfg.write_text(json.dumps({"security": {"required-tags": "mandatory"}}))
    code, out, _ = run(capsys, "dev", "--program", THIRD, "--format", "json", "--no-cost")
    advisory = [v for v in json.loads(out)["violations"] if v["policy"] == "required-tags"]
    assert advisory and {v["enforcement"] for v in advisory} == {"advisory"}
    code_after, out, _ = run(capsys, "dev", "--program", THIRD, "--format", "json", "--no-cost",
                             "--policy-pack-config", str(cfg))
    mandatory = [v for v in json.loads(out)["violations"] if v["policy"] == "required-tags"]
    assert {v["enforcement"] for v in mandatory} == {"mandatory"}
    assert code_after == 1
    cfg.write_text("{not json")
    code, out, err = run(capsys, "dev", "--program", THIRD, "--policy-pack-config", str(cfg))
    assert code == 2 and err.startswith(f"error: --policy-pack-config {cfg}:1: invalid JSON")


def test_usage_file_reaches_both_the_estimate_and_the_budget_gate(capsys, tmp_path):
    usage = tmp_path / "heavy.yaml"
    usage.write_text("version: 1\nresource_type_default_usage:\n"
                     "  aws:elasticache/serverlessCache:ServerlessCache:\n    average_data_gb: 5\n")
    code, out, _ = run(capsys, "dev", "--format", "json", "--usage", str(usage))
    doc = json.loads(out)
    cache = next(r for r in doc["cost"]["resources"] if r["name"] == "app-dev-cache")
    assert cache["monthly"] > 300  # 5 GB x 730 h x 0.084
    budget = [v for v in doc["violations"] if v["policy"] == "budget-not-exceeded"]
    assert code == 1 and budget and budget[0]["enforcement"] == "mandatory"
    assert f"{doc['cost']['monthly_total']:.2f}" in budget[0]["message"]
