"""Operations tooling for the live cloud (boto3): ``python -m ops bootstrap | drift | audit | prices refresh``
(docs/ops.md)."""
