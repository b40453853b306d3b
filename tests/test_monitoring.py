"""Monitoring: encrypted topics and their policies, subscriptions, each alarm's metric, dashboard, budget."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pytest
from helpers import children_after_outputs, doc_example, documents_every_argument

from components.aws.kms import EncryptionKey, EncryptionKeyArgs
from components.aws.monitoring import (
    AlarmThresholds,
    CacheWatch,
    DatabaseWatch,
    JobWatch,
    LoadBalancerWatch,
    Monitoring,
    MonitoringArgs,
    ServerlessCacheWatch,
    ServiceWatch,
    WebServiceWatch,
    WorkerWatch,
)
from review.engine import run_callable

DOC = Path(__file__).resolve().parent.parent / "docs" / "components" / "monitoring.md"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUB = "aws:sns/topicSubscription:TopicSubscription"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
BUDGET = "aws:budgets/budget:Budget"
KEY = "aws:kms/key:Key"
LB, TG1, TG2 = "app/web/0123456789abcdef", "targetgroup/v1/0123456789abcdef", "targetgroup/v2/fedcba9876543210"


WATCH = [LoadBalancerWatch(LB, {"v1": TG1, "v2": TG2}), ServiceWatch("app-cluster", "app-api"),
         DatabaseWatch("app-db"), CacheWatch("app-cache", node_count=3)]


def watched(**kw):
    def prog():
        mon = Monitoring("mon", MonitoringArgs(**{"watch": WATCH, "dashboard": True, **kw}))
        pulumi.export("dashboard_url", mon.dashboard_url)
    return prog


@pytest.fixture(scope="module")
def prod():
    return run_callable(watched(alert_emails=["ops@example.com"], pager_emails=["pager@example.com"],
                                alarms_to_pager=True, budget_monthly_usd=4000, protect=True))


@pytest.fixture(scope="module")
def dev():
    return run_callable(watched(alert_emails=["dev@example.com"], budget_monthly_usd=100))


def alarm(g, key):
    return g.by_name(f"mon-{key}", ALARM).inputs


def test_defaults_one_encrypted_topic_nothing_else(run_program):
    g = run_program(lambda: Monitoring("mon", MonitoringArgs(dashboard=True)))
    [topic] = g.by_type(TOPIC)
    key = g.by_name("mon-key", KEY)
    assert topic.inputs["name"] == "mon-alerts" and topic.inputs["kmsMasterKeyId"] == key.outputs["arn"]
    sids = {s["Sid"] for s in json.loads(key.inputs["policy"])["Statement"]}
    assert {"CloudWatchAlarmsPublishToEncryptedTopics", "BudgetsPublishToEncryptedTopics"} <= sids
    assert g.by_type(SUB) == [] and g.by_type(ALARM) == [] and g.by_type(BUDGET) == []
    assert g.by_type(DASHBOARD) == []  # nothing watched, no empty dashboard
    assert all(not r.options["protect"] for r in g.resources)


def test_topic_policy_lets_only_this_accounts_alarms_and_budgets_publish(dev):
    topic_arn = dev.by_name("mon-alerts", TOPIC).outputs["arn"]
    pol = dev.by_name("mon-alerts", TOPIC_POLICY).inputs
    assert pol["arn"] == topic_arn
    st = {s["Sid"]: s for s in json.loads(pol["policy"])["Statement"]}
    assert st["AccountManagesTopic"]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert st["CloudWatchAlarmsPublish"] == {
        "Sid": "CloudWatchAlarmsPublish", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish", "Resource": topic_arn,
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"},
                      "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:*"}}}
    assert st["BudgetsPublish"]["Condition"]["ArnLike"] == {"aws:SourceArn": "arn:aws:budgets::123456789012:*"}
    for s in st.values():
        assert s["Principal"] != "*" and s["Resource"] == topic_arn


def test_email_subscriptions(prod, dev):
    subs = {(s.inputs["endpoint"], s.inputs["topic"]) for s in prod.by_type(SUB)}
    assert subs == {("ops@example.com", prod.by_name("mon-alerts", TOPIC).outputs["arn"]),
                    ("pager@example.com", prod.by_name("mon-pager", TOPIC).outputs["arn"])}
    assert all(s.inputs["protocol"] == "email" for s in prod.by_type(SUB))
    assert [s.inputs["endpoint"] for s in dev.by_type(SUB)] == ["dev@example.com"]


def test_alarms_go_to_pager_in_prod_and_to_email_otherwise(prod, dev):
    pager = prod.by_name("mon-pager", TOPIC).outputs["arn"]
    alerts = dev.by_name("mon-alerts", TOPIC).outputs["arn"]
    assert len(prod.by_type(ALARM)) == len(dev.by_type(ALARM)) == 12
    assert all(a.inputs["alarmActions"] == a.inputs["okActions"] == [pager] for a in prod.by_type(ALARM))
    assert all(a.inputs["alarmActions"] == [alerts] for a in dev.by_type(ALARM))
    assert dev.find("mon-pager", TOPIC) is None
    assert prod.by_name("mon-key", KEY).options["protect"] is True


def test_pager_emails_without_pager_routing_are_ignored(run_program):
    g = run_program(lambda: Monitoring("mon", MonitoringArgs(pager_emails=["p@example.com"])))
    assert g.by_type(SUB) == [] and len(g.by_type(TOPIC)) == 1
    assert any("pager_emails are ignored" in m for m in g.logs)


def test_load_balancer_alarms(dev):
    rate = alarm(dev, "alb-5xx-rate")
    assert rate["threshold"] == 5 and rate["comparisonOperator"] == "GreaterThanThreshold"
    q = {m["id"]: m for m in rate["metricQueries"]}
    assert q["e1"]["expression"] == "IF(m2 >= 20, 100 * FILL(m1, 0) / m2, 0)" and q["e1"]["returnData"] is True
    assert q["m1"]["metric"] == {"namespace": "AWS/ApplicationELB", "metricName": "HTTPCode_Target_5XX_Count",
                                 "dimensions": {"LoadBalancer": LB}, "period": 60, "stat": "Sum"}
    assert q["m2"]["metric"]["metricName"] == "RequestCount" and q["m2"]["returnData"] is False
    p95 = alarm(dev, "alb-p95-latency")
    assert p95["extendedStatistic"] == "p95" and p95["metricName"] == "TargetResponseTime"
    assert p95["dimensions"] == {"LoadBalancer": LB} and p95["threshold"] == 1.0 and "statistic" not in p95
    for key, tg in (("v1", TG1), ("v2", TG2)):
        a = alarm(dev, f"alb-{key}-unhealthy")
        assert a["metricName"] == "UnHealthyHostCount" and a["statistic"] == "Maximum"
        assert a["dimensions"] == {"TargetGroup": tg, "LoadBalancer": LB}
        assert a["comparisonOperator"] == "GreaterThanOrEqualToThreshold" and a["threshold"] == 1
    assert rate["evaluationPeriods"] == 5 and rate["datapointsToAlarm"] == 3
    assert rate["treatMissingData"] == "notBreaching" and rate["name"] == "mon-alb-5xx-rate"


def test_service_database_and_cache_alarms(dev):
    for m, metric in (("cpu", "CPUUtilization"), ("memory", "MemoryUtilization")):
        a = alarm(dev, f"service-{m}")
        assert a["namespace"] == "AWS/ECS" and a["metricName"] == metric
        assert a["dimensions"] == {"ClusterName": "app-cluster", "ServiceName": "app-api"}
        assert a["statistic"] == "Average" and a["threshold"] == 85
    db = {k: alarm(dev, f"db-{k}") for k in ("cpu", "connections", "free-storage")}
    assert all(a["namespace"] == "AWS/RDS" and a["dimensions"] == {"DBInstanceIdentifier": "app-db"}
               and a["period"] == 300 for a in db.values())
    assert db["cpu"]["metricName"] == "CPUUtilization" and db["cpu"]["threshold"] == 80
    assert db["connections"]["metricName"] == "DatabaseConnections" and db["connections"]["threshold"] == 100
    free = db["free-storage"]
    assert free["metricName"] == "FreeStorageSpace" and free["comparisonOperator"] == "LessThanThreshold"
    assert free["threshold"] == 5 * 1024**3 and free["statistic"] == "Minimum"
    nodes = ["app-cache-001", "app-cache-002", "app-cache-003"]
    for key, metric, combine in (("cpu", "EngineCPUUtilization", "MAX"),
                                 ("memory", "DatabaseMemoryUsagePercentage", "MAX"), ("evictions", "Evictions", "SUM")):
        q = alarm(dev, f"cache-{key}")["metricQueries"]
        assert [m["metric"]["dimensions"] for m in q[:3]] == [{"CacheClusterId": n} for n in nodes]
        assert {m["metric"]["metricName"] for m in q[:3]} == {metric}
        assert q[3]["expression"] == f"{combine}([m1, m2, m3])"


def test_aurora_database_has_no_free_storage_alarm(run_program):
    g = run_program(lambda: Monitoring("mon", MonitoringArgs(
        thresholds=AlarmThresholds(rds_cpu_percent=70), watch=[DatabaseWatch("app-aurora", aurora=True)])))
    assert sorted(a.name for a in g.by_type(ALARM)) == ["mon-db-connections", "mon-db-cpu"]
    cpu = g.by_name("mon-db-cpu", ALARM).inputs
    assert cpu["dimensions"] == {"DBClusterIdentifier": "app-aurora"} and cpu["threshold"] == 70


def test_dashboard_shows_the_same_metrics(dev):
    dash = dev.by_name("mon-dashboard", DASHBOARD).inputs
    assert dash["dashboardName"] == "mon"
    widgets = json.loads(dash["dashboardBody"])["widgets"]
    assert len(widgets) == 10
    assert all(w["type"] == "metric" and w["properties"]["region"] == "us-east-1" for w in widgets)
    names = {m[1] for w in widgets for m in w["properties"]["metrics"] if isinstance(m[0], str)}
    alarmed = set()
    for a in dev.by_type(ALARM):
        if "metricName" in a.inputs:
            alarmed.add(a.inputs["metricName"])
        for q in a.inputs.get("metricQueries", []):
            if "metric" in q:
                alarmed.add(q["metric"]["metricName"])
    assert names == alarmed
    assert dev.outputs["dashboard_url"] == (
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/mon")


def test_budget_actual_and_forecast_to_the_alert_topic(prod):
    budget = prod.by_name("mon-budget", BUDGET)
    b = budget.inputs
    alerts = prod.by_name("mon-alerts", TOPIC).outputs["arn"]
    assert {k: b[k] for k in ("name", "budgetType", "timeUnit", "limitAmount", "limitUnit")} == {
        "name": "mon-monthly", "budgetType": "COST", "timeUnit": "MONTHLY", "limitAmount": "4000.00",
        "limitUnit": "USD"}
    notes = sorted((n["notificationType"], n["threshold"]) for n in b["notifications"])
    assert notes == [("ACTUAL", 80), ("ACTUAL", 100), ("FORECASTED", 100)]
    assert all(n["comparisonOperator"] == "GREATER_THAN" and n["thresholdType"] == "PERCENTAGE"
               and n["subscriberSnsTopicArns"] == [alerts] for n in b["notifications"])
    assert prod.by_name("mon-alerts", TOPIC_POLICY).urn in budget.options["dependsOn"]


def test_duplicate_labels_and_unknown_watches_are_refused(run_program):
    with pytest.raises(Exception, match="alarm 'service-cpu' already exists"):
        run_program(lambda: Monitoring("mon", MonitoringArgs(
            watch=[ServiceWatch("c", "s"), ServiceWatch("c", "s2")])))
    with pytest.raises(Exception, match="watch takes"):
        run_program(lambda: Monitoring("mon", MonitoringArgs(watch=[("c", "s")])))  # type: ignore[list-item]
    with pytest.raises(Exception, match="node_count must be 1-6"):
        run_program(lambda: Monitoring("mon", MonitoringArgs(watch=[CacheWatch("c", node_count=7)])))


def test_dashboard_is_an_argument_and_nothing_is_created_after_the_outputs(run_program):
    assert children_after_outputs(run_program, watched()) == []
    off = run_program(watched(dashboard=False))
    assert not off.by_type(DASHBOARD) and off.outputs.get("dashboard_url") is None
    assert len(off.by_type(ALARM)) == 4 + 2 + 3 + 3, "the alarms do not depend on the dashboard"
    assert not run_program(lambda: Monitoring("mon")).by_type(DASHBOARD), "no dashboard by default (it costs)"


def test_shared_key_must_allow_alarms_and_budgets(run_program):
    def prog():
        Monitoring("mon", MonitoringArgs(kms_key=EncryptionKey("k", EncryptionKeyArgs(service_principals=["logs"]))))
    with pytest.raises(Exception, match="must allow cloudwatch, budgets"):
        run_program(prog)


@pytest.mark.parametrize("kw", [
    {"alert_emails": ["not-an-email"]}, {"budget_monthly_usd": -1}, {"budget_warn_fraction": 1.5},
    {"period_seconds": 90}, {"datapoints_to_alarm": 6},
])
def test_invalid_arguments(run_program, kw):
    with pytest.raises(Exception, match="mon:"):
        run_program(lambda: Monitoring("mon", MonitoringArgs(**kw)))


def test_doc_example_runs_and_documents_every_argument(run_program):
    g = run_program(doc_example(DOC))
    assert g.by_type(DASHBOARD) and g.by_type(BUDGET) and g.outputs["dashboard_url"]
    assert not documents_every_argument(DOC, MonitoringArgs, AlarmThresholds, LoadBalancerWatch, ServiceWatch,
                                        DatabaseWatch, CacheWatch, ServerlessCacheWatch, WebServiceWatch,
                                        WorkerWatch, JobWatch)


def test_serverless_cache_alarms_watch_its_caps(run_program):
    g = run_program(lambda: Monitoring("mon", MonitoringArgs(
        alert_emails=["dev@example.com"], dashboard=True, watch=[ServerlessCacheWatch("app-dev", 1)])))
    stored, throttled, evictions = (g.by_name(f"mon-cache-{k}", ALARM).inputs
                                    for k in ("data-stored", "throttled", "evictions"))
    for a in (stored, throttled, evictions):
        assert a["namespace"] == "AWS/ElastiCache" and a["dimensions"] == {"clusterId": "app-dev"}
    assert (stored["metricName"], stored["statistic"], stored["threshold"]) == ("BytesUsedForCache", "Maximum", 8e8)
    assert (throttled["metricName"], throttled["threshold"]) == ("ThrottledCmds", 0)
    assert (evictions["metricName"], evictions["threshold"]) == ("Evictions", 100)
    body = json.loads(g.by_type("aws:cloudwatch/dashboard:Dashboard")[0].inputs["dashboardBody"])
    assert [w["properties"]["metrics"][0][1] for w in body["widgets"]] == [
        "BytesUsedForCache", "ElastiCacheProcessingUnits", "ThrottledCmds"]


def test_per_service_watches_alarm_on_their_own_target_group_queues_and_failed_runs(run_program):
    g = run_program(lambda: Monitoring("mon", MonitoringArgs(kms_key="arn:aws:kms:us-east-1:123456789012:key/k", watch=[
        WebServiceWatch("api", "cluster", "app-api", "app/alb/1", "targetgroup/api/2"),
        WebServiceWatch("admin", "cluster", "app-admin"),
        WorkerWatch("worker", "cluster", "app-worker", {"jobs": ("app-jobs", "app-jobs-dlq")}),
        WorkerWatch("idle", "cluster", "app-idle", {"mail": ("app-mail", "app-mail-dlq")}, utilization=False),
        JobWatch("nightly", "app-nightly-failed", "app-nightly-schedule-dlq"),
        JobWatch("migrate", "app-migrate-failed", alarm=False),
    ], dashboard=True)))
    alarms = {r.name.removeprefix("mon-"): r.inputs for r in g.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert set(alarms) == {
        "api-5xx-rate", "api-p95-latency", "api-unhealthy", "api-cpu", "api-memory", "admin-cpu", "admin-memory",
        "worker-jobs-oldest-message", "worker-jobs-dead-letters", "worker-cpu", "worker-memory",
        "idle-mail-oldest-message", "idle-mail-dead-letters", "nightly-failed-runs"}
    assert alarms["api-p95-latency"]["dimensions"] == {"LoadBalancer": "app/alb/1", "TargetGroup": "targetgroup/api/2"}
    assert alarms["worker-jobs-dead-letters"]["dimensions"] == {"QueueName": "app-jobs-dlq"}
    assert alarms["worker-jobs-dead-letters"]["threshold"] == 1
    assert alarms["worker-jobs-oldest-message"]["metricName"] == "ApproximateAgeOfOldestMessage"
    assert (alarms["nightly-failed-runs"]["namespace"], alarms["nightly-failed-runs"]["dimensions"]) == (
        "AWS/Events", {"RuleName": "app-nightly-failed"})
    body = json.loads(g.by_type("aws:cloudwatch/dashboard:Dashboard")[0].inputs["dashboardBody"])
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert {"api: requests, 5xx and p95 latency", "worker: jobs backlog and dead letters",
            "nightly: failed runs", "migrate: failed runs"} <= set(titles)
