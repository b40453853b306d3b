"""GCP Monitoring: channels, alert policies (filters, thresholds, routing), dashboard, log retention, budget."""

from __future__ import annotations

import json

import pulumi
import pulumi_gcp as gcp
import pytest
from helpers import DOCS, children_after_outputs, doc_example, documents_every_argument

from components.gcp.monitoring import (
    CacheWatch,
    DatabaseWatch,
    JobWatch,
    LoadBalancerWatch,
    Monitoring,
    MonitoringArgs,
    QueueWatch,
    ServiceWatch,
)
from review.engine import run_callable

POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"


WATCH = [LoadBalancerWatch("app-lb-https"), ServiceWatch("app-svc-run"), DatabaseWatch("demo-project:app-db"),
         CacheWatch("projects/demo-project/locations/us-central1/instances/app-cache")]


def program(**kw):
    return lambda: Monitoring("mon", MonitoringArgs(watch=WATCH, **kw))


def monitoring(**kw):
    return run_callable(program(**kw))


@pytest.fixture(scope="module")
def dev():
    return monitoring(alert_emails=["dev@example.com"], budget_monthly_usd=100, labels={"environment": "dev"})


@pytest.fixture(scope="module")
def prod():
    return monitoring(alert_emails=["ops@example.com"], pager_emails=["pager@example.pagerduty.com"],
                      alarms_to_pager=True, log_retention_days=365, budget_monthly_usd=4000.5,
                      billing_account="012345-6789AB-CDEF01")


def test_channels_and_routing(dev, prod):
    [email] = dev.by_type(CHANNEL)
    assert email.inputs["type"] == "email" and email.inputs["labels"] == {"email_address": "dev@example.com"}
    assert email.inputs["userLabels"] == {"environment": "dev", "channel": "email"}
    assert all(p.inputs["notificationChannels"] == [email.id] for p in dev.by_type(POLICY))
    pager = [c.id for c in prod.by_type(CHANNEL) if c.inputs["userLabels"]["channel"] == "pager"]
    assert len(prod.by_type(CHANNEL)) == 2 and len(pager) == 1
    assert all(p.inputs["notificationChannels"] == pager for p in prod.by_type(POLICY))


def test_alert_policies_cover_every_tier(dev):
    policies = {p.name.removeprefix("mon-"): p.inputs for p in dev.by_type(POLICY)}
    assert set(policies) == {"lb-5xx", "lb-p95", "run-cpu", "run-memory", "sql-cpu", "sql-disk", "sql-connections",
                             "redis-memory", "redis-evictions"}
    ratio = policies["lb-5xx"]["conditions"][0]["conditionThreshold"]
    assert 'metric.label.response_code_class="500"' in ratio["filter"]
    assert ratio["denominatorFilter"].endswith('resource.label.url_map_name="app-lb-https"')
    assert ratio["thresholdValue"] == 0.05 and ratio["comparison"] == "COMPARISON_GT" and ratio["duration"] == "300s"
    p95 = policies["lb-p95"]["conditions"][0]["conditionThreshold"]
    assert p95["aggregations"][0]["crossSeriesReducer"] == "REDUCE_PERCENTILE_95" and p95["thresholdValue"] == 1000
    expected = {
        "run-cpu": ("run.googleapis.com/container/cpu/utilizations", 'service_name="app-svc-run"', 0.85),
        "sql-disk": ("cloudsql.googleapis.com/database/disk/utilization", 'database_id="demo-project:app-db"', 0.85),
        "sql-connections": ("cloudsql.googleapis.com/database/postgresql/num_backends", "database_id", 80),
        "redis-memory": ("redis.googleapis.com/stats/memory/usage_ratio", "instances/app-cache", 0.8),
        "redis-evictions": ("redis.googleapis.com/stats/evicted_keys", "instance_id", 100),
    }
    for key, (metric, label, threshold) in expected.items():
        cond = policies[key]["conditions"][0]["conditionThreshold"]
        assert f'metric.type="{metric}"' in cond["filter"] and label in cond["filter"], key
        assert cond["thresholdValue"] == threshold, key
    assert policies["sql-disk"]["severity"] == "CRITICAL" and policies["lb-5xx"]["severity"] == "CRITICAL"


def test_dashboard_log_retention_and_budget(dev, prod):
    body = json.loads(dev.inputs("mon-dashboard")["dashboardJson"])
    assert len(body["mosaicLayout"]["tiles"]) == 9 and body["labels"] == {"environment": "dev"}
    assert dev.inputs("mon-default-logs") == {"project": "demo-project", "location": "global",
                                              "bucketId": "_Default", "retentionDays": 7,
                                              "description": "Default log bucket: 7 days"}
    assert not dev.by_type("gcp:billing/budget:Budget"), "no billing account: no budget"
    assert prod.inputs("mon-default-logs")["retentionDays"] == 365
    budget = prod.inputs("mon-budget")
    assert budget["amount"] == {"specifiedAmount": {"currencyCode": "USD", "units": "4000", "nanos": 500000000}}
    assert budget["budgetFilter"]["projects"] == ["projects/123456789012"]
    assert budget["thresholdRules"] == [{"thresholdPercent": 0.8, "spendBasis": "CURRENT_SPEND"},
                                        {"thresholdPercent": 1, "spendBasis": "CURRENT_SPEND"},
                                        {"thresholdPercent": 1, "spendBasis": "FORECASTED_SPEND"}]
    email = [c.id for c in prod.by_type(CHANNEL) if c.inputs["userLabels"]["channel"] == "email"]
    assert budget["allUpdatesRule"]["monitoringNotificationChannels"] == email


