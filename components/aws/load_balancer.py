"""The public entry point: an HTTPS-only ALB with versioned API routes, access logs and an optional WAF."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.bucket import Bucket, BucketArgs
from components.aws.common import child_opts, tag_set
from components.aws.network import Network
from components.base import ApiRoute

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
"""TLS 1.3 and 1.2 only, forward-secret ciphers."""

WAF_MANAGED_RULE_GROUPS: tuple[str, ...] = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)
"""AWS managed rule groups of the web ACL, in priority order (after the rate limit)."""

INTERNET = ("0.0.0.0/0", "::/0")

PRIORITY_BAND = 1600
"""Priorities each specificity band of :func:`rule_priorities` holds (18 bands x 1600 + 1 <= 50000)."""
_MAX_DEPTH = 5


def _band(host: str, path: str) -> int:
    """Specificity band of a rule (0 = evaluated first): exact hosts, then wildcard hosts, then any host; within
    each, deeper paths first (``/v1/admin`` before ``/v1`` before ``/``)."""
    host_rank = 2 if host == "*" else (1 if host.startswith("*.") else 0)
    depth = min(len([p for p in path.split("/") if p]), _MAX_DEPTH)
    return host_rank * (_MAX_DEPTH + 1) + (_MAX_DEPTH - depth)


def rule_priorities(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Listener-rule priorities for routes keyed ``(host or "*", path or "/")``, derived from the keys alone.

    A key goes into its specificity band (see ``_band``: more specific rules are evaluated first, whatever the
    order of the settings) at ``band * PRIORITY_BAND + 1 + sha256(host path) % PRIORITY_BAND``. Adding or
    removing a route therefore leaves every other route's priority unchanged, except in the rare case of two keys
    hashing to the same slot of a band: then the key that sorts first keeps the slot and the other takes the next
    free one (deterministic, so every run of the same settings gives the same priorities).
    """
    import hashlib

    out: dict[tuple[str, str], int] = {}
    taken: set[int] = set()
    for key in sorted(set(keys)):
        host, path = key
        band = _band(host, path)
        slot = int.from_bytes(hashlib.sha256(f"{host} {path}".encode()).digest()[:8], "big") % PRIORITY_BAND
        for step in range(PRIORITY_BAND):
            prio = band * PRIORITY_BAND + 1 + (slot + step) % PRIORITY_BAND
            if prio not in taken:
                break
        else:
            raise ValueError(f"more than {PRIORITY_BAND} listener rules in one specificity band")
        taken.add(prio)
        out[key] = prio
    return out


