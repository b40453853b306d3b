"""The settings model: profiles supply defaults, stack files override, bad input is one clear line."""

from __future__ import annotations

import pytest

from stacks.settings import CLOUD_PROFILES, AwsSettings, GcpSettings, SettingsError, from_values

BASE = {"environment": "dev", "region": "us-east-1"}


def settings(**over):
    return from_values({**BASE, **over})


def test_profiles_follow_the_environments_table():
    api = {"services": {"api": {"kind": "web", "routes": [{"path": "/v1"}]}}}
    dev, staging, prod = (from_values({**BASE, **api, "environment": e}) for e in ("dev", "staging", "prod"))
    assert (dev.network.az_count, dev.network.nat_strategy) == (2, "none")
    assert (staging.network.az_count, staging.network.nat_strategy) == (2, "single")
    assert (prod.network.az_count, prod.network.nat_strategy) == (3, "per_az")
    assert [(p.services["api"].scaling.min, p.services["api"].scaling.max) for p in (dev, staging, prod)] == [
        (1, 2),
        (2, 4),
        (3, 20),
    ]
    assert (dev.database.multi_az, dev.database.backup_retention_days) == (False, 1)
    assert (staging.database.multi_az, staging.database.backup_retention_days) == (False, 7)
    assert prod.database.multi_az and prod.database.backup_retention_days == 30
    assert prod.database.deletion_protection and not dev.database.deletion_protection
    assert dev.cache.num_nodes == 1 and staging.cache.num_nodes == 2
    assert prod.cache.automatic_failover and prod.cache.multi_az
    assert [p.monitoring.log_retention_days for p in (dev, staging, prod)] == [7, 30, 365]
    assert prod.monitoring.alarms_to_pager and not dev.monitoring.alarms_to_pager
    assert dev.services["api"].architecture == "arm64"


def test_a_stack_file_overrides_only_what_differs():
    s = settings(
        network={"natStrategy": "single"},
        services={"api": {"kind": "web", "routes": [{"path": "/v1"}], "scaling": {"max": 3}}},
    )
    assert s.network.nat_strategy == "single"
    assert s.network.az_count == 2  # still from the profile
    assert (s.services["api"].scaling.min, s.services["api"].scaling.max) == (1, 3)
    assert s.services["api"].cpu == 256
    assert CLOUD_PROFILES["aws"]["dev"]["network"]["natStrategy"] == "none"  # the profile itself is untouched


def test_gcp_stacks_get_the_same_profiles_in_gcp_sizes():
    dev = from_values({"environment": "dev", "region": "us-central1", "cloud": "gcp", "gcpProject": "acme-dev"})
    prod = from_values({"environment": "prod", "region": "us-central1", "cloud": "gcp", "gcpProject": "acme-prod"})
    assert (dev.database.instance_class, prod.database.instance_class) == ("db-f1-micro", "db-custom-2-7680")
    assert prod.database.multi_az and prod.network.nat_strategy == "static" and prod.network.static_addresses == 3
    assert prod.cache.memory_size_gb == 5


