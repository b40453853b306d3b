"""The policy evaluation corpus: small third-party-style Pulumi programs, hardened (good) or with exactly one
defect (bad), and for each bad one the policies that count as catching it.

``PROGRAMS`` is the registry; :func:`judge` runs one program under the review's mock engine and policy runner
(in-process, a few tens of milliseconds each). ``bench/policy_corpus.py`` prints the figures.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import aws_corpus, gcp_corpus

PROJECT = "corpus"
"""A third-party project name: no per-project pack config applies, as for any program we did not write."""

BASE_CONFIG: dict[str, Any] = {
    f"{PROJECT}:environment": "prod",
    "aws:region": "us-east-1",
    "gcp:project": "demo-project",
    "gcp:region": "us-central1",
    f"{PROJECT}:dbPassword": "from-a-secure-config-value",
    f"{PROJECT}:redisAuthToken": "from-a-secure-config-value-0123",
}
SECRET_KEYS = [f"{PROJECT}:dbPassword", f"{PROJECT}:redisAuthToken"]


@dataclass(frozen=True)
class CorpusProgram:
    """One program: ``catches`` is empty for a good program, else the policies that count as catching its
    defect."""

    name: str
    fn: Callable[[], None]
    cloud: str
    defect: str | None = None
    catches: tuple[str, ...] = ()
    needs_real_secrets: bool = False
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def good(self) -> bool:
        return self.defect is None


NO_ENVIRONMENT: dict[str, Any] = {f"{PROJECT}:environment": None}
"""Half of the families run without an environment, as most third-party programs do (None removes a key)."""


def _programs() -> list[CorpusProgram]:
    out: list[CorpusProgram] = []
    for module, cloud in ((aws_corpus, "aws"), (gcp_corpus, "gcp")):
        for i, (family, (fn, defects)) in enumerate(module.FAMILIES.items()):
            config = dict(NO_ENVIRONMENT) if i % 2 else {}
            out.append(CorpusProgram(family, functools.partial(fn, None), cloud, config=config))
            for defect, catches in defects.items():
                out.append(CorpusProgram(f"{family}/{defect}", functools.partial(fn, defect), cloud, defect,
                                         tuple(catches), (family, defect) in module.NEEDS_REAL_SECRETS,
                                         config=config))
    return out


PROGRAMS: list[CorpusProgram] = _programs()


@dataclass
class Verdict:
    """What the packs said about one program."""

    program: CorpusProgram
    mandatory: list[str]
    """``policy on resource`` of every unwaived mandatory finding."""
    fired: set[str]
    """Names of every policy that reported a finding (any level)."""

    @property
    def ok(self) -> bool:
        """A good program has no mandatory finding; a bad one is caught by a policy about its defect."""
        if self.program.good:
            return not self.mandatory
        return bool(self.fired & set(self.program.catches))


def judge(program: CorpusProgram) -> Verdict:
    """Run the program under the mocks and every policy pack, as ``python -m review`` does."""
    from review.engine import run_callable
    from review.policy_runner import run_policies

    config = {k: v for k, v in {**BASE_CONFIG, **program.config}.items() if v is not None}
    graph = run_callable(program.fn, project=PROJECT, stack="prod", config=config, secret_keys=SECRET_KEYS)
    violations, _ = run_policies(graph)
    mandatory = sorted(f"{v.policy} on {v.resource_name}" for v in violations if v.blocking)
    return Verdict(program, mandatory, {v.policy for v in violations})


@functools.lru_cache(maxsize=1)
def real_secret_values() -> bool:
    """Whether policies see the real value of a secret-wrapped input (a literal RDS password), which the SDK wraps
    as a secret; until the review passes real values (issue 11), such defects are invisible offline."""
    import pulumi_aws as aws

    from review.engine import run_callable
    from review.policy_runner import graph_resources

    graph = run_callable(lambda: aws.rds.Instance("probe", engine="postgres", instance_class="db.t4g.micro",
                                                  password="probe-literal"), project=PROJECT, stack="probe")
    return any(r.props.get("password") == "probe-literal" for r in graph_resources(graph))
