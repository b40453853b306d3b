"""Services and queues in settings (issue 9): any number of web services, workers and jobs, each wired only to
what it ``uses``; every bad setting is one line naming the key."""

from __future__ import annotations

import pytest

from stacks.settings import Schedule, SettingsError, from_values

AWS = {"environment": "dev", "region": "us-east-1"}
GCP = {"environment": "dev", "region": "us-central1", "cloud": "gcp", "gcpProject": "acme-dev"}
EXAMPLE = {
    "services": {
        "api": {"kind": "web", "routes": [{"path": "/v1"}, {"path": "/v2"}],
                "uses": ["database", "cache", "buckets.assets:read-write", "queues.jobs:send"]},
        "worker": {"kind": "worker", "uses": ["queues.jobs:consume", "database"]},
        "nightly": {"kind": "job", "command": ["python", "-m", "app.nightly"],
                    "schedule": {"expression": "0 3 * * *", "timezone": "Europe/Berlin"}, "uses": ["database"]},
        "migrate": {"kind": "job", "command": ["python", "-m", "app.migrate"], "uses": ["database"]},
    },
    "queues": {"jobs": {"maxReceives": 5}},
}


def aws(**over):
    return from_values({**AWS, **EXAMPLE, **over})


def gcp(**over):
    return from_values({**GCP, **EXAMPLE, "cache": {"enabled": True}, **over})  # gcp-dev has no cache by default


def test_the_example_validates_on_both_clouds_with_kind_sizes_from_the_profile():
    for s in (aws(), gcp()):
        assert set(s.services) == {"api", "worker", "nightly", "migrate"}
        assert s.services["worker"].scaling.min == 0, "dev workers scale to zero"
        assert s.services["api"].used("queues") == {"jobs": "send"}
        assert s.services["worker"].used("queues") == {"jobs": "consume"}
        assert s.services["migrate"].schedule is None
    assert (aws().services["api"].cpu, gcp().services["api"].cpu) == (256, 1024)
    prod = from_values({**AWS, **EXAMPLE, "environment": "prod"})
    assert (prod.services["api"].scaling.min, prod.services["api"].scaling.max) == (3, 20)
    over = aws(services={**EXAMPLE["services"], "api": {**EXAMPLE["services"]["api"], "cpu": 512, "memory": 1024}})
    assert (over.services["api"].cpu, over.services["api"].memory) == (512, 1024)


def test_twenty_services_validate():
    services = {f"svc-{i}": {"kind": "web", "routes": [{"path": f"/s{i}"}]} for i in range(17)}
    services.update({"w": {"kind": "worker", "uses": ["queues.jobs:consume"]},
                     "j1": {"kind": "job", "schedule": {"expression": "rate(1 day)"}}, "j2": {"kind": "job"}})
    s = from_values({**AWS, "services": services, "queues": {"jobs": {}}})
    assert len(s.services) == 20


def svc(**fields):
    return {"services": {**EXAMPLE["services"], **fields}}


