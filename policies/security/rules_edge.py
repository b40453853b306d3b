"""CloudFront distributions: HTTPS to viewers and origins, TLS 1.2, access to S3 origins only through OAC/OAI,
access logs, WAF and a default root object.

References: Checkov (CKV_AWS_34, CKV_AWS_86, CKV_AWS_68, CKV_AWS_174, CKV2_AWS_46/47), AWS FSBP (CloudFront.1, .3,
.5, .6, .9, .10, .13).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.common import Context, Res, ResourceIndex, as_list, is_true, is_unknown, resource_rule, stack_rule

EXPOSURE = "public-exposure"
IN_TRANSIT = "encryption-in-transit"
LOGGING = "logging"
HARDENING = "hardening"

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
LOG_SOURCE = "aws:cloudwatch/logDeliverySource:LogDeliverySource"


def _behaviors(r: Res) -> list[tuple[str, Mapping[str, Any]]]:
    out: list[tuple[str, Mapping[str, Any]]] = []
    default = r.get("defaultCacheBehavior")
    if isinstance(default, Mapping):
        out.append(("the default cache behavior", default))
    for b in as_list(r.get("orderedCacheBehaviors")):
        if isinstance(b, Mapping):
            out.append((f"cache behavior {b.get('pathPattern')!r}", b))
    return out


def _origins(r: Res) -> list[Mapping[str, Any]]:
    return [o for o in as_list(r.get("origins")) if isinstance(o, Mapping)]


@resource_rule(
    "cloudfront-viewer-https", category=IN_TRANSIT, severity="high", types=(DISTRIBUTION,),
    description="CloudFront cache behaviors make viewers use HTTPS (viewer_protocol_policy redirect-to-https or "
                "https-only, never allow-all; FSBP CloudFront.3, Checkov CKV_AWS_34).",
    remediation="Set viewer_protocol_policy=\"redirect-to-https\" on the default and every ordered cache behavior.",
)
def cf_viewer_https(r: Res, ctx: Context) -> Iterator[str]:
    for label, b in _behaviors(r):
        v = b.get("viewerProtocolPolicy")
        if not is_unknown(v) and v == "allow-all":
            yield f"{label} allows plain HTTP (viewerProtocolPolicy allow-all)"


OLD_VIEWER_TLS = ("SSLv3", "TLSv1", "TLSv1_2016", "TLSv1.1_2016")


@resource_rule(
    "cloudfront-min-tls12", category=IN_TRANSIT, severity="high", types=(DISTRIBUTION,),
    description="Distributions with a custom certificate require TLS 1.2 or newer from viewers "
                "(minimum_protocol_version TLSv1.2_2019 or later; Checkov CKV_AWS_174).",
    remediation="Set viewer_certificate={acm_certificate_arn: ..., ssl_support_method: \"sni-only\", "
                "minimum_protocol_version: \"TLSv1.2_2021\"}.",
)
def cf_min_tls(r: Res, ctx: Context) -> Iterator[str]:
    cert = r.get("viewerCertificate")
    if not isinstance(cert, Mapping):
        return
    v = cert.get("minimumProtocolVersion")
    if is_unknown(v):
        return
    if v in OLD_VIEWER_TLS:
        yield f"viewerCertificate.minimumProtocolVersion is {v}: viewers may use TLS older than 1.2"
        return
    if is_true(cert.get("cloudfrontDefaultCertificate")) or not (cert.get("acmCertificateArn")
                                                                 or cert.get("iamCertificateId")):
        return  # the *.cloudfront.net certificate: its TLS floor cannot be changed
    if not v:
        yield f"viewerCertificate.minimumProtocolVersion is {v or 'unset (TLSv1)'}: viewers may use TLS older than 1.2"


@resource_rule(
    "cloudfront-origin-tls", category=IN_TRANSIT, severity="high", types=(DISTRIBUTION,),
    description="CloudFront reaches custom origins over HTTPS with TLS 1.2 (origin_protocol_policy https-only, or "
                "match-viewer with HTTPS-only viewers; no SSLv3/TLSv1/TLSv1.1 in origin_ssl_protocols; FSBP "
                "CloudFront.9, CloudFront.10).",
    remediation="Set custom_origin_config={origin_protocol_policy: \"https-only\", origin_ssl_protocols: "
                "[\"TLSv1.2\"], ...}.",
)
def cf_origin_tls(r: Res, ctx: Context) -> Iterator[str]:
    plain_viewers = any(b.get("viewerProtocolPolicy") == "allow-all" for _, b in _behaviors(r))
    for o in _origins(r):
        cfg = o.get("customOriginConfig")
        if not isinstance(cfg, Mapping):
            continue
        oid = o.get("originId") or o.get("domainName")
        policy = cfg.get("originProtocolPolicy")
        if not is_unknown(policy) and (policy == "http-only" or (policy == "match-viewer" and plain_viewers)):
            yield f"origin {oid!r} uses originProtocolPolicy {policy}: traffic to the origin may be plain HTTP"
        protocols = cfg.get("originSslProtocols")
        if not is_unknown(protocols):
            old = [p for p in as_list(protocols) if p in ("SSLv3", "TLSv1", "TLSv1.1")]
            if old:
                yield f"origin {oid!r} allows {', '.join(old)} (originSslProtocols)"


def _is_s3_rest_origin(domain: Any) -> bool:
    return (isinstance(domain, str) and ".s3." in f".{domain}" and domain.endswith(".amazonaws.com")
            and "s3-website" not in domain)


@resource_rule(
    "cloudfront-s3-origin-access", category=EXPOSURE, severity="high", types=(DISTRIBUTION,),
    description="S3 bucket origins are read through origin access control (or a legacy origin access identity), so "
                "the bucket stays private (FSBP CloudFront.13, Checkov CKV2_AWS_46).",
    remediation="Create an aws.cloudfront.OriginAccessControl (origin type s3, signing always, sigv4), set "
                "origin_access_control_id on the origin, and allow cloudfront.amazonaws.com with an "
                "AWS:SourceArn condition in the bucket policy.",
)
def cf_s3_origin_access(r: Res, ctx: Context) -> Iterator[str]:
    for o in _origins(r):
        domain = o.get("domainName")
        if is_unknown(domain) or not _is_s3_rest_origin(domain):
            continue
        s3cfg = o.get("s3OriginConfig")
        oac = o.get("originAccessControlId")
        oai = s3cfg.get("originAccessIdentity") if isinstance(s3cfg, Mapping) else None
        if is_unknown(oac) or is_unknown(oai):
            continue
        if not oac and not oai:
            yield (f"S3 origin {o.get('originId') or domain!r} has no origin access control: the bucket must be "
                   "public for CloudFront to read it")


@stack_rule(
    "cloudfront-access-logs", category=LOGGING, severity="medium",
    description="CloudFront distributions write access logs (logging_config to S3, or a CloudWatch log delivery "
                "source for the distribution; FSBP CloudFront.5, Checkov CKV_AWS_86).",
    remediation="Set logging_config={bucket: <log bucket>.bucket_domain_name, include_cookies: False} (the bucket "
                "needs ACLs enabled for the log delivery), or create an aws.cloudwatch.LogDeliverySource with "
                "resource_arn=distribution.arn and log_type ACCESS_LOGS.",
)
def cf_access_logs(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    sources = index.of_type(LOG_SOURCE)
    for d in index.of_type(DISTRIBUTION):
        if is_unknown(d.get("loggingConfig")) or d.has("loggingConfig.bucket"):
            continue
        if any(d in index.referenced(s, "resourceArn", (DISTRIBUTION,)) for s in sources):
            continue
        yield d, "the distribution writes no access logs (no loggingConfig, no log delivery source)"


@resource_rule(
    "cloudfront-waf", category=EXPOSURE, severity="low", enforcement="advisory", types=(DISTRIBUTION,),
    description="CloudFront distributions have a WAFv2 web ACL (scope CLOUDFRONT) associated (FSBP CloudFront.6, "
                "Checkov CKV_AWS_68).",
    remediation="Create an aws.wafv2.WebAcl with scope CLOUDFRONT in us-east-1 (managed rule groups, rate limit) "
                "and set web_acl_id=web_acl.arn.",
)
def cf_waf(r: Res, ctx: Context) -> Iterator[str]:
    if r.known("webAclId") and not r.has("webAclId"):
        yield "webAclId is not set: no WAF in front of the distribution"


@resource_rule(
    "cloudfront-default-root-object", category=HARDENING, severity="low", enforcement="advisory",
    types=(DISTRIBUTION,),
    description="CloudFront distributions set a default root object, so a request for / does not list or expose "
                "the origin's root (FSBP CloudFront.1).",
    remediation="Set default_root_object=\"index.html\".",
)
def cf_root_object(r: Res, ctx: Context) -> Iterator[str]:
    if r.known("defaultRootObject") and not r.has("defaultRootObject"):
        yield "defaultRootObject is not set"


RULES = [cf_viewer_https, cf_min_tls, cf_origin_tls, cf_s3_origin_access, cf_access_logs, cf_waf, cf_root_object]

RATIONALE = {
    "cloudfront-min-tls12": "Mandatory for custom certificates; the *.cloudfront.net certificate's floor cannot be "
                            "changed, so it is not judged.",
    "cloudfront-access-logs": "Mandatory: no access logs is a logging defect (FSBP CloudFront.5).",
    "cloudfront-waf": "Advisory: defence in depth.",
    "cloudfront-default-root-object": "Advisory: FSBP CloudFront.1 is a low-severity hygiene control.",
}
for _r in RULES:
    _r.rationale = RATIONALE.get(_r.name, _r.rationale)
