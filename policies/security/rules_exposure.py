"""Public exposure (buckets, databases, caches, services, instances) and network exposure (security groups,
firewalls)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from policies.common import (
    Context,
    Res,
    ResourceIndex,
    as_list,
    is_true,
    is_unknown,
    parse_json,
    resource_rule,
    stack_rule,
)

from ._helpers import (
    CLOUD_RUN_SERVICE,
    CLOUD_SQL,
    EC2_INSTANCE,
    GCE_INSTANCE,
    GCE_TEMPLATE,
    LAUNCH_TEMPLATE,
    LOAD_BALANCERS,
    MEMORYSTORE,
    REPLICATION_GROUP,
    S3_BUCKETS,
    SECURITY_GROUP,
    SERVERLESS_CACHE,
    WORLD_CIDRS,
    gcp_ports,
    only_allowed_ports,
    port_range,
    public_principal_statements,
    stmt_label,
    world_cidrs,
)

EXPOSURE = "public-exposure"
NETWORK = "network-exposure"

PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ACCOUNT_PAB = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


# -- S3 ----------------------------------------------------------------------------------------------------------
@stack_rule(
    "s3-bucket-public-access-block", category=EXPOSURE, severity="high",
    description="Every S3 bucket has a BucketPublicAccessBlock with all four settings true (or the account-level "
                "block does).",
    remediation="Add aws.s3.BucketPublicAccessBlock(bucket=bucket.id, block_public_acls=True, "
                "block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True).",
)
def s3_public_access_block(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    for acct in index.of_type(ACCOUNT_PAB):
        if all(is_true(acct.get(f)) for f in PAB_FLAGS):
            return
    blocks = index.of_type(PAB)
    for bucket in index.of_type(*S3_BUCKETS):
        mine = [b for b in blocks if bucket in index.referenced(b, "bucket", S3_BUCKETS, ("bucket",))]
        if not mine:
            yield bucket, "the bucket has no BucketPublicAccessBlock"
            continue
        for b in mine:
            off = [f for f in PAB_FLAGS if b.known(f) and not is_true(b.get(f))]
            if off:
                yield bucket, f"its BucketPublicAccessBlock {b.name!r} does not set {', '.join(off)} to true"


PUBLIC_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
PUBLIC_GRANTEES = ("http://acs.amazonaws.com/groups/global/AllUsers",
                   "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")


@resource_rule(
    "s3-bucket-no-public-acl", category=EXPOSURE, severity="critical",
    types=("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2", *S3_BUCKETS,
           "aws:s3/bucketObject:BucketObject",
           "aws:s3/bucketObjectv2:BucketObjectv2"),
    description="No bucket or object ACL grants access to everyone or to any authenticated AWS user.",
    remediation="Remove the public canned ACL or grant; disable ACLs with BucketOwnershipControls "
                "(BucketOwnerEnforced) and share through a bucket policy scoped to known principals or CloudFront.",
)
def s3_no_public_acl(r: Res, ctx: Context) -> Iterator[str]:
    acl = r.get("acl")
    if isinstance(acl, str) and acl in PUBLIC_ACLS:
        yield f"canned ACL {acl!r} makes it public"
    grants = as_list(r.get("accessControlPolicy.grants")) + as_list(r.get("grants"))
    for g in grants:
        if not isinstance(g, Mapping):
            continue
        uri = (g.get("grantee") or {}).get("uri") if isinstance(g.get("grantee"), Mapping) else g.get("uri")
        if uri in PUBLIC_GRANTEES:
            perm = g.get("permission") or as_list(g.get("permissions"))
            yield f"an ACL grant gives {perm} to {uri.rsplit('/', 1)[-1]}"


@resource_rule(
    "s3-bucket-policy-not-public", category=EXPOSURE, severity="critical",
    types=("aws:s3/bucketPolicy:BucketPolicy", *S3_BUCKETS),
    description="No bucket policy allows Principal \"*\" without a condition that restricts the caller "
                "(source account, VPC endpoint, organization...).",
    remediation="Name the principals (account, role, CloudFront origin access control) or add a condition such as "
                "aws:SourceArn / aws:PrincipalOrgID / aws:SourceVpce to the statement.",
)
def s3_policy_not_public(r: Res, ctx: Context) -> Iterator[str]:
    for s in public_principal_statements(r.get("policy")):
        yield f"{stmt_label(s)} allows Principal \"*\" with no restricting condition"


@resource_rule(
    "gcs-bucket-no-public-access", category=EXPOSURE, severity="critical",
    types=("gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:storage/bucketIAMBinding:BucketIAMBinding",
           "gcp:storage/bucketIAMPolicy:BucketIAMPolicy", "gcp:storage/bucketAccessControl:BucketAccessControl",
           "gcp:storage/defaultObjectAccessControl:DefaultObjectAccessControl",
           "gcp:storage/objectAccessControl:ObjectAccessControl", "gcp:storage/bucketACL:BucketACL",
           "gcp:storage/defaultObjectACL:DefaultObjectACL"),
    description="No Cloud Storage IAM member, binding, policy or ACL grants access to allUsers or "
                "allAuthenticatedUsers.",
    remediation="Grant roles to specific service accounts or groups; serve public content through a load balancer "
                "with Cloud CDN, and set public_access_prevention=\"enforced\" on the bucket.",
)
def gcs_no_public_access(r: Res, ctx: Context) -> Iterator[str]:
    for m in _gcp_members(r):
        if _public_member(m):
            yield f"grants {r.get('role') or 'access'} to {m}"


def _gcp_members(r: Res) -> list[str]:
    members = [m for m in as_list(r.get("member")) + as_list(r.get("members")) if isinstance(m, str)]
    for key in ("entity",):
        v = r.get(key)
        if isinstance(v, str):
            members.append(v)
    members += [v for v in as_list(r.get("roleEntities")) if isinstance(v, str)]
    doc = parse_json(r.get("policyData"))
    if isinstance(doc, Mapping):
        for b in as_list(doc.get("bindings")):
            if isinstance(b, Mapping):
                members.extend(m for m in as_list(b.get("members")) if isinstance(m, str))
    return members


def _public_member(m: str) -> bool:
    text = m.split(":", 1)[-1] if ":" in m and m.split(":", 1)[0].upper() in ("READER", "OWNER", "WRITER") else m
    return text.strip() in ("allUsers", "allAuthenticatedUsers") or text.strip().lower() in (
        "allusers", "allauthenticatedusers")


@resource_rule(
    "gcs-bucket-public-access-prevention", category=EXPOSURE, severity="high", types=("gcp:storage/bucket:Bucket",),
    description="Cloud Storage buckets enforce public access prevention.",
    remediation="Set public_access_prevention=\"enforced\" on the bucket.",
)
def gcs_public_access_prevention(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("publicAccessPrevention")
    if is_unknown(v):
        return
    if v != "enforced":
        yield f"publicAccessPrevention is {v or 'unset (inherited)'!s}, not enforced"


# -- databases, caches, services, instances ------------------------------------------------------------------------
@resource_rule(
    "rds-not-public", category=EXPOSURE, severity="critical",
    types=("aws:rds/instance:Instance", "aws:rds/clusterInstance:ClusterInstance"),
    description="RDS and Aurora instances are not publicly accessible.",
    remediation="Set publicly_accessible=False and place the database in private (isolated) subnets reachable only "
                "from the application's security group.",
)
def rds_not_public(r: Res, ctx: Context) -> Iterator[str]:
    if is_true(r.get("publiclyAccessible")):
        yield "publiclyAccessible is true"


@resource_rule(
    "cloudsql-no-public-ip", category=EXPOSURE, severity="high", types=(CLOUD_SQL,),
    description="Cloud SQL instances have no public IPv4 address (private IP only) and never authorize 0.0.0.0/0.",
    remediation="Set settings.ip_configuration.ipv4_enabled=False with private_network set (private services "
                "access); connect through the Cloud SQL Auth Proxy or connectors.",
)
def cloudsql_no_public_ip(r: Res, ctx: Context) -> Iterator[str]:
    ipv4 = r.get("settings.ipConfiguration.ipv4Enabled")
    if is_unknown(ipv4):
        return
    for net in as_list(r.get("settings.ipConfiguration.authorizedNetworks")):
        if isinstance(net, Mapping) and net.get("value") in WORLD_CIDRS:
            yield f"authorized network {net.get('name') or ''} {net.get('value')} admits the whole internet".replace(
                "  ", " ")
    if ipv4 is None or is_true(ipv4):
        yield "the instance has a public IPv4 address (settings.ipConfiguration.ipv4Enabled is not false)"


@resource_rule(
    "ecs-service-no-public-ip", category=EXPOSURE, severity="high", types=("aws:ecs/service:Service",),
    description="ECS services do not assign public IPs to their tasks (tasks run in private subnets behind the load "
                "balancer).",
    remediation="Set network_configuration.assign_public_ip=False and use private subnets with a NAT gateway or VPC "
                "endpoints (the dev profile's public-subnet layout is a waiver).",
)
def ecs_no_public_ip(r: Res, ctx: Context) -> Iterator[str]:
    if is_true(r.get("networkConfiguration.assignPublicIp")):
        yield "networkConfiguration.assignPublicIp is true: every task gets a public IP"


@resource_rule(
    "ec2-instance-no-public-ip", category=EXPOSURE, severity="high", types=(EC2_INSTANCE, LAUNCH_TEMPLATE),
    description="EC2 instances and launch templates do not associate public IP addresses.",
    remediation="Set associate_public_ip_address=False (launch templates: network_interfaces[].associate_public_ip_"
                "address=\"false\"), run instances in private subnets and reach them through SSM Session Manager "
                "or a load balancer.",
)
def ec2_no_public_ip(r: Res, ctx: Context) -> Iterator[str]:
    if is_true(r.get("associatePublicIpAddress")):
        yield "associatePublicIpAddress is true"
    for i, ni in enumerate(as_list(r.get("networkInterfaces"))):
        if isinstance(ni, Mapping) and is_true(ni.get("associatePublicIpAddress")):
            yield f"networkInterfaces[{i}].associatePublicIpAddress is true"


@resource_rule(
    "gce-instance-no-public-ip", category=EXPOSURE, severity="high", types=(GCE_INSTANCE, GCE_TEMPLATE),
    description="Compute Engine instances and templates have no external IP (no access_configs).",
    remediation="Remove network_interfaces[].access_configs; use Cloud NAT for egress and IAP or a load balancer for "
                "ingress.",
)
def gce_no_public_ip(r: Res, ctx: Context) -> Iterator[str]:
    for i, ni in enumerate(as_list(r.get("networkInterfaces"))):
        if isinstance(ni, Mapping) and (as_list(ni.get("accessConfigs")) or as_list(ni.get("ipv6AccessConfigs"))):
            yield f"networkInterfaces[{i}] has an external IP (accessConfigs)"


@resource_rule(
    "cloudrun-ingress-restricted", category=EXPOSURE, severity="medium", types=(CLOUD_RUN_SERVICE,),
    enforcement="advisory",
    rationale="Advisory: a Cloud Run service serving the internet on its own URL (with IAM or app authentication) "
              "is Google's documented default, not a CIS defect; mandatory for backend-hosting "
              "(config/backend-hosting.json), which fronts services with the HTTPS load balancer and Cloud Armor.",
    description="Cloud Run services accept traffic only from internal sources or the load balancer, not directly "
                "from the internet.",
    remediation="Set ingress=\"INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER\" and route public traffic through the "
                "external HTTPS load balancer (TLS policy, Cloud Armor).",
)
def cloudrun_ingress(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("ingress")
    if is_unknown(v):
        return
    if v in (None, "INGRESS_TRAFFIC_ALL"):
        yield f"ingress is {v or 'unset (INGRESS_TRAFFIC_ALL)'}: the service's own URL is reachable from the internet"


@resource_rule(
    "elasticache-auth-enabled", category=EXPOSURE, severity="high", types=(REPLICATION_GROUP, SERVERLESS_CACHE),
    description="Redis/Valkey replication groups and serverless caches require authentication (an AUTH token or "
                "RBAC user groups).",
    remediation="Set auth_token (from Secrets Manager) or user_group_ids with RBAC users (serverless: "
                "user_group_id); both require transit_encryption_enabled=True.",
)
def elasticache_auth(r: Res, ctx: Context) -> Iterator[str]:
    if str(r.get("engine") or "redis").lower() == "memcached":
        return
    for key in ("authToken", "userGroupIds", "authTokenWo", "userGroupId"):
        v = r.get(key, track=False)  # set is enough: a secret config value the review cannot read still decides
        if is_unknown(v) or (v not in (None, "", [])):
            return
    if r.type == SERVERLESS_CACHE:
        yield "userGroupId is not set: the default user, without a password, can read and write"
    else:
        yield "neither authToken nor userGroupIds is set: any client that reaches the port can read and write"


@resource_rule(
    "elasticache-user-requires-auth", category=EXPOSURE, severity="high", types=("aws:elasticache/user:User",),
    description="ElastiCache RBAC users authenticate (password or IAM); a user without authentication must be "
                "disabled (access string \"off ...\"), like the replaced default user.",
    remediation="Use authentication_mode={type: \"iam\"} (or passwords from Secrets Manager); for the placeholder "
                "default user set access_string=\"off -@all\".",
)
def elasticache_user_auth(r: Res, ctx: Context) -> Iterator[str]:
    mode = r.get("authenticationMode.type")
    no_password = is_true(r.get("noPasswordRequired")) or mode == "no-password-required"
    access = r.get("accessString")
    if is_unknown(access) or not no_password:
        return
    if not (isinstance(access, str) and access.strip().lower().startswith("off")):
        yield f"user {r.get('userName') or r.name!r} needs no password and is enabled ({access!r})"


@resource_rule(
    "memorystore-auth-enabled", category=EXPOSURE, severity="high", types=(MEMORYSTORE,),
    description="Memorystore for Redis instances require AUTH.",
    remediation="Set auth_enabled=True and give clients the AUTH string from Secret Manager.",
)
def memorystore_auth(r: Res, ctx: Context) -> Iterator[str]:
    if r.known("authEnabled") and not is_true(r.get("authEnabled")):
        yield "authEnabled is not true"


@stack_rule(
    "lb-waf-in-prod", category=EXPOSURE, severity="medium", enforcement="advisory",
    description="In prod, internet-facing application load balancers have a WAF web ACL associated (prod).",
    remediation="Create an aws.wafv2.WebAcl (AWS managed rule groups, rate limit) and an aws.wafv2.WebAclAssociation "
                "with resource_arn=load_balancer.arn.",
)
def lb_waf_in_prod(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    assoc = index.of_type("aws:wafv2/webAclAssociation:WebAclAssociation")
    for lb in index.of_type(*LOAD_BALANCERS):
        if not ctx.is_prod(lb) or is_true(lb.get("internal")) or lb.get("loadBalancerType", "application") not in (
                "application", None):
            continue
        if not any(lb in index.referenced(a, "resourceArn", LOAD_BALANCERS) for a in assoc):
            yield lb, "no WAF web ACL is associated with this internet-facing load balancer"


# -- network -------------------------------------------------------------------------------------------------------
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


@stack_rule(
    "sg-no-world-ingress", category=NETWORK, severity="critical",
    description="No security group admits 0.0.0.0/0 or ::/0, except ports 80/443 on a load balancer's security "
                "group.",
    remediation="Admit traffic from the load balancer's security group (referenced_security_group_id) or from known "
                "CIDRs; only the internet-facing load balancer's group may open 80/443 to the world.",
    config={"allowedPublicPorts": {"type": "array", "items": {"type": "integer"}, "default": [80, 443],
                                   "description": "Ports a load balancer's security group may open to the world."}},
)
def sg_no_world_ingress(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    allowed = [int(p) for p in ctx.config.get("allowedPublicPorts") or []]
    lb_sgs = set()
    for lb in index.of_type(*LOAD_BALANCERS):
        for sg in index.referenced(lb, "securityGroups", (SECURITY_GROUP,), ("name",)):
            lb_sgs.add(sg.urn)

    def judge(owner: Res | None, where: Res, rng: tuple[int, int] | None, cidrs: list[str], label: str):
        if not cidrs:
            return None
        ports = "all ports" if rng is None or rng == (0, 65535) else (
            f"port {rng[0]}" if rng[0] == rng[1] else f"ports {rng[0]}-{rng[1]}")
        public_ok = rng is not None and only_allowed_ports(rng, allowed)
        if public_ok and owner is not None and owner.urn in lb_sgs:
            return None
        why = " (only a load balancer's security group may open these ports to the world)" if public_ok else ""
        return where, f"{label} admits {', '.join(cidrs)} on {ports}{why}"

    for sg in index.of_type(SECURITY_GROUP):
        for i, rule in enumerate(as_list(sg.get("ingress"))):
            if not isinstance(rule, Mapping):
                continue
            cidrs = world_cidrs(rule.get("cidrBlocks")) + world_cidrs(rule.get("ipv6CidrBlocks"))
            rng = port_range(rule.get("fromPort"), rule.get("toPort"), rule.get("protocol"))
            out = judge(sg, sg, rng, cidrs, f"inline ingress rule #{i + 1}")
            if out:
                yield out
    for rule in index.of_type(SG_RULE):
        if rule.get("type") != "ingress":
            continue
        cidrs = world_cidrs(rule.get("cidrBlocks")) + world_cidrs(rule.get("ipv6CidrBlocks"))
        owner = next(iter(index.referenced(rule, "securityGroupId", (SECURITY_GROUP,))), None)
        rng = port_range(rule.get("fromPort"), rule.get("toPort"), rule.get("protocol"))
        out = judge(owner, rule, rng, cidrs, "the ingress rule")
        if out:
            yield out
    for rule in index.of_type(SG_INGRESS):
        cidrs = world_cidrs(rule.get("cidrIpv4")) + world_cidrs(rule.get("cidrIpv6"))
        owner = next(iter(index.referenced(rule, "securityGroupId", (SECURITY_GROUP,))), None)
        rng = port_range(rule.get("fromPort"), rule.get("toPort"), rule.get("ipProtocol"))
        out = judge(owner, rule, rng, cidrs, "the ingress rule")
        if out:
            yield out


@resource_rule(
    "gcp-firewall-no-world-ingress", category=NETWORK, severity="critical", types=("gcp:compute/firewall:Firewall",),
    description="No enabled ingress firewall rule allows traffic from 0.0.0.0/0 or ::/0 (a rule with no source "
                "ranges, tags or service accounts is open to the world).",
    remediation="Restrict source_ranges to known CIDRs (Google health-check ranges 35.191.0.0/16 and 130.211.0.0/22 "
                "for load-balanced backends, 35.235.240.0/20 for IAP) or use source tags/service accounts.",
    config={"allowedPublicPorts": {"type": "array", "items": {"type": "integer"}, "default": [],
                                   "description": "Ports that may be open to the world (none by default: Google "
                                                  "load balancers do not need world-open firewall rules)."}},
)
def gcp_firewall_world(r: Res, ctx: Context) -> Iterator[str]:
    direction = r.get("direction") or "INGRESS"
    if direction != "INGRESS" or is_true(r.get("disabled")):
        return
    allows = as_list(r.get("allows"))
    if not allows:
        return
    sources = r.get("sourceRanges")
    if is_unknown(sources):
        return
    world = world_cidrs(sources)
    if not as_list(sources) and not as_list(r.get("sourceTags")) and not as_list(r.get("sourceServiceAccounts")):
        world = ["0.0.0.0/0 (no source ranges, tags or service accounts)"]
    if not world:
        return
    allowed = [int(p) for p in ctx.config.get("allowedPublicPorts") or []]
    for spec in allows:
        proto = str((spec or {}).get("protocol", "all")).lower() if isinstance(spec, Mapping) else "all"
        ranges = gcp_ports(spec) if isinstance(spec, Mapping) else None
        if proto in ("icmp", "ipv6-icmp", "58", "1"):
            what = proto
        elif ranges is None:
            what = f"{proto} on all ports"
        elif all(only_allowed_ports(rg, allowed) for rg in ranges):
            continue
        else:
            what = f"{proto} ports {', '.join(f'{a}' if a == b else f'{a}-{b}' for a, b in ranges)}"
        yield f"allows {what} from {', '.join(world)}"


@resource_rule(
    "vpc-default-security-group-closed", category=NETWORK, severity="medium",
    types=("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",),
    description="The VPC's default security group has no ingress or egress rules.",
    remediation="Adopt the default security group with aws.ec2.DefaultSecurityGroup(vpc_id=vpc.id) and no "
                "ingress/egress blocks, so nothing placed in it by mistake can talk.",
)
def default_sg_closed(r: Res, ctx: Context) -> Iterator[str]:
    for key in ("ingress", "egress"):
        v = r.get(key)
        if is_unknown(v):
            continue
        if as_list(v):
            yield f"the default security group keeps {len(as_list(v))} {key} rule(s)"


RULES = [
    s3_public_access_block, s3_no_public_acl, s3_policy_not_public, gcs_no_public_access,
    gcs_public_access_prevention, rds_not_public, cloudsql_no_public_ip, ecs_no_public_ip, ec2_no_public_ip,
    gce_no_public_ip, cloudrun_ingress, elasticache_auth, elasticache_user_auth, memorystore_auth, lb_waf_in_prod,
    sg_no_world_ingress, gcp_firewall_world, default_sg_closed,
]
