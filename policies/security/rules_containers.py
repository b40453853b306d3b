"""Kubernetes control planes: EKS (endpoint exposure, secrets encryption, control plane logs) and GKE (private
nodes, control plane access, legacy ABAC, network policy, shielded nodes, workload identity, logging and
monitoring).

References: AWS FSBP (EKS.1, EKS.3, EKS.8), Checkov (CKV_AWS_37/38/39/58, CKV_GCP_1/7/8/12/13/18/25/61/71),
CIS GKE Benchmark (5.x / 6.x controls).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from policies.common import (
    Context,
    Res,
    ResourceIndex,
    as_list,
    is_false,
    is_true,
    is_unknown,
    resource_rule,
    stack_rule,
)

from ._helpers import WORLD_CIDRS

EXPOSURE = "public-exposure"
AT_REST = "encryption-at-rest"
LOGGING = "logging"
HARDENING = "hardening"
IAM = "iam-least-privilege"

EKS = "aws:eks/cluster:Cluster"
GKE = "gcp:container/cluster:Cluster"


# -- EKS ---------------------------------------------------------------------------------------------------------
@resource_rule(
    "eks-endpoint-not-public", category=EXPOSURE, severity="high", types=(EKS,),
    description="EKS API server endpoints are private, or public only to listed CIDRs (public access is on by "
                "default and open to 0.0.0.0/0; FSBP EKS.1, Checkov CKV_AWS_38/39).",
    remediation="Set vpc_config={endpoint_private_access: True, endpoint_public_access: False} (reach the API "
                "through the VPC, a VPN or SSM), or list your office/CI CIDRs in public_access_cidrs.",
)
def eks_endpoint(r: Res, ctx: Context) -> Iterator[str]:
    public, cidrs = r.get("vpcConfig.endpointPublicAccess"), r.get("vpcConfig.publicAccessCidrs")
    if is_unknown(public) or is_unknown(cidrs) or is_false(public):
        return
    listed = [c for c in as_list(cidrs) if isinstance(c, str)]
    if not listed or any(c.strip() in WORLD_CIDRS for c in listed):
        yield "the API server endpoint is public to 0.0.0.0/0 (endpointPublicAccess with no restricting CIDRs)"


@resource_rule(
    "eks-secrets-encryption", category=AT_REST, severity="high", types=(EKS,),
    description="EKS clusters envelope-encrypt Kubernetes secrets with a customer-managed KMS key (FSBP EKS.3, "
                "Checkov CKV_AWS_58).",
    remediation="Set encryption_config={resources: [\"secrets\"], provider: {key_arn: key.arn}}.",
)
def eks_secrets(r: Res, ctx: Context) -> Iterator[str]:
    cfg = r.get("encryptionConfig")
    if is_unknown(cfg):
        return
    resources = as_list(cfg.get("resources")) if isinstance(cfg, Mapping) else []
    if "secrets" not in resources:
        yield "encryptionConfig does not cover secrets"


EKS_LOG_TYPES = ["audit"]


@resource_rule(
    "eks-control-plane-logging", category=LOGGING, severity="medium", types=(EKS,),
    description="EKS clusters send control plane logs (audit by default; requiredLogTypes) to CloudWatch Logs "
                "(FSBP EKS.8; Checkov CKV_AWS_37 asks for every type).",
    remediation="Set enabled_cluster_log_types=[\"api\", \"audit\", \"authenticator\", \"controllerManager\", "
                "\"scheduler\"].",
    config={"requiredLogTypes": {"type": "array", "items": {"type": "string"}, "default": EKS_LOG_TYPES,
                                 "description": "Control plane log types that must be enabled."}},
)
def eks_logging(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("enabledClusterLogTypes")
    if is_unknown(v):
        return
    missing = [t for t in (ctx.config.get("requiredLogTypes") or EKS_LOG_TYPES) if t not in as_list(v)]
    if missing:
        yield f"control plane log types not enabled: {', '.join(missing)}"


# -- GKE ---------------------------------------------------------------------------------------------------------
def _autopilot(r: Res) -> bool:
    return is_true(r.get("enableAutopilot"))


NODE_POOL = "gcp:container/nodePool:NodePool"


@stack_rule(
    "gke-private-nodes", category=EXPOSURE, severity="high",
    description="GKE nodes have no external IP addresses: private_cluster_config.enable_private_nodes, or every "
                "node pool's network_config.enable_private_nodes (CIS GKE 5.6.5, Checkov CKV_GCP_64).",
    remediation="Set private_cluster_config={enable_private_nodes: True, master_ipv4_cidr_block: ...} (or "
                "network_config.enable_private_nodes on every node pool) and Cloud NAT for egress.",
)
def gke_private_nodes(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    pools = index.of_type(NODE_POOL)
    for c in index.of_type(GKE):
        v = c.get("privateClusterConfig.enablePrivateNodes")
        if is_unknown(v) or is_true(v):
            continue
        mine = [p for p in pools if c in index.referenced(p, "cluster", (GKE,), ("name",))]
        inline = [p for p in as_list(c.get("nodePools")) if isinstance(p, Mapping)]
        settings = [p.get("networkConfig.enablePrivateNodes") for p in mine] + [
            (p.get("networkConfig") or {}).get("enablePrivateNodes") if isinstance(p.get("networkConfig"), Mapping)
            else None for p in inline]
        default_pool_kept = not is_true(c.get("removeDefaultNodePool")) and not _autopilot(c)
        if settings and not default_pool_kept and all(is_true(s) or is_unknown(s) for s in settings):
            continue
        yield c, "nodes get public IP addresses (private nodes are not enabled)"


@resource_rule(
    "gke-control-plane-restricted", category=EXPOSURE, severity="high", types=(GKE,),
    description="The GKE control plane endpoint is private, or restricted to master authorized networks that do not "
                "include 0.0.0.0/0 (CIS GKE 5.6.3/5.6.4, Checkov CKV_GCP_20).",
    remediation="Set master_authorized_networks_config={cidr_blocks: [{cidr_block: \"10.0.0.0/8\", display_name: "
                "\"vpc\"}]} or private_cluster_config.enable_private_endpoint=True.",
)
def gke_control_plane(r: Res, ctx: Context) -> Iterator[str]:
    private = r.get("privateClusterConfig.enablePrivateEndpoint")
    man = r.get("masterAuthorizedNetworksConfig")
    ip_endpoints = r.get("controlPlaneEndpointsConfig.ipEndpointsConfig.enabled")
    if is_unknown(private) or is_unknown(man) or is_true(private) or is_false(ip_endpoints):
        return
    if not isinstance(man, Mapping):
        yield "the control plane endpoint is public and no master authorized networks are configured"
        return
    for block in as_list(man.get("cidrBlocks")):
        if isinstance(block, Mapping) and str(block.get("cidrBlock", "")).strip() in WORLD_CIDRS:
            yield f"master authorized networks include {block.get('cidrBlock')}"


@resource_rule(
    "gke-legacy-abac-disabled", category=IAM, severity="high", types=(GKE,),
    description="GKE clusters do not enable legacy ABAC (RBAC only; CIS GKE 5.8.4, Checkov CKV_GCP_7).",
    remediation="Set enable_legacy_abac=False (the default) and grant access with Kubernetes RBAC.",
)
def gke_abac(r: Res, ctx: Context) -> Iterator[str]:
    if is_true(r.get("enableLegacyAbac")):
        yield "enableLegacyAbac is true"


@resource_rule(
    "gke-network-policy", category=HARDENING, severity="low", enforcement="advisory", types=(GKE,),
    description="GKE clusters enforce Kubernetes network policies (Dataplane V2, or the Calico network policy "
                "add-on; CIS GKE 5.6.7, Checkov CKV_GCP_12).",
    remediation="Set datapath_provider=\"ADVANCED_DATAPATH\" (Dataplane V2), or network_policy={enabled: True} with "
                "addons_config.network_policy_config.disabled=False.",
)
def gke_network_policy(r: Res, ctx: Context) -> Iterator[str]:
    if _autopilot(r) or r.get("datapathProvider") == "ADVANCED_DATAPATH" or is_unknown(r.get("networkPolicy")):
        return
    if not is_true(r.get("networkPolicy.enabled")):
        yield "network policy enforcement is off (no Dataplane V2, networkPolicy.enabled is not true)"


@resource_rule(
    "gke-shielded-nodes", category=HARDENING, severity="medium", types=(GKE,),
    description="GKE clusters keep Shielded GKE Nodes on (the default; CIS GKE 5.5.5, Checkov CKV_GCP_71).",
    remediation="Remove enable_shielded_nodes=False.",
)
def gke_shielded(r: Res, ctx: Context) -> Iterator[str]:
    if is_false(r.get("enableShieldedNodes")):
        yield "enableShieldedNodes is false"


@resource_rule(
    "gke-workload-identity", category=IAM, severity="medium", enforcement="advisory", types=(GKE,),
    description="GKE clusters use Workload Identity, so pods do not share the node's service account (CIS GKE "
                "5.2.2).",
    remediation="Set workload_identity_config={workload_pool: f\"{project}.svc.id.goog\"} and node pools' "
                "workload_metadata_config={mode: \"GKE_METADATA\"}.",
)
def gke_workload_identity(r: Res, ctx: Context) -> Iterator[str]:
    if _autopilot(r) or is_unknown(r.get("workloadIdentityConfig")):
        return
    if not r.has("workloadIdentityConfig.workloadPool"):
        yield "workloadIdentityConfig is not set: pods can use the node's service account"


@resource_rule(
    "gke-logging-monitoring", category=LOGGING, severity="medium", types=(GKE,),
    description="GKE clusters keep Cloud Logging and Cloud Monitoring on (CIS GKE 5.7.1, Checkov CKV_GCP_1/8).",
    remediation="Remove logging_service/monitoring_service \"none\" (or set them to logging.googleapis.com/"
                "kubernetes and monitoring.googleapis.com/kubernetes); keep logging_config.enable_components.",
)
def gke_logging(r: Res, ctx: Context) -> Iterator[str]:
    for key in ("loggingService", "monitoringService"):
        if r.get(key) == "none":
            yield f"{key} is none"
    comps = r.get("loggingConfig.enableComponents")
    if isinstance(r.get("loggingConfig"), Mapping) and not is_unknown(comps) and not as_list(comps):
        yield "loggingConfig.enableComponents is empty: no logs are collected"


RULES = [
    eks_endpoint, eks_secrets, eks_logging,
    gke_private_nodes, gke_control_plane, gke_abac, gke_network_policy, gke_shielded, gke_workload_identity,
    gke_logging,
]

RATIONALE = {
    "eks-endpoint-not-public": "Mandatory only when the endpoint is public to 0.0.0.0/0; a public endpoint limited "
                               "to listed CIDRs passes (Checkov CKV_AWS_38).",
    "eks-control-plane-logging": "Mandatory: no audit trail of the control plane is a logging defect (FSBP EKS.8).",
    "gke-network-policy": "Advisory: CIS lists it, but many clusters isolate workloads by namespace and service "
                          "mesh instead.",
    "gke-shielded-nodes": "Mandatory only when switched off explicitly (on by default).",
    "gke-workload-identity": "Advisory: hardening; Autopilot always has it.",
    "gke-logging-monitoring": "Mandatory only when switched off explicitly (on by default).",
}
for _r in RULES:
    _r.rationale = RATIONALE.get(_r.name, _r.rationale)
