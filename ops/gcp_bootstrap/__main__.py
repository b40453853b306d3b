"""``pulumi up`` of the GCP delivery bootstrap (config written by ``python -m ops bootstrap-gcp``)."""

import sys
from pathlib import Path

import pulumi

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ops.gcp_bootstrap.program import GcpBootstrap, args_from_config

project = pulumi.Config("gcp").require("project")
boot = GcpBootstrap("delivery", args_from_config(pulumi.Config(), project))
pulumi.export("workload_identity_provider", boot.provider.name)
pulumi.export("state_bucket", boot.bucket.name)
pulumi.export("deploy_service_accounts", {k: a.email for k, a in boot.accounts.items()})
