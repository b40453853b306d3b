"""The ``cost`` policy pack: guardrails against wasteful choices and a monthly budget gate.

Rules live in importable modules (``rules_sizing``, ``rules_topology``, ``rules_workloads``,
``rules_budget``); ``__main__`` only
serves :data:`PACK`. Environment-aware rules read the environment through the shared framework
(:mod:`policies.common`); every limit is policy config (``--policy-pack-config``) keyed by environment.
The budget rules price the resources they receive with :mod:`pricing` (the estimator the review uses).
"""

from __future__ import annotations

from policies.common import Pack

from .rules_budget import budget_not_exceeded, budget_verifiable, budget_warning, cost_estimate_complete
from .rules_sizing import (
    autoscaling_max_ceiling,
    instance_family_allowed,
    instance_size_ceiling,
    no_gpu_instances,
    provisioned_iops_ceiling,
    storage_ceiling,
    task_size_ceiling,
)
from .rules_topology import (
    bucket_lifecycle_configured,
    log_retention_bounded_outside_prod,
    no_multi_az_database_outside_prod,
    no_nat_per_az_outside_prod,
)
from .rules_workloads import dev_worker_scales_to_zero, job_size_allowance
from .rules_workloads_gcp import cloudrun_job_bounded, worker_scales_to_zero

PACK = Pack(
    name="cost",
    display_name="Cost guardrails",
    description="Cost guardrails for AWS and GCP: allowed instance families and sizes per environment, no GPUs, "
                "ceilings on tasks, autoscaling, storage and IOPS, no NAT per AZ or multi-AZ database outside "
                "prod, bounded log retention, bucket lifecycle rules, queue workers that scale to zero and bounded "
                "jobs outside prod, and a monthly budget gate priced by the "
                "review's estimator.",
    rules=[
        instance_family_allowed,
        instance_size_ceiling,
        no_gpu_instances,
        task_size_ceiling,
        autoscaling_max_ceiling,
        storage_ceiling,
        provisioned_iops_ceiling,
        no_nat_per_az_outside_prod,
        no_multi_az_database_outside_prod,
        log_retention_bounded_outside_prod,
        bucket_lifecycle_configured,
        dev_worker_scales_to_zero,
        job_size_allowance,
        worker_scales_to_zero,
        cloudrun_job_bounded,
        budget_not_exceeded,
        budget_verifiable,
        budget_warning,
        cost_estimate_complete,
    ],
)

__all__ = ["PACK"]
