"""Cdn: a CloudFront distribution in front of the load balancer (the API) and the assets bucket (static files).

The load balancer stays the origin of every API path, reachable only from CloudFront (the managed
origin-facing prefix list on its security group and a generated secret header its listener rules require, see
:class:`components.aws.load_balancer.CdnOrigin`); ``/static/*`` comes from the bucket through origin access
control (the bucket policy and the bucket's key admit this distribution's ARN only). Viewers: HTTPS only
(HTTP redirected), TLS 1.2 minimum (``TLSv1.2_2021``). Caching: the API honours the origin's Cache-Control
with nothing cached by default (min and default TTL 0); static files are cached long. Access logs: v2 logging
(a CloudWatch log delivery, so the log bucket keeps ACLs off, unlike legacy standard logging), and a web ACL
of scope CLOUDFRONT (created in us-east-1, as CloudFront requires) filters at the edge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from .bucket import Bucket, BucketArgs
from .common import child_opts, tag_set
from .kms import EncryptionKey, EncryptionKeyArgs
from .load_balancer import waf_logging, waf_rules

ORIGIN_HEADER = "X-Origin-Verify"
"""The secret header CloudFront adds to origin requests; the load balancer's rules require it."""
MANAGED_ORIGIN_REQUEST_ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3"
"""CloudFront's managed ``Managed-AllViewer`` origin request policy: every viewer header (Host included, so the
load balancer's certificate matches), cookie and query string reaches the API."""
MANAGED_ORIGIN_REQUEST_CORS_S3 = "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf"
"""``Managed-CORS-S3Origin``: the CORS headers an S3 origin needs."""
STATIC_PATH = "/static/*"
"""Paths served from the assets bucket."""