def waf_rules(name: str, rate_limit: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A web ACL's rules and its own visibility config: a per-IP rate limit (``rate_limit`` requests per 5 minutes)
    first, then :data:`WAF_MANAGED_RULE_GROUPS`, each with CloudWatch metrics named ``<name>-...``."""
    def visibility(metric: str) -> dict[str, Any]:
        return {"cloudwatch_metrics_enabled": True, "sampled_requests_enabled": True, "metric_name": metric}

    rules: list[dict[str, Any]] = [{
        "name": "rate-limit-per-ip", "priority": 0, "action": {"block": {}},
        "statement": {"rate_based_statement": {"limit": rate_limit, "aggregate_key_type": "IP"}},
        "visibility_config": visibility(f"{name}-rate-limit")}]
    for i, group in enumerate(WAF_MANAGED_RULE_GROUPS, start=1):
        rules.append({"name": group, "priority": i, "override_action": {"none": {}},
                      "statement": {"managed_rule_group_statement": {"vendor_name": "AWS", "name": group}},
                      "visibility_config": visibility(f"{name}-{group}")})
    return rules, visibility(f"{name}-waf")


def waf_logging(name: str, acl: aws.wafv2.WebAcl, *, kms_key_arn: pulumi.Input[str], retention_days: int,
                tags: Mapping[str, str], opts: pulumi.ResourceOptions) -> aws.wafv2.WebAclLoggingConfiguration:
    """Log a web ACL's requests (blocked and allowed) to an encrypted log group ``aws-waf-logs-<name>`` (the
    prefix WAF requires), resources ``<name>-waf-logs``; ``authorization`` and ``cookie`` headers redacted."""
    group = aws.cloudwatch.LogGroup(
        f"{name}-waf-logs", name=f"aws-waf-logs-{name}", retention_in_days=retention_days, kms_key_id=kms_key_arn,
        tags=tag_set(tags, f"{name}-waf-logs"), opts=opts)
    return aws.wafv2.WebAclLoggingConfiguration(
        f"{name}-waf-logs", resource_arn=acl.arn, log_destination_configs=[group.arn],
        redacted_fields=[{"single_header": {"name": "authorization"}}, {"single_header": {"name": "cookie"}}],
        opts=opts)


@dataclass
class CdnOrigin:
    """The load balancer as a CDN origin only (issue 14, ``stacks/edge.py``): HTTPS admitted from the CDN's
    managed prefix list alone, and every route also requires the secret header the CDN adds."""

    prefix_list_id: pulumi.Input[str]
    """The managed prefix list of the CDN's origin-facing addresses
    (``com.amazonaws.global.cloudfront.origin-facing``)."""
    header_name: str
    """Name of the secret header the CDN sends to the origin."""
    header_value: pulumi.Input[str]
    """Its value: a generated secret (never plain text in code or config)."""


@dataclass
class LoadBalancerArgs:
    """Arguments of :class:`LoadBalancer`. Defaults: one ``v1`` route, no WAF, no deletion protection."""

    network: Network
    """The network; the ALB goes in its public subnets."""
    target_port: int = 8080
    """Port the targets (containers) listen on; every target group uses it."""
    health_check_path: str = "/healthz"
    """HTTP path the target groups probe; 200-399 is healthy."""
    api_routes: Sequence[ApiRoute] = (ApiRoute("v1"),)
    """Versioned API routes; rule priorities follow this order (10, 20, ...)."""
    domain_name: str | None = None
    """Public hostname of the certificate and the URL. None: ``<name>.example.com`` when a certificate is
    requested, or the ALB's DNS name when ``certificate_arn`` is given."""
    zone_name: str | None = None
    """Route 53 public hosted zone (looked up by name): validates the certificate by DNS and gets an alias
    record for ``domain_name``."""
    certificate_arn: pulumi.Input[str] | None = None
    """An existing ACM certificate for the HTTPS listener; no certificate is requested then."""
    certificate_validation_timeout: str = "45m"
    """How long ``pulumi up`` waits for a requested certificate to be issued (no zone: you add the CNAME)."""
    deletion_protection: bool = False
    """ALB deletion protection (set in prod)."""
    protect: bool = False
    """Pulumi ``protect`` on the access-log bucket (set in prod)."""
    access_log_retention_days: int = 90
    """Days before access-log objects expire (noncurrent versions: 7 days)."""
    force_destroy_logs: bool = False
    """Let ``pulumi destroy`` empty the access-log bucket (dev convenience; keep False elsewhere)."""
    cdn_origin: CdnOrigin | None = None
    """Admit only the CDN (see :class:`CdnOrigin`); its DNS alias then belongs to the CDN, not to the load
    balancer. ``None``: HTTP/HTTPS from the internet."""
    waf: bool = False
    """Associate a WAF web ACL (AWS managed Common, KnownBadInputs, IP reputation, and a per-IP rate limit)."""
    waf_rate_limit: int = 2000
    """Requests per 5 minutes from one IP before the WAF blocks it."""
    idle_timeout: int = 60
    """Connection idle timeout, seconds."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource that takes them."""

    def __post_init__(self) -> None:
        names = [r.name for r in self.api_routes]
        if len(set(names)) != len(names):
            raise ValueError(f"LoadBalancerArgs.api_routes: duplicate names in {names}")
        if len(self.api_routes) > 49:
            raise ValueError("LoadBalancerArgs.api_routes: at most 49 routes")
        if self.zone_name and not self.domain_name:
            raise ValueError("LoadBalancerArgs.zone_name needs domain_name (the hostname to certify and alias)")


