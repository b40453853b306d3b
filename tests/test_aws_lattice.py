"""Service to service on AWS, the IAM half (identity.serviceAuth: iam, the default): an internal web service is a
VPC Lattice service with IAM auth whose auth policy names exactly the task roles of the services that declare
``uses: [services.<name>]``; each of those task roles holds exactly one statement allowing
``vpc-lattice-svcs:Invoke`` on it; ECS registers the internal service's tasks in its target group. A service that
does not declare it gets neither. One capture of a small stack file (docs/identity.md, "Service to service")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from review.engine import capture_program
from review.mocks import managed_prefix_list_id

REPO = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SERVICES = {
    "api": {"kind": "web", "routes": [{"path": "/v1"}], "uses": ["services.inner"]},
    "inner": {"kind": "web", "internal": True, "port": 9000, "healthCheckPath": "/ready"},
    "migrate": {"kind": "job", "command": ["python", "-m", "app.migrate"]},
}
SMALL = {"database": {"enabled": False}, "cache": {"enabled": False}, "identity": {"enabled": False},
         "storage": {"buckets": []}}
"""Only what the test is about: no database, cache, user pool or bucket (a smaller, faster capture)."""


def write_project(directory: Path, services: dict, **extra: object) -> Path:
    """A project running this repository's program with one dev stack file ``Pulumi.s2s.yaml``."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "Pulumi.yaml", directory / "Pulumi.yaml")
    (directory / "__main__.py").write_text(
        f"import sys\nsys.path.insert(0, {str(REPO)!r})\nfrom stacks import build\n\nbuild()\n")
    config = {"backend-hosting:environment": "dev", "backend-hosting:region": "us-east-1",
              "backend-hosting:budget": {"monthlyUsd": 500}, "backend-hosting:services": services,
              **{f"backend-hosting:{k}": v for k, v in extra.items()}}
    (directory / "Pulumi.s2s.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return directory


@pytest.fixture(scope="module")
def g(tmp_path_factory):
    return capture_program(write_project(tmp_path_factory.mktemp("s2s"), SERVICES, **SMALL), "s2s")


def role_arn(g, name: str) -> str:
    return g.by_name(name, "aws:iam/role:Role").outputs["arn"]


def statements_of(g, role: str) -> list[dict]:
    """Every statement of every inline policy on a role."""
    name = g.by_name(role, "aws:iam/role:Role").outputs["name"]
    return [st for r in g.by_type(ROLE_POLICY) if r.inputs["role"] == name
            for st in json.loads(r.inputs["policy"])["Statement"]]


def invoke_statements(g, role: str) -> list[dict]:
    return [st for st in statements_of(g, role) if "vpc-lattice-svcs:Invoke" in json.dumps(st.get("Action"))]


def test_the_internal_service_is_a_lattice_service_with_iam_auth_in_the_stack_network(g):
    svc = g.by_name("app-dev-inner-lattice", "aws:vpclattice/service:Service")
    assert svc.inputs["authType"] == "AWS_IAM"
    net = g.by_name("app-dev-lattice-network", "aws:vpclattice/serviceNetwork:ServiceNetwork")
    assert net.inputs["authType"] == "AWS_IAM"
    [assoc] = g.by_type("aws:vpclattice/serviceNetworkServiceAssociation:ServiceNetworkServiceAssociation")
    assert assoc.inputs["serviceIdentifier"] == svc.id
    assert assoc.inputs["serviceNetworkIdentifier"] == net.id
    [vpc] = g.by_type("aws:vpclattice/serviceNetworkVpcAssociation:ServiceNetworkVpcAssociation")
    assert vpc.inputs["vpcIdentifier"] == g.by_type("aws:ec2/vpc:Vpc")[0].id
    assert vpc.inputs["securityGroupIds"] == [g.by_name("app-dev-lattice-association",
                                                        "aws:ec2/securityGroup:SecurityGroup").id]
    # Only the internal service is in Lattice: one service, one target group, one listener.
    assert len(g.by_type("aws:vpclattice/service:Service")) == 1


def test_the_target_group_sends_http_to_the_task_port_and_the_listener_is_https(g):
    tg = g.by_name("app-dev-inner-lattice", "aws:vpclattice/targetGroup:TargetGroup")
    assert tg.inputs["type"] == "IP"
    config = tg.inputs["config"]
    assert (config["port"], config["protocol"], config["vpcIdentifier"]) == (
        9000, "HTTP", g.by_type("aws:ec2/vpc:Vpc")[0].id)
    assert (config["healthCheck"]["path"], config["healthCheck"]["port"]) == ("/ready", 9000)
    [listener] = g.by_type("aws:vpclattice/listener:Listener")
    assert (listener.inputs["protocol"], listener.inputs["port"]) == ("HTTPS", 443)
    assert listener.inputs["defaultAction"] == {"forwards": [{"targetGroups": [
        {"targetGroupIdentifier": tg.id, "weight": 100}]}]}


def test_ecs_registers_the_internal_tasks_in_the_target_group_and_nothing_else(g):
    tg = g.by_name("app-dev-inner-lattice", "aws:vpclattice/targetGroup:TargetGroup")
    infra = g.by_name("app-dev-lattice-ecs-infrastructure", "aws:iam/role:Role")
    inner = g.inputs("app-dev-inner-service", "aws:ecs/service:Service")
    assert inner["vpcLatticeConfigurations"] == [
        {"roleArn": infra.outputs["arn"], "portName": "http", "targetGroupArn": tg.outputs["arn"]}]
    # The port name is the container's port mapping.
    [c] = json.loads(g.inputs("app-dev-inner-task", "aws:ecs/taskDefinition:TaskDefinition")["containerDefinitions"])
    assert c["portMappings"] == [{"containerPort": 9000, "protocol": "tcp", "name": "http"}]
    assert "vpcLatticeConfigurations" not in g.inputs("app-dev-api-service", "aws:ecs/service:Service")
    # The infrastructure role: trusted by ECS of this account, the AWS managed policy for Lattice, the boundary.
    trust = json.loads(infra.inputs["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "ecs.amazonaws.com"}]
    assert trust[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    [attachment] = g.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForVpcLattice"
    assert infra.inputs["permissionsBoundary"].endswith(":policy/backend-hosting-boundary-s2s")


def test_the_auth_policy_admits_exactly_the_declaring_callers_task_role(g):
    svc = g.by_name("app-dev-inner-lattice", "aws:vpclattice/service:Service")
    policies = {r.name: r for r in g.by_type("aws:vpclattice/authPolicy:AuthPolicy")}
    assert set(policies) == {"app-dev-inner-lattice", "app-dev-lattice-network"}
    policy = policies["app-dev-inner-lattice"]
    assert policy.inputs["resourceIdentifier"] == svc.outputs["arn"]
    api = role_arn(g, "app-dev-api-task")
    assert json.loads(policy.inputs["policy"])["Statement"] == [{
        "Sid": "DeclaredCallers", "Effect": "Allow", "Principal": {"AWS": [api]}, "Action": "vpc-lattice-svcs:Invoke",
        "Resource": f"{svc.outputs['arn']}/*", "Condition": {"ArnEquals": {"aws:PrincipalArn": [api]}}}]
    assert "\n" not in policy.inputs["policy"]  # Lattice refuses policies with newlines
    # The network's own policy keeps other accounts out.
    assert json.loads(policies["app-dev-lattice-network"].inputs["policy"])["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:PrincipalAccount": ACCOUNT}}


def test_the_caller_holds_one_invoke_statement_and_the_others_none(g):
    svc = g.by_name("app-dev-inner-lattice", "aws:vpclattice/service:Service")
    assert invoke_statements(g, "app-dev-api-task") == [{
        "Sid": "InvokeLatticeService", "Effect": "Allow", "Action": "vpc-lattice-svcs:Invoke",
        "Resource": f"{svc.outputs['arn']}/*"}]
    for other in ("app-dev-inner-task", "app-dev-migrate-task"):  # no uses: services.inner
        assert invoke_statements(g, other) == []
        assert role_arn(g, other) not in json.dumps([r.inputs for r in g.by_type(
            "aws:vpclattice/authPolicy:AuthPolicy")])


def test_lattice_is_the_only_way_in(g):
    def sg(name: str) -> str:
        return g.by_name(name, "aws:ec2/securityGroup:SecurityGroup").id

    ingress = [(r.inputs["securityGroupId"], r.inputs.get("referencedSecurityGroupId") or r.inputs.get("prefixListId"),
                r.inputs["fromPort"]) for r in g.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")]
    inner, api, assoc = sg("app-dev-inner-tasks"), sg("app-dev-api-tasks"), sg("app-dev-lattice-association")
    # Into the internal tasks: Lattice's prefix list only (no direct path from the caller that skips the IAM check).
    lattice = managed_prefix_list_id("com.amazonaws.us-east-1.vpc-lattice")
    assert {(peer, port) for s, peer, port in ingress if s == inner} == {(lattice, 9000)}
    # ... and no Service Connect name for it, nor a namespace in the cluster.
    for name in ("app-dev-inner-service", "app-dev-api-service"):
        assert not g.inputs(name, "aws:ecs/service:Service").get("serviceConnectConfiguration")
    assert not g.by_type("aws:servicediscovery/httpNamespace:HttpNamespace")
    # Into the service network: the caller only, on HTTPS.
    assert {(peer, port) for s, peer, port in ingress if s == assoc} == {(api, 443)}


def test_the_caller_gets_the_lattice_url(g):
    [c] = json.loads(g.inputs("app-dev-api-task", "aws:ecs/taskDefinition:TaskDefinition")["containerDefinitions"])
    env = {e["name"]: e["value"] for e in c["environment"]}
    svc = g.by_name("app-dev-inner-lattice", "aws:vpclattice/service:Service")
    assert env["SERVICE_INNER_URL"] == f"https://{svc.outputs['dnsEntries'][0]['domainName']}"
    [m] = json.loads(g.inputs("app-dev-migrate-task", "aws:ecs/taskDefinition:TaskDefinition")["containerDefinitions"])
    assert not [e for e in m["environment"] if e["name"].startswith("SERVICE_")]


def test_the_component_page_runs_and_documents_every_argument(run_program):
    from helpers import DOCS, doc_example, documents_every_argument

    from components.aws.lattice import LatticeServiceArgs, ServiceNetworkArgs

    page = DOCS / "lattice.md"
    lg = run_program(doc_example(page))
    assert not documents_every_argument(page, ServiceNetworkArgs, LatticeServiceArgs)
    [policy] = [r for r in lg.by_type("aws:vpclattice/authPolicy:AuthPolicy") if r.name == "app-dev-users-lattice"]
    api = lg.by_name("app-dev-api-task", "aws:iam/role:Role").outputs["arn"]
    assert json.loads(policy.inputs["policy"])["Statement"][0]["Principal"] == {"AWS": [api]}


def test_lattice_names_fit_the_service_rules():
    from components.aws.lattice import lattice_name

    assert lattice_name("app-dev-inner") == "app-dev-inner"
    assert lattice_name("a--b-") == "a-b"
    long = lattice_name("platform-team-app-staging-payments-reconciler")
    assert len(long) <= 40 and long.startswith("platform-team-app-staging-payme-") and "--" not in long
    assert long != lattice_name("platform-team-app-staging-payments-reconcilex")


# -- the caller's side: docs/identity.md's SigV4 example, executed -----------------------------------------------
def _signing_example(monkeypatch) -> dict:
    """Run the identity page's SigV4 block with fixed credentials; returns its namespace."""
    import re
    import textwrap

    text = (REPO / "docs" / "identity.md").read_text()
    [block] = [textwrap.dedent(b) for b in re.findall(r"```python\n(.*?)```", text, re.S) if "vpc-lattice-svcs" in b]
    for key, value in {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCY",
                       "AWS_SESSION_TOKEN": "task-session-token", "AWS_REGION": "us-east-1",
                       "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
                       "no_proxy": "*", "NO_PROXY": "*"}.items():
        monkeypatch.setenv(key, value)
    namespace: dict = {"__name__": "identity_example"}
    exec(compile(block, "docs/identity.md", "exec"), namespace)
    return namespace


def _sigv4(method: str, url: str, headers: dict, secret: str) -> str:
    """The SigV4 signature of a request, from the specification (not botocore): canonical request over the
    signed headers with an UNSIGNED-PAYLOAD body hash, string to sign, HMAC key chain."""
    import hashlib
    import hmac
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    lower = {k.lower(): v for k, v in headers.items()}
    auth = lower["authorization"]
    scope = auth.split("Credential=")[1].split(",")[0].split("/", 1)[1]
    signed = auth.split("SignedHeaders=")[1].split(",")[0]
    lower["host"] = parts.netloc
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    canonical = "\n".join([method, parts.path or "/", query,
                           "".join(f"{h}:{lower[h].strip()}\n" for h in signed.split(";")), signed,
                           "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", lower["x-amz-date"], scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def test_the_documented_caller_signs_for_lattice_by_the_sigv4_specification(monkeypatch):
    ns = _signing_example(monkeypatch)
    url = "https://app-prod-inner-0a1b2c3d.7d67968.vpc-lattice-svcs.us-east-1.on.aws/v1/orders?b=2&a=1"
    headers = ns["signed_headers"]("POST", url, b'{"id": 1}', {"content-type": "application/json"})
    lower = {k.lower(): v for k, v in headers.items()}  # HTTP header names are case-insensitive
    auth = lower["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-east-1/vpc-lattice-svcs/aws4_request," in auth
    assert lower["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert lower["x-amz-security-token"] == "task-session-token"  # the task role's session
    assert {"host", "x-amz-content-sha256", "x-amz-date"} <= set(auth.split("SignedHeaders=")[1].split(",")[0]
                                                                 .split(";"))
    assert auth.split("Signature=")[1] == _sigv4("POST", url, headers, "wJalrXUtnFEMI/K7MDENG+bPxRfiCY")
    # A different secret gives a different signature: the check above can fail.
    assert auth.split("Signature=")[1] != _sigv4("POST", url, headers, "another-secret")


def test_the_documented_caller_sends_the_signed_request_to_service_url(monkeypatch):
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    seen: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.update(path=self.path, headers={k.lower(): v for k, v in self.headers.items()})
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"pong")

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        ns = _signing_example(monkeypatch)
        monkeypatch.setenv("SERVICE_INNER_URL", f"http://127.0.0.1:{server.server_port}")
        assert ns["call_internal"]("inner", "/v1/ping") == (200, b"pong")
    finally:
        server.shutdown()
        server.server_close()
    assert seen["path"] == "/v1/ping"
    assert seen["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert seen["headers"]["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"


# -- the setting ------------------------------------------------------------------------------------------------
def _settings(cloud: str, identity: dict, internal: bool = True):
    from stacks.settings import from_values

    base = {"environment": "dev", "region": "us-east-1"} if cloud == "aws" else {
        "environment": "dev", "region": "us-central1", "cloud": "gcp", "gcpProject": "acme-dev"}
    services = {"api": {"kind": "web", "routes": [{"path": "/v1"}], **({"uses": ["services.inner"]} if internal
                                                                       else {})}}
    if internal:
        services["inner"] = {"kind": "web", "internal": True}
    return from_values({**base, "services": services, "identity": identity})


def test_service_auth_defaults_to_iam_on_both_clouds_and_is_independent_of_sign_in():
    assert _settings("aws", {}).identity.service_auth == "iam"
    assert _settings("gcp", {}).identity.service_auth == "iam"
    assert _settings("aws", {"serviceAuth": "network"}).identity.service_auth == "network"
    # identity.enabled turns off end-user sign-in, not service-to-service auth
    assert _settings("aws", {"enabled": False, "serviceAuth": "network"}).identity.service_auth == "network"


@pytest.mark.parametrize(("cloud", "identity", "internal", "message"), [
    ("gcp", {"serviceAuth": "network"}, True, "identity.serviceAuth: network does not apply to cloud gcp"),
    ("aws", {"serviceAuth": "iam"}, False, "identity.serviceAuth does not apply: no service is internal"),
    ("gcp", {"serviceAuth": "iam"}, False, "identity.serviceAuth does not apply: no service is internal"),
    ("aws", {"serviceAuth": "mtls"}, True, "identity.serviceAuth"),
])
def test_a_service_auth_that_does_not_apply_is_one_line(cloud, identity, internal, message):
    from stacks.settings import SettingsError

    with pytest.raises(SettingsError) as info:
        _settings(cloud, identity, internal)
    assert message in str(info.value) and "\n" not in str(info.value)


# -- ops bootstrap: the deploy role and the boundary cover Lattice, scoped like the rest -------------------------
def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _allowed_by(boundary: dict, action: str, resource: str, _condition: object = None) -> bool:
    """An unconditioned allow of the boundary covers (action, resource) (fnmatch, as IAM's wildcards)."""
    from fnmatch import fnmatchcase

    return any(st["Effect"] == "Allow" and "Condition" not in st
               and any(fnmatchcase(action, a) for a in _listed(st["Action"]))
               and any(fnmatchcase(resource, r) for r in _listed(st["Resource"])) for st in boundary["Statement"])


def test_the_deploy_role_manages_lattice_by_tag_and_attaches_only_the_reviewed_managed_policy(g):
    from ops.bootstrap import boundary_policy, deploy_policy, facts_from_graph

    facts = facts_from_graph(g, "s2s")
    assert "vpc-lattice" in facts.services and "ecs.amazonaws.com" in facts.pass_to
    assert facts.aws_managed_policies == ("AmazonECSInfrastructureRolePolicyForVpcLattice",)
    policy = {s["Sid"]: s for s in deploy_policy(facts, ACCOUNT, "state-bucket")["Statement"]}
    for sid, key in (("CreateTaggedForStack", "aws:RequestTag/environment"),
                     ("ManageTaggedForStack", "aws:ResourceTag/environment")):
        assert "vpc-lattice:*" in policy[sid]["Action"]
        assert policy[sid]["Condition"]["StringEquals"][key] == "dev"
    assert policy["AttachStackPolicies"]["Condition"]["ArnLike"]["iam:PolicyARN"] == [
        "arn:aws:iam::123456789012:policy/app-dev-*",
        "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForVpcLattice"]
    # The boundary lets every statement the stack writes through (the caller's invoke grant included) and no
    # invoke outside this account and region.
    boundary = boundary_policy(facts, ACCOUNT)
    granted = [(a, r) for doc in (p.inputs["policy"] for p in g.by_type(ROLE_POLICY))
               for st in json.loads(doc)["Statement"] for a in _listed(st["Action"]) for r in _listed(st["Resource"])]
    assert any(a == "vpc-lattice-svcs:Invoke" for a, _ in granted)
    assert all(_allowed_by(boundary, a, r, None) for a, r in granted if a == "vpc-lattice-svcs:Invoke")
    assert not _allowed_by(boundary, "vpc-lattice-svcs:Invoke",
                           "arn:aws:vpc-lattice:us-east-1:999999999999:service/svc-0other/*", None)
    # What the AWS managed policy of the infrastructure role grants, within this account and region.
    assert _allowed_by(boundary, "vpc-lattice:RegisterTargets",
                       f"arn:aws:vpc-lattice:us-east-1:{ACCOUNT}:targetgroup/tg-0abc", None)


def test_an_unreviewed_aws_managed_policy_stops_the_bootstrap(g):
    from ops.bootstrap import facts_from_graph
    from ops.prices import OpsError

    [attachment] = g.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    attachment.inputs["policyArn"] = "arn:aws:iam::aws:policy/AdministratorAccess"
    try:
        with pytest.raises(OpsError, match="AdministratorAccess, which the bootstrap has not reviewed"):
            facts_from_graph(g, "s2s")
    finally:
        attachment.inputs["policyArn"] = "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForVpcLattice"


# -- price --------------------------------------------------------------------------------------------------------
def test_a_lattice_service_costs_its_hours_data_and_requests_beyond_the_free_hourly_300k(tmp_path):
    """Rows (tests/fixtures/catalog/aws-us-east-1.csv, from aws.amazon.com/vpc/lattice/pricing): 0.025 per
    service-hour, 0.025 per GB, 0.10 per million requests beyond the first 300,000 of each hour."""
    import pulumi_aws as aws

    from review.cost import estimate_graph
    from review.engine import run_callable

    def program() -> None:
        net = aws.vpclattice.ServiceNetwork("net", name="net", auth_type="AWS_IAM")
        svc = aws.vpclattice.Service("svc", name="svc", auth_type="AWS_IAM")
        aws.vpclattice.ServiceNetworkServiceAssociation("assoc", service_identifier=svc.id,
                                                        service_network_identifier=net.id)

    graph = run_callable(program, config={"aws:region": "us-east-1"})
    quiet = estimate_graph(graph)
    [svc] = quiet.resources  # the network and the association are free
    assert {c.name: round(c.monthly, 4) for c in svc.components} == {
        "service hours": round(730 * 0.025, 4), "data processed": 0.025,
        "requests beyond 300,000 an hour (0.1M a month)": 0.0}
    usage = tmp_path / "usage.yaml"
    usage.write_text("resource_usage:\n  svc:\n    monthly_data_processed_gb: 40\n    monthly_requests_millions: 300\n")
    busy = estimate_graph(graph, usage).resources[0]
    # 300M a month is ~411k an hour: 300M - 730 h x 0.3M free = 81M billable
    assert busy.monthly == pytest.approx(730 * 0.025 + 40 * 0.025 + 81 * 0.10)


def test_bad_lattice_arguments_are_refused():
    from types import SimpleNamespace

    from components.aws.lattice import LatticeServiceArgs
    from components.aws.load_balancer import LoadBalancer
    from components.aws.web_service import WebRoute, WebServiceArgs

    base = {"cluster": object(), "network": object()}
    lattice = SimpleNamespace(args=LatticeServiceArgs(port=8080))
    with pytest.raises(ValueError, match="lattice is for an internal service"):
        WebServiceArgs(**base, routes=[WebRoute(path="/v1")], load_balancer=object.__new__(LoadBalancer),
                       lattice=lattice)
    with pytest.raises(ValueError, match=r"target group's port \(8080\) is not the service's \(9000\)"):
        WebServiceArgs(**base, internal=True, port=9000, lattice=lattice)
    with pytest.raises(ValueError, match="use 1-65535"):
        LatticeServiceArgs(port=0)
    assert WebServiceArgs(**base, internal=True, lattice=lattice).lattice is lattice


def test_grants_after_the_auth_policy_is_written_are_refused(run_program):
    """A grant must reach the auth policy: one made after it is written is an error, not a silent no-op."""
    from types import SimpleNamespace

    import pulumi_aws as aws

    from components.aws.lattice import LatticeServiceArgs, ServiceNetwork, ServiceNetworkArgs

    refused: list[str] = []

    def program() -> None:
        net = ServiceNetwork("net", ServiceNetworkArgs(network=SimpleNamespace(vpc_id="vpc-1")))
        svc = net.add_service("svc", LatticeServiceArgs())
        assert svc.write_auth_policy() is None  # nobody granted: no policy (AWS_IAM without one admits nobody)
        a = aws.iam.Role("a", assume_role_policy="{}")
        svc.grant_invoke(a)
        policy = svc.write_auth_policy()
        assert policy is not None and svc.write_auth_policy() is policy
        try:
            svc.grant_invoke(aws.iam.Role("b", assume_role_policy="{}"))
        except ValueError as exc:
            refused.append(str(exc))

    g = run_program(program)
    assert refused == ["svc: grant_invoke after write_auth_policy would not reach the auth policy"]
    assert len(g.by_type("aws:vpclattice/authPolicy:AuthPolicy")) == 2  # the network's and svc's


def test_drift_audits_the_lattice_resources_by_their_arn_kind(g):
    from ops.drift import TYPE_KIND, arn_kind, declared_resources

    declared, skipped = declared_resources(g)
    kinds = {d.kind for d in declared if d.type.startswith("aws:vpclattice/")}
    assert kinds == {"vpc-lattice:service", "vpc-lattice:servicenetwork", "vpc-lattice:targetgroup",
                     "vpc-lattice:servicenetworkserviceassociation", "vpc-lattice:servicenetworkvpcassociation"}
    assert set(skipped) & {t for t in TYPE_KIND if t.startswith("aws:vpclattice/")} == set()
    # The tagging API's ARNs (docs.aws.amazon.com service authorization reference for VPC Lattice) map to them.
    region = f"arn:aws:vpc-lattice:us-east-1:{ACCOUNT}"
    assert {arn_kind(f"{region}:{suffix}") for suffix in (
        "service/svc-0123", "servicenetwork/sn-0123", "targetgroup/tg-0123",
        "servicenetworkserviceassociation/snsa-0123", "servicenetworkvpcassociation/snva-0123")} == kinds


def test_network_mode_is_security_groups_and_service_connect_without_lattice(tmp_path):
    """``identity.serviceAuth: network``: no Lattice resource, no invoke grant; the internal service admits exactly its
    declared caller's security group on its port and is reached by its Service Connect name."""
    gn = capture_program(write_project(tmp_path, SERVICES, **{**SMALL, "identity": {
        "enabled": False, "serviceAuth": "network"}}), "s2s")
    assert not [r for r in gn.resources if r.type.startswith("aws:vpclattice/")]
    assert not invoke_statements(gn, "app-dev-api-task")
    sg = {n: gn.by_name(f"app-dev-{n}-tasks", "aws:ec2/securityGroup:SecurityGroup").id for n in ("api", "inner")}
    ingress = {(r.inputs.get("referencedSecurityGroupId"), r.inputs["fromPort"])
               for r in gn.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
               if r.inputs["securityGroupId"] == sg["inner"]}
    assert ingress == {(sg["api"], 9000)}
    inner = gn.inputs("app-dev-inner-service", "aws:ecs/service:Service")["serviceConnectConfiguration"]
    assert inner["services"] == [{"portName": "http", "discoveryName": "inner",
                                  "clientAlias": [{"port": 9000, "dnsName": "inner"}]}]
    [c] = json.loads(gn.inputs("app-dev-api-task", "aws:ecs/taskDefinition:TaskDefinition")["containerDefinitions"])
    assert {"name": "SERVICE_INNER_URL", "value": "http://inner:9000"} in c["environment"]
