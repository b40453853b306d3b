"""How the review scales with the number of services: ``python -m review`` of a generated AWS stack with 50
services over the same stack with 5, in one run (fresh processes, alternating, medians). Target <= 10.5 (linear
or better: ten times the services may cost at most ten times the wall time, plus a margin).

The generated stack (:func:`services_config`) mixes every kind the settings have: public web services with
path and host routes (one with a canary), internal web services called by others, workers each consuming their
own queue (one FIFO), scheduled and on-demand jobs; each uses the database, some the cache, the bucket, a queue
or an internal service. ``tests/test_aws_services.py`` reviews the 20-service version.

    python bench/services_scaling.py [--small 5] [--large 50] [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
TARGET = 10.5


def services_config(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """``services`` and ``queues`` settings of ``n`` services (n >= 1); the first is the public ``api``."""
    services: dict[str, Any] = {}
    queues: dict[str, Any] = {}
    internal: list[str] = []
    for i in range(n):
        kind = "web" if i == 0 else ("web", "web-internal", "worker", "job-scheduled", "job")[i % 5]
        name = "api" if i == 0 else f"s{i:02d}"
        uses: list[str] = ["database"]
        if i % 3 == 0:
            uses.append("cache")
        if i % 4 == 0:
            uses.append("buckets.assets:read" if i % 8 else "buckets.assets:read-write")
        if internal and kind in ("web", "worker"):
            uses.append(f"services.{internal[-1]}")
        spec: dict[str, Any] = {"uses": uses}
        if kind == "web":
            routes: list[dict[str, Any]] = [{"path": f"/{name}"}]
            if i == 0:
                routes = [{"path": "/v1"}, {"path": "/v2", "canaryWeight": 10, "weight": 90}]
            elif i % 10 == 5:
                routes.append({"host": f"{name}.example.com"})
            spec.update(kind="web", routes=routes)
        elif kind == "web-internal":
            spec.update(kind="web", internal=True)
            internal.append(name)
        elif kind == "worker":
            queue = f"q{i:02d}"
            queues[queue] = {"fifo": i % 10 == 3, "maxReceives": 5}
            spec.update(kind="worker", uses=[*uses, f"queues.{queue}:consume"])
            if services:  # the api sends to every queue
                services["api"]["uses"].append(f"queues.{queue}:send")
        elif kind == "job-scheduled":
            spec.update(kind="job", schedule={"expression": f"{i % 60} {i % 24} * * *", "timezone": "Europe/Berlin"})
        else:
            spec.update(kind="job", command=["python", "-m", "app.migrate"])
        services[name] = spec
    return services, queues


def write_project(directory: Path, n: int, environment: str = "dev", stack: str = "bench") -> Path:
    """A Pulumi project in ``directory`` running this repository's program, with a stack file of ``n``
    services (``Pulumi.<stack>.yaml``) and the dev usage file; returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "Pulumi.yaml", directory / "Pulumi.yaml")
    (directory / "__main__.py").write_text(
        f"import sys\nsys.path.insert(0, {str(REPO)!r})\nfrom stacks import build\n\nbuild()\n")
    services, queues = services_config(n)
    config = {
        "backend-hosting:environment": environment, "backend-hosting:region": "us-east-1",
        "backend-hosting:monitoring": {"alertEmails": ["alerts@example.com"]},
        "backend-hosting:budget": {"monthlyUsd": 5000},
        "backend-hosting:services": services, "backend-hosting:queues": queues,
    }
    if environment == "dev":
        config["backend-hosting:waivers"] = [{
            "policy": "ecs-service-no-public-ip", "resource": "app-dev-*-service",
            "reason": "Dev has no NAT gateway, so its tasks run in public subnets with a public IP; their security "
                      "groups admit only the load balancer or the services that use them."}]
    (directory / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return directory


def _time(directory: Path) -> float:
    cmd = [sys.executable, "-m", "review", "bench", "--program", str(directory), "--format", "json"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-300:]}")
    return elapsed


def main() -> None:
    """Measure and print."""
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=5)
    ap.add_argument("--large", type=int, default=50)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small = write_project(Path(tmp) / "small", args.small)
        large = write_project(Path(tmp) / "large", args.large)
        _time(small)  # warm the OS file cache and bytecode caches
        s_times, l_times = [], []
        for _ in range(args.runs):
            s_times.append(_time(small))
            l_times.append(_time(large))
    s, big = statistics.median(s_times), statistics.median(l_times)
    ratio = big / s
    print(f"runs={args.runs}")
    print(f"{args.small:>3} services  median {s:.2f}s  (min {min(s_times):.2f}s)")
    print(f"{args.large:>3} services  median {big:.2f}s  (min {min(l_times):.2f}s)")
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(f"ratio {args.large}/{args.small}  {ratio:.2f}  (target <= {TARGET}: {verdict})")


if __name__ == "__main__":
    main()
