"""GCP Service (Cloud Run) and LoadBalancer: defaults, sizing, secrets by reference, image ownership, routes,
canaries, Cloud Armor and TLS."""

from __future__ import annotations

import pulumi_gcp as gcp
import pytest
from helpers import DOCS, doc_example, documents_every_argument

from components.gcp.load_balancer import WAF_RULES, ApiRoute, LoadBalancer, LoadBalancerArgs
from components.gcp.network import Network, NetworkArgs
from components.gcp.service import Service, ServiceArgs, cloud_run_cpu, split_secret
from review.engine import run_callable

RUN = "gcp:cloudrunv2/service:Service"


def build(lb: dict | None = None, **kw):
    def prog():
        net = Network("net", NetworkArgs(region="us-central1"))
        svc = Service("svc", ServiceArgs(network=net, region="us-central1", **kw))
        if lb is not None:
            LoadBalancer("lb", LoadBalancerArgs(service=svc, **lb))
    return prog


@pytest.fixture(scope="module")
def default():
    return run_callable(build(lb={}))


def test_service_defaults(default):
    comp = default.by_name("svc", "backend:gcp:Service")
    assert {r.type for r in default.children(comp)} == {
        RUN, "gcp:serviceaccount/account:Account", "gcp:artifactregistry/repository:Repository"}
    run = default.inputs("svc-run", RUN)
    assert run["ingress"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" and run["invokerIamDisabled"] is True
    assert run["deletionProtection"] is False
    t = run["template"]
    sa = default.by_name("svc-sa").outputs["email"]
    assert t["serviceAccount"] == sa == "svc-run@demo-project.iam.gserviceaccount.com"
    assert t["scaling"] == {"minInstanceCount": 0, "maxInstanceCount": 2}
    assert t["vpcAccess"]["egress"] == "PRIVATE_RANGES_ONLY"
    assert t["vpcAccess"]["networkInterfaces"][0]["tags"] == ["backend-service"]
    c = t["containers"][0]
    assert c["resources"] == {"limits": {"cpu": "1", "memory": "512Mi"}, "cpuIdle": True, "startupCpuBoost": True}
    assert c["startupProbe"]["httpGet"] == c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": 8080}
    assert c["envs"] == [{"name": "SERVICE_ACCOUNT", "value": sa}]
    assert not default.by_name("svc-run").options["ignoreChanges"]
    repo = default.inputs("svc-images")
    assert repo["format"] == "DOCKER" and repo["dockerConfig"] == {"immutableTags": True}
    assert repo["cleanupPolicies"][0] == {"id": "keep-recent", "action": "KEEP",
                                          "mostRecentVersions": {"keepCount": 20}}


def test_sizing_and_secrets_by_reference():
    secret = "projects/p/secrets/api-key/versions/2"
    g = run_callable(build(cpu=2048, memory=4096, min_instances=3, max_instances=20, cpu_always_allocated=True,
                           environment={"LOG_LEVEL": "info"}, secrets={"API_KEY": secret, "OTHER": secret},
                           image_managed_externally=True, revision_kms_key="projects/p/locations/l/keyRings/r/k"))
    t = g.inputs("svc-run", RUN)["template"]
    c = t["containers"][0]
    assert c["resources"]["limits"] == {"cpu": "2", "memory": "4096Mi"} and c["resources"]["cpuIdle"] is False
    assert t["scaling"] == {"minInstanceCount": 3, "maxInstanceCount": 20}
    assert t["encryptionKey"] == "projects/p/locations/l/keyRings/r/k"
    envs = {e["name"]: e for e in c["envs"]}
    assert envs["LOG_LEVEL"]["value"] == "info"
    assert envs["API_KEY"] == {"name": "API_KEY", "valueSource": {"secretKeyRef": {
        "secret": "projects/p/secrets/api-key", "version": "2"}}}
    grants = g.by_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert len(grants) == 1, "one accessor binding per secret, however many variables use it"
    assert grants[0].inputs == {"secretId": "projects/p/secrets/api-key", "role": "roles/secretmanager.secretAccessor",
                                "member": "serviceAccount:svc-run@demo-project.iam.gserviceaccount.com"}
    run = g.by_name("svc-run")
    assert grants[0].urn in run.options["dependsOn"], "access exists before the first revision"
    assert run.options["ignoreChanges"] == ["template.containers[0].image", "client", "clientVersion"]


def test_cloud_run_sizes_and_bad_arguments():
    assert [cloud_run_cpu(u) for u in (256, 512, 1024, 2048, 3072, 4096, 8192)] == [1, 1, 1, 2, 4, 4, 8]
    assert split_secret("projects/p/secrets/s") == ("projects/p/secrets/s", "latest")
    net = object()
    with pytest.raises(ValueError, match=r"allows 512\.\.4096"):
        ServiceArgs(network=net, region="r", cpu=1024, memory=8192)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="looks like a secret"):
        ServiceArgs(network=net, region="r", environment={"DB_PASSWORD": "x"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a Secret Manager path"):
        ServiceArgs(network=net, region="r", secrets={"X": "arn:aws:secretsmanager:r:1:secret:x"})  # type: ignore
    with pytest.raises(ValueError, match="maximum of 8 vCPU"):
        cloud_run_cpu(16384)


# -- LoadBalancer -------------------------------------------------------------------------------------------------
def test_load_balancer_defaults(default):
    comp = default.by_name("lb", "backend:gcp:LoadBalancer")
    assert all(r.parent == comp.urn for r in default.by_type("gcp:compute/*") if r.name.startswith("lb"))
    neg = default.inputs("lb-v1", "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup")
    assert neg["networkEndpointType"] == "SERVERLESS" and neg["region"] == "us-central1"
    assert neg["cloudRun"] == {"service": default.by_name("svc-run").outputs["name"]}
    be = default.inputs("lb-v1", "gcp:compute/backendService:BackendService")
    armor = default.by_name("lb-armor")
    assert (be["loadBalancingScheme"], be["protocol"], be["securityPolicy"]) == ("EXTERNAL_MANAGED", "HTTPS", armor.id)
    assert be["logConfig"] == {"enable": True, "sampleRate": 1}
    rules = armor.inputs["rules"]
    assert rules[0]["action"] == "throttle" and rules[0]["rateLimitOptions"]["enforceOnKey"] == "IP"
    assert rules[0]["rateLimitOptions"]["rateLimitThreshold"] == {"count": 600, "intervalSec": 60}
    waf = [r["match"]["expr"]["expression"] for r in rules if r["action"] == "deny(403)"]
    assert waf == [f"evaluatePreconfiguredWaf('{w}', {{'sensitivity': 1}})" for w in WAF_RULES]
    assert rules[-1]["priority"] == 2147483647 and rules[-1]["action"] == "allow"
    um = default.inputs("lb-https", "gcp:compute/uRLMap:URLMap")
    v1 = default.by_name("lb-v1", "gcp:compute/backendService:BackendService")
    assert um["pathMatchers"][0]["pathRules"] == [{"paths": ["/v1", "/v1/*"], "service": v1.id}]
    assert um["pathMatchers"][0]["defaultRouteAction"]["faultInjectionPolicy"]["abort"]["httpStatus"] == 404
    assert default.inputs("lb-tls") == {"profile": "MODERN", "minTlsVersion": "TLS_1_2",
                                        "description": "TLS 1.2+ with modern cipher suites"}
    assert default.inputs("lb-cert")["managed"] == {"domains": ["203.0.113.10.sslip.io"]}
    proxy = default.inputs("lb-https", "gcp:compute/targetHttpsProxy:TargetHttpsProxy")
    assert proxy["sslPolicy"] == default.by_name("lb-tls").id
    redirect = default.inputs("lb-http-redirect")["defaultUrlRedirect"]
    assert redirect["httpsRedirect"] is True and redirect["redirectResponseCode"] == "MOVED_PERMANENTLY_DEFAULT"
    rules = {r.inputs["portRange"]: r.inputs for r in default.by_type(
        "gcp:compute/globalForwardingRule:GlobalForwardingRule")}
    assert set(rules) == {"80", "443"} and all(r["loadBalancingScheme"] == "EXTERNAL_MANAGED" for r in rules.values())


def test_versions_canary_domain_and_no_armor():
    g = run_callable(build(lb={"api_routes": [ApiRoute("v1", 90, 10), ApiRoute("v2")], "domain_name": "api.x.io",
                               "security_policy": False}))
    assert not g.by_type("gcp:compute/securityPolicy:SecurityPolicy")
    backends = {r.name: r for r in g.by_type("gcp:compute/backendService:BackendService")}
    assert set(backends) == {"lb-v1", "lb-v1-canary", "lb-v2"}
    assert "securityPolicy" not in backends["lb-v1"].inputs
    negs = {r.name: r.inputs["cloudRun"] for r in g.by_type(
        "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup")}
    assert negs["lb-v1-canary"]["tag"] == "canary" and "tag" not in negs["lb-v1"]
    rules = g.inputs("lb-https", "gcp:compute/uRLMap:URLMap")["pathMatchers"][0]["pathRules"]
    assert rules[0]["routeAction"]["weightedBackendServices"] == [
        {"backendService": backends["lb-v1"].id, "weight": 90},
        {"backendService": backends["lb-v1-canary"].id, "weight": 10}]
    assert rules[1] == {"paths": ["/v2", "/v2/*"], "service": backends["lb-v2"].id}
    assert g.inputs("lb-cert")["managed"] == {"domains": ["api.x.io"]}


def test_bad_routes():
    svc = object()
    with pytest.raises(ValueError, match="unique"):
        LoadBalancerArgs(service=svc, api_routes=[ApiRoute("v1"), ApiRoute("v1")])  # type: ignore[arg-type]


@pytest.mark.parametrize(("page", "args", "kind"), [("gcp-service.md", ServiceArgs, "backend:gcp:Service"),
                                                     ("gcp-load-balancer.md", LoadBalancerArgs,
                                                      "backend:gcp:LoadBalancer")])
def test_docs_example_runs_and_documents_every_argument(page, args, kind):
    g = run_callable(doc_example(DOCS / page))
    assert g.by_type(kind) and g.by_type("gcp:cloudrunv2/service:Service")
    assert not documents_every_argument(DOCS / page, args)


def test_secret_resources_are_referenced_by_id():
    def prog():
        net = Network("net", NetworkArgs(region="us-central1"))
        secret = gcp.secretmanager.Secret("tok", secret_id="tok", replication={"auto": {}})
        Service("svc", ServiceArgs(network=net, region="us-central1", secrets={"TOKEN": secret}))
    g = run_callable(prog)
    assert g.inputs("svc-reads-tok")["secretId"] == g.by_name("tok").id