def test_standard_tags_come_from_one_place():
    s = settings(tags={"owner": "payments", "team": "core"})
    assert s.standard_tags == {
        "environment": "dev",
        "owner": "payments",
        "cost-center": "engineering",
        "managed-by": "pulumi",
        "team": "core",
    }


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"environment": "qa", "region": "us-east-1"}, "backend-hosting:environment = 'qa' is not allowed"),
        ({"region": "us-east-1"}, "backend-hosting:environment is required"),
        ({"environment": "dev"}, "backend-hosting:region is required"),
        ({**BASE, "netwrk": {}}, "unknown setting backend-hosting:netwrk"),
        ({**BASE, "network": {"natGateways": 2}}, "unknown setting backend-hosting:network.natGateways"),
        ({**BASE, "network": {"azCount": "two"}}, 'backend-hosting:network.azCount = "two" is invalid'),
        (
            {**BASE, "network": {"azCount": 9}},
            "network.azCount = 9 is invalid: Input should be less than or equal to 6",
        ),
        ({**BASE, "network": {"natStrategy": "many"}}, "'none', 'single' or 'per_az'"),
        ({**BASE, "network": {"cidr": "10.0.0.0/8"}}, 'network.cidr = "10.0.0.0/8" is invalid'),
        (
            {**BASE, "services": {"api": {"kind": "web", "routes": [{"path": "/v1"}], "cpu": 300}}},
            "services.api.cpu = 300 is invalid: not a Fargate CPU size",
        ),
        (
            {**BASE, "services": {"api": {"kind": "web", "routes": [{"path": "/v1"}], "memory": 8192}}},
            "services.api.memory = 8192 is invalid: does not fit cpu 256",
        ),
        (
            {
                **BASE,
                "services": {"api": {"kind": "web", "routes": [{"path": "/v1"}], "scaling": {"min": 5, "max": 2}}},
            },
            "services.api.scaling.max = 2 is invalid",
        ),
        (
            {
                **BASE,
                "services": {
                    "api": {"kind": "web", "routes": [{"path": "/v1"}], "environment": {"DB_PASSWORD": "hunter2"}}
                },
            },
            "DB_PASSWORD looks like a secret",
        ),
        (
            {**BASE, "services": {"api": {"kind": "web", "routes": [{"path": "/v1"}], "secrets": {"DB": "plain"}}}},
            "must be a Secrets Manager or SSM parameter ARN",
        ),
        (
            {**BASE, "cache": {"mode": "node", "automaticFailover": True}},
            "backend-hosting:cache.automaticFailover and cache.multiAz need cache.numNodes >= 2",
        ),
        ({**BASE, "monitoring": {"logRetentionDays": 10}}, "monitoring.logRetentionDays = 10 is invalid"),
        ({**BASE, "monitoring": {"alertEmails": ["nobody"]}}, "'nobody' is not an email address"),
        ({**BASE, "budget": {"monthlyUsd": -5}}, "budget.monthlyUsd = -5 is invalid"),
        (
            {**BASE, "waivers": [{"policy": "x", "resource": "y", "reason": "too short"}]},
            "backend-hosting:waivers: waiver #1 (x on y): the reason has 2 words; at least 10 are required",
        ),
        ({**BASE, "cloud": "gcp", "region": "us-central1"}, "backend-hosting:gcpProject is required"),
        ({**BASE, "cloud": "azure"}, "backend-hosting:cloud = 'azure' is not allowed"),
        (
            {
                "environment": "dev",
                "region": "us-central1",
                "cloud": "gcp",
                "gcpProject": "acme-dev",
                "database": {"instanceClass": "db.t4g.micro"},
            },
            'backend-hosting:database.instanceClass = "db.t4g.micro" is invalid',
        ),
    ],
)
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
        assert CLOUD_PROFILES["aws"][env]["iam"] == {"permissionsBoundary": True}
    assert settings(iam={"permissionsBoundary": False}).iam.permissions_boundary is False
    with pytest.raises(SettingsError, match=r"backend-hosting:iam.permissionsBoundary = \"maybe\" is invalid"):
        settings(iam={"permissionsBoundary": "maybe"})
    with pytest.raises(SettingsError, match=r"unknown setting backend-hosting:iam\.boundary"):
        settings(iam={"boundary": True})


# -- per cloud: every setting is used on the stack's cloud or refused (ADR 5) ------------------------------
GCP = {"environment": "dev", "region": "us-central1", "cloud": "gcp", "gcpProject": "acme-dev"}


def gcp_settings(**over):
    return from_values({**GCP, **over})


