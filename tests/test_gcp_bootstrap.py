"""The GCP delivery bootstrap, reviewed under the review engine's mocks: who may deploy, with which roles, where
the state lives and how it is encrypted; ``python -m ops bootstrap-gcp`` input handling."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
import yaml

from ops.__main__ import main as ops_main
from ops.gcp_bootstrap.program import BootstrapArgs, GcpBootstrap, StackEntry, secrets_provider
from ops.gcp_bootstrap.roles import FORBIDDEN_ROLES, TYPE_ROLES, grants_for_graph
from ops.prices import OpsError
from review.engine import run_callable
from review.mocks import GCP_PROJECT_NUMBER
from review.model import Graph, Resource

ROOT = Path(__file__).resolve().parent.parent
REPO = "acme/backend-hosting"
PROJECT = "acme-backend-dev"
STATE = f"{PROJECT}-pulumi-state"


def res(type_: str, name: str, **inputs: Any) -> Resource:
    return Resource(urn=f"urn:{type_}::{name}", type=type_, name=name, parent=None, custom=True, provider=None,
                    inputs=inputs, options={})


def stack_graph(stack: str, env: str, *extra: Resource, project: str = PROJECT) -> Graph:
    """A GCP stack declaring a bucket, a database, secrets, keys, Cloud Run and a project grant."""
    resources = [
        res("pulumi:providers:gcp", "gcp", region="us-central1", project=project),
        res("gcp:storage/bucket:Bucket", "assets"), res("gcp:sql/databaseInstance:DatabaseInstance", "db"),
        res("gcp:secretmanager/secret:Secret", "auth"), res("gcp:kms/cryptoKey:CryptoKey", "key"),
        res("gcp:cloudrunv2/service:Service", "run"), res("gcp:serviceaccount/account:Account", "sa"),
        res("gcp:compute/network:Network", "vpc"),
        res("gcp:projects/iAMMember:IAMMember", "client", role="roles/cloudsql.client", member="serviceAccount:x"),
        *extra,
    ]
    return Graph("backend-hosting", stack, resources, {},
                 config={"backend-hosting:environment": env, "backend-hosting:gcpProject": project})


# --- roles derived from the stack -------------------------------------------------------------------------------

def test_roles_follow_what_the_stack_declares() -> None:
    g = grants_for_graph(stack_graph("gcp-dev", "dev"), "gcp-dev")
    by_role = {x.role: x for x in g.grants}
    assert set(by_role) == {"roles/storage.admin", "roles/cloudsql.admin", "roles/secretmanager.admin",
                            "roles/cloudkms.admin", "roles/run.admin", "roles/iam.serviceAccountUser",
                            "roles/iam.serviceAccountAdmin", "roles/compute.networkAdmin",
                            "roles/resourcemanager.projectIamAdmin"}
    assert g.prefix == "app-dev" and g.project == PROJECT
    # Name-conditioned where IAM Conditions support resource names: the stack's prefix only.
    for role, segment in [("roles/storage.admin", "buckets"), ("roles/cloudsql.admin", "instances"),
                          ("roles/secretmanager.admin", "secrets"), ("roles/cloudkms.admin", "keyRings"),
                          ("roles/iam.serviceAccountAdmin", "serviceAccounts")]:
        expr = by_role[role].expression
        assert f'resource.name.extract("/{segment}/{{name}}").startsWith("app-dev-")' in expr, role
        assert "app-prod" not in expr
    # Project IAM: only the roles the stack itself grants.
    assert by_role["roles/resourcemanager.projectIamAdmin"].expression == (
        "api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([\"roles/cloudsql.client\"])")
    assert by_role["roles/compute.networkAdmin"].expression is None  # compute: no name conditions used


def test_every_type_our_gcp_stacks_declare_has_roles_and_none_is_primitive() -> None:
    for stack in ("gcp-dev", "gcp-prod"):
        counts = yaml.safe_load((ROOT / "tests" / "inventories" / f"{stack}.yaml").read_text())["counts"]
        types = [t for t in counts if t.startswith("gcp:") and counts[t]]
        unmapped = [t for t in types if t not in TYPE_ROLES and t != "gcp:billing/budget:Budget"]
        assert unmapped == [], stack
    assert not {r for roles in TYPE_ROLES.values() for r in roles} & FORBIDDEN_ROLES


def test_unmapped_types_and_primitive_grants_stop_the_bootstrap() -> None:
    with pytest.raises(OpsError, match="gcp:bigquery/dataset:Dataset"):
        grants_for_graph(stack_graph("gcp-dev", "dev", res("gcp:bigquery/dataset:Dataset", "d")), "gcp-dev")
    owner = res("gcp:projects/iAMMember:IAMMember", "own", role="roles/owner", member="user:x")
    with pytest.raises(OpsError, match="roles/owner"):
        grants_for_graph(stack_graph("gcp-dev", "dev", owner), "gcp-dev")


# --- the program under mocks -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def boot() -> Graph:
    stacks = []
    for stack, env in (("gcp-dev", "dev"), ("gcp-prod", "prod")):
        g = grants_for_graph(stack_graph(stack, env), stack)
        stacks.append(StackEntry(stack, g.prefix, g.to_config()["grants"]))
    args = BootstrapArgs(repo=REPO, project=PROJECT, region="us-central1", stacks=stacks)
    return run_callable(lambda: GcpBootstrap("delivery", args), project="gcp-delivery-bootstrap", stack=PROJECT,
                        config={"gcp:project": PROJECT, "gcp:region": "us-central1"})


def one(graph: Graph, type_: str, **match: Any) -> Resource:
    found = [r for r in graph.by_type(type_) if all(r.inputs.get(k) == v for k, v in match.items())]
    assert len(found) == 1, (type_, match, [r.inputs for r in graph.by_type(type_)])
    return found[0]


def test_only_this_repository_in_a_stack_environment_gets_a_token(boot: Graph) -> None:
    provider = one(boot, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider")
    assert provider.inputs["oidc"] == {"issuerUri": "https://token.actions.githubusercontent.com"}
    assert provider.inputs["attributeCondition"] == (
        "assertion.repository == 'acme/backend-hosting' && assertion.environment in ['gcp-dev', 'gcp-prod']")
    assert provider.inputs["attributeMapping"]["google.subject"] == "assertion.sub"


@pytest.mark.parametrize("stack", ["gcp-dev", "gcp-prod"])
def test_each_deploy_account_trusts_only_its_environment(boot: Graph, stack: str) -> None:
    sa = one(boot, "gcp:serviceaccount/account:Account", accountId=f"deploy-{stack}")
    [binding] = [r for r in boot.by_type("gcp:serviceaccount/iAMMember:IAMMember")
                 if r.property_dependencies.get("serviceAccountId") == [sa.urn]]
    assert binding.inputs["role"] == "roles/iam.workloadIdentityUser"
    assert binding.inputs["member"] == (
        f"principal://iam.googleapis.com/projects/{GCP_PROJECT_NUMBER}/locations/global/workloadIdentityPools/"
        f"github/subject/repo:{REPO}:environment:{stack}")
    assert len(boot.by_type("gcp:serviceaccount/iAMMember:IAMMember")) == 2  # no principalSet, no other member


def test_no_primitive_role_and_conditions_on_the_stacks_names(boot: Graph) -> None:
    grants = boot.by_type("gcp:projects/iAMMember:IAMMember")
    assert grants and not {g.inputs["role"] for g in grants} & FORBIDDEN_ROLES
    for g in grants:
        member = g.inputs["member"]
        other = "app-prod" if "deploy-gcp-dev@" in member else "app-dev"
        assert other not in str(g.inputs.get("condition"))
        if g.inputs["role"] in ("roles/storage.admin", "roles/cloudsql.admin", "roles/secretmanager.admin"):
            assert "startsWith" in g.inputs["condition"]["expression"]


def test_state_bucket_is_versioned_private_and_cmek(boot: Graph) -> None:
    bucket = one(boot, "gcp:storage/bucket:Bucket")
    key = one(boot, "gcp:kms/cryptoKey:CryptoKey", name="pulumi-state")
    assert bucket.inputs["name"] == STATE
    assert bucket.inputs["versioning"] == {"enabled": True}
    assert bucket.inputs["uniformBucketLevelAccess"] is True
    assert bucket.inputs["publicAccessPrevention"] == "enforced"
    assert bucket.property_dependencies["encryption"] == [key.urn]
    assert bucket.options["protect"] is True and key.options["protect"] is True
    assert key.inputs["rotationPeriod"] == "7776000s"
    agent = f"serviceAccount:service-{GCP_PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com"
    users = [m.inputs["member"] for m in boot.by_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
             if m.property_dependencies.get("cryptoKeyId") == [key.urn]]
    assert sorted(users) == sorted([agent, f"serviceAccount:deploy-gcp-dev@{PROJECT}.iam.gserviceaccount.com",
                                    f"serviceAccount:deploy-gcp-prod@{PROJECT}.iam.gserviceaccount.com"])


def test_each_stack_reads_and_writes_only_its_own_state(boot: Graph) -> None:
    objects = f"projects/_/buckets/{STATE}/objects/"
    for stack, other in (("gcp-dev", "gcp-prod"), ("gcp-prod", "gcp-dev")):
        member = f"serviceAccount:deploy-{stack}@{PROJECT}.iam.gserviceaccount.com"
        rw = one(boot, "gcp:storage/bucketIAMMember:BucketIAMMember", member=member, role="roles/storage.objectUser")
        expr = rw.inputs["condition"]["expression"]
        assert f'resource.name.startsWith("{objects}.pulumi/stacks/backend-hosting/{stack}.json")' in expr
        assert f"/{other}" not in expr
        meta = one(boot, "gcp:storage/bucketIAMMember:BucketIAMMember", member=member,
                   role="roles/storage.objectViewer")
        assert meta.inputs["condition"]["expression"] == f'resource.name == "{objects}.pulumi/meta.yaml"'


def test_a_secrets_key_per_stack_used_only_by_its_account(boot: Graph) -> None:
    for stack in ("gcp-dev", "gcp-prod"):
        key = one(boot, "gcp:kms/cryptoKey:CryptoKey", name=f"pulumi-secrets-{stack}")
        users = [m.inputs for m in boot.by_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
                 if m.property_dependencies.get("cryptoKeyId") == [key.urn]]
        assert users == [{"cryptoKeyId": users[0]["cryptoKeyId"], "role": "roles/cloudkms.cryptoKeyEncrypterDecrypter",
                          "member": f"serviceAccount:deploy-{stack}@{PROJECT}.iam.gserviceaccount.com"}]
    assert secrets_provider(PROJECT, "us-central1", "gcp-dev") == (
        f"gcpkms://projects/{PROJECT}/locations/us-central1/keyRings/backend-hosting-delivery/cryptoKeys/"
        "pulumi-secrets-gcp-dev")


def test_bad_arguments_are_refused() -> None:
    entry = StackEntry("gcp-dev", "app-dev", [{"role": "roles/editor"}])
    with pytest.raises(ValueError, match="owner or editor"):
        BootstrapArgs(repo=REPO, project=PROJECT, region="us-central1", stacks=[entry]).validate()
    with pytest.raises(ValueError, match="ORG/REPO"):
        BootstrapArgs(repo="nope", project=PROJECT, region="us-central1", stacks=[]).validate()


# --- python -m ops bootstrap-gcp ---------------------------------------------------------------------------------

def loader(graphs: dict[str, Graph]):
    return lambda _dir, stack: graphs[stack]


def test_cli_writes_the_bootstrap_stack_config(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import ops.gcp_cli as cli

    monkeypatch.setattr(cli, "BOOTSTRAP_DIR", tmp_path)
    graphs = {"gcp-dev": stack_graph("gcp-dev", "dev"), "gcp-prod": stack_graph("gcp-prod", "prod")}
    args = argparse.Namespace(repo=REPO, stacks="gcp-dev,gcp-prod", project=None, region=None, bucket=None,
                              billing_account=None, program=".", write=True)
    assert cli.main(args, loader(graphs), out_dir=tmp_path) == 0
    doc = yaml.safe_load((tmp_path / f"Pulumi.{PROJECT}.yaml").read_text())["config"]
    assert doc["gcp:project"] == PROJECT and doc["gcp-delivery-bootstrap:repo"] == REPO
    assert set(doc["gcp-delivery-bootstrap:stacks"]) == {"gcp-dev", "gcp-prod"}
    out = capsys.readouterr().out
    assert "assertion.environment in ['gcp-dev', 'gcp-prod']" in out
    assert f"deploy-gcp-prod@{PROJECT}.iam.gserviceaccount.com" in out


@pytest.mark.parametrize(("argv", "graphs", "message"), [
    (["--repo", "not a repo", "--stacks", "gcp-dev"], {}, "is not ORG/REPO"),
    (["--repo", REPO, "--stacks", "gcp-dev", "--region", "mars"], {}, "is not a GCP region"),
    (["--repo", REPO, "--stacks", "dev"], {"dev": Graph("backend-hosting", "dev", [
        res("pulumi:providers:aws", "aws", region="us-east-1"), res("aws:ec2/vpc:Vpc", "v")], {})},
     "is not a GCP stack"),
    (["--repo", REPO, "--stacks", "gcp-dev,gcp-prod"],
     {"gcp-dev": stack_graph("gcp-dev", "dev"), "gcp-prod": stack_graph("gcp-prod", "prod", project="acme-prod")},
     "bootstrap one project at a time"),
])
def test_cli_bad_input_is_one_line_and_exit_2(argv: list[str], graphs: dict[str, Graph], message: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert ops_main(["bootstrap-gcp", *argv], graph_loader=loader(graphs)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_deploy_workflow_deploys_the_gcp_stacks_with_workload_identity() -> None:
    text = (ROOT / ".github" / "workflows" / "deploy.yml").read_text()
    wf = yaml.safe_load(text)
    assert wf["permissions"]["id-token"] == "write"
    assert wf["jobs"]["deploy"]["strategy"]["matrix"]["stack"] == ["dev", "staging", "prod"]  # AWS kept
    job = wf["jobs"]["deploy-gcp"]
    assert job["strategy"]["matrix"]["stack"] == ["gcp-dev", "gcp-prod"]
    assert job["strategy"]["max-parallel"] == 1
    assert job["environment"] == "${{ matrix.stack }}"  # the token's subject names the environment
    steps = [s.get("uses", "") + s.get("run", "") for s in job["steps"]]
    auth_at = next(i for i, s in enumerate(steps) if s.startswith("google-github-actions/auth"))
    auth = job["steps"][auth_at]["with"]
    assert auth == {"workload_identity_provider": "${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}",
                    "service_account": "${{ vars.GCP_DEPLOY_SERVICE_ACCOUNT }}"}
    assert all(i > auth_at for i, s in enumerate(steps) if "pulumi" in s), "pulumi runs as the deploy account"
    ups = [s["with"] for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions")]
    assert [u["command"] for u in ups] == ["preview", "up"]
    assert all(u["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}" for u in ups)
    assert "secrets." not in text and "credentials_json" not in text
