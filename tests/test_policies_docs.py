"""docs/policies.md is generated from the code (every pack under policies/) and kept in sync."""

from __future__ import annotations

from pathlib import Path

from policies.common import discover_packs, docs_markdown

DOC = Path(__file__).resolve().parent.parent / "docs" / "policies.md"


def test_docs_are_in_sync_with_the_code() -> None:
    assert DOC.read_text() == docs_markdown(), (
        "docs/policies.md is stale: run `python -m policies.common docs --write docs/policies.md`")


def test_docs_list_every_policy_of_every_pack() -> None:
    text = DOC.read_text()
    for pack in discover_packs():
        assert f"## Pack `{pack.name}`" in text
        for rule in pack.rules:
            assert f"| `{rule.name}` | {rule.severity} | {rule.enforcement} |" in text