def test_misuse_is_refused():
    with pytest.raises(ValueError, match="not an email"):
        Monitoring._validate("m", MonitoringArgs(alert_emails=["nope"]))

    with pytest.raises(Exception, match="alert 'run-cpu' already exists"):
        run_callable(lambda: Monitoring("m", MonitoringArgs(watch=[ServiceWatch("s"), ServiceWatch("t")])))
    with pytest.raises(Exception, match="watch takes"):
        run_callable(lambda: Monitoring("m", MonitoringArgs(watch=["app-svc-run"])))  # type: ignore[list-item]


def test_dashboard_is_an_argument_and_nothing_is_created_after_the_outputs(run_program):
    assert children_after_outputs(run_program, program(dashboard=True)) == []
    g = run_program(program(dashboard=False))
    assert not g.by_type("gcp:monitoring/dashboard:Dashboard")
    assert len(g.by_type(POLICY)) == 9, "the alert policies do not depend on the dashboard"
    assert not run_program(lambda: Monitoring("m")).by_type("gcp:monitoring/dashboard:Dashboard"), \
        "nothing watched: no dashboard"


def test_the_outputs_check_catches_a_late_child(run_program):
    """The check above can fail: a child created after register_outputs is named."""
    def late():
        mon = Monitoring("m")
        gcp.monitoring.Dashboard("late", dashboard_json="{}", opts=pulumi.ResourceOptions(parent=mon))
    assert children_after_outputs(run_program, late) == ["m -> late"]


def test_docs_example_runs_and_documents_every_argument():
    g = run_callable(doc_example(DOCS / "gcp-monitoring.md"))
    assert g.by_type(POLICY) and g.by_type("gcp:monitoring/dashboard:Dashboard")
    assert not documents_every_argument(DOCS / "gcp-monitoring.md", MonitoringArgs, *(type(w) for w in WATCH),
                                        QueueWatch, JobWatch)


def test_services_queues_and_jobs_each_get_their_own_alerts():
    g = run_callable(lambda: Monitoring("mon", MonitoringArgs(watch=[
        ServiceWatch("api-run", label="run-api", requests=True), ServiceWatch("worker-run", label="run-worker"),
        QueueWatch("app-jobs", label="queue-jobs"), JobWatch("nightly-job", label="job-nightly")])))
    policies = {p.name.removeprefix("mon-"): p.inputs for p in g.by_type(POLICY)}
    assert set(policies) == {"run-api-cpu", "run-api-memory", "run-api-5xx", "run-api-p95", "run-worker-cpu",
                             "run-worker-memory", "queue-jobs-age", "queue-jobs-dead-letters", "job-nightly-failed"}

    def cond(key):
        return policies[key]["conditions"][0]["conditionThreshold"]

    assert cond("run-api-5xx")["filter"].endswith('resource.label.service_name="api-run" AND '
                                                  'metric.label.response_code_class="5xx"')
    assert cond("run-api-5xx")["denominatorFilter"] == ('metric.type="run.googleapis.com/request_count" AND '
                                                       'resource.type="cloud_run_revision" AND '
                                                       'resource.label.service_name="api-run"')
    assert cond("run-api-5xx")["thresholdValue"] == 0.05 and cond("run-api-p95")["thresholdValue"] == 1000
    assert cond("queue-jobs-age")["filter"] == (
        'metric.type="pubsub.googleapis.com/subscription/oldest_unacked_message_age" AND '
        'resource.type="pubsub_subscription" AND resource.label.subscription_id="app-jobs"')
    assert cond("queue-jobs-age")["thresholdValue"] == 900
    # any dead letter or failed run alerts at once (duration 0), as an error
    for key, metric in (("queue-jobs-dead-letters", "pubsub.googleapis.com/subscription/dead_letter_message_count"),
                        ("job-nightly-failed", "run.googleapis.com/job/completed_execution_count")):
        assert cond(key)["thresholdValue"] == 0 and cond(key)["duration"] == "0s", key
        assert f'metric.type="{metric}"' in cond(key)["filter"] and policies[key]["severity"] == "ERROR"
    assert cond("job-nightly-failed")["filter"].endswith(
        'resource.label.job_name="nightly-job" AND metric.label.result="failed"')
    tiles = json.loads(g.by_type("gcp:monitoring/dashboard:Dashboard")[0].inputs["dashboardJson"])
    titles = [t["widget"]["title"] for t in tiles["mosaicLayout"]["tiles"]]
    assert "run-api: 5xx per second" in titles and "queue-jobs: oldest unacked message age (s)" in titles
