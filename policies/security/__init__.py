"""The security pack: public and network exposure, encryption at rest and in transit, logging, backups and data
loss, IAM least privilege, plaintext secrets, hardening, tags, and waivers, for AWS and GCP.

``PACK`` is what ``__main__`` serves to the Pulumi CLI and what ``review.policy_runner`` runs offline.
"""

from __future__ import annotations

from policies.common import Pack, waiver_audit_rule, waiver_valid_rule

from . import (
    rules_aws_workloads,
    rules_containers,
    rules_data,
    rules_edge,
    rules_encryption,
    rules_exposure,
    rules_gcp_workloads,
    rules_hardening,
    rules_iam,
    rules_identity,
    rules_recovery,
    rules_resilience,
    rules_serverless,
)

PACK = Pack(
    name="security",
    display_name="Backend security",
    description="Security guardrails for AWS and GCP backends: no public data stores, APIs or world-open ports, "
                "encryption at rest and in transit, logs and backups kept, least-privilege IAM, no plaintext "
                "secrets, supported runtimes, hardened workloads and Kubernetes control planes (from load "
                "balancers and databases to API Gateway, CloudFront, Cognito, Lambda, queues, OpenSearch, "
                "DocumentDB, EKS, GKE, BigQuery and Cloud Functions); defaults block what Checkov, AWS FSBP and CIS "
                "call defects; exceptions only as reviewed waivers in the stack config.",
    rules=[
        *rules_exposure.RULES,
        *rules_encryption.RULES,
        *rules_resilience.RULES,
        *rules_recovery.RULES,
        *rules_iam.RULES,
        *rules_hardening.RULES,
        *rules_serverless.RULES,
        *rules_edge.RULES,
        *rules_data.RULES,
        *rules_containers.RULES,
        *rules_gcp_workloads.RULES,
        *rules_aws_workloads.RULES,
        *rules_identity.RULES,
        waiver_valid_rule(),
        waiver_audit_rule(),
    ],
)

__all__ = ["PACK"]
