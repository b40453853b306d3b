"""LoadBalancer: HTTPS only, 80/443 from the internet only, versioned routes, canary weights, logs, WAF, cert."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import doc_example, documents_every_argument

from components.aws.load_balancer import (
    TLS_POLICY,
    WAF_MANAGED_RULE_GROUPS,
    ApiRoute,
    LoadBalancer,
    LoadBalancerArgs,
)
from components.aws.network import Network

DOC = Path(__file__).resolve().parent.parent / "docs" / "components" / "load_balancer.md"

TG = "aws:lb/targetGroup:TargetGroup"
RULE = "aws:lb/listenerRule:ListenerRule"
LISTENER = "aws:lb/listener:Listener"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
RECORD = "aws:route53/record:Record"
CERT = "aws:acm/certificate:Certificate"
PROD = {
    "api_routes": [ApiRoute("v1", weight=90, canary_weight=10)], "waf": True, "waf_rate_limit": 500,
    "access_log_retention_days": 30, "deletion_protection": True, "protect": True, "zone_name": "example.com",
    "domain_name": "api.example.com",
}
"""One program with every production option (canary, WAF, protection, a Route 53 zone)."""


_CACHE: dict[str, tuple] = {}


def alb(run_program, **kw):
    """Network + load balancer; graphs are cached per arguments (tests only read them)."""
    key = repr(sorted(kw.items()))
    if key not in _CACHE:
        _CACHE[key] = _alb(run_program, **kw)
    return _CACHE[key]


def _alb(run_program, **kw):
    holder = {}

    def prog():
        network = Network("net")
        holder["net"] = network
        holder["lb"] = LoadBalancer("web", LoadBalancerArgs(network=network, **kw))

    return run_program(prog), holder["lb"]


def own(g, type_):
    comp = g.by_name("web", "backend:aws:LoadBalancer")
    return [r for r in g.by_type(type_) if r.parent == comp.urn]


def test_defaults(run_program):
    g, lb = alb(run_program)
    comp = g.by_name("web", "backend:aws:LoadBalancer")
    children = g.children(comp)
    assert children and all(r.parent == comp.urn for r in children)
    lbr = g.by_name("web-alb", "aws:lb/loadBalancer:LoadBalancer").inputs
    assert lbr["internal"] is False and lbr["loadBalancerType"] == "application"
    assert lbr["dropInvalidHeaderFields"] is True and lbr["enableDeletionProtection"] is False
    public = {s.id for s in g.by_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["tier"] == "public"}
    assert set(lbr["subnets"]) == public
    assert lbr["accessLogs"] == {"enabled": True, "bucket": g.by_name("web-access-logs", "aws:s3/bucket:Bucket").id,
                                 "prefix": "web"}
    assert list(lb.target_groups) == ["v1"]
    assert g.by_type("aws:wafv2/webAcl:WebAcl") == []
    assert len(own(g, RULE)) == 1
    # No zone, no certificate ARN: a certificate for <name>.example.com, validation waits without records.
    assert g.by_name("web-cert", CERT).inputs["domainName"] == "web.example.com"
    assert g.by_type(RECORD) == []
    validation = g.by_name("web-cert", "aws:acm/certificateValidation:CertificateValidation")
    assert "validationRecordFqdns" not in validation.inputs


def test_security_group_admits_only_80_and_443_from_the_internet_and_has_no_egress(run_program):
    g, _ = alb(run_program)
    sg = g.by_name("web-alb", "aws:ec2/securityGroup:SecurityGroup")
    rules = sorted((r.inputs["fromPort"], r.inputs["toPort"], r.inputs.get("cidrIpv4") or r.inputs.get("cidrIpv6"))
                   for r in g.by_type(INGRESS) if r.inputs["securityGroupId"] == sg.id)
    assert rules == [(80, 80, "0.0.0.0/0"), (80, 80, "::/0"), (443, 443, "0.0.0.0/0"), (443, 443, "::/0")]
    assert not [r for r in g.by_type(EGRESS) if r.inputs["securityGroupId"] == sg.id]


def test_http_only_redirects_and_https_uses_tls13_with_a_404_default(run_program):
    g, _ = alb(run_program)
    http = g.by_name("web-http", LISTENER).inputs
    assert http["port"] == 80 and http["protocol"] == "HTTP"
    assert http["defaultActions"] == [{"type": "redirect",
                                       "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]
    https = g.by_name("web-https", LISTENER).inputs
    assert https["port"] == 443 and https["protocol"] == "HTTPS" and https["sslPolicy"] == TLS_POLICY
    assert TLS_POLICY == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    [action] = https["defaultActions"]
    assert action["type"] == "fixed-response" and action["fixedResponse"]["statusCode"] == "404"
    validation = g.by_name("web-cert", "aws:acm/certificateValidation:CertificateValidation")
    assert https["certificateArn"] == validation.inputs["certificateArn"]


def test_versioned_routes_each_get_their_own_target_group(run_program):
    g, lb = alb(run_program, api_routes=[ApiRoute("v1"), ApiRoute("v2")], target_port=9000, health_check_path="/up")
    assert list(lb.target_groups) == ["v1", "v2"]
    for i, version in enumerate(("v1", "v2"), start=1):
        tg = g.by_name(f"web-{version}", TG)
        assert tg.inputs["targetType"] == "ip" and tg.inputs["port"] == 9000 and tg.inputs["protocol"] == "HTTP"
        assert tg.inputs["healthCheck"]["path"] == "/up" and tg.inputs["healthCheck"]["matcher"] == "200-399"
        rule = g.by_name(f"web-{version}", RULE).inputs
        assert rule["priority"] == 10 * i
        assert rule["listenerArn"] == g.by_name("web-https", LISTENER).id
        assert rule["conditions"] == [{"pathPattern": {"values": [f"/{version}", f"/{version}/*"]}}]
        assert rule["actions"] == [{"type": "forward", "targetGroupArn": tg.outputs["arn"]}]


@pytest.mark.parametrize("canary", [0, 10])
def test_canary_weight_adds_a_weighted_target_group(run_program, canary):
    g, lb = alb(run_program, **PROD) if canary else alb(run_program)
    rule = g.by_name("web-v1", RULE).inputs
    if canary:
        assert list(lb.target_groups) == ["v1", "v1-canary"]
        primary, canary_tg = g.by_name("web-v1", TG), g.by_name("web-v1-canary", TG)
        assert rule["actions"] == [{"type": "forward", "forward": {"targetGroups": [
            {"arn": primary.outputs["arn"], "weight": 90}, {"arn": canary_tg.outputs["arn"], "weight": 10}]}}]
    else:
        assert list(lb.target_groups) == ["v1"] and len(own(g, TG)) == 1
        assert "forward" not in rule["actions"][0]


@pytest.mark.parametrize("waf", [False, True])
def test_waf_is_optional_and_uses_managed_groups_and_a_rate_limit(run_program, waf):
    g, _ = alb(run_program, **PROD) if waf else alb(run_program)
    acls = g.by_type("aws:wafv2/webAcl:WebAcl")
    assocs = g.by_type("aws:wafv2/webAclAssociation:WebAclAssociation")
    assert (len(acls), len(assocs)) == ((1, 1) if waf else (0, 0))
    if not waf:
        return
    acl = acls[0].inputs
    assert acl["scope"] == "REGIONAL" and acl["defaultAction"] == {"allow": {}}
    rate = acl["rules"][0]
    assert rate["action"] == {"block": {}}
    assert rate["statement"] == {"rateBasedStatement": {"limit": 500, "aggregateKeyType": "IP"}}
    managed = [r["statement"]["managedRuleGroupStatement"]["name"] for r in acl["rules"][1:]]
    assert managed == list(WAF_MANAGED_RULE_GROUPS) == [
        "AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAmazonIpReputationList"]
    assert all(r["overrideAction"] == {"none": {}} for r in acl["rules"][1:])
    assert assocs[0].inputs == {"resourceArn": g.by_name("web-alb", "aws:lb/loadBalancer:LoadBalancer").outputs["arn"],
                                "webAclArn": acls[0].outputs["arn"]}


def test_access_log_bucket_is_private_encrypted_tls_only_and_expires(run_program):
    g, _ = alb(run_program, **PROD)
    bucket = g.by_name("web-access-logs", "aws:s3/bucket:Bucket")

    def companion(kind):
        [r] = [r for r in g.by_type(f"aws:s3/{kind}") if r.inputs["bucket"] == bucket.id]
        return r.inputs

    pab = companion("bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(pab[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                        "restrictPublicBuckets"))
    assert companion("bucketOwnershipControls:BucketOwnershipControls")["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"}
    sse = companion("bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    life = companion("bucketLifecycleConfiguration:BucketLifecycleConfiguration")["rules"][0]
    assert life["status"] == "Enabled" and life["expiration"] == {"days": 30}
    policy = json.loads(companion("bucketPolicy:BucketPolicy")["policy"])
    deny, *allows = policy["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    objects = f"{bucket.outputs['arn']}/web/AWSLogs/123456789012/*"
    assert [(a["Principal"], a["Action"], a["Resource"]) for a in allows] == [
        ({"AWS": "arn:aws:iam::127311923021:root"}, "s3:PutObject", objects),
        ({"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}, "s3:PutObject", objects)]
    lb = g.by_name("web-alb", "aws:lb/loadBalancer:LoadBalancer")
    assert g.by_name("web-access-logs", "aws:s3/bucketPolicy:BucketPolicy").urn in lb.options["dependsOn"]
    assert lb.inputs["accessLogs"]["prefix"] == "web"


def test_prod_options_protect_the_alb_and_its_log_bucket(run_program):
    g, _ = alb(run_program, **PROD)
    assert g.by_name("web-alb", "aws:lb/loadBalancer:LoadBalancer").inputs["enableDeletionProtection"] is True
    assert g.by_name("web-access-logs", "aws:s3/bucket:Bucket").options["protect"] is True


def test_zone_validates_the_certificate_and_aliases_the_domain(run_program):
    g, _ = alb(run_program, **PROD)
    cert = g.by_name("web-cert", CERT).inputs
    assert cert["domainName"] == "api.example.com" and cert["validationMethod"] == "DNS"
    validation_record = g.by_name("web-cert-validation", RECORD)
    assert validation_record.inputs["zoneId"] == "Z0123456789EXAMPLE"
    validation = g.by_name("web-cert", "aws:acm/certificateValidation:CertificateValidation").inputs
    assert len(validation["validationRecordFqdns"]) == 1
    alias = g.by_name("web-alias", RECORD).inputs
    assert alias["name"] == "api.example.com" and alias["type"] == "A"
    assert alias["aliases"][0]["evaluateTargetHealth"] is True


def test_a_given_certificate_arn_is_used_as_is(run_program):
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    g, lb = alb(run_program, certificate_arn=arn)
    assert g.by_type(CERT) == [] and lb.certificate is None
    assert g.by_name("web-https", LISTENER).inputs["certificateArn"] == arn


def test_urls(run_program):
    holder = {}

    def prog():
        import pulumi

        lb = LoadBalancer("web", LoadBalancerArgs(network=Network("net"), domain_name="api.example.com",
                                                  api_routes=[ApiRoute("v1"), ApiRoute("v2")]))
        holder["lb"] = lb
        pulumi.export("url", lb.url)
        pulumi.export("version_urls", lb.version_urls)

    g = run_program(prog)
    assert g.outputs["url"] == "https://api.example.com"
    assert g.outputs["version_urls"] == {"v1": "https://api.example.com/v1/", "v2": "https://api.example.com/v2/"}


@pytest.mark.parametrize(("kw", "message"), [
    ({"api_routes": [ApiRoute("v1"), ApiRoute("v1")]}, "duplicate"),
    ({"zone_name": "example.com"}, "needs domain_name"),
])
def test_bad_arguments_fail_early(kw, message):
    with pytest.raises(ValueError, match=message):
        LoadBalancerArgs(network=None, **kw)  # type: ignore[arg-type]


def test_doc_example_runs_and_documents_every_argument(run_program):
    g = run_program(doc_example(DOC))
    assert g.outputs["url"] == "https://api.example.com"
    assert len(g.by_type("aws:wafv2/webAcl:WebAcl")) == 1 and len(g.by_type(TG)) == 3
    assert not documents_every_argument(DOC, LoadBalancerArgs)
