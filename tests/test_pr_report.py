"""The pull-request report: what a reviewer reads first comes first, the diagram by component, ``--all-stacks``,
GitHub's comment limit, and names that must not break the markdown."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from review import cli
from review.cost import estimate_graph
from review.diagram import build, classify, diagram_for
from review.diff import compare
from review.model import CostComponent, CostReport, Graph, Resource, ResourceCost, Violation
from review.policy_runner import run_policies
from review.pr_report import GITHUB_LIMIT, LIMIT, StackReview, render
from review.render import Report

REPO = Path(__file__).resolve().parent.parent
THIRD = str(Path(__file__).resolve().parent / "fixtures" / "thirdparty")
# The prod database above "medium" is a finding (mandatory here), so a larger instance class introduces one.
SIZE_POLICY = {"cost": {"instance-size-ceiling": {"enforcementLevel": "mandatory", "maxSize": {"prod": "medium"}}}}


def _report(graph: Graph, policy_config=None) -> Report:
    estimate = estimate_graph(graph)
    violations, run = run_policies(graph, policy_config=policy_config, cost_estimate=estimate)
    return Report(graph=graph, violations=violations, cost=estimate, policies_run=run)


@pytest.fixture(scope="module")
def prod_change(run_stack) -> StackReview:
    """A real change: the prod database goes from db.t4g.small (base) to db.m7g.large (head)."""
    head_graph = run_stack("prod")
    base_graph = copy.deepcopy(head_graph)
    base_db = base_graph.by_type("aws:rds/instance:Instance")[0]
    assert head_graph.by_type("aws:rds/instance:Instance")[0].inputs["instanceClass"] == "db.m7g.large"
    base_db.inputs["instanceClass"] = "db.t4g.small"
    if base_db.judged_inputs is not None:  # what policies judge
        base_db.judged_inputs["instanceClass"] = "db.t4g.small"
    head, base = _report(head_graph, SIZE_POLICY), _report(base_graph, SIZE_POLICY)
    diff = compare(base, head, "origin/main")
    return StackReview("prod", head, diff, base, cli.deploy_estimates(head, diff, base))


def test_prod_change_is_on_the_first_screen_in_the_reviewers_order(prod_change):
    md = render([prod_change], project="backend-hosting")
    lines = md.splitlines()
    first = "\n".join(lines[:60])[:4000]  # the first screen: 60 lines, at most 4,000 characters
    assert "```mermaid" in first
    row = next(line for line in lines[:10] if line.startswith("| `prod`"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # verdict, create, update, replace, delete, new mandatory, cost, delta
    assert cells[1:7] == ["❌ blocked", "0", "1", "0", "0", "1"]
    # (0.168 - 0.032) USD/hour x 730 hours x 2 (Multi-AZ), from the test catalog's rows
    assert cells[8] == "+$198.56"
    assert "| ✏️ update | `app-prod-db` `aws:rds/instance:Instance` | `instanceClass` | `db.t4g.small` → " \
           "`db.m7g.large` |" in first
    finding = next(line for line in first.splitlines() if "instance-size-ceiling" in line)
    assert "`app-prod-db`" in finding and "**mandatory**" in finding and "Use a smaller size" in finding
    start = lines.index("```mermaid")
    assert start < 60
    db_node = next(line for line in lines[start:] if "app-prod-db: database" in line)
    assert db_node.endswith(":::changed")
    order = [md.index(s) for s in ("| `prod` |", "### Changes against", "### Findings this change introduces",
                                   "### Architecture", "<summary>Monthly cost breakdown", "<summary>Resources by type",
                                   "<summary>Estimated deploy time")]
    assert order == sorted(order)
    # only the change's own findings are open; pre-existing ones are collapsed
    pre = md.index("<summary>Pre-existing findings")
    assert md.index("### Findings this change introduces") < pre < md.index("### Architecture")


def test_without_base_everything_is_a_create(run_stack):
    report = _report(run_stack("dev"))
    md = render([StackReview("dev", report)], project="backend-hosting")
    row = next(line for line in md.splitlines() if line.startswith("| `dev`"))
    assert f"| {len(report.graph.resources)}* | 0 | 0 | 0 |" in row
    assert "No `--base`: every resource counts as a create" in md
    assert "### Changes" not in md


def test_all_stacks_of_our_program_fit_in_one_comment(capsys, monkeypatch, run_stack):
    """``--all-stacks`` on our five stacks (graphs captured once per test run, judged and priced as the CLI does)."""
    monkeypatch.setattr(cli, "review", lambda stack, program, **kw: _report(run_stack(stack)))
    code = cli.main(["--all-stacks", "--format", "markdown"])
    out, err = capsys.readouterr()
    assert err == "" and code == (1 if "| ❌ blocked |" in out else 0)
    assert len(out) <= LIMIT < GITHUB_LIMIT
    assert "Trimmed" not in out
    stacks = ["dev", "gcp-dev", "gcp-prod", "prod", "staging"]
    rows = [line for line in out.splitlines() if line.startswith("| `")][:5]
    assert [r.split("`")[1] for r in rows] == stacks
    sections = [out.index(f"### `{s}`:") for s in stacks]
    assert sections == sorted(sections) and out.count("```mermaid") == 5


def test_all_stacks_exit_codes_and_refusals(capsys):
    code = cli.main(["prod", "--all-stacks"])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "--all-stacks reviews every stack" in err
    code = cli.main(["--all-stacks", "--format", "mermaid"])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "not mermaid" in err
    code = cli.main(["--all-stacks", "--usage", "usage.prod.yaml"])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "usage.STACK.yaml" in err


@pytest.mark.usefixtures("trusted_in_process")
def test_all_stacks_names_the_stack_with_bad_input(capsys):
    code = cli.main(["--all-stacks", "--program", THIRD, "--format", "json", "--no-policies", "--no-cost"])
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert code == 2
    assert [s["stack"] for s in doc["stacks"]] == ["bad-type", "dev"]
    assert "is not of the declared type integer" in doc["stacks"][0]["error"]
    assert doc["stacks"][1]["exit_code"] == 0 and doc["exit_code"] == 2
    assert err.startswith("error: stack bad-type: ") and err.count("\n") == 1
    code = cli.main(["--all-stacks", "--program", THIRD, "--format", "markdown", "--no-policies", "--no-cost"])
    out, _ = capsys.readouterr()
    assert code == 2 and "| `bad-type` | ⚠️ bad input |" in out and "### `dev`: ✅ pass" in out


@pytest.mark.usefixtures("trusted_in_process")
def test_all_stacks_against_a_base_on_a_small_program(capsys, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(THIRD, repo)
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=repo, check=True)
    main_py = repo / "__main__.py"
    main_py.write_text(main_py.read_text().replace('instance_type="t4g.micro"', 'instance_type="t4g.small"'))
    shutil.copy(repo / "Pulumi.dev.yaml", repo / "Pulumi.qa.yaml")  # a stack the change adds
    code = cli.main(["--all-stacks", "--program", str(repo), "--base", "HEAD", "--format", "markdown",
                     "--no-policies"])
    out, err = capsys.readouterr()
    assert code == 2 and err.startswith("error: stack bad-type: ")
    lines = out.splitlines()
    dev = next(line for line in lines if line.startswith("| `dev`"))
    assert [c.strip() for c in dev.strip("|").split("|")][1:6] == ["✅ pass", "0", "3", "0", "0"]
    assert "| ✏️ update | `payments-web-0` `aws:ec2/instance:Instance` | `instanceType` | `t4g.micro` → " \
           "`t4g.small` |" in out
    assert lines.index("#### Changes against `HEAD`") < lines.index("```mermaid")
    qa = next(line for line in lines if line.startswith("| `qa`"))  # compared with nothing, not with defaults
    assert [c.strip() for c in qa.strip("|").split("|")][1:6] == ["✅ pass", "7", "0", "0", "0"]


def test_a_property_that_forces_a_new_resource_is_a_replace():
    def report(bucket: str, replace_on: list[str]) -> Report:
        r = Resource("urn:b", "aws:s3/bucket:Bucket", "b", None, True, None, {"bucket": bucket, "tags": {"a": "1"}},
                     {"replaceOnChanges": replace_on})
        q = Resource("urn:q", "aws:sqs/queue:Queue", "q", None, True, None, {"delaySeconds": len(bucket)},
                     {"replaceOnChanges": ["delaySeconds"] if replace_on else []})
        return Report(Graph("p", "s", [r, q], {}))

    d = compare(report("one", []), report("three", []), "main")
    assert {c.name: c.kind for c in d.changes} == {"b": "replace", "q": "update"}  # bucket names are ForceNew
    d = compare(report("one", ["*"]), report("three", ["*"]), "main")
    assert {c.name: c.kind for c in d.changes} == {"b": "replace", "q": "replace"}  # replaceOnChanges
    sr = StackReview("s", report("three", []), d, report("one", []))
    row = next(line for line in render([sr], project="p").splitlines() if line.startswith("| `s`"))
    assert "| 0 | 0 | 2 | 0 |" in row


# -- a huge generated program: trimming ------------------------------------------------------------------------

NASTY = "a|b`c<script>*x*\n@octocat"


def _huge(stack: str, n_components: int = 150, per: int = 10) -> tuple[Report, Report]:
    """A program of thousands of resources with long hostile names, many findings, and a change to every one."""
    resources, base_resources, violations, costs = [], [], [], []
    kinds = ["aws:ecs/service:Service", "aws:rds/instance:Instance", "aws:s3/bucket:Bucket",
             "aws:ec2/securityGroup:SecurityGroup", "aws:lb/loadBalancer:LoadBalancer"]
    for c in range(n_components):
        comp = f"urn:pulumi:{stack}::p::my:comp:C::comp-{c}-{NASTY}-{'x' * 80}"
        resources.append(Resource(comp, "my:comp:C", f"comp-{c}-{NASTY}-{'x' * 80}", None, False, None, {}, {}))
        base_resources.append(copy.deepcopy(resources[-1]))
        for k in range(per):
            t = kinds[k % len(kinds)]
            name = f"r-{c}-{k}-{NASTY}-{'y' * 60}"
            urn = f"urn:pulumi:{stack}::p::{t}::{name}"
            r = Resource(urn, t, name, comp, True, None, {"size": f"large-{NASTY}", "tags": {"k": "v"}}, {})
            resources.append(r)
            b = copy.deepcopy(r)
            b.inputs["size"] = "small"
            base_resources.append(b)
            violations.append(Violation("security", f"rule-{k}", "mandatory" if k % 3 == 0 else "advisory",
                                        f"message {NASTY} " + "z" * 100, urn, t, name, "high", "fix it " + NASTY))
            costs.append(ResourceCost(urn, t, name, [CostComponent("hours", 730, "hour", 0.1, 73.0)]))
    graph = Graph("p", stack, resources, {})
    base = Graph("p", stack, base_resources, {})
    return (Report(graph, violations, CostReport(resources=costs), ["security"]),
            Report(base, violations[: len(violations) // 2], CostReport(resources=costs[:10]), ["security"]))


def test_a_huge_program_is_trimmed_to_fit_and_says_what_was_trimmed():
    reviews = []
    for stack in ("one", "two"):
        head, base = _huge(stack)
        reviews.append(StackReview(stack, head, compare(base, head, "main"), base))
    assert sum(len(sr.report.graph.resources) for sr in reviews) > 3000
    md = render(reviews, project="p", all_stacks=True)
    assert len(md) <= LIMIT
    last = md.rstrip("\n").splitlines()[-1]
    assert last.startswith("_Trimmed to fit GitHub's comment limit: resources-by-type tables; cost breakdowns")
    # trimmed parts are counted, not silently dropped; the structure stays well formed
    assert "more rows (" in md or "resources change (list trimmed)" in md
    assert md.count("```") % 2 == 0 and md.count("<details>") == md.count("</details>")
    for line in md.splitlines():
        if line.startswith("| `"):  # summary rows: nine cells each, whatever the names hold
            assert line.replace("\\|", "").count("|") == 10, line


def test_even_hundreds_of_stacks_fit_and_the_cut_is_announced():
    reviews = [StackReview(f"stack-{i:04d}", error=f"bad input {NASTY} " + "w" * 300) for i in range(400)]
    md = render(reviews, project="p", all_stacks=True)
    assert len(md) <= LIMIT
    assert md.rstrip("\n").splitlines()[-1].endswith("and everything after this point._")
    assert "| `stack-0000` | ⚠️ bad input |" in md
    outside = re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", md)
    assert "<script>" not in outside and "@octocat" not in outside and "\\<script\\>" in outside


def test_a_report_that_fits_is_not_trimmed():
    head, base = _huge("small", n_components=2, per=3)
    md = render([StackReview("small", head, compare(base, head, "main"), base)], project="p")
    assert "Trimmed" not in md and "<summary>Resources by type" in md


# -- escaping in the new sections ----------------------------------------------------------------------------------

def test_summary_changes_and_diagram_escape_hostile_names():
    head, base = _huge("s", n_components=3, per=5)
    md = render([StackReview("s", head, compare(base, head, "main"), base)], project=f"p{NASTY}")
    outside = re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", md)  # code spans show their text literally
    assert "<script>" not in outside and "@octocat" not in outside
    assert outside.count("<details>") == outside.count("</details>")
    assert md.splitlines()[0] == "## Pulumi review: ``pa|b`c<script>*x*\\n@octocat`` / `s`"
    table = [line for line in md.splitlines() if line.startswith("| ") and "→" in line]
    assert table
    for row in table:  # changes: four cells each
        assert row.replace("\\|", "").count("|") == 5, row
    chart = md[md.index("```mermaid") + 10:md.index("```", md.index("```mermaid") + 10)]
    for line in chart.splitlines():
        if '["' in line or '[("' in line:
            label = line[line.index('"') + 1:line.rindex('"')]
            assert not set(label) & set('"<>`|\n[]'), line


# -- the diagram -----------------------------------------------------------------------------------------------------

def _res(t: str, name: str, parent: str | None = None, deps: tuple[str, ...] = (), custom: bool = True) -> Resource:
    return Resource(f"urn:{name}", t, name, parent, custom, None, {}, {},
                    property_dependencies={"x": list(deps)} if deps else {})


def test_diagram_groups_by_component_and_wires_through_connectors():
    g = Graph("p", "s", [
        _res("my:web:App", "shop", custom=False),
        _res("aws:cloudfront/distribution:Distribution", "cdn", deps=("urn:alb",)),
        _res("aws:lb/loadBalancer:LoadBalancer", "alb", "urn:shop"),
        _res("aws:lb/targetGroup:TargetGroup", "tg", "urn:shop"),
        _res("aws:lb/listener:Listener", "lis", "urn:shop", deps=("urn:alb", "urn:tg")),
        _res("aws:ecs/service:Service", "svc", "urn:shop", deps=("urn:tg", "urn:role")),
        _res("aws:ecs/service:Service", "worker", "urn:shop", deps=("urn:role",)),
        _res("aws:iam/role:Role", "role", "urn:shop"),
        _res("aws:iam/rolePolicy:RolePolicy", "grant", "urn:shop", deps=("urn:role", "urn:q")),
        _res("aws:sqs/queue:Queue", "q"),
        _res("aws:ec2/vpc:Vpc", "vpc"),
        _res("aws:lambda/function:Function", "fn", deps=("urn:vpc",)),
    ], {})
    dg = build(g)
    labels = {n.label: i for i, n in enumerate(dg.nodes)}
    assert set(labels) == {"CDN: cdn", "shop: load balancer", "shop: ECS service x2", "queue: q", "Lambda: fn"}
    edges = {(dg.nodes[a].label, dg.nodes[b].label) for a, b, _ in dg.edges}
    assert edges == {("CDN: cdn", "shop: load balancer"), ("shop: load balancer", "shop: ECS service x2"),
                     ("shop: ECS service x2", "queue: q")}  # the VPC links nothing; the CDN fronts the LB
    assert [dg.nodes[i].label for i in dg.internet] == ["CDN: cdn"]
    assert dg.supporting == 5
    assert classify("aws:iam/role:Role") is None and classify("gcp:sql/databaseInstance:DatabaseInstance")[0] == "data"


def test_diagram_marks_added_and_removed_and_caps_nodes():
    base = Graph("p", "s", [_res("aws:s3/bucket:Bucket", "old"), _res("aws:ecs/service:Service", "api")], {})
    head = Graph("p", "s", [_res("aws:ecs/service:Service", "api"), _res("aws:rds/instance:Instance", "db")], {})
    dg = build(head, base=base, created={"urn:db"}, deleted={"urn:old"})
    status = {n.label: n.status for n in dg.nodes}
    assert status == {"bucket: old": "removed", "ECS service: api": "", "database: db": "added"}
    text = dg.to_mermaid()
    assert ":::added" in text and ":::removed" in text and "classDef added" in text
    many = Graph("p", "s", [r for i in range(40) for r in (
        _res("my:app:App", f"c{i}", custom=False), _res("aws:lambda/function:Function", f"fn{i}", f"urn:c{i}"),
        _res("aws:s3/bucket:Bucket", f"b{i}", f"urn:c{i}"))], {})
    capped = diagram_for(many, max_nodes=10)
    assert len(capped.nodes) == 10 and capped.aggregated == 72
    assert {n.label for n in capped.nodes if n.label.startswith("+")} == \
        {"+32 more services components", "+40 more data components"}


def test_diagram_follows_dependencies_between_components():
    """Remote components (awsx) take another component as a whole: the wiring is the components'."""
    g = Graph("p", "s", [
        _res("awsx:lb:ApplicationLoadBalancer", "lb", custom=False),
        _res("aws:lb/loadBalancer:LoadBalancer", "alb", "urn:lb"),
        _res("awsx:ecs:FargateService", "svc", deps=("urn:lb",), custom=False),
        _res("aws:ecs/service:Service", "ecs", "urn:svc"),
    ], {})
    dg = build(g)
    assert {(dg.nodes[a].label, dg.nodes[b].label) for a, b, _ in dg.edges} == \
        {("lb: load balancer", "svc: ECS service")}
