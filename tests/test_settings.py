"""The settings model: profiles supply defaults, stack files override, bad input is one clear line."""

from __future__ import annotations

import pytest

from stacks.settings import PROFILES, SettingsError, from_values

BASE = {"environment": "dev", "region": "us-east-1"}


def settings(**over):
    return from_values({**BASE, **over})


def test_profiles_follow_the_environments_table():
    dev, staging, prod = (from_values({**BASE, "environment": e}) for e in ("dev", "staging", "prod"))
    assert (dev.network.az_count, dev.network.nat_strategy) == (2, "none")
    assert (staging.network.az_count, staging.network.nat_strategy) == (2, "single")
    assert (prod.network.az_count, prod.network.nat_strategy) == (3, "per_az")
    assert (dev.service.scaling.min, dev.service.scaling.max) == (1, 2)
    assert (staging.service.scaling.min, staging.service.scaling.max) == (2, 4)
    assert (prod.service.scaling.min, prod.service.scaling.max) == (3, 20)
    assert (dev.database.multi_az, dev.database.backup_retention_days) == (False, 1)
    assert (staging.database.multi_az, staging.database.backup_retention_days) == (False, 7)
    assert prod.database.multi_az and prod.database.backup_retention_days == 30
    assert prod.database.deletion_protection and not dev.database.deletion_protection
    assert dev.cache.num_nodes == 1 and staging.cache.num_nodes == 2
    assert prod.cache.automatic_failover and prod.cache.multi_az
    assert [p.monitoring.log_retention_days for p in (dev, staging, prod)] == [7, 30, 365]
    assert prod.monitoring.alarms_to_pager and not dev.monitoring.alarms_to_pager
    assert dev.service.architecture == "arm64"


def test_a_stack_file_overrides_only_what_differs():
    s = settings(network={"natStrategy": "single"}, service={"scaling": {"max": 3}})
    assert s.network.nat_strategy == "single"
    assert s.network.az_count == 2  # still from the profile
    assert (s.service.scaling.min, s.service.scaling.max) == (1, 3)
    assert s.service.cpu == 256
    assert PROFILES["dev"]["network"]["natStrategy"] == "none"  # the profile itself is untouched


def test_gcp_stacks_get_the_same_profiles_in_gcp_sizes():
    dev = from_values({"environment": "dev", "region": "us-central1", "cloud": "gcp", "gcpProject": "acme-dev"})
    prod = from_values({"environment": "prod", "region": "us-central1", "cloud": "gcp", "gcpProject": "acme"})
    assert (dev.database.instance_class, prod.database.instance_class) == ("db-f1-micro", "db-custom-2-7680")
    assert prod.database.multi_az and prod.network.nat_strategy == "per_az"
    assert prod.cache.memory_size_gb == 5


def test_standard_tags_come_from_one_place():
    s = settings(tags={"owner": "payments", "team": "core"})
    assert s.standard_tags == {"environment": "dev", "owner": "payments", "cost-center": "engineering",
                               "managed-by": "pulumi", "team": "core"}


