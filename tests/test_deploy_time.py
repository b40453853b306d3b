"""Estimated deploy time: critical path on hand-made graphs (expected values worked out by hand), the table."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import pytest
import yaml

from review import deploy_time
from review.deploy_time import estimate, load_table, row_for
from review.model import Graph, Resource

ROOT = Path(__file__).resolve().parent.parent

# A private table so expected values do not depend on the real figures.
TABLE = """# test table
type,when,create_s,update_s,delete_s,source
t:m/a:A,,10,4,3,estimate: test
t:m/b:B,,20,6,5,estimate: test
t:m/c:C,,5,2,1,estimate: test
t:m/slow:Slow,,100,50,40,estimate: test
t:m/slow:Slow,multiAz=true,300,80,60,estimate: test variant
DEFAULT,,7,7,7,estimate: test default
"""


@pytest.fixture
def table(tmp_path: Path) -> dict:
    p = tmp_path / "times.csv"
    p.write_text(TABLE)
    return load_table(p)


def res(name: str, typ: str = "t:m/a:A", *, deps: list[str] = (), props: dict | None = None,
        parent: str | None = None, custom: bool = True, inputs: dict | None = None,
        provider: str | None = None, **opts: object) -> Resource:
    return Resource(urn=name, type=typ, name=name, parent=parent, custom=custom, provider=provider,
                    inputs=inputs or {}, options={"dependsOn": list(deps), **opts},
                    property_dependencies=props or {})


def graph(*resources: Resource) -> Graph:
    return Graph(project="p", stack="s", resources=list(resources), outputs={})


def names(est) -> list[str]:
    return [s.name for s in est.chain]


def test_independent_resources_run_in_parallel(table: dict) -> None:
    # a(10) -> b(20) -> c(5) is 35 s; slow(100) runs beside it: the deploy takes 100 s, ratio 1.
    g = graph(res("a"), res("b", "t:m/b:B", props={"x": ["a"]}), res("c", "t:m/c:C", deps=["b"]),
              res("slow", "t:m/slow:Slow"))
    est = estimate(g, table=table)
    assert est.total == 100
    assert est.slowest.name == "slow" and est.slowest.seconds == 100
    assert est.ratio == 1.0
    assert names(est) == ["slow"]


def test_a_dependency_serializes_the_slow_resource(table: dict) -> None:
    # slow waits for c: 10 + 20 + 5 + 100 = 135 s, ratio 1.35, chain a b c slow.
    g = graph(res("a"), res("b", "t:m/b:B", props={"x": ["a"]}), res("c", "t:m/c:C", deps=["b"]),
              res("slow", "t:m/slow:Slow", props={"subnet": ["c"]}))
    est = estimate(g, table=table)
    assert est.total == 135
    assert names(est) == ["a", "b", "c", "slow"]
    assert [(s.start, s.finish) for s in est.chain] == [(0, 10), (10, 30), (30, 35), (35, 135)]
    assert est.ratio == pytest.approx(1.35)


def test_component_parent_does_not_block_its_children_but_its_dependencies_do(table: dict) -> None:
    # comp has no dependency: its child b (20) starts at 0. comp2 depends on a (10): its child c starts at 10.
    g = graph(res("a"), res("comp", "x:index:Comp", custom=False), res("b", "t:m/b:B", parent="comp"),
              res("comp2", "x:index:Comp", custom=False, deps=["a"]),
              res("c", "t:m/c:C", parent="comp2"))
    est = estimate(g, table=table)
    assert est.total == 20
    timeline = {s.name: (s.start, s.finish) for s in est.chain}
    assert timeline == {"b": (0, 20)}
    est_c = estimate(g, created={"c"}, table=table)  # only c costs: it still waits for its parent's dependency
    assert est_c.total == 5
    est_all = estimate(graph(*g.resources, res("slow", "t:m/slow:Slow", deps=["c"])), table=table)
    assert est_all.total == 10 + 5 + 100
    assert names(est_all) == ["a", "c", "slow"]


def test_custom_parent_blocks_its_children(table: dict) -> None:
    g = graph(res("b", "t:m/b:B"), res("a", parent="b"))
    assert estimate(g, table=table).total == 30


def test_dependency_on_an_unexpanded_component_waits_for_its_descendants(table: dict) -> None:
    # A remote component's dependents wait for the component and everything under it.
    g = graph(res("comp", "x:index:Remote", custom=False), res("b", "t:m/b:B", parent="comp"),
              res("c", "t:m/c:C", deps=["comp"]))
    est = estimate(g, table=table)
    assert est.total == 25
    assert names(est) == ["b", "c"]


def test_provider_is_waited_for_and_costs_nothing(table: dict) -> None:
    g = graph(res("a"), res("prov", "pulumi:providers:aws", deps=["a"]), res("b", "t:m/b:B", provider="prov::id"))
    est = estimate(g, table=table)
    assert est.total == 30
    assert names(est) == ["a", "b"]


def test_variant_rows_and_default(table: dict) -> None:
    assert row_for(res("x", "t:m/slow:Slow", inputs={"multiAz": True}), table).create == 300
    assert row_for(res("x", "t:m/slow:Slow", inputs={"multiAz": False}), table).create == 100
    assert row_for(res("x", "t:m/other:Other"), table).type == "DEFAULT"
    assert row_for(res("x", "x:index:Comp", custom=False), table) is None
    est = estimate(graph(res("x", "t:m/other:Other")), table=table)
    assert est.total == 7 and est.unknown_types == ["t:m/other:Other"]


def test_change_costs_only_what_changes(table: dict) -> None:
    # a -> b -> c -> slow; only b is updated (6) and slow replaced (create 100, old one deleted after: 40).
    g = graph(res("a"), res("b", "t:m/b:B", deps=["a"]), res("c", "t:m/c:C", deps=["b"]),
              res("slow", "t:m/slow:Slow", deps=["c"]))
    est = estimate(g, updated={"b"}, replaced={"slow"}, table=table)
    assert est.mode == "change"
    assert est.total == 6 + 100 + 40
    assert [(s.name, s.op, s.seconds) for s in est.chain] == [("b", "update", 6), ("slow", "replace", 100),
                                                             ("slow", "delete", 40)]
    assert est.slowest.name == "slow" and est.slowest.seconds == 100
    nothing = estimate(g, created=set(), table=table)
    assert nothing.total == 0 and nothing.slowest is None and nothing.ratio == 1.0


def test_delete_before_replace_pays_the_delete_first(table: dict) -> None:
    g = graph(res("slow", "t:m/slow:Slow", deleteBeforeReplace=True))
    est = estimate(g, replaced={"slow"}, table=table)
    assert est.total == 140
    assert [s.op for s in est.chain] == ["replace"]


def test_deletes_run_last_in_reverse_dependency_order(table: dict) -> None:
    # base: a <- b (b depends on a). Both deleted: b first (5), then a (3); after the create of c (5).
    base = graph(res("a"), res("b", "t:m/b:B", deps=["a"]))
    head = graph(res("c", "t:m/c:C"))
    est = estimate(head, created={"c"}, deleted={"a", "b"}, base=base, table=table)
    assert est.total == 5 + 5 + 3
    assert [(s.name, s.op, s.start, s.finish) for s in est.chain] == [
        ("c", "create", 0, 5), ("b", "delete", 5, 10), ("a", "delete", 10, 13)]


def test_estimate_diff_maps_change_kinds(table: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deploy_time, "load_table", lambda *a: table)

    class Ch:
        def __init__(self, urn: str, kind: str) -> None:
            self.urn, self.kind = urn, kind

    g = graph(res("a"), res("b", "t:m/b:B", deps=["a"]))
    est = deploy_time.estimate_diff(g, None, [Ch("a", "update"), Ch("b", "create")])
    assert est.total == 4 + 20


def test_cycle_does_not_hang(table: dict) -> None:
    g = graph(res("a", deps=["b"]), res("b", "t:m/b:B", deps=["a"]))
    assert estimate(g, table=table).total in (20, 30)


def test_a_chain_deeper_than_the_recursion_limit(table: dict) -> None:
    chain = [res("r0")] + [res(f"r{i}", deps=[f"r{i - 1}"]) for i in range(1, 3000)]
    est = estimate(graph(*reversed(chain)), table=table)
    assert est.total == 3000 * 10 and len(est.chain) == 3000


def test_json_and_summary_shape(table: dict) -> None:
    g = graph(res("a"), res("slow", "t:m/slow:Slow", deps=["a"]))
    est = estimate(g, table=table)
    doc = est.to_json()
    assert doc["total_seconds"] == 110 and doc["ratio"] == 1.1
    assert doc["slowest"]["name"] == "slow"
    assert [s["name"] for s in doc["chain"]] == ["a", "slow"]
    json.dumps(doc)
    assert "1m50s" in est.summary() and "slow" in est.summary()


def test_table_rows_have_sources_and_sane_times() -> None:
    table = load_table()
    for rows in table.values():
        for row in rows:
            assert row.source.startswith(("http", "estimate:")), row
            assert min(row.create, row.update, row.delete) >= 0, row
    # Figures the issue quotes: a database and a cache take about 10-15 minutes, a NAT gateway about 2.
    assert 600 <= table["aws:rds/instance:Instance"][-1].create <= 900
    assert table["aws:rds/instance:Instance"][0].when == "multiAz=true"
    assert table["aws:rds/instance:Instance"][0].create > table["aws:rds/instance:Instance"][-1].create
    assert 600 <= table["aws:elasticache/replicationGroup:ReplicationGroup"][0].create <= 900
    assert 60 <= table["aws:ec2/natGateway:NatGateway"][0].create <= 180


def test_table_covers_every_type_our_stacks_use() -> None:
    """Every provider type in the golden inventories of all five stacks has its own row (not DEFAULT)."""
    table = load_table()
    types = set()
    for path in glob.glob(str(ROOT / "tests" / "inventories" / "*.yaml")):
        types |= set(yaml.safe_load(Path(path).read_text())["counts"])
    provider_types = {t for t in types if t.split(":")[0] in ("aws", "gcp")}
    assert len(provider_types) > 80
    assert sorted(provider_types - set(table)) == []


@pytest.mark.usefixtures("trusted_in_process")
def test_text_and_json_reports_include_the_estimate(capsys: pytest.CaptureFixture[str]) -> None:
    """The third-party fixture: an RDS instance (about 12 min alone) and EC2 instances beside it."""
    from review.cli import main

    program = str(ROOT / "tests" / "fixtures" / "thirdparty")
    assert main(["dev", "--program", program, "--no-policies", "--no-cost"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("Estimated deploy time (fresh):"))
    assert "slowest resource payments-db" in line and "ratio" in line
    assert main(["dev", "--program", program, "--format", "json", "--no-policies", "--no-cost"]) == 0
    doc = json.loads(capsys.readouterr().out)["deploy_time"]["fresh"]
    db = load_table()["aws:rds/instance:Instance"][-1].create
    assert doc["slowest"]["name"] == "payments-db" and doc["slowest"]["seconds"] == db
    assert doc["total_seconds"] >= db and doc["chain"][-1]["name"] == "payments-db"
    assert doc["ratio"] == round(doc["total_seconds"] / db, 3)


def test_markdown_escapes_names(table: dict) -> None:
    g = graph(res("a|b`<img src=x>`", "t:m/slow:Slow"))
    md = estimate(g, table=table).to_markdown()
    row = md.splitlines()[-1]
    assert row.count("|") - row.count("\\|") == 6  # five cells: the name's pipe is escaped
    assert "<img" not in md and "&lt;img" in md and "\\`" in md
