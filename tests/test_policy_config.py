"""``--policy-pack-config`` resolves the same way for a pack run in-process and one started over the protocol (one
implementation: ``policies.common.resolve_policy_config``); a bad enforcement level is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import json_format
from pulumi.runtime.proto import analyzer_pb2

from policies.common import resolve_config
from policies.cost import PACK
from review.cli import main
from review.policy_runner import ENFORCEMENT_NAMES, configure_request

FIXTURES = Path(__file__).resolve().parent / "fixtures"
USER = {"all": "advisory", "no-gpu-instances": "disabled",
        "instance-size-ceiling": {"enforcementLevel": "mandatory", "maxSize": {"default": "large"}}}


def _info() -> analyzer_pb2.AnalyzerInfo:
    """What the cost pack answers to GetAnalyzerInfo (levels and config schemas), without starting it."""
    levels = {v: k for k, v in ENFORCEMENT_NAMES.items()}
    policies = []
    for rule in PACK.rules:
        p = analyzer_pb2.PolicyInfo(name=rule.name, enforcementLevel=levels[rule.enforcement])
        if rule.config_schema:
            json_format.ParseDict({"properties": rule.config_schema}, p.configSchema)
        policies.append(p)
    return analyzer_pb2.AnalyzerInfo(name=PACK.name, policies=policies)


def test_protocol_and_in_process_resolve_the_same_config() -> None:
    request = configure_request(_info(), USER)
    wire = {name: (ENFORCEMENT_NAMES[c.enforcementLevel], json_format.MessageToDict(c.properties))
            for name, c in request.policyConfig.items()}
    local = resolve_config(PACK, USER)
    assert wire == {k: (level, json.loads(json.dumps(props))) for k, (level, props) in local.items()}
    assert local["no-gpu-instances"][0] == "disabled"
    assert local["instance-size-ceiling"] == ("mandatory", {"maxSize": {"default": "large"}})
    assert local["budget-not-exceeded"][0] == "advisory"  # "all" overrides the default mandatory


@pytest.mark.usefixtures("trusted_in_process")
def test_a_bad_enforcement_level_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"cost": {"all": "block"}}))
    code = main(["dev", "--program", str(FIXTURES / "thirdparty"), "--no-cost", "--policy-pack-config", str(cfg)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "enforcement level 'block' is not one of" in err
