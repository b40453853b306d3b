"""The GCP delivery bootstrap: a small Pulumi program (``program.py``) and the role derivation (``roles.py``).

``python -m ops bootstrap-gcp`` captures the stacks offline, derives each deploy account's roles and writes the
bootstrap stack's config; ``pulumi up`` in this directory creates the resources (docs/runbook.md).
"""
