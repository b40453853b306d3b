"""Network: a custom-mode VPC, one regional subnet, NAT per strategy, private services access and a
closed-by-default firewall."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_gcp as gcp

from components.gcp.common import RFC1918, child_opts, gcp_labels, remember_deps

NatStrategy = Literal["none", "single", "per_az"]

HEALTH_CHECK_RANGES = ("35.191.0.0/16", "130.211.0.0/22")
"""Source ranges of Google Cloud load-balancer health checks."""

SERVICE_NETWORKING = "servicenetworking.googleapis.com"


def plan_ranges(cidr: str) -> dict[str, str]:
    """Split the network CIDR: the subnet gets the first half, private services access (Cloud SQL, Memorystore
    private IPs, in Google's peered network) the second half. For 10.0.0.0/16: 10.0.0.0/17 and 10.0.128.0/17."""
    net = ipaddress.ip_network(cidr)
    first, second = net.subnets(prefixlen_diff=1)
    return {"subnet": str(first), "services": str(second)}


@dataclass
class NetworkArgs:
    """Arguments of :class:`Network`. Defaults: the cheap dev layout (no NAT, sampled flow logs)."""

    region: str
    """Region of the subnet, router and NAT."""
    cidr: str = "10.0.0.0/16"
    """Address plan, /16 to /20: the subnet takes the first half, private services access the second half."""
    nat_strategy: NatStrategy = "none"
    """Egress to the internet for VPC traffic. ``none``: no router or NAT (Cloud Run reaches the internet
    directly; only private ranges enter the VPC). ``single``: one regional Cloud NAT with automatic IPs.
    ``per_az``: GCP has no per-zone NAT (Cloud NAT is a regional, highly available service), so it maps to
    Cloud NAT with ``nat_addresses`` reserved static IPs (``MANUAL_ONLY``: stable, allow-listable egress) and
    ``min_ports_per_vm`` per endpoint with dynamic port allocation."""
    nat_addresses: int = 2
    """Static external IPs reserved for ``per_az`` NAT (the stack passes ``network.azCount``)."""
    min_ports_per_vm: int = 64
    """Cloud NAT minimum source ports per endpoint; ``per_az`` uses at least 1024 (room for bursts)."""
    flow_log_sampling: float = 0.5
    """Fraction of flows the subnet's flow logs sample (0 to 1)."""
    flow_log_interval: Literal["INTERVAL_5_SEC", "INTERVAL_30_SEC", "INTERVAL_1_MIN", "INTERVAL_5_MIN",
                               "INTERVAL_10_MIN", "INTERVAL_15_MIN"] = "INTERVAL_5_SEC"
    """Aggregation interval of flow-log entries (longer is cheaper). Flow logs go to Cloud Logging, where the
    ``_Default`` bucket's retention (Monitoring) applies."""
    service_tag: str = "backend-service"
    """Network tag of the service's VPC interfaces: the health-check rule admits and the egress baseline
    closes traffic for this tag only."""
    service_port: int = 8080
    """Port the health-check ranges may reach on the service."""
    firewall_logging: bool = True
    """Log matches of the baseline deny rules and the health-check rule (metadata included)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels on every resource that takes them (addresses)."""

    def __post_init__(self) -> None:
        net = ipaddress.ip_network(self.cidr)
        if not 16 <= net.prefixlen <= 20:
            raise ValueError(f"NetworkArgs.cidr {self.cidr!r}: use a /16 to /20 block")
        if self.nat_strategy not in ("none", "single", "per_az"):
            raise ValueError(f"NetworkArgs.nat_strategy {self.nat_strategy!r}: use none, single or per_az")
        if not 0 < self.flow_log_sampling <= 1:
            raise ValueError(f"NetworkArgs.flow_log_sampling {self.flow_log_sampling}: use (0, 1]")
        if self.nat_strategy == "per_az" and not 1 <= self.nat_addresses <= 16:
            raise ValueError(f"NetworkArgs.nat_addresses {self.nat_addresses}: use 1 to 16")


class Network(pulumi.ComponentResource):
    """A custom-mode VPC with one regional subnet (private Google access, flow logs), Cloud Router and NAT
    unless ``nat_strategy="none"``, private services access for Cloud SQL and Memorystore, and a firewall
    that denies all ingress, admits only health checks to the service tag and closes the service's egress
    into private ranges until a data store is wired (``allow_from``)."""

    vpc: gcp.compute.Network
    subnet: gcp.compute.Subnetwork
    router: gcp.compute.Router | None
    nat: gcp.compute.RouterNat | None
    nat_ips: list[gcp.compute.Address]
    services_range: gcp.compute.GlobalAddress
    services_connection: gcp.servicenetworking.Connection
    firewalls: dict[str, gcp.compute.Firewall]
    network_id: pulumi.Output[str]
    subnet_id: pulumi.Output[str]
    service_tag: str
    services_cidr: str

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:gcp:Network", name, None, opts)
        remember_deps(self, opts)
        self.args = args
        labels = gcp_labels(args.labels)
        plan = plan_ranges(args.cidr)
        self.service_tag = args.service_tag
        self.services_cidr = plan["services"]

        self.vpc = gcp.compute.Network(
            f"{name}-vpc", auto_create_subnetworks=False, routing_mode="REGIONAL",
            description=f"{name}: custom-mode VPC (backend-hosting)", opts=child_opts(self))
        self.network_id = self.vpc.id
        self.subnet = gcp.compute.Subnetwork(
            f"{name}-subnet", network=self.vpc.id, region=args.region, ip_cidr_range=plan["subnet"],
            private_ip_google_access=True, stack_type="IPV4_ONLY",
            log_config={"aggregation_interval": args.flow_log_interval, "flow_sampling": args.flow_log_sampling,
                        "metadata": "INCLUDE_ALL_METADATA"},
            opts=child_opts(self))
        self.subnet_id = self.subnet.id

        # -- NAT ---------------------------------------------------------------------------------------------
        self.router = None
        self.nat = None
        self.nat_ips = []
        if args.nat_strategy != "none":
            self.router = gcp.compute.Router(f"{name}-router", network=self.vpc.id, region=args.region,
                                             opts=child_opts(self))
            per_az = args.nat_strategy == "per_az"
            if per_az:
                self.nat_ips = [
                    gcp.compute.Address(f"{name}-nat-{i}", region=args.region, address_type="EXTERNAL",
                                        network_tier="PREMIUM", labels=labels, opts=child_opts(self))
                    for i in range(args.nat_addresses)
                ]
            self.nat = gcp.compute.RouterNat(
                f"{name}-nat", router=self.router.name, region=args.region,
                nat_ip_allocate_option="MANUAL_ONLY" if per_az else "AUTO_ONLY",
                nat_ips=[a.self_link for a in self.nat_ips] if per_az else None,
                source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
                subnetworks=[{"name": self.subnet.id, "source_ip_ranges_to_nats": ["ALL_IP_RANGES"]}],
                min_ports_per_vm=max(args.min_ports_per_vm, 1024) if per_az else args.min_ports_per_vm,
                enable_dynamic_port_allocation=per_az or None,
                max_ports_per_vm=65536 if per_az else None,
                enable_endpoint_independent_mapping=False,
                log_config={"enable": True, "filter": "ERRORS_ONLY"}, opts=child_opts(self))

        # -- private services access (Cloud SQL and Memorystore private IPs) ----------------------------------
        services = ipaddress.ip_network(plan["services"])
        self.services_range = gcp.compute.GlobalAddress(
            f"{name}-services", network=self.vpc.id, purpose="VPC_PEERING", address_type="INTERNAL",
            address=str(services.network_address), prefix_length=services.prefixlen,
            description="Private services access: Cloud SQL and Memorystore", labels=labels,
            opts=child_opts(self))
        self.services_connection = gcp.servicenetworking.Connection(
            f"{name}-services", network=self.vpc.id, service=SERVICE_NETWORKING,
            reserved_peering_ranges=[self.services_range.name], opts=child_opts(self))

        # -- firewall ------------------------------------------------------------------------------------------
        log = {"metadata": "INCLUDE_ALL_METADATA"} if args.firewall_logging else None
        self.firewalls = {
            "deny-all-ingress": gcp.compute.Firewall(
                f"{name}-deny-all-ingress", network=self.vpc.id, direction="INGRESS", priority=65534,
                denies=[{"protocol": "all"}], source_ranges=["0.0.0.0/0"], log_config=log,
                description="Baseline: no ingress from anywhere unless a higher-priority rule allows it",
                opts=child_opts(self)),
            "allow-health-checks": gcp.compute.Firewall(
                f"{name}-allow-health-checks", network=self.vpc.id, direction="INGRESS", priority=1000,
                allows=[{"protocol": "tcp", "ports": [str(args.service_port)]}],
                source_ranges=list(HEALTH_CHECK_RANGES), target_tags=[args.service_tag], log_config=log,
                description="Google load-balancer health checks to the service port, service tag only",
                opts=child_opts(self)),
            "deny-service-private-egress": gcp.compute.Firewall(
                f"{name}-deny-service-private-egress", network=self.vpc.id, direction="EGRESS", priority=65000,
                denies=[{"protocol": "all"}], destination_ranges=list(RFC1918), target_tags=[args.service_tag],
                log_config=log,
                description="Baseline: the service reaches nothing private until a data store allows it",
                opts=child_opts(self)),
        }

        self.register_outputs({
            "network_id": self.network_id,
            "network_name": self.vpc.name,
            "subnet_id": self.subnet_id,
            "subnet_cidr": plan["subnet"],
            "services_cidr": self.services_cidr,
            "service_tag": self.service_tag,
        })
