"""The security pack: public and network exposure, encryption at rest and in transit, logging, backups and data
loss, IAM least privilege, plaintext secrets, hardening, tags, and waivers, for AWS and GCP.

``PACK`` is what ``__main__`` serves to the Pulumi CLI and what ``review.policy_runner`` runs offline.
"""

from __future__ import annotations

from policies.common import Pack, waiver_audit_rule, waiver_valid_rule

from . import rules_encryption, rules_exposure, rules_hardening, rules_iam, rules_identity, rules_resilience

PACK = Pack(
    name="security",
    display_name="Backend security",
    description="Security guardrails for AWS and GCP backends: no public data stores or world-open ports, "
                "encryption at rest and in transit, logs and backups kept, least-privilege IAM, no plaintext "
                "secrets, hardened workloads; exceptions only as reviewed waivers in the stack config.",
    rules=[
        *rules_exposure.RULES,
        *rules_encryption.RULES,
        *rules_resilience.RULES,
        *rules_iam.RULES,
        *rules_hardening.RULES,
        *rules_identity.RULES,
        waiver_valid_rule(),
        waiver_audit_rule(),
    ],
)

__all__ = ["PACK"]
