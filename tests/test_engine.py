"""The review engine runs any Pulumi Python program under mocks and captures what the engine would see."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from review.engine import ProgramError, capture_program
from review.model import SECRET, UNKNOWN
from review.project import InputError, load_project, load_stack_config

FIXTURES = Path(__file__).resolve().parent / "fixtures"

THIRD = FIXTURES / "thirdparty"


@pytest.fixture(scope="module")
def third_party():
    return capture_program(THIRD, "dev")


def test_third_party_program_runs_with_its_own_project_and_stack(third_party):
    g = third_party
    assert (g.project, g.stack) == ("webapp", "dev")
    assert g.counts() == {
        "aws:ec2/instance:Instance": 3,  # instanceCount: 3 from the stack file beats the Pulumi.yaml default
        "aws:ec2/securityGroup:SecurityGroup": 1,
        "aws:iam/role:Role": 1,
        "aws:iam/rolePolicy:RolePolicy": 1,
        "aws:rds/instance:Instance": 1,
    }
    # The sibling module and the other config namespace (cfg:team, an object) both worked.
    assert g.find("payments-web-2", "aws:ec2/instance:Instance") is not None
    assert g.config["cfg:team"]["owners"] == ["alice@example.com", "bob@example.com"]
    # Stack URNs are built as the real engine builds them.
    assert g.by_name("payments-db").urn == "urn:pulumi:dev::webapp::aws:rds/instance:Instance::payments-db"


def test_secrets_are_redacted_everywhere(third_party):
    g = third_party
    assert g.config["webapp:dbPassword"] == SECRET
    assert "webapp:dbPassword" in g.secret_keys
    assert g.inputs("payments-db")["password"] == SECRET
    assert g.outputs["db_password"] == SECRET
    dumped = json.dumps([r.to_json() for r in g.resources]) + json.dumps(g.outputs)
    assert "AAABAKPeZ3Z3mIvYQ2x1LkM5oV8Qm9y0y6y0VJb4ZQ" not in dumped


def test_provider_functions_answer_plausibly(third_party):
    g = third_party
    assert g.outputs["account"] == "123456789012"
    assert g.outputs["region"] == "eu-west-1"  # from aws:region in the stack file
    azs = [g.inputs(f"payments-web-{i}")["availabilityZone"] for i in range(3)]
    assert azs == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert g.inputs("payments-web-0")["ami"].startswith("ami-")
    # getPolicyDocument renders the IAM JSON AWS would accept.
    doc = json.loads(g.inputs("payments-read-assets")["policy"])
    assert doc == {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::payments-assets/*"}]}
    assert g.outputs["db_endpoint"].endswith(".eu-west-1.rds.amazonaws.com:5432")


def test_resource_options_are_captured(third_party):
    db = third_party.by_name("payments-db")
    assert db.options["protect"] is True
    sg = third_party.by_name("payments-web", "aws:ec2/securityGroup:SecurityGroup")
    assert db.options["dependsOn"] == [sg.urn]
    web = third_party.by_name("payments-web-0")
    assert web.options["protect"] is False
    assert web.inputs["metadataOptions"] == {"httpTokens": "required"}  # camelCase, nested too
    assert web.inputs["vpcSecurityGroupIds"] == [sg.id]


def test_project_defaults_apply_when_the_stack_is_silent(third_party):
    assert third_party.outputs["greeting"] == "hello"
    assert third_party.config["webapp:greeting"] == "hello"


def test_snippet_preview_keeps_computed_values_unknown(run_program):
    def program():
        bucket = aws.s3.Bucket("logs")
        # versionId is computed by the provider and not returned by the mocks: unknown in preview.
        aws.s3.BucketPolicy("logs-policy", bucket=bucket.id,
                            policy=bucket.arn.apply(lambda arn: json.dumps({"r": arn})))
        obj = aws.s3.BucketObjectv2("o", bucket=bucket.id, content="x")
        aws.sns.Topic("p", display_name=obj.version_id)

    g = run_program(program)
    assert g.inputs("p")["displayName"] == UNKNOWN
    assert json.loads(g.inputs("logs-policy")["policy"]) == {"r": f"arn:aws:s3:::{g.by_name('logs').id}"}


def test_components_children_and_parents(run_program):
    class Pair(pulumi.ComponentResource):
        def __init__(self, name: str) -> None:
            super().__init__("test:index:Pair", name)
            aws.sns.Topic(f"{name}-a", opts=pulumi.ResourceOptions(parent=self))
            aws.sns.Topic(f"{name}-b", opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True,
                                                                     ignore_changes=["tags"]))
            self.register_outputs({})

    g = run_program(lambda: Pair("pair"))
    pair = g.by_name("pair")
    assert pair.custom is False and pair.parent is None
    assert sorted(c.name for c in g.children(pair)) == ["pair-a", "pair-b"]  # registration order is concurrent
    b = g.by_name("pair-b")
    assert b.options["retainOnDelete"] is True and b.options["ignoreChanges"] == ["tags"]


def test_runs_are_isolated_from_each_other(run_program):
    first = run_program(lambda: aws.sns.Topic("one"), stack="a")
    second = run_program(lambda: aws.sns.Topic("two"), stack="b")
    assert [r.name for r in first] == ["one"]
    assert [r.name for r in second] == ["two"]
    assert second.resources[0].urn.startswith("urn:pulumi:b::")


def test_unknown_functions_return_empty_rather_than_crash(run_program):
    def program():
        res = pulumi.runtime.invoke("aws:somenew/getThing:getThing", {}).value
        aws.sns.Topic("t", display_name=str(sorted(res)))

    assert run_program(program).inputs("t")["displayName"] == "[]"


def test_program_errors_name_the_exception_and_line():
    with pytest.raises(ProgramError, match=r"ValueError: subnet count must be positive \(__main__.py:9\)"):
        capture_program(FIXTURES / "broken", "dev")
    with pytest.raises(ProgramError, match=r"imports 'not_a_real_package', which is not installed"):
        capture_program(FIXTURES / "broken", "missing-module")


@pytest.mark.parametrize(("directory", "stack", "message"), [
    (FIXTURES / "nope", "dev", "no such directory"),
    (FIXTURES, "dev", "no Pulumi.yaml"),
    (FIXTURES / "broken", "bad-yaml", "invalid YAML"),
    (THIRD, "bad-type", "webapp:instanceCount = \"lots\" is not of the declared type integer"),
])
def test_bad_input_is_one_clear_error(directory, stack, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        capture_program(directory, stack)


def test_required_config_without_default_is_reported(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\nconfig:\n  region:\n    type: string\n")
    (tmp_path / "__main__.py").write_text("")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    with pytest.raises(InputError, match="missing required config p:region"):
        load_stack_config(load_project(tmp_path), "dev")


def test_non_python_projects_are_refused(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: nodejs\n")
    with pytest.raises(InputError, match="runtime is 'nodejs'"):
        load_project(tmp_path)


def test_libraries_in_a_virtualenv_inside_the_program_survive_a_run(tmp_path, run_dir):
    """A program directory may hold its own .venv: its libraries are not the program's modules."""
    import sys

    site = tmp_path / ".venv" / "lib" / "python3.11" / "site-packages"
    (site / "venvlib_probe").mkdir(parents=True)
    (site / "venvlib_probe" / "__init__.py").write_text("LOADED = True\n")
    (tmp_path / "helper_probe.py").write_text("X = 1\n")
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    (tmp_path / "__main__.py").write_text(
        f"import sys\nsys.path.append({str(site)!r})\nimport venvlib_probe, helper_probe\n"
        "import pulumi_aws as aws\naws.sns.Topic('t')\n")
    try:
        run_dir(tmp_path, "dev")
        assert "venvlib_probe" in sys.modules  # an installed library stays loaded
        assert "helper_probe" not in sys.modules  # the program's own module is forgotten
        assert len(run_dir(tmp_path, "dev")) == 1  # a second run in the same interpreter works
    finally:
        sys.modules.pop("venvlib_probe", None)