def test_each_cloud_gets_its_own_model():
    assert isinstance(settings(), AwsSettings)
    assert isinstance(gcp_settings(), GcpSettings)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        # AWS-only settings on a GCP stack: named, with the cloud they belong to.
        ({"cache": {"mode": "node"}}, "backend-hosting:cache.mode does not apply to cloud gcp (it is a aws setting)"),
        ({"cache": {"nodeType": "cache.t4g.small"}}, "cache.nodeType does not apply to cloud gcp"),
        ({"cache": {"automaticFailover": True}}, "cache.automaticFailover does not apply to cloud gcp"),
        (
            {"services": {"api": {"kind": "web", "routes": [{"path": "/v1"}], "architecture": "x86_64"}}},
            "services.api.architecture does not apply to cloud gcp",
        ),
        (
            {"services": {"api": {"kind": "web", "routes": [{"path": "/v1"}], "desiredCount": 2}}},
            "services.api.desiredCount does not apply to cloud gcp",
        ),
        (
            {"services": {"api": {"kind": "web", "routes": [{"path": "/v1"}], "scaling": {"cpuTarget": 50}}}},
            "services.api.scaling.cpuTarget does not apply to cloud gcp",
        ),
        ({"encryption": {"keyPerComponent": True}}, "backend-hosting:encryption does not apply to cloud gcp"),
        ({"iam": {"permissionsBoundary": False}}, "backend-hosting:iam does not apply to cloud gcp"),
        ({"network": {"azCount": 3}}, "network.azCount does not apply to cloud gcp"),
        ({"network": {"interfaceEndpoints": True}}, "network.interfaceEndpoints does not apply to cloud gcp"),
        ({"database": {"performanceInsights": True}}, "database.performanceInsights does not apply to cloud gcp"),
        (
            {"dns": {"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/x"}},
            "dns.certificateArn does not apply to cloud gcp",
        ),
        # Cloud Run sizes and checks, not Fargate's.
        (
            {"services": {"api": {"kind": "web", "routes": [{"path": "/v1"}], "cpu": 256}}},
            "services.api.cpu = 256 is invalid: not a Cloud Run CPU size",
        ),
        (
            {"services": {"api": {"kind": "web", "routes": [{"path": "/v1"}], "cpu": 1024, "memory": 8192}}},
            "does not fit cpu 1024 on Cloud Run",
        ),
        (
            {
                "services": {
                    "api": {
                        "kind": "web",
                        "routes": [{"path": "/v1"}],
                        "secrets": {"K": "arn:aws:secretsmanager:us-east-1:1:secret:k"},
                    }
                }
            },
            "must be a Secret Manager path",
        ),
        ({"monitoring": {"logRetentionDays": 4000}}, "monitoring.logRetentionDays = 4000 is invalid"),
        ({"network": {"natStrategy": "per_az"}}, "'none', 'auto' or 'static'"),
        ({"network": {"natAddresses": 4}}, "network.natAddresses does not apply: only a static NAT reserves addresses"),
        ({"database": {"iamAuthentication": False}}, "database.passwordSecret is required"),
        ({"database": {"passwordSecret": "projects/p/secrets/db"}}, "database.passwordSecret does not apply"),
        ({"cache": {"engine": "valkey"}}, 'cache.engine = "valkey" is invalid'),
        ({"tags": {"Owner": "Payments Team"}}, "GCP labels are lowercase"),
        (
            {"region": "us-central"},
            "backend-hosting:region = \"us-central\" is invalid: not a GCP region: did you mean 'us-central1'?",
        ),
    ],
)
def test_a_setting_that_does_not_apply_to_gcp_is_one_line(values, message):
    with pytest.raises(SettingsError) as info:
        gcp_settings(**values)
    assert "\n" not in str(info.value)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"gcpProject": "acme"}, "backend-hosting:gcpProject does not apply to cloud aws (it is a gcp setting)"),
        ({"gcpBillingAccount": "012345-6789AB-CDEF01"}, "gcpBillingAccount does not apply to cloud aws"),
        ({"network": {"natAddresses": 2}}, "network.natAddresses does not apply to cloud aws"),
        ({"cache": {"memorySizeGb": 2}}, "cache.memorySizeGb does not apply to cloud aws"),
        ({"cache": {"persistence": True}}, "cache.persistence does not apply to cloud aws"),
        (
            {"database": {"passwordSecret": "projects/p/secrets/db"}},
            "database.passwordSecret does not apply to cloud aws",
        ),
        # Shapes: what the chosen shape does not have.
        ({"cache": {"nodeType": "cache.t4g.small"}}, "cache.nodeType does not apply: cache.mode is serverless"),
        ({"cache": {"numNodes": 2}}, "cache.numNodes does not apply: cache.mode is serverless"),
        (
            {"cache": {"mode": "node", "maxEcpuPerSecond": 2000}},
            "cache.maxEcpuPerSecond does not apply: cache.mode is node",
        ),
        (
            {"database": {"engine": "aurora-postgresql", "allocatedStorageGb": 50}},
            "database.allocatedStorageGb does not apply: Aurora storage grows by itself",
        ),
        (
            {"database": {"enabled": False, "instanceClass": "db.t4g.small"}},
            "database.instanceClass does not apply: database.enabled is false",
        ),
        ({"cache": {"enabled": False, "mode": "node"}}, "cache.mode does not apply: cache.enabled is false"),
        (
            {"services": {"api": {"kind": "web", "routes": [{"path": "/v1"}], "cpu": 1024, "memory": 512}}},
            "services.api.memory = 512 is invalid: does not fit cpu 1024",
        ),
        (
            {"region": "us-est-1"},
            "backend-hosting:region = \"us-est-1\" is invalid: not an AWS region: "
            "did you mean 'us-east-1' or 'us-west-1'?",
        ),
        ({"region": "moon-base-1"}, "not an AWS region"),
        (
            {"storage": {"buckets": [{"name": "assets"}, {"name": "assets"}]}},
            'storage.buckets = [{"name": "assets"}, {"name": "assets"}] is invalid: bucket \'assets\' is listed twice',
        ),
        (
            {"services": {"api": {"kind": "web", "routes": [{"path": "/v1"}, {"path": "/v1"}]}}},
            "two routes match the same host and path",
        ),
        ({"dns": {"zoneName": "example.com", "domainName": "api.example.org"}}, "is not in dns.zoneName"),
        ({"netwrok": {}}, "unknown setting backend-hosting:netwrok (did you mean network?)"),
        (
            {"waivers": [{"policy": "x", "resource": "y", "reason": "not enough words here"}]},
            "at least 10 are required",
        ),
    ],
)
def test_a_setting_that_does_not_apply_to_aws_is_one_line(values, message):
    with pytest.raises(SettingsError) as info:
        settings(**values)
    assert "\n" not in str(info.value)
    assert message in str(info.value)