class LoadBalancer(pulumi.ComponentResource):
    """An internet-facing ALB: HTTP only redirects, HTTPS (TLS 1.2+) routes ``/vN/*`` to target groups and
    answers 404 otherwise; access logs to a locked-down bucket; optional WAF."""

    load_balancer: aws.lb.LoadBalancer
    security_group: aws.ec2.SecurityGroup
    target_groups: dict[str, aws.lb.TargetGroup]
    https_listener: aws.lb.Listener
    http_listener: aws.lb.Listener
    listener_rules: dict[str, aws.lb.ListenerRule]
    log_bucket: Bucket
    certificate: aws.acm.Certificate | None
    web_acl: aws.wafv2.WebAcl | None
    url: pulumi.Output[str]
    version_urls: dict[str, pulumi.Output[str]]
    dns_name: pulumi.Output[str]
    arn_suffix: pulumi.Output[str]

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:aws:LoadBalancer", name, None, opts)
        self._name = name
        self.args = args
        tags = args.tags
        net = args.network

        # -- security group: 80/443 from the internet; egress only as services are wired (allow_from) -------
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-alb", vpc_id=net.vpc_id, description=f"ALB {name}: HTTP and HTTPS from the internet",
            tags=tag_set(tags, f"{name}-alb"), opts=child_opts(self))
        origin = args.cdn_origin
        if origin is not None:  # issue 14: only CloudFront's origin-facing addresses, HTTPS only
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-alb-443-cdn", security_group_id=self.security_group.id, ip_protocol="tcp", from_port=443,
                to_port=443, prefix_list_id=origin.prefix_list_id, description="HTTPS from the CDN only",
                tags=tag_set(tags, f"{name}-alb-443-cdn"), opts=child_opts(self))
        for port in () if origin is not None else (80, 443):
            for cidr in INTERNET:
                family = "v6" if ":" in cidr else "v4"
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-alb-{port}-{family}", security_group_id=self.security_group.id, ip_protocol="tcp",
                    from_port=port, to_port=port, description=f"{'HTTPS' if port == 443 else 'HTTP'} from anywhere",
                    cidr_ipv4=cidr if family == "v4" else None, cidr_ipv6=cidr if family == "v6" else None,
                    tags=tag_set(tags, f"{name}-alb-{port}-{family}"), opts=child_opts(self))

        # -- access logs: a private, owner-enforced, TLS-only Bucket with SSE-S3 (what ALB log delivery supports)
        self.log_bucket = self._log_bucket(name, args)

        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-alb", load_balancer_type="application", internal=False, subnets=net.public_subnet_ids,
            security_groups=[self.security_group.id], drop_invalid_header_fields=True,
            enable_deletion_protection=args.deletion_protection, idle_timeout=args.idle_timeout,
            enable_http2=True, desync_mitigation_mode="defensive", ip_address_type="ipv4",
            access_logs={"bucket": self.log_bucket.name, "enabled": True, "prefix": name},
            tags=tag_set(tags, f"{name}-alb"),
            opts=child_opts(self, depends_on=[self.log_bucket.policy]))
        self.dns_name = self.load_balancer.dns_name
        self.arn_suffix = self.load_balancer.arn_suffix

        # -- certificate ---------------------------------------------------------------------------------------
        self.certificate = None
        self.certificate_validation_records: pulumi.Output[list[dict[str, str]]] | None = None
        domain = args.domain_name
        zone_id: pulumi.Output[str] | None = None
        if args.zone_name:
            zone = aws.route53.get_zone_output(name=args.zone_name, private_zone=False,
                                               opts=pulumi.InvokeOutputOptions(parent=self))
            zone_id = zone.zone_id
        if args.certificate_arn is not None:
            certificate_arn: pulumi.Input[str] = args.certificate_arn
        else:
            domain = domain or f"{name}.example.com"
            certificate_arn = self._certificate(name, domain, zone_id, args)

        # -- listeners -----------------------------------------------------------------------------------------
        self.http_listener = aws.lb.Listener(
            f"{name}-http", load_balancer_arn=self.load_balancer.arn, port=80, protocol="HTTP",
            default_actions=[{"type": "redirect",
                              "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"}}],
            tags=tag_set(tags, f"{name}-http"), opts=child_opts(self))
        self.https_listener = aws.lb.Listener(
            f"{name}-https", load_balancer_arn=self.load_balancer.arn, port=443, protocol="HTTPS",
            ssl_policy=TLS_POLICY, certificate_arn=certificate_arn,
            default_actions=[{"type": "fixed-response", "fixed_response": {
                "content_type": "application/json", "message_body": '{"error":"not found"}', "status_code": "404"}}],
            tags=tag_set(tags, f"{name}-https"), opts=child_opts(self))

        # -- versioned API routes ------------------------------------------------------------------------------
        self.target_groups = {}
        self.listener_rules = {}
        for i, route in enumerate(args.api_routes):
            primary = self._target_group(name, route.name, args)
            self.target_groups[route.name] = primary
            if route.canary_weight > 0:
                canary = self._target_group(name, f"{route.name}-canary", args)
                self.target_groups[f"{route.name}-canary"] = canary
                forward = {"type": "forward", "forward": {"target_groups": [
                    {"arn": primary.arn, "weight": route.weight},
                    {"arn": canary.arn, "weight": route.canary_weight},
                ]}}
            else:
                forward = {"type": "forward", "target_group_arn": primary.arn}
            conditions: list[dict[str, Any]] = [{"path_pattern": {"values": [f"/{route.name}", f"/{route.name}/*"]}}]
            if origin is not None:  # issue 14: requests that did not come through the CDN get the 404 default
                conditions.append({"http_header": {"http_header_name": origin.header_name,
                                                   "values": [origin.header_value]}})
            self.listener_rules[route.name] = aws.lb.ListenerRule(
                f"{name}-{route.name}", listener_arn=self.https_listener.arn, priority=10 * (i + 1),
                conditions=conditions,
                actions=[forward], tags=tag_set(tags, f"{name}-{route.name}"), opts=child_opts(self))

        # -- WAF -----------------------------------------------------------------------------------------------
        self.web_acl = self._waf(name, args) if args.waf else None

        # -- DNS alias and URLs --------------------------------------------------------------------------------
        self.zone_id = zone_id
        self.domain = domain
        self.certificate_arn = certificate_arn
        if zone_id is not None and domain and origin is None:
            aws.route53.Record(
                f"{name}-alias", zone_id=zone_id, name=domain, type="A",
                aliases=[{"name": self.load_balancer.dns_name, "zone_id": self.load_balancer.zone_id,
                          "evaluate_target_health": True}],
                opts=child_opts(self))
        host: pulumi.Input[str] = domain if domain else self.load_balancer.dns_name
        self.url = pulumi.Output.concat("https://", host)
        self.version_urls = {r.name: pulumi.Output.concat(self.url, f"/{r.name}/") for r in args.api_routes}

        self.register_outputs({
            "url": self.url,
            "version_urls": self.version_urls,
            "dns_name": self.dns_name,
            "load_balancer_arn": self.load_balancer.arn,
            "security_group_id": self.security_group.id,
            "target_group_arns": {k: tg.arn for k, tg in self.target_groups.items()},
            "log_bucket": self.log_bucket.name,
        })

    # ---------------------------------------------------------------------------------------------------------
    def _log_bucket(self, name: str, args: LoadBalancerArgs) -> Bucket:
        return Bucket(
            f"{name}-access-logs",
            BucketArgs(encryption="s3", log_delivery=["alb"], alb_log_prefix=name,
                       expire_days=args.access_log_retention_days, noncurrent_version_days=7,
                       abort_incomplete_upload_days=1, force_destroy=args.force_destroy_logs, tags=args.tags,
                       protect=args.protect),
            opts=child_opts(self))

    def _certificate(self, name: str, domain: str, zone_id: pulumi.Output[str] | None,
                     args: LoadBalancerArgs) -> pulumi.Output[str]:
        cert = aws.acm.Certificate(
            f"{name}-cert", domain_name=domain, validation_method="DNS", key_algorithm="EC_prime256v1",
            tags=tag_set(args.tags, domain), opts=child_opts(self))
        self.certificate = cert
        option = cert.domain_validation_options[0]
        self.certificate_validation_records = cert.domain_validation_options.apply(
            lambda opts: [{"name": o.resource_record_name, "type": o.resource_record_type,
                           "value": o.resource_record_value} for o in (opts or [])])
        fqdns: list[pulumi.Input[str]] | None = None
        if zone_id is not None:
            record = aws.route53.Record(
                f"{name}-cert-validation", zone_id=zone_id, name=option.resource_record_name,
                type=option.resource_record_type, records=[option.resource_record_value], ttl=60,
                allow_overwrite=True, opts=child_opts(self))
            fqdns = [record.fqdn]
        # Without a zone, this waits until someone creates the CNAME (see certificate_validation_records).
        validation = aws.acm.CertificateValidation(
            f"{name}-cert", certificate_arn=cert.arn, validation_record_fqdns=fqdns,
            opts=child_opts(self, custom_timeouts=pulumi.CustomTimeouts(create=args.certificate_validation_timeout)))
        return validation.certificate_arn

    def _target_group(self, name: str, key: str, args: LoadBalancerArgs) -> aws.lb.TargetGroup:
        return aws.lb.TargetGroup(
            f"{name}-{key}", vpc_id=self.args.network.vpc_id, target_type="ip", port=args.target_port,
            protocol="HTTP", protocol_version="HTTP1", deregistration_delay=30,
            health_check={"enabled": True, "path": args.health_check_path, "protocol": "HTTP", "port": "traffic-port",
                          "matcher": "200-399", "interval": 15, "timeout": 5, "healthy_threshold": 2,
                          "unhealthy_threshold": 3},
            tags=tag_set(args.tags, f"{name}-{key}"), opts=child_opts(self))

    def _waf(self, name: str, args: LoadBalancerArgs) -> aws.wafv2.WebAcl:
        rules, visibility = waf_rules(name, args.waf_rate_limit)
        acl = aws.wafv2.WebAcl(
            f"{name}-waf", scope="REGIONAL", default_action={"allow": {}}, rules=rules,
            description=f"Managed rules and a per-IP rate limit in front of {name}",
            visibility_config=visibility, tags=tag_set(args.tags, f"{name}-waf"),
            opts=child_opts(self))
        aws.wafv2.WebAclAssociation(f"{name}-waf", resource_arn=self.load_balancer.arn, web_acl_arn=acl.arn,
                                    opts=child_opts(self))
        return acl

    def log_waf(self, *, kms_key_arn: pulumi.Input[str], retention_days: int,
                tags: dict[str, str] | None = None) -> aws.wafv2.WebAclLoggingConfiguration | None:
        """Log the web ACL's requests (blocked and allowed) to an encrypted log group named ``aws-waf-logs-*``
        (the prefix WAF requires); ``authorization`` and ``cookie`` headers are redacted. None without a WAF."""
        if self.web_acl is None:
            return None
        return waf_logging(self._name, self.web_acl, kms_key_arn=kms_key_arn, retention_days=retention_days,
                           tags=tags or {}, opts=child_opts(self))

    def origin_conditions(self) -> list[dict[str, Any]]:
        """Conditions every listener rule on this load balancer adds to its own (issue 14): with a CDN origin,
        the secret header the CDN sends, so a request that did not come through the CDN gets the 404 default.
        Empty without ``cdn_origin``. Web services and sign-in rules call it for the rules they add."""
        origin = self.args.cdn_origin
        if origin is None:
            return []
        return [{"http_header": {"http_header_name": origin.header_name, "values": [origin.header_value]}}]

    # -- wiring ----------------------------------------------------------------------------------------------
    def allow_to(self, peer: aws.ec2.SecurityGroup, port: int, name: str) -> aws.vpc.SecurityGroupEgressRule:
        """Open the ALB's one egress path to ``peer`` on ``port`` (called by ``Service.allow_from``)."""
        return aws.vpc.SecurityGroupEgressRule(
            f"{self.pulumi_resource_name}-to-{name}", security_group_id=self.security_group.id, ip_protocol="tcp",
            from_port=port, to_port=port, referenced_security_group_id=peer.id,
            description=f"To {name} on {port}",
            tags=tag_set(self.args.tags, f"{self.pulumi_resource_name}-to-{name}"), opts=child_opts(self))
