"""Stack config as the review reads it: a namespace that is a near miss of the project's is refused (exit 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from review.project import InputError, load_project, load_stack_config


def _project(tmp_path: Path, name: str, config: str) -> Path:
    (tmp_path / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n")
    (tmp_path / "__main__.py").write_text("import pulumi\npulumi.export('x', pulumi.Config().get('size'))\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n" + config)
    return tmp_path


@pytest.mark.parametrize(("name", "key"), [
    ("backend-hosting", "backend-hostin:service"),      # one letter dropped
    ("backend-hosting", "backend-hsoting:service"),     # two letters swapped
    ("payments-api", "payment-api:size"),
    ("orders", "order:size"),
])
def test_a_near_miss_namespace_is_refused(tmp_path, name, key):
    project = load_project(_project(tmp_path, name, f"  {key}: 1\n"))
    with pytest.raises(InputError, match=rf"namespace '{key.split(':')[0]}' is one or two letters off the project's"):
        load_stack_config(project, "dev")


@pytest.mark.parametrize(("name", "key"), [
    ("backend-hosting", "aws:region"), ("backend-hosting", "gcp:project"), ("orders", "random:seed"),
    ("orders", "billing:size"), ("api", "app:size"), ("payments-api", "payments-api:size"),
])
def test_other_namespaces_are_read(tmp_path, name, key):
    project = load_project(_project(tmp_path, name, f"  {key}: 1\n"))
    assert load_stack_config(project, "dev").values[key] == 1


def test_the_review_exits_2_with_one_line(tmp_path):
    program = _project(tmp_path, "orders", "  order:size: 3\n")
    run = subprocess.run([sys.executable, "-m", "review", "dev", "--program", str(program), "--no-cost"],
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent, timeout=120)
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1 and "'order'" in run.stderr