def test_gcp_dev_has_no_idle_instance_and_no_cache_unless_asked():
    """ADR 12: GCP dev scales to zero and has no Memorystore by default; a stack file opts in to the cache."""
    dev = gcp_settings()
    web = {"services": {"api": {"kind": "web", "routes": [{"path": "/v1"}]}}}
    assert (gcp_settings(**web).services["api"].scaling.min, dev.cache.enabled) == (0, False)
    assert settings(**web).services["api"].scaling.min == 1 and settings().cache.enabled  # AWS dev: a warm task
    opted = gcp_settings(cache={"enabled": True})
    assert (opted.cache.enabled, opted.cache.memory_size_gb) == (True, 1)
    for env in ("staging", "prod"):
        assert gcp_settings(environment=env).cache.enabled
    with pytest.raises(SettingsError, match=r"cache\.memorySizeGb does not apply: cache\.enabled is false"):
        gcp_settings(cache={"memorySizeGb": 2})


def test_settings_that_apply_are_accepted_on_each_cloud():
    s = gcp_settings(
        network={"natStrategy": "static", "natAddresses": 4},
        cache={"enabled": True, "persistence": True},
        database={"iamAuthentication": False, "passwordSecret": "projects/acme-dev/secrets/db"},
    )
    assert (s.network.static_addresses, s.cache.persistence, s.database.password_secret) == (
        4,
        True,
        "projects/acme-dev/secrets/db",
    )
    a = settings(cache={"mode": "node", "nodeType": "cache.t4g.small", "numNodes": 2, "automaticFailover": True})
    assert (a.cache.node_type, a.cache.num_nodes) == ("cache.t4g.small", 2)
    # every region of the cloud's list is accepted; the Southeast Asia regions our users pick among them
    for region in ("ap-southeast-1", "ap-southeast-3", "eu-west-1", "us-gov-west-1"):
        assert settings(region=region).region == region
    for region in ("asia-southeast1", "asia-southeast2", "europe-west4"):
        assert gcp_settings(region=region).region == region


def test_every_profile_key_exists_in_its_clouds_model():
    from stacks.settings import profile

    for cloud in ("aws", "gcp"):
        for env in ("dev", "staging", "prod"):
            base = {"environment": env, "region": "us-east-1" if cloud == "aws" else "us-central1"}
            if cloud == "gcp":
                base.update(cloud="gcp", gcpProject="acme-dev")
            from_values(base)  # the profile alone validates (no unknown key, no key that does not apply)
            assert profile(cloud, env)


def test_gcp_regions_are_sorted_regions_not_zones():
    from stacks.settings import GCP_REGIONS

    assert len(set(GCP_REGIONS)) == len(GCP_REGIONS)
    assert all(r[-1].isdigit() and not r.endswith(("-a", "-b", "-c")) for r in GCP_REGIONS)


@pytest.mark.parametrize("namespace", ["backend-hostin", "backend-hostings", "backnd-hosting", "Backend-hosting"])
def test_a_near_miss_of_the_namespace_is_refused(tmp_path, namespace):
    from stacks.settings import from_stack_file

    f = tmp_path / "Pulumi.dev.yaml"
    f.write_text(
        f"config:\n  backend-hosting:environment: dev\n  backend-hosting:region: us-east-1\n"
        f"  {namespace}:service:\n    cpu: 512\n"
    )
    with pytest.raises(SettingsError) as info:
        from_stack_file(f)
    assert f"namespace '{namespace}' is not 'backend-hosting'" in str(info.value)


def test_other_namespaces_are_left_alone(tmp_path):
    from stacks.settings import from_stack_file

    f = tmp_path / "Pulumi.dev.yaml"
    f.write_text(
        "config:\n  backend-hosting:environment: dev\n  backend-hosting:region: us-east-1\n"
        "  aws:region: us-east-1\n  pulumi:template: x\n  my-app:service: y\n"
    )
    assert from_stack_file(f).region == "us-east-1"


def test_the_old_single_service_section_is_refused_with_how_to_migrate(tmp_path):
    from stacks.settings import from_stack_file

    with pytest.raises(SettingsError) as info:
        settings(service={"cpu": 512})
    assert "backend-hosting:service was replaced by services" in str(info.value)
    assert "services.api with kind: web" in str(info.value) and "\n" not in str(info.value)
    f = tmp_path / "Pulumi.dev.yaml"
    f.write_text(
        "config:\n  backend-hosting:environment: dev\n  backend-hosting:region: us-east-1\n"
        "  backend-hosting:service:\n    image: x\n"
    )
    with pytest.raises(SettingsError, match="service was replaced by services"):
        from_stack_file(f)
