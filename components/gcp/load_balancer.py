"""LoadBalancer: the global external Application Load Balancer in front of the Cloud Run service, with Cloud
Armor, versioned API routes, weighted canaries, a Google-managed certificate and an HTTP-to-HTTPS redirect."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.base import ApiRoute
from components.gcp.common import child_opts, gcp_labels, remember_deps
from components.gcp.service import Service

WAF_RULES: tuple[str, ...] = (
    "sqli-v33-stable", "xss-v33-stable", "lfi-v33-stable", "rfi-v33-stable", "rce-v33-stable",
    "methodenforcement-v33-stable", "scannerdetection-v33-stable", "protocolattack-v33-stable",
    "sessionfixation-v33-stable",
)
"""Cloud Armor preconfigured WAF rules (OWASP CRS 3.3), each a deny(403) rule at sensitivity ``waf_sensitivity``."""

CANARY_TAG = "canary"
"""Cloud Run revision tag that canary backends route to (the deployer tags the canary revision)."""


@dataclass
class LoadBalancerArgs:
    """Arguments of :class:`LoadBalancer`. Defaults: one ``v1`` route, Cloud Armor on, full request logging."""

    service: Service
    """The Cloud Run service behind every route (a serverless NEG per backend, in the service's region)."""
    api_routes: Sequence[ApiRoute] = (ApiRoute("v1"),)
    """Versioned API routes; unmatched paths answer 404 at the load balancer."""
    domain_name: str | None = None
    """Hostname of the Google-managed certificate and the URL (point its A record at ``ip_address``). None: the
    reserved IP's ``<ip>.sslip.io`` name, which resolves without a DNS zone so the certificate can still be
    issued (dev)."""
    security_policy: bool = True
    """Attach a Cloud Armor policy: preconfigured WAF rules and a per-IP rate limit."""
    waf_rules: Sequence[str] = WAF_RULES
    """Preconfigured WAF rule sets to deny on."""
    waf_sensitivity: int = 1
    """Sensitivity of the WAF rules (1 = fewest false positives, 4 = strictest)."""
    rate_limit_per_minute: int = 600
    """Requests per minute from one client IP before Cloud Armor answers 429."""
    log_sample_rate: float = 1.0
    """Fraction of requests the backend services log (0 to 1)."""
    timeout_seconds: int = 60
    """Backend request timeout."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels on the address, forwarding rules and security policy."""
    iap_paths: Sequence[str] = ()
    """Path patterns (e.g. ``/admin/*``) that only people admitted by Identity-Aware Proxy reach: they route to
    a backend service of their own (``protected``, same Cloud Run service) with IAP on; who is admitted is
    ``Identity.require_sign_in`` (``roles/iap.httpsResourceAccessor``)."""

    def __post_init__(self) -> None:
        names = [r.name for r in self.api_routes]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"LoadBalancerArgs.api_routes: need unique names, got {names}")
        for r in self.api_routes:
            if not (0 <= r.weight <= 1000 and 0 <= r.canary_weight <= 1000):
                raise ValueError(f"LoadBalancerArgs.api_routes[{r.name}]: weights are 0..1000")
        if not 1 <= self.waf_sensitivity <= 4:
            raise ValueError(f"LoadBalancerArgs.waf_sensitivity {self.waf_sensitivity}: use 1 to 4")
        taken = {p for r in self.api_routes for p in (f"/{r.name}", f"/{r.name}/*")}
        for path in self.iap_paths:
            if not path.startswith("/") or path in taken:
                raise ValueError(f"LoadBalancerArgs.iap_paths: {path!r} must be a path other than a route's own")
        if not 0 <= self.log_sample_rate <= 1:
            raise ValueError(f"LoadBalancerArgs.log_sample_rate {self.log_sample_rate}: use 0 to 1")


