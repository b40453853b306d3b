"""GCP pricing of the workload types against hand-computed figures: Pub/Sub throughput, Cloud Scheduler jobs and
Cloud Run jobs (runs from the usage file, from the schedule that triggers the job, or the on-demand default).

Prices used (rows of pricing/catalog/gcp-*.csv): Pub/Sub 40 USD per TiB (first 10 GiB per billing account not
subtracted), Cloud Scheduler 0.10 per job-month (3 free per billing account not subtracted), Cloud Run jobs
0.000018 per vCPU-second and 0.000002 per GiB-second (Tier 1).
"""

from __future__ import annotations

from pricing import CostReport, CostResource, estimate
from pricing.usage import parse_usage

CONFIG = {"gcp:region": "us-central1", "gcp:project": "p"}
JOB = "gcp:cloudrunv2/job:Job"
SCHED = "gcp:cloudscheduler/job:Job"


def _res(type_: str, name: str, inputs: dict | None = None, **kwargs) -> CostResource:
    return CostResource(urn=f"urn:pulumi:s::p::{type_}::{name}", type=type_, name=name, inputs=inputs or {}, **kwargs)


def _estimate(*resources: CostResource, usage: dict | None = None) -> CostReport:
    return estimate(resources, config=CONFIG, usage=parse_usage(usage) if usage else None)


def _lines(report: CostReport, name: str) -> dict[str, float]:
    r = next(r for r in report.resources if r.name == name)
    return {c.name: round(c.monthly, 4) for c in r.components}


def _job(name: str = "job", cpu: str = "1", memory: str = "512Mi") -> CostResource:
    return _res(JOB, name, {"location": "us-central1", "template": {"taskCount": 1, "template": {
        "containers": [{"image": "j", "resources": {"limits": {"cpu": cpu, "memory": memory}}}]}}})


def test_pubsub_throughput_per_tib() -> None:
    topic = _res("gcp:pubsub/topic:Topic", "t", {"name": "jobs"})
    sub = _res("gcp:pubsub/subscription:Subscription", "s", {"topic": "jobs"})
    report = _estimate(topic, sub, usage={"resource_usage": {"t": {"monthly_published_gib": 512},
                                                             "s": {"monthly_delivered_gib": 1024}}})
    assert _lines(report, "t") == {"publish throughput": 20.0}     # 0.5 TiB x 40
    assert _lines(report, "s") == {"delivery throughput": 40.0}    # 1 TiB x 40
    assert _lines(_estimate(topic), "t") == {"publish throughput": round(0.1 / 1024 * 40, 4)}  # default 0.1 GiB


def test_scheduler_job_per_month() -> None:
    assert _lines(_estimate(_res(SCHED, "cron", {"schedule": "0 3 * * *"})), "cron") == {"scheduler job": 0.10}


def test_cloud_run_job_runs_from_the_schedule_the_usage_file_or_on_demand() -> None:
    job = _job(cpu="2", memory="1Gi")
    daily = _res(SCHED, "cron", {"schedule": "0 3 * * *", "httpTarget": {"uri": "x"}},
                 property_dependencies={"httpTarget": [job.urn]})
    # a daily schedule runs 31 times in a 730-hour month (30.4 days, counted from a fixed start): 31 x 300 s
    lines = _lines(_estimate(job, daily), "job")
    assert lines == {"CPU (2 vCPU; 31 runs (schedule) x 1 task x 300 s)": round(2 * 31 * 300 * 0.000018, 4),
                     "memory (1 GiB)": round(31 * 300 * 0.000002, 4)}
    hourly = _res(SCHED, "cron", {"schedule": "0 * * * *"}, property_dependencies={"httpTarget": [job.urn]})
    assert "CPU (2 vCPU; 730 runs (schedule) x 1 task x 300 s)" in _lines(_estimate(job, hourly), "job")
    # on demand: 30 runs; the usage file wins over both
    assert _lines(_estimate(_job()), "job") == {"CPU (1 vCPU; 30 runs (on demand, default) x 1 task x 300 s)":
                                                round(30 * 300 * 0.000018, 4),
                                                "memory (0.5 GiB)": round(0.5 * 30 * 300 * 0.000002, 4)}
    lines = _lines(_estimate(job, daily, usage={"resource_usage": {"job": {"monthly_executions": 4,
                                                                          "average_task_seconds": 3600}}}), "job")
    assert lines["CPU (2 vCPU; 4 runs (usage file) x 1 task x 3600 s)"] == round(2 * 4 * 3600 * 0.000018, 4)