@pytest.mark.parametrize(("values", "message"), [
    ({"environment": "qa", "region": "us-east-1"}, "backend-hosting:environment = 'qa' is not allowed"),
    ({"region": "us-east-1"}, "backend-hosting:environment is required"),
    ({"environment": "dev"}, "backend-hosting:region is required"),
    ({**BASE, "netwrk": {}}, "unknown setting backend-hosting:netwrk"),
    ({**BASE, "network": {"natGateways": 2}}, "unknown setting backend-hosting:network.natGateways"),
    ({**BASE, "network": {"azCount": "two"}}, 'backend-hosting:network.azCount = "two" is invalid'),
    ({**BASE, "network": {"azCount": 9}}, "network.azCount = 9 is invalid: Input should be less than or equal to 6"),
    ({**BASE, "network": {"natStrategy": "many"}}, "'none', 'single' or 'per_az'"),
    ({**BASE, "network": {"cidr": "10.0.0.0/8"}}, "network.cidr = \"10.0.0.0/8\" is invalid"),
    ({**BASE, "service": {"cpu": 300}}, "service.cpu = 300 is invalid: not a Fargate CPU size"),
    ({**BASE, "service": {"memory": 8192}}, "service.memory = 8192 is invalid: does not fit cpu 256"),
    ({**BASE, "service": {"scaling": {"min": 5, "max": 2}}}, "service.scaling.max = 2 is invalid"),
    ({**BASE, "service": {"environment": {"DB_PASSWORD": "hunter2"}}}, "DB_PASSWORD looks like a secret"),
    ({**BASE, "service": {"secrets": {"DB": "plain"}}}, "must be a Secrets Manager/SSM ARN"),
    ({**BASE, "cache": {"automaticFailover": True}}, "automaticFailover and multiAz need numNodes >= 2"),
    ({**BASE, "monitoring": {"logRetentionDays": 10}}, "monitoring.logRetentionDays = 10 is invalid"),
    ({**BASE, "monitoring": {"alertEmails": ["nobody"]}}, "'nobody' is not an email address"),
    ({**BASE, "budget": {"monthlyUsd": -5}}, "budget.monthlyUsd = -5 is invalid"),
    ({**BASE, "waivers": [{"policy": "x", "resource": "y", "reason": "too short"}]},
     "waivers[0].reason = \"too short\" is invalid: a waiver reason must have at least 10 words"),
    ({**BASE, "cloud": "gcp"}, "backend-hosting:gcpProject is required when cloud is gcp"),
    ({**BASE, "cloud": "azure"}, "backend-hosting:cloud = 'azure' is not allowed"),
    ({"environment": "dev", "region": "us-central1", "cloud": "gcp", "gcpProject": "p",
      "database": {"instanceClass": "db.t4g.micro"}},
     "backend-hosting:database.instanceClass 'db.t4g.micro' is not a gcp class"),
])
def test_bad_values_give_one_line_naming_the_key(values, message):
    with pytest.raises(SettingsError) as info:
        from_values(values)
    text = str(info.value)
    assert "\n" not in text
    assert message in text


def test_settings_error_is_a_clean_pulumi_error():
    import pulumi

    # pulumi up prints a RunError's message without a Python traceback.
    assert issubclass(SettingsError, pulumi.RunError)


def test_every_stack_file_of_this_repository_is_valid():
    from pathlib import Path

    from stacks.settings import from_stack_file

    repo = Path(__file__).resolve().parent.parent
    files = sorted(repo.glob("Pulumi.*.yaml"))
    assert {f.name for f in files} >= {"Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml"}
    for f in files:
        s = from_stack_file(f)
        stack = f.name.removeprefix("Pulumi.").removesuffix(".yaml")
        assert stack.endswith(s.environment), f"{f.name} declares environment {s.environment}"
        assert s.cloud == ("gcp" if stack.startswith("gcp-") else "aws")


def test_a_broken_stack_file_is_one_line(tmp_path):
    from stacks.settings import from_stack_file

    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  backend-hosting:environment: [dev\n")
    with pytest.raises(SettingsError, match=r"^Pulumi.bad.yaml: cannot read: "):
        from_stack_file(bad)


def test_roles_carry_the_permissions_boundary_by_default_in_every_profile():
    for env in ("dev", "staging", "prod"):
        assert from_values({**BASE, "environment": env}).iam.permissions_boundary is True
        assert PROFILES[env]["iam"] == {"permissionsBoundary": True}
    assert settings(iam={"permissionsBoundary": False}).iam.permissions_boundary is False
    with pytest.raises(SettingsError, match=r"backend-hosting:iam.permissionsBoundary = \"maybe\" is invalid"):
        settings(iam={"permissionsBoundary": "maybe"})
    with pytest.raises(SettingsError, match=r"unknown setting backend-hosting:iam\.boundary"):
        settings(iam={"boundary": True})