@pytest.mark.parametrize(("over", "message"), [
    (svc(api={"kind": "web", "routes": [{"path": "/v1"}], "uses": ["queues.nope:send"]}),
     "services.api.uses: queues.nope:send names no queue of queues (jobs)"),
    (svc(api={"kind": "web", "routes": [{"path": "/v1"}], "uses": ["buckets.logs:read"]}),
     "services.api.uses: buckets.logs:read names no bucket of storage.buckets (assets)"),
    (svc(api={"kind": "web", "routes": [{"path": "/v1"}], "uses": ["buckets.assets"]}),
     "'buckets.assets' is not database, cache, buckets.NAME:read|read-write"),
    (svc(worker={"kind": "worker", "uses": ["database"]}),
     "services.worker is invalid: a worker needs a queue to consume"),
    (svc(api={"kind": "web"}), "services.api is invalid: a public web service needs routes"),
    (svc(api={"kind": "web", "internal": True, "routes": [{"path": "/x"}]}), "an internal web service has no routes"),
    (svc(admin={"kind": "web", "routes": [{"path": "/v1"}]}),
     "services.admin.routes: /v1 on host * is already routed to services.api"),
    (svc(nightly={"kind": "job", "schedule": {"expression": "0 25 * * *"}}),
     "services.nightly.schedule.expression = \"0 25 * * *\" is invalid: not a five-field cron expression"),
    (svc(nightly={"kind": "job", "schedule": {"expression": "0 3 1 * MON"}}),
     "set day-of-month or day-of-week, not both"),
    (svc(nightly={"kind": "job", "schedule": {"expression": "rate(0 minutes)"}}), "a rate is rate(N minutes"),
    (svc(nightly={"kind": "job", "schedule": {"expression": "0 3 * * *", "timezone": "Mars/Olympus"}}),
     "not an IANA time zone"),
    (svc(nightly={"kind": "job", "routes": [{"path": "/n"}]}),
     "services.nightly.routes does not apply: kind is job"),
    (svc(nightly={"kind": "job", "scaling": {"max": 3}}), "services.nightly.scaling does not apply: a job runs once"),
    (svc(api={"kind": "web", "routes": [{"path": "/v1"}], "schedule": {"expression": "0 3 * * *"}}),
     "services.api.schedule does not apply: kind is web"),
    (svc(worker={"kind": "worker", "uses": ["queues.jobs:consume"], "scaling": {"cpuTarget": 50}}),
     "services.worker.scaling.cpuTarget does not apply: a worker scales on its backlog"),
    (svc(api={"kind": "web", "routes": [{"path": "/v1"}], "uses": ["queues.jobs:consume"]}),
     "only a worker consumes a queue"),
    (svc(other={"kind": "worker", "uses": ["queues.jobs:consume"]}),
     "queues.jobs is already consumed by services.worker"),
    (svc(api={"kind": "web", "routes": [{"path": "/v1"}], "uses": ["services.worker"]}),
     "services.api.uses: services.worker is not an internal web service"),
    (svc(api={"kind": "web", "routes": [{"path": "/v1"}], "uses": ["database", "database"]}),
     "database is listed twice"),
    (svc(Api={"kind": "web", "routes": [{"path": "/v9"}]}), "services.Api"),
    (svc(api={"kind": "cron"}), "services.api.kind = \"cron\" is invalid"),
    (svc(api={"kind": "web", "routes": [{"path": "/v1"}], "environment": {"API_TOKEN": "x"}}),
     "API_TOKEN looks like a secret"),
    ({"queues": {"jobs": {}, "orphans": {}}}, "queues.orphans has no consumer"),
    ({"queues": {"jobs": {"visibilityTimeoutSeconds": 50000}}}, "SQS visibility timeout is 0 to 43200 seconds"),
    ({"database": {"enabled": False}}, "services.api.uses: database but database.enabled is false"),
])
def test_bad_service_settings_are_one_line(over, message):
    with pytest.raises(SettingsError) as info:
        aws(**over)
    assert "\n" not in str(info.value)
    assert message in str(info.value)


@pytest.mark.parametrize(("over", "message"), [
    (svc(api={"kind": "web", "routes": [{"path": "/v1"}], "architecture": "arm64"}),
     "services.api.architecture does not apply to cloud gcp"),
    (svc(api={"kind": "web", "routes": [{"path": "/v1"}], "desiredCount": 2}),
     "services.api.desiredCount does not apply to cloud gcp"),
    (svc(nightly={"kind": "job", "schedule": {"expression": "rate(7 minutes)"}}),
     "rate(7 minutes) has no exact unix-cron equivalent"),
    ({"queues": {"jobs": {"visibilityTimeoutSeconds": 5}}}, "the Pub/Sub ack deadline is 10 to 600 seconds"),
    ({"queues": {"jobs": {"retentionDays": 10}}}, "a Pub/Sub subscription keeps messages at most 7 days"),
    ({"queues": {"jobs": {"maxReceives": 3}}}, "Pub/Sub dead lettering takes 5 to 100 delivery attempts"),
])
def test_bad_gcp_service_settings_are_one_line(over, message):
    with pytest.raises(SettingsError) as info:
        gcp(**over)
    assert message in str(info.value)


@pytest.mark.parametrize(("expression", "aws_form", "gcp_form"), [
    ("0 3 * * *", "cron(0 3 * * ? *)", "0 3 * * *"),
    ("*/15 * * * *", "cron(0/15 * * * ? *)", "*/15 * * * *"),
    ("30 6 * * 1-5", "cron(30 6 ? * 2-6 *)", "30 6 * * 1-5"),
    ("0 0 1 * *", "cron(0 0 1 * ? *)", "0 0 1 * *"),
    ("0 9 * * MON", "cron(0 9 ? * MON *)", "0 9 * * MON"),
    ("0 9 * * 0", "cron(0 9 ? * 1 *)", "0 9 * * 0"),
    ("rate(5 minutes)", "rate(5 minutes)", "*/5 * * * *"),
    ("rate(6 hours)", "rate(6 hours)", "0 */6 * * *"),
    ("rate(1 day)", "rate(1 day)", "0 0 * * *"),
])
def test_schedules_translate_to_each_schedulers_form(expression, aws_form, gcp_form):
    s = Schedule(expression=expression)
    assert (s.aws_expression(), s.gcp_expression()) == (aws_form, gcp_form)