class LoadBalancer(pulumi.ComponentResource):
    """A global external Application Load Balancer (``EXTERNAL_MANAGED``): HTTPS (TLS 1.2+, ``MODERN``) with a
    Google-managed certificate routes ``/vN/*`` to per-version backend services (serverless NEGs to Cloud Run,
    Cloud Armor, logging); HTTP only redirects to HTTPS."""

    address: gcp.compute.GlobalAddress
    security_policy: gcp.compute.SecurityPolicy | None
    negs: dict[str, gcp.compute.RegionNetworkEndpointGroup]
    backends: dict[str, gcp.compute.BackendService]
    url_map: gcp.compute.URLMap
    redirect_map: gcp.compute.URLMap
    certificate: gcp.compute.ManagedSslCertificate
    ssl_policy: gcp.compute.SSLPolicy
    https_proxy: gcp.compute.TargetHttpsProxy
    http_proxy: gcp.compute.TargetHttpProxy
    https_rule: gcp.compute.GlobalForwardingRule
    http_rule: gcp.compute.GlobalForwardingRule
    ip_address: pulumi.Output[str]
    domain: pulumi.Output[str]
    url: pulumi.Output[str]
    version_urls: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:gcp:LoadBalancer", name, None, opts)
        remember_deps(self, opts)
        self.args = args
        labels = gcp_labels(args.labels)
        svc = args.service

        self.address = gcp.compute.GlobalAddress(
            f"{name}-ip", address_type="EXTERNAL", ip_version="IPV4", labels=labels,
            description=f"{name}: public IPv4 of the load balancer", opts=child_opts(self))
        self.ip_address = self.address.address
        self.domain = pulumi.Output.from_input(args.domain_name) if args.domain_name else \
            pulumi.Output.concat(self.address.address, ".sslip.io")

        self.security_policy = self._security_policy(name, args, labels) if args.security_policy else None

        # -- backends: a serverless NEG and a backend service per route (and per canary) ------------------------
        self.negs = {}
        self.backends = {}
        for route in args.api_routes:
            self._backend(name, route.name, svc, None)
            if route.canary_weight > 0:
                self._backend(name, f"{route.name}-canary", svc, CANARY_TAG)
        if args.iap_paths:
            self._backend(name, "protected", svc, None, iap=True)

        # -- HTTPS URL map: /vN and /vN/* per route, weighted when a canary is set; 404 otherwise ---------------
        first = self.backends[args.api_routes[0].name]
        path_rules: list[dict[str, Any]] = []
        for route in args.api_routes:
            paths = [f"/{route.name}", f"/{route.name}/*"]
            if route.canary_weight > 0:
                path_rules.append({"paths": paths, "route_action": {"weighted_backend_services": [
                    {"backend_service": self.backends[route.name].id, "weight": route.weight},
                    {"backend_service": self.backends[f"{route.name}-canary"].id, "weight": route.canary_weight},
                ]}})
            else:
                path_rules.append({"paths": paths, "service": self.backends[route.name].id})
        if args.iap_paths:  # the longest matching path wins, so /v1/admin/* beats /v1/*
            path_rules.append({"paths": list(args.iap_paths), "service": self.backends["protected"].id})
        not_found = {"weighted_backend_services": [{"backend_service": first.id, "weight": 100}],
                     "fault_injection_policy": {"abort": {"http_status": 404, "percentage": 100}}}
        self.url_map = gcp.compute.URLMap(
            f"{name}-https", description=f"{name}: versioned API routes; anything else 404",
            default_route_action=not_found,
            host_rules=[{"hosts": ["*"], "path_matcher": "api"}],
            path_matchers=[{"name": "api", "default_route_action": not_found, "path_rules": path_rules}],
            opts=child_opts(self))

        # -- certificate, TLS policy, HTTPS proxy and rule ------------------------------------------------------
        self.certificate = gcp.compute.ManagedSslCertificate(
            f"{name}-cert", type="MANAGED", managed={"domains": [self.domain]},
            description=f"{name}: Google-managed certificate", opts=child_opts(self))
        self.ssl_policy = gcp.compute.SSLPolicy(
            f"{name}-tls", profile="MODERN", min_tls_version="TLS_1_2",
            description="TLS 1.2+ with modern cipher suites", opts=child_opts(self))
        self.https_proxy = gcp.compute.TargetHttpsProxy(
            f"{name}-https", url_map=self.url_map.id, ssl_certificates=[self.certificate.id],
            ssl_policy=self.ssl_policy.id, quic_override="NONE", opts=child_opts(self))
        self.https_rule = gcp.compute.GlobalForwardingRule(
            f"{name}-https", ip_address=self.address.id, ip_protocol="TCP", port_range="443",
            load_balancing_scheme="EXTERNAL_MANAGED", target=self.https_proxy.id, labels=labels,
            opts=child_opts(self))

        # -- HTTP: a URL map that only redirects to HTTPS -------------------------------------------------------
        self.redirect_map = gcp.compute.URLMap(
            f"{name}-http-redirect", description=f"{name}: HTTP to HTTPS",
            default_url_redirect={"https_redirect": True, "strip_query": False,
                                  "redirect_response_code": "MOVED_PERMANENTLY_DEFAULT"},
            opts=child_opts(self))
        self.http_proxy = gcp.compute.TargetHttpProxy(
            f"{name}-http", url_map=self.redirect_map.id, opts=child_opts(self))
        self.http_rule = gcp.compute.GlobalForwardingRule(
            f"{name}-http", ip_address=self.address.id, ip_protocol="TCP", port_range="80",
            load_balancing_scheme="EXTERNAL_MANAGED", target=self.http_proxy.id, labels=labels,
            opts=child_opts(self))

        self.url = pulumi.Output.concat("https://", self.domain)
        self.version_urls = {r.name: pulumi.Output.concat(self.url, f"/{r.name}/") for r in args.api_routes}
        self.register_outputs({
            "url": self.url,
            "version_urls": self.version_urls,
            "ip_address": self.ip_address,
            "url_map_name": self.url_map.name,
            "backend_services": {k: b.name for k, b in self.backends.items()},
        })

    # ---------------------------------------------------------------------------------------------------------
    def _backend(self, name: str, key: str, svc: Service, tag: str | None, *, iap: bool = False) -> None:
        cloud_run: dict[str, Any] = {"service": svc.name}
        if tag:
            cloud_run["tag"] = tag
        neg = gcp.compute.RegionNetworkEndpointGroup(
            f"{name}-{key}", network_endpoint_type="SERVERLESS", region=svc.region, cloud_run=cloud_run,
            description=f"{name} {key}: Cloud Run {'revision tagged ' + tag if tag else 'service'}",
            opts=child_opts(self))
        self.negs[key] = neg
        self.backends[key] = gcp.compute.BackendService(
            f"{name}-{key}", load_balancing_scheme="EXTERNAL_MANAGED", protocol="HTTPS",
            backends=[{"group": neg.id}], timeout_sec=self.args.timeout_seconds,
            security_policy=self.security_policy.id if self.security_policy is not None else None,
            log_config={"enable": True, "sample_rate": self.args.log_sample_rate},
            # IAP with the Google-managed OAuth client (no client id): members of the project's organization.
            iap={"enabled": True} if iap else None,
            description=f"{name} {key}", opts=child_opts(self))

    def _security_policy(self, name: str, args: LoadBalancerArgs,
                         labels: Mapping[str, str]) -> gcp.compute.SecurityPolicy:
        everyone = {"versioned_expr": "SRC_IPS_V1", "config": {"src_ip_ranges": ["*"]}}
        rules: list[dict[str, Any]] = [{
            "priority": 100,
            "description": f"Rate limit: {args.rate_limit_per_minute} requests per minute per client IP",
            "action": "throttle",
            "match": everyone,
            "rate_limit_options": {
                "conform_action": "allow", "exceed_action": "deny(429)", "enforce_on_key": "IP",
                "rate_limit_threshold": {"count": args.rate_limit_per_minute, "interval_sec": 60},
            },
        }]
        for i, rule in enumerate(args.waf_rules):
            rules.append({
                "priority": 1000 + i,
                "description": f"WAF {rule}",
                "action": "deny(403)",
                "match": {"expr": {"expression":
                                   f"evaluatePreconfiguredWaf('{rule}', {{'sensitivity': {args.waf_sensitivity}}})"}},
            })
        rules.append({"priority": 2147483647, "description": "Default: allow", "action": "allow",
                      "match": everyone})
        return gcp.compute.SecurityPolicy(
            f"{name}-armor", type="CLOUD_ARMOR", description=f"{name}: WAF and per-IP rate limit",
            rules=rules, advanced_options_config={"json_parsing": "STANDARD", "log_level": "VERBOSE"},
            labels=labels, opts=child_opts(self))