@dataclass
class CdnArgs:
    """Arguments of :class:`Cdn`."""

    origin_domain: pulumi.Input[str]
    """The load balancer's DNS name (the API origin, over HTTPS)."""
    origin_secret: pulumi.Input[str]
    """Value of :data:`ORIGIN_HEADER` (a generated secret)."""
    aliases: Sequence[str] = ()
    """Hostnames viewers use (the API's domain); empty: the ``*.cloudfront.net`` name only."""
    certificate_arn: pulumi.Input[str] | None = None
    """ACM certificate in us-east-1 covering ``aliases`` (required with aliases)."""
    zone_id: pulumi.Input[str] | None = None
    """Route 53 zone in which to alias each of ``aliases`` to the distribution."""
    static_bucket_domain: pulumi.Input[str] | None = None
    """Regional domain name of the assets bucket; ``None``: no static behaviour."""
    static_ttl_seconds: int = 86_400
    """Default TTL of static files without Cache-Control (maximum: a year)."""
    price_class: str = "PriceClass_100"
    """Edge locations served."""
    web_acl: bool = True
    """Create a CLOUDFRONT-scope web ACL (rate limit and managed rules)."""
    waf_log_kms_key_arn: pulumi.Input[str] | None = None
    """A KMS key in us-east-1 for the edge web ACL's log group (CloudWatch Logs there may use it); None: one is
    created there (a stack outside us-east-1 has no key in that region)."""
    waf_log_retention_days: int = 365
    """Days the edge web ACL's request logs are kept."""
    rate_limit_per_5min: int = 2000
    """Requests per client IP per 5 minutes before the edge web ACL blocks it."""
    log_expire_days: int = 90
    """Days before access-log objects expire."""
    protect: bool = False
    """Pulumi ``protect`` on the log bucket (prod)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""

    def __post_init__(self) -> None:
        if self.aliases and self.certificate_arn is None:
            raise ValueError("CdnArgs: aliases need certificate_arn (an ACM certificate in us-east-1)")
        if not 60 <= self.static_ttl_seconds <= 31_536_000:
            raise ValueError(f"CdnArgs.static_ttl_seconds {self.static_ttl_seconds}: use 60 to 31536000")
        if self.price_class not in ("PriceClass_100", "PriceClass_200", "PriceClass_All"):
            raise ValueError(f"CdnArgs.price_class {self.price_class!r}: PriceClass_100, PriceClass_200 or "
                             "PriceClass_All")


class Cdn(pulumi.ComponentResource):
    """A CloudFront distribution: API behaviour to the load balancer, ``/static/*`` from the bucket (OAC)."""

    distribution: aws.cloudfront.Distribution
    arn: pulumi.Output[str]
    domain_name: pulumi.Output[str]
    web_acl: aws.wafv2.WebAcl | None
    log_bucket: Bucket

    def __init__(self, name: str, args: CdnArgs, opts: pulumi.ResourceOptions | None = None,
                 us_east_1: aws.Provider | None = None) -> None:
        super().__init__("backend:aws:Cdn", name, None, opts)
        tags = args.tags
        self.log_bucket = self._log_bucket(name, args)

        api_cache = aws.cloudfront.CachePolicy(
            f"{name}-api", name=f"{name}-api", comment="API: honour Cache-Control, cache nothing by default",
            min_ttl=0, default_ttl=0, max_ttl=31_536_000,
            parameters_in_cache_key_and_forwarded_to_origin={
                "enable_accept_encoding_gzip": True, "enable_accept_encoding_brotli": True,
                "headers_config": {"header_behavior": "none"}, "cookies_config": {"cookie_behavior": "none"},
                "query_strings_config": {"query_string_behavior": "all"}},
            opts=child_opts(self))
        origins = [{
            "origin_id": "api", "domain_name": args.origin_domain,
            "custom_origin_config": {"http_port": 80, "https_port": 443, "origin_protocol_policy": "https-only",
                                     "origin_ssl_protocols": ["TLSv1.2"], "origin_read_timeout": 60,
                                     "origin_keepalive_timeout": 5},
            "custom_headers": [{"name": ORIGIN_HEADER, "value": args.origin_secret}],
        }]
        ordered: list[dict[str, object]] = []
        if args.static_bucket_domain is not None:
            static_cache = aws.cloudfront.CachePolicy(
                f"{name}-static", name=f"{name}-static", comment="Static files: long TTLs",
                min_ttl=1, default_ttl=args.static_ttl_seconds, max_ttl=31_536_000,
                parameters_in_cache_key_and_forwarded_to_origin={
                    "enable_accept_encoding_gzip": True, "enable_accept_encoding_brotli": True,
                    "headers_config": {"header_behavior": "none"}, "cookies_config": {"cookie_behavior": "none"},
                    "query_strings_config": {"query_string_behavior": "none"}},
                opts=child_opts(self))
            oac = aws.cloudfront.OriginAccessControl(
                f"{name}-static", name=f"{name}-static", description=f"{name}: signed requests to the assets bucket",
                origin_access_control_origin_type="s3", signing_behavior="always", signing_protocol="sigv4",
                opts=child_opts(self))
            origins.append({"origin_id": "static", "domain_name": args.static_bucket_domain,
                            "origin_access_control_id": oac.id})
            ordered.append({
                "path_pattern": STATIC_PATH, "target_origin_id": "static",
                "viewer_protocol_policy": "redirect-to-https",
                "allowed_methods": ["GET", "HEAD", "OPTIONS"], "cached_methods": ["GET", "HEAD"], "compress": True,
                "cache_policy_id": static_cache.id, "origin_request_policy_id": MANAGED_ORIGIN_REQUEST_CORS_S3})

        self.web_acl = self._waf(name, args, us_east_1) if args.web_acl else None
        viewer_certificate: dict[str, object]
        if args.aliases:
            viewer_certificate = {"acm_certificate_arn": args.certificate_arn, "ssl_support_method": "sni-only",
                                  "minimum_protocol_version": "TLSv1.2_2021"}
        else:
            viewer_certificate = {"cloudfront_default_certificate": True, "minimum_protocol_version": "TLSv1.2_2021"}
        self.distribution = aws.cloudfront.Distribution(
            f"{name}-cdn", enabled=True, comment=f"{name}: API and static files", aliases=list(args.aliases) or None,
            http_version="http2and3", is_ipv6_enabled=True, price_class=args.price_class, origins=origins,
            default_cache_behavior={
                "target_origin_id": "api", "viewer_protocol_policy": "redirect-to-https",
                "allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
                "cached_methods": ["GET", "HEAD"], "compress": True, "cache_policy_id": api_cache.id,
                "origin_request_policy_id": MANAGED_ORIGIN_REQUEST_ALL_VIEWER},
            ordered_cache_behaviors=ordered or None,
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate=viewer_certificate,
            web_acl_id=self.web_acl.arn if self.web_acl is not None else None,
            tags=tag_set(tags, f"{name}-cdn"), opts=child_opts(self))
        self._log_delivery(name, us_east_1, tags)
        self.arn = self.distribution.arn
        self.domain_name = self.distribution.domain_name
        if args.zone_id is not None:
            for alias in args.aliases:
                aws.route53.Record(
                    f"{name}-{alias}", zone_id=args.zone_id, name=alias, type="A",
                    aliases=[{"name": self.distribution.domain_name, "zone_id": self.distribution.hosted_zone_id,
                              "evaluate_target_health": False}], opts=child_opts(self))
        self.register_outputs({"arn": self.arn, "domain_name": self.domain_name})

    def _log_bucket(self, name: str, args: CdnArgs) -> Bucket:
        """The access-log bucket of CloudFront's v2 (vended) logging: private, ACLs off, SSE-S3, TLS-only,
        expiring; only this account's log delivery writes to it."""
        return Bucket(f"{name}-cdn-logs", BucketArgs(
            encryption="s3", log_delivery=["vended"], expire_days=args.log_expire_days, noncurrent_version_days=7,
            abort_incomplete_upload_days=1, protect=args.protect, tags=args.tags), opts=child_opts(self))

    def _log_delivery(self, name: str, us_east_1: aws.Provider | None, tags: Mapping[str, str]) -> None:
        """CloudFront v2 access logs (delivered through CloudWatch Logs, created in us-east-1) into the bucket."""
        opts = child_opts(self)
        if us_east_1 is not None:
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(provider=us_east_1))
        source = aws.cloudwatch.LogDeliverySource(f"{name}-cdn-logs", name=f"{name}-cdn-logs", log_type="ACCESS_LOGS",
                                                  resource_arn=self.distribution.arn,
                                                  tags=tag_set(tags, f"{name}-cdn-logs"), opts=opts)
        dest = aws.cloudwatch.LogDeliveryDestination(
            f"{name}-cdn-logs", name=f"{name}-cdn-logs", output_format="parquet",
            delivery_destination_configuration={"destination_resource_arn": pulumi.Output.concat(
                self.log_bucket.arn, f"/{name}")}, tags=tag_set(tags, f"{name}-cdn-logs"), opts=opts)
        aws.cloudwatch.LogDelivery(f"{name}-cdn-logs", delivery_source_name=source.name,
                                   delivery_destination_arn=dest.arn, tags=tag_set(tags, f"{name}-cdn-logs"),
                                   opts=opts)

    def _waf(self, name: str, args: CdnArgs, us_east_1: aws.Provider | None) -> aws.wafv2.WebAcl:
        rules, visibility = waf_rules(f"{name}-edge", args.rate_limit_per_5min)  # the regional ACL's rule set
        opts = child_opts(self)
        if us_east_1 is not None:
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(provider=us_east_1))
        acl = aws.wafv2.WebAcl(
            f"{name}-edge-waf", scope="CLOUDFRONT", default_action={"allow": {}}, rules=rules,
            description=f"Managed rules and a per-IP rate limit at the edge of {name}",
            visibility_config=visibility, tags=tag_set(args.tags, f"{name}-edge-waf"), opts=opts)
        # Its request logs (Checkov CKV2_AWS_31): a CLOUDFRONT web ACL logs to us-east-1 only, so the log group and,
        # for a stack elsewhere, its key live there; authorization and cookie headers redacted.
        key_arn = args.waf_log_kms_key_arn
        if key_arn is None:
            key_arn = EncryptionKey(f"{name}-edge-waf-logs", EncryptionKeyArgs(
                description=f"{name}: edge web ACL logs (us-east-1)", service_principals=["logs"], tags=args.tags,
                protect=args.protect), opts=opts).arn
        waf_logging(f"{name}-edge", acl, kms_key_arn=key_arn, retention_days=args.waf_log_retention_days,
                    tags=args.tags, opts=opts)
        return acl
