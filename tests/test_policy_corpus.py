"""The policy corpus (bench/corpus): its shape, and both targets on a subset (the whole corpus runs in
``python bench/policy_corpus.py``, about 15 s, too slow for the suite's budget)."""

from __future__ import annotations

import pytest

from bench.corpus import PROGRAMS, CorpusProgram, judge, real_secret_values
from policies.common import discover_packs

BY_NAME = {p.name: p for p in PROGRAMS}
SUBSET = [
    "aws-rest-api", "aws-rest-api/no-auth", "aws-opensearch/public-open-policy", "gcp-gke",
    "gcp-function-v1/public-invoker",
]


def test_corpus_shape() -> None:
    """At least 80 programs on both clouds, good and bad, each bad one naming real policies that catch it."""
    policies = {r.name for pack in discover_packs() for r in pack.rules}
    assert len(PROGRAMS) >= 80
    assert {p.cloud for p in PROGRAMS} == {"aws", "gcp"}
    assert sum(p.good for p in PROGRAMS) >= 25 and sum(not p.good for p in PROGRAMS) >= 60
    for p in PROGRAMS:
        assert p.good or (p.catches and set(p.catches) <= policies), p.name
        assert not {"required-tags", "cost-estimate-complete"} & set(p.catches), p.name  # proves nothing
    families = {p.name.split("/")[0] for p in PROGRAMS}
    for needed in ("aws-rest-api", "aws-http-api", "aws-cloudfront-site", "aws-cognito", "aws-lambda",
                   "aws-queue-topic", "aws-secret", "aws-efs", "aws-eks", "gcp-gke", "aws-kinesis", "aws-opensearch",
                   "aws-documentdb", "gcp-bigquery", "gcp-function-v1", "gcp-function-v2"):
        assert needed in families


@pytest.mark.parametrize("name", SUBSET)
def test_corpus_program(name: str) -> None:
    program: CorpusProgram = BY_NAME[name]
    verdict = judge(program)
    if program.good:
        assert verdict.mandatory == [], "a hardened program must not be blocked"
    else:
        assert verdict.fired & set(program.catches), f"{program.defect} not caught; fired {sorted(verdict.fired)}"


def test_literal_password_is_caught_once_policies_see_real_values() -> None:
    if not real_secret_values():
        pytest.skip("this review redacts secret-wrapped inputs before policies see them (issue 11)")
    verdict = judge(BY_NAME["aws-rds/literal-password"])
    assert "db-password-not-literal" in verdict.fired
