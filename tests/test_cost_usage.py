"""Usage files: validation with one-line errors, precedence, the documented defaults, and our stacks' files."""

from __future__ import annotations

from pathlib import Path

import pulumi_aws as aws
import pytest

from pricing import UsageError, load_usage
from pricing.usage import USAGE_MODELS, LogGroupUsage, defaults_markdown, parse_usage
from review.cost import estimate_graph
from review.engine import run_callable
from review.project import InputError

REPO = Path(__file__).resolve().parent.parent


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "usage.test.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "error"), [
    ("- a list\n", "expected a mapping with resource_type_default_usage"),
    ("versoin: 1\n", "unknown top-level key 'versoin'"),
    ("version: 2\n", "version 2 is not supported"),
    ("resource_type_default_usage:\n  aws:sns/topic:Topic:\n    x: 1\n",
     "resource_type_default_usage.aws:sns/topic:Topic: not a resource type with usage-based costs"),
    ("resource_type_default_usage:\n  aws:cloudwatch/logGroup:LogGroup:\n    monthly_gb: 1\n",
     r"resource_type_default_usage.aws:cloudwatch/logGroup:LogGroup.monthly_gb: unknown usage key \(allowed: "
     r"monthly_ingested_gb, stored_gb\)"),
    ("resource_type_default_usage:\n  aws:cloudwatch/logGroup:LogGroup:\n    monthly_ingested_gb: lots\n",
     "monthly_ingested_gb = 'lots': must be a number"),
    ("resource_type_default_usage:\n  aws:cloudwatch/logGroup:LogGroup:\n    monthly_ingested_gb: -3\n",
     "monthly_ingested_gb = -3: Input should be greater than or equal to 0"),
    ("resource_usage:\n  app-logs: 5\n", "resource_usage.app-logs: expected a mapping"),
    ("resource_usage:\n  app-logs:\n    monthly_gigs: 5\n", "resource_usage.app-logs.monthly_gigs: unknown usage key"),
    ("resource_usage:\n  app: [\n", "invalid YAML"),
])
def test_invalid_usage_files_fail_with_one_clear_line(tmp_path: Path, text: str, error: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(UsageError, match=error) as info:
        load_usage(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    graph = run_callable(lambda: aws.kms.Key("key"), config={"aws:region": "us-east-1"})
    with pytest.raises(InputError, match=error):  # the review reports it as bad input: one line, exit 2
        estimate_graph(graph, path)


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read usage file"):
        load_usage(tmp_path / "nope.yaml")


def test_an_override_key_that_fits_none_of_the_matched_resources(tmp_path: Path) -> None:
    path = _write(tmp_path, "resource_usage:\n  key:\n    monthly_ingested_gb: 5\n")
    graph = run_callable(lambda: aws.kms.Key("key"), config={"aws:region": "us-east-1"})
    with pytest.raises(InputError, match=r"resource_usage.key.monthly_ingested_gb: not a usage key of "
                                         r"aws:kms/key:Key \(allowed: monthly_requests\)"):
        estimate_graph(graph, path)


def test_precedence_typed_exact_name_then_pattern_then_type_default_then_builtin(tmp_path: Path) -> None:
    path = _write(tmp_path, """
resource_type_default_usage:
  aws:cloudwatch/logGroup:LogGroup:
    monthly_ingested_gb: 2
resource_usage:
  "app-*":
    monthly_ingested_gb: 3
  app-logs:
    monthly_ingested_gb: 4
    monthly_requests: 1000
  "aws:cloudwatch/logGroup:LogGroup::app-logs":
    monthly_ingested_gb: 5
  unused:
    storage_gb: 1
""")

    def program() -> None:
        aws.cloudwatch.LogGroup("app-logs", retention_in_days=30)
        aws.kms.Key("app-logs")
        aws.cloudwatch.LogGroup("app-other", retention_in_days=30)
        aws.cloudwatch.LogGroup("other", retention_in_days=30)
        aws.kms.Key("key")

    report = estimate_graph(run_callable(program, config={"aws:region": "us-east-1"}), path)
    ingested = {(r.type.rsplit(":", 1)[-1], r.name): r.components[0].quantity for r in report.resources}
    assert ingested[("LogGroup", "app-logs")] == 5      # typed key
    assert ingested[("LogGroup", "app-other")] == 3     # pattern
    assert ingested[("LogGroup", "other")] == 2         # type default
    requests = {r.name: r.components[1].quantity for r in report.resources if r.type == "aws:kms/key:Key"}
    assert requests == {"app-logs": 0.1, "key": 1}      # the shared name's key-only entry; built-in 10,000
    assert report.notes == [f"{path}: resource_usage.unused matches no resource of the stack"]
    assert report.usage_file == str(path)


def test_usage_based_marking_follows_the_source() -> None:
    report = estimate_graph(run_callable(lambda: aws.cloudwatch.LogGroup("logs", retention_in_days=14),
                                         config={"aws:region": "us-east-1"}))
    assert all(c.usage_based for c in report.resources[0].components)


def test_log_storage_defaults_to_ingestion_times_retention_months() -> None:
    def program() -> None:
        aws.cloudwatch.LogGroup("week", retention_in_days=7)
        aws.cloudwatch.LogGroup("year", retention_in_days=365)
        aws.cloudwatch.LogGroup("forever")

    report = estimate_graph(run_callable(program, config={"aws:region": "us-east-1"}))
    stored = {r.name: r.components[1].quantity for r in report.resources}
    assert stored == {"week": pytest.approx(7 / 30, abs=1e-6), "year": 12, "forever": 12}


def test_every_usage_model_documents_its_keys() -> None:
    for type_, model in USAGE_MODELS.items():
        assert model.__doc__, type_
        for key, info in model.model_fields.items():
            assert info.description, f"{type_}.{key}"
    assert LogGroupUsage().monthly_ingested_gb == 1.0


def test_docs_carry_the_generated_defaults_table() -> None:
    assert defaults_markdown() in (REPO / "docs" / "cost.md").read_text()


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_our_usage_files_are_valid(stack: str) -> None:
    usage = load_usage(REPO / f"usage.{stack}.yaml")
    assert usage.type_defaults and usage.resources


def test_parse_accepts_an_empty_document() -> None:
    assert parse_usage(None).resources == {}
