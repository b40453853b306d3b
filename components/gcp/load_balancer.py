"""LoadBalancer: the global external Application Load Balancer in front of the public Cloud Run services, with
Cloud Armor, routes per service (path prefixes and/or host names), weighted canaries, a Google-managed certificate
and an HTTP-to-HTTPS redirect."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.base import ApiRoute
from components.gcp.common import child_opts, gcp_labels, remember_deps
from components.gcp.service import Service


@dataclass(frozen=True)
class ServiceRoute:
    """One route of a public service: a path prefix (``/v1`` matches ``/v1`` and ``/v1/*``) and/or a host name,
    to its own backend service (a serverless NEG), split with a ``<name>-canary`` backend (the service's revision
    tagged ``canary``) when ``canary_weight`` > 0."""

    service: Service
    """The Cloud Run service (``ingress="load-balancer"``)."""
    name: str
    """Backend key, unique on the load balancer (lowercase letters, digits, ``-``), e.g. ``api-v1``."""
    path: str | None = None
    """Path prefix; None or ``/``: every path of the host (the host's default)."""
    host: str | None = None
    """Host name; None: any host. A host's own routes win over any-host routes on the same path."""
    weight: int = 100
    """Weight of the primary backend when a canary is present (0-1000)."""
    canary_weight: int = 0
    """Weight of the canary backend; 0 creates none."""

    @property
    def key(self) -> tuple[str, str]:
        """What the URL map matches on: (host or ``*``, path or ``/``)."""
        return (self.host or "*", self.path or "/")

WAF_RULES: tuple[str, ...] = (
    "sqli-v33-stable", "xss-v33-stable", "lfi-v33-stable", "rfi-v33-stable", "rce-v33-stable",
    "methodenforcement-v33-stable", "scannerdetection-v33-stable", "protocolattack-v33-stable",
    "sessionfixation-v33-stable", "cve-canary",
)
"""Cloud Armor preconfigured WAF rules (OWASP CRS 3.3, and ``cve-canary``: the Log4j CVE-2021-44228/45046
signatures, issue 14), each a deny(403) rule at sensitivity ``waf_sensitivity``."""

CANARY_TAG = "canary"
"""Cloud Run revision tag that canary backends route to (the deployer tags the canary revision)."""
STATIC_PATH = "/static/*"
"""Paths served from the static backend bucket (``static_bucket``) on every host."""


@dataclass
class LoadBalancerArgs:
    """Arguments of :class:`LoadBalancer`. Defaults: one ``v1`` route, Cloud Armor on, full request logging."""

    service: Service | None = None
    """Shorthand for one service: the Cloud Run service behind every ``api_routes`` entry. Refused with
    ``routes``."""
    api_routes: Sequence[ApiRoute] = (ApiRoute("v1"),)
    """With ``service``: versioned API routes ``/<name>`` (backend key ``<name>``)."""
    routes: Sequence[ServiceRoute] = ()
    """The routes of every public service (a serverless NEG per backend, in the service's region); unmatched
    requests answer 404 at the load balancer."""
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
    cdn: bool = False
    """Cloud CDN (issue 14): on every backend service honouring the API's Cache-Control (USE_ORIGIN_HEADERS, so
    nothing without it is cached) and on the static backend bucket (CACHE_ALL_STATIC)."""
    static_bucket: pulumi.Input[str] | None = None
    """Name of a bucket served under ``/static/*`` through a backend bucket (with ``cdn``); None: no static path."""
    static_ttl_seconds: int = 86_400
    """Default TTL of static objects without Cache-Control."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels on the address, forwarding rules and security policy."""
    iap_paths: Sequence[str] = ()
    """Path patterns (e.g. ``/admin/*``) that only people admitted by Identity-Aware Proxy reach: they route to
    a backend service of their own (``protected``, same Cloud Run service) with IAP on; who is admitted is
    ``Identity.require_sign_in`` (``roles/iap.httpsResourceAccessor``)."""

    def __post_init__(self) -> None:
        if self.service is not None and self.routes:
            raise ValueError("LoadBalancerArgs: give routes or service (with api_routes), not both")
        if self.service is not None:
            self.routes = [ServiceRoute(self.service, r.name, path=f"/{r.name}", weight=r.weight,
                                        canary_weight=r.canary_weight) for r in self.api_routes]
        names = [r.name for r in self.routes]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"LoadBalancerArgs.routes: need unique names, got {names}")
        keys = [r.key for r in self.routes]
        if len(set(keys)) != len(keys):
            raise ValueError("LoadBalancerArgs.routes: two routes match the same host and path")
        for r in self.routes:
            if not re.fullmatch(r"[a-z]([-a-z0-9]{0,40}[a-z0-9])?", r.name):
                raise ValueError(f"LoadBalancerArgs.routes[{r.name!r}]: lowercase letters, digits and -, 42 at most")
            if not (0 <= r.weight <= 1000 and 0 <= r.canary_weight <= 1000) or r.weight + r.canary_weight == 0:
                raise ValueError(f"LoadBalancerArgs.routes[{r.name}]: weights are 0..1000, not both 0")
        if not 1 <= self.waf_sensitivity <= 4:
            raise ValueError(f"LoadBalancerArgs.waf_sensitivity {self.waf_sensitivity}: use 1 to 4")
        taken = {p for r in self.routes if r.path for p in (r.path, f"{r.path}/*")}
        for path in self.iap_paths:
            if not path.startswith("/") or path in taken:
                raise ValueError(f"LoadBalancerArgs.iap_paths: {path!r} must be a path other than a route's own")
        if self.static_bucket is not None and STATIC_PATH in taken | set(self.iap_paths):
            raise ValueError(f"LoadBalancerArgs.static_bucket: {STATIC_PATH} is also a route's path")
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
        for route in args.routes:
            self._backend(name, route.name, route.service, None)
            if route.canary_weight > 0:
                self._backend(name, f"{route.name}-canary", route.service, CANARY_TAG)
        if args.iap_paths:  # a backend of its own, with IAP on, for the first route's service
            self._backend(name, "protected", args.routes[0].service, None, iap=True)

        # -- HTTPS URL map: a path matcher per host; a path prefix is /p and /p/*; 404 otherwise ----------------
        first = self.backends[args.routes[0].name]
        self.backend_bucket = None
        if args.static_bucket is not None:  # issue 14: static files from the bucket, cached at the edge
            self.backend_bucket = gcp.compute.BackendBucket(
                f"{name}-static", bucket_name=args.static_bucket, enable_cdn=args.cdn,
                cdn_policy={"cache_mode": "CACHE_ALL_STATIC", "default_ttl": args.static_ttl_seconds,
                            "client_ttl": args.static_ttl_seconds, "max_ttl": 31_536_000,
                            "serve_while_stale": 86_400} if args.cdn else None,
                compression_mode="AUTOMATIC", description=f"{name}: static files", opts=child_opts(self))
        not_found = {"weighted_backend_services": [{"backend_service": first.id, "weight": 100}],
                     "fault_injection_policy": {"abort": {"http_status": 404, "percentage": 100}}}
        host_rules, matchers = self._matchers(args.routes, not_found)
        self.url_map = gcp.compute.URLMap(
            f"{name}-https", description=f"{name}: service routes; anything else 404",
            default_route_action=not_found, host_rules=host_rules, path_matchers=matchers,
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
        self.version_urls = {
            r.name: pulumi.Output.concat(f"https://{r.host}" if r.host else self.url, f"{(r.path or '/').rstrip('/')}/")
            for r in args.routes}
        self.register_outputs({
            "url": self.url,
            "version_urls": self.version_urls,
            "ip_address": self.ip_address,
            "url_map_name": self.url_map.name,
            "backend_services": {k: b.name for k, b in self.backends.items()},
        })

    # ---------------------------------------------------------------------------------------------------------
    def _target(self, route: ServiceRoute) -> dict[str, Any]:
        """Where a route sends: its backend, or weighted with its canary backend."""
        if route.canary_weight > 0:
            return {"route_action": {"weighted_backend_services": [
                {"backend_service": self.backends[route.name].id, "weight": route.weight},
                {"backend_service": self.backends[f"{route.name}-canary"].id, "weight": route.canary_weight},
            ]}}
        return {"service": self.backends[route.name].id}

    def _matchers(self, routes: Sequence[ServiceRoute], not_found: dict[str, Any]
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Host rules and path matchers: one matcher per host (``*`` for routes without a host). A named host's
        matcher also carries the any-host routes on paths it does not route itself, so adding a host route never
        hides them; a host's default is its path-less route, else the any-host default, else 404."""
        by_host: dict[str, list[ServiceRoute]] = {}
        for r in routes:
            by_host.setdefault(r.host or "*", []).append(r)
        anyhost = by_host.get("*", [])
        host_rules: list[dict[str, Any]] = []
        matchers: list[dict[str, Any]] = []
        for i, host in enumerate(sorted(by_host, key=lambda h: (h == "*", h))):
            own = by_host[host]
            own_paths = {r.key[1] for r in own}
            rules = own if host == "*" else [*own, *(r for r in anyhost if r.key[1] not in own_paths)]
            default = next((r for r in rules if r.key[1] == "/"), None)
            path_rules = []
            for r in sorted((r for r in rules if r.key[1] != "/"), key=lambda r: r.key[1]):
                target = self._target(r)
                path_rules.append({"paths": [r.path, f"{r.path}/*"], **target})
            if self.args.iap_paths:  # the longest matching path wins, so /v1/admin/* beats /v1/*
                path_rules.append({"paths": list(self.args.iap_paths), "service": self.backends["protected"].id})
            if self.backend_bucket is not None:  # issue 14: /static/* from the bucket on every host
                path_rules.append({"paths": [STATIC_PATH], "service": self.backend_bucket.id})
            matcher_name = "api" if host == "*" else f"host-{i}"
            matcher: dict[str, Any] = {"name": matcher_name, "path_rules": path_rules}
            if default is None:
                matcher["default_route_action"] = not_found
            elif default.canary_weight > 0:
                matcher["default_route_action"] = self._target(default)["route_action"]
            else:
                matcher["default_service"] = self.backends[default.name].id
            if not path_rules:
                del matcher["path_rules"]
            matchers.append(matcher)
            host_rules.append({"hosts": [host], "path_matcher": matcher_name})
        return host_rules, matchers

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
            # Cloud CDN cannot front a backend with IAP on (the protected paths are never cached).
            enable_cdn=(self.args.cdn and not iap) or None,
            cdn_policy={"cache_mode": "USE_ORIGIN_HEADERS", "cache_key_policy": {
                "include_host": True, "include_protocol": True, "include_query_string": True}}
            if self.args.cdn and not iap else None,
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
