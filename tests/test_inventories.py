"""Golden inventories of the dev, staging and prod stacks, in the style of cloud-foundation-fabric.

``tests/inventories/<stack>.yaml`` holds:

- ``values``: per resource (``"<type> <name>"``), only the settings a reviewer cares about (``VALUE_KEYS`` in
  ``tests/helpers.py``), plus resource options that protect data or hand ownership elsewhere (``protect``,
  ``retainOnDelete``, ``ignoreChanges``);
- ``counts``: the exact number of resources per type; ``0`` means the type must not exist (types present in any
  other stack, and ``MUST_NOT_EXIST``);
- ``outputs``: the stack outputs.

A change shows up as a failing key-by-key comparison; regenerate deliberately with
``python -m pytest tests/test_inventories.py --update-inventories`` and review the YAML diff in the pull request.
"""

from __future__ import annotations

import pytest
import yaml
from helpers import AWS_STACKS as STACKS
from helpers import INVENTORIES, MUST_NOT_EXIST, compare, inventory

_TYPES: dict[str, set[str]] = {}


@pytest.mark.parametrize("stack", STACKS)
def test_stack_matches_its_inventory(run_stack, request, stack):
    graph = run_stack(stack)
    for other in STACKS:
        if other not in _TYPES:
            _TYPES[other] = graph.types() if other == stack else run_stack(other).types()
    actual = inventory(graph, set().union(*_TYPES.values()))
    path = INVENTORIES / f"{stack}.yaml"
    if request.config.getoption("--update-inventories", default=False):
        INVENTORIES.mkdir(exist_ok=True)
        header = (f"# Golden inventory of the {stack} stack (tests/test_inventories.py). Do not edit by hand:\n"
                  "# python -m pytest tests/test_inventories.py --update-inventories, then review the diff.\n")
        path.write_text(header + yaml.safe_dump(actual, sort_keys=False, width=120, allow_unicode=True))
    assert path.exists(), f"{path} is missing: run python -m pytest tests/test_inventories.py --update-inventories"
    expected = yaml.safe_load(path.read_text())
    diffs = compare(stack, expected, actual)
    assert not diffs, (f"{len(diffs)} differences from tests/inventories/{stack}.yaml (if intended, regenerate with "
                       "`python -m pytest tests/test_inventories.py --update-inventories` and commit the diff):\n"
                       + "\n".join(diffs))


def test_inventories_say_what_must_not_exist():
    dev = yaml.safe_load((INVENTORIES / "dev.yaml").read_text())["counts"]
    prod = yaml.safe_load((INVENTORIES / "prod.yaml").read_text())["counts"]
    assert dev["aws:ec2/natGateway:NatGateway"] == 0 and prod["aws:ec2/natGateway:NatGateway"] == 3
    # prod: the regional web ACL and (issue 14) the CLOUDFRONT one at the edge; dev has neither, nor a CDN
    assert dev["aws:wafv2/webAcl:WebAcl"] == 0 and prod["aws:wafv2/webAcl:WebAcl"] == 2
    cdn = "aws:cloudfront/distribution:Distribution"
    assert dev[cdn] == 0 and prod[cdn] == 1
    assert dev["aws:backup/plan:Plan"] == 0 and prod["aws:backup/plan:Plan"] == 1
    assert all(dev[t] == 0 and prod[t] == 0 for t in MUST_NOT_EXIST)


def test_the_comparison_names_each_difference():
    expected = {"values": {"aws:ec2/vpc:Vpc net": {"cidrBlock": "10.0.0.0/16"}},
                "counts": {"aws:ec2/natGateway:NatGateway": 0}, "outputs": {"url": "https://a"}}
    actual = {"values": {"aws:ec2/vpc:Vpc net": {"cidrBlock": "10.1.0.0/16"}},
              "counts": {"aws:ec2/natGateway:NatGateway": 1}, "outputs": {}}
    assert compare("dev", expected, actual) == [
        "dev: values['aws:ec2/vpc:Vpc net'].cidrBlock: inventory '10.0.0.0/16', stack '10.1.0.0/16'",
        "dev: counts['aws:ec2/natGateway:NatGateway']: inventory 0, stack 1",
        "dev: outputs['url']: in the inventory, missing from the stack",
    ]
