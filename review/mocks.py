"""Mock provider: plausible, self-consistent ids, ARNs, endpoints and function results, in camelCase."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pulumi

from .model import SECRET
from .synth import Context, synthesize

ACCOUNT_ID = "123456789012"
GCP_PROJECT_NUMBER = "123456789012"

# ELB log-delivery accounts per region (AWS docs: "Enable access logs for your Application Load Balancer").
ELB_ACCOUNTS = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "eu-west-1": "156460612806", "eu-west-2": "652711504416",
    "eu-central-1": "054676820928", "ap-southeast-1": "114774131450", "ap-northeast-1": "582318560864",
}

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def redact(value: Any) -> Any:
    """Replace engine secret wrappers with :data:`SECRET`, recursively."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return SECRET
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _h(*parts: str, n: int = 8) -> str:
    return hashlib.sha1("/".join(parts).encode()).hexdigest()[:n]


_WAF_KINDS = {"WebAcl": "webacl", "IpSet": "ipset", "RuleGroup": "rulegroup", "RegexPatternSet": "regexpatternset"}
"""The resource part of a WAFv2 ARN per resource kind."""


def managed_prefix_list_id(name: str) -> str:
    """The mocked id of an AWS-managed prefix list, one per name (CloudFront's origin-facing list is not Lattice's)."""
    return "pl-" + _h(name)


def _name(value: Any, default: str) -> str:
    """A physical name from an input: only a string counts (a secret wrapper or an object does not)."""
    return value if isinstance(value, str) and value else default


_LATTICE_IDS = {"Service": "svc", "ServiceNetwork": "sn", "TargetGroup": "tg", "Listener": "listener",
                "ServiceNetworkServiceAssociation": "snsa", "ServiceNetworkVpcAssociation": "snva"}
"""VPC Lattice resources and the prefix of their generated ids."""


def _service(typ: str) -> str:
    """``aws:rds/instance:Instance`` -> ``rds``."""
    mod = typ.split(":")[1].split("/")[0]
    return {
        "cloudwatch": "logs", "lb": "elasticloadbalancing", "alb": "elasticloadbalancing",
        "ecs": "ecs", "appautoscaling": "application-autoscaling", "wafv2": "wafv2",
        "secretsmanager": "secretsmanager", "budgets": "budgets", "vpclattice": "vpc-lattice",
    }.get(mod, mod)


class ReviewMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and provider functions the way a preview would."""

    def __init__(self, region: str = "us-east-1", gcp_project: str = "demo-project",
                 gcp_region: str = "us-central1") -> None:
        self.region = region
        self.gcp_project = gcp_project
        self.gcp_region = gcp_region
        self.calls: list[str] = []

    # -- resources --------------------------------------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        typ, name = args.typ, args.name
        inputs = dict(args.inputs)
        if typ.startswith("pulumi:providers:"):
            return f"{name}-provider-id", inputs
        if typ.startswith("aws:"):
            return self._aws(typ, name, inputs)
        if typ.startswith("gcp:"):
            return self._gcp(typ, name, inputs)
        return f"{name}-{_h(typ, name)}", inputs

    def _aws(self, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        region = self.region
        mod = typ.split(":")[1].split("/")[0]
        kind = typ.rsplit(":", 1)[-1]
        suffix = _h(typ, name)
        physical = _name(inputs.get("name"), f"{name}-{suffix[:7]}")
        state = dict(inputs)
        ident = physical
        prefixes = {
            "Vpc": "vpc", "Subnet": "subnet", "SecurityGroup": "sg", "RouteTable": "rtb", "InternetGateway": "igw",
            "NatGateway": "nat", "Eip": "eipalloc", "VpcEndpoint": "vpce", "FlowLog": "fl", "NetworkAcl": "acl",
            "Instance": "i" if mod == "ec2" else "", "LaunchTemplate": "lt", "Volume": "vol",
            "SecurityGroupIngressRule": "sgr", "SecurityGroupEgressRule": "sgr",
        }
        if mod == "ec2" and prefixes.get(kind):
            ident = f"{prefixes[kind]}-0{suffix}{_h(name, n=9)}"
        if mod == "ec2" and kind == "DefaultSecurityGroup":
            ident = f"sg-0{suffix}{_h(name, n=9)}"
        arn = f"arn:aws:{_service(typ)}:{region}:{ACCOUNT_ID}:{kind.lower()}/{physical}"
        if mod == "s3":
            physical = _name(inputs.get("bucket"), f"{name}-{suffix}")
            arn = f"arn:aws:s3:::{physical}"
            ident = physical
            state.setdefault("bucket", physical)
            state.update(bucketDomainName=f"{physical}.s3.amazonaws.com",
                         bucketRegionalDomainName=f"{physical}.s3.{region}.amazonaws.com")
        elif mod == "iam":
            path = {"Role": "role", "Policy": "policy", "User": "user", "Group": "group",
                    "OpenIdConnectProvider": "oidc-provider", "InstanceProfile": "instance-profile"}.get(kind, kind)
            if kind == "OpenIdConnectProvider":
                physical = str(inputs.get("url", "token.actions.githubusercontent.com")).removeprefix("https://")
            arn = f"arn:aws:iam::{ACCOUNT_ID}:{path}/{physical}"
            state.setdefault("uniqueId", f"AROA{suffix.upper()}")
        elif mod == "kms" and kind == "Key":
            ident = f"{suffix}-{_h(name, n=4)}-{_h(typ, n=4)}-{_h(name, typ, n=4)}-{_h(name, name, n=12)}"
            arn = f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{ident}"
            state["keyId"] = ident
        elif mod == "kms" and kind == "Alias":
            arn = f"arn:aws:kms:{region}:{ACCOUNT_ID}:{physical}"
        elif mod == "rds":
            port = int(inputs.get("port") or 5432)
            host = f"{physical}.c{suffix}.{region}.rds.amazonaws.com"
            state.update(endpoint=f"{host}:{port}" if kind == "Instance" else host, address=host, port=port,
                         readerEndpoint=f"{physical}.cluster-ro-c{suffix}.{region}.rds.amazonaws.com",
                         resourceId=f"db-{suffix.upper()}")
            arn = f"arn:aws:rds:{region}:{ACCOUNT_ID}:{'cluster' if kind == 'Cluster' else 'db'}:{physical}"
            if inputs.get("manageMasterUserPassword"):
                state["masterUserSecrets"] = [{
                    "secretArn": f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:rds!db-{suffix}-AbCdEf",
                    "secretStatus": "active", "kmsKeyId": inputs.get("masterUserSecretKmsKeyId") or "",
                }]
        elif mod == "elasticache":
            rg = inputs.get("replicationGroupId") or physical
            state.update(
                primaryEndpointAddress=f"master.{rg}.{suffix[:6]}.use1.cache.amazonaws.com",
                readerEndpointAddress=f"replica.{rg}.{suffix[:6]}.use1.cache.amazonaws.com",
                configurationEndpointAddress=f"clustercfg.{rg}.{suffix[:6]}.use1.cache.amazonaws.com",
                port=int(inputs.get("port") or 6379),
            )
            arn = f"arn:aws:elasticache:{region}:{ACCOUNT_ID}:replicationgroup:{rg}"
            if kind == "User":
                arn = f"arn:aws:elasticache:{region}:{ACCOUNT_ID}:user:{inputs.get('userId', physical)}"
            elif kind == "UserGroup":
                arn = f"arn:aws:elasticache:{region}:{ACCOUNT_ID}:usergroup:{inputs.get('userGroupId', physical)}"
            elif kind in ("SubnetGroup", "ParameterGroup"):
                arn = f"arn:aws:elasticache:{region}:{ACCOUNT_ID}:{kind.lower()}:{physical}"
            if kind == "ServerlessCache":
                host = f"{physical}-{suffix[:6]}.serverless.use1.cache.amazonaws.com"
                state["endpoints"] = [{"address": host, "port": 6379}]
                state["readerEndpoints"] = [{"address": host, "port": 6380}]
                arn = f"arn:aws:elasticache:{region}:{ACCOUNT_ID}:serverlesscache:{physical}"
        elif mod in ("lb", "alb") and kind in ("LoadBalancer", "TargetGroup", "Listener", "ListenerRule"):
            short = {"LoadBalancer": "loadbalancer/app", "TargetGroup": "targetgroup", "Listener": "listener/app",
                     "ListenerRule": "listener-rule/app"}[kind]
            arn = f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT_ID}:{short}/{physical[:32]}/{suffix}{suffix}"
            ident = arn
            state["arnSuffix"] = arn.split(":")[-1].split("/", 1)[1] if kind != "TargetGroup" else \
                f"targetgroup/{physical[:32]}/{suffix}{suffix}"
            if kind == "LoadBalancer":
                state.update(dnsName=f"{physical[:32]}-{suffix}.{region}.elb.amazonaws.com", zoneId="Z35SXDOTRQ7X7K")
        elif mod == "vpclattice" and kind in _LATTICE_IDS:
            # Lattice names its resources by generated ids (svc-0..., sn-0..., tg-0...); a service gets a DNS name.
            ident = f"{_LATTICE_IDS[kind]}-0{suffix}{_h(name, n=9)}"
            arn = f"arn:aws:vpc-lattice:{region}:{ACCOUNT_ID}:{kind.lower()}/{ident}"
            if kind == "Service":
                host = f"{physical}-{ident[4:]}.7d67968.vpc-lattice-svcs.{region}.on.aws"
                state["dnsEntries"] = [{"domainName": host, "hostedZoneId": "Z0123456789LATTICE"}]
        elif mod == "ecr" and kind == "Repository":
            state["repositoryUrl"] = f"{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/{physical}"
            arn = f"arn:aws:ecr:{region}:{ACCOUNT_ID}:repository/{physical}"
        elif mod == "ecs":
            arn = f"arn:aws:ecs:{region}:{ACCOUNT_ID}:{kind[0].lower() + kind[1:]}/{physical}"
            if kind == "TaskDefinition":
                arn = f"arn:aws:ecs:{region}:{ACCOUNT_ID}:task-definition/{inputs.get('family', physical)}:1"
                state["revision"] = 1
                state["arnWithoutRevision"] = arn.rsplit(":", 1)[0]
        elif mod == "cloudwatch" and kind == "LogGroup":
            arn = f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{physical}"
        elif mod == "sns" and kind == "Topic":
            arn = f"arn:aws:sns:{region}:{ACCOUNT_ID}:{physical}"
        elif mod == "secretsmanager" and kind == "Secret":
            arn = f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:{physical}-{suffix[:6]}"
        elif mod == "ssm" and kind == "Parameter":
            arn = f"arn:aws:ssm:{region}:{ACCOUNT_ID}:parameter/{str(physical).lstrip('/')}"
        elif mod == "acm" and kind == "Certificate":
            arn = f"arn:aws:acm:{region}:{ACCOUNT_ID}:certificate/{suffix}-{_h(name, n=4)}"
            domain = inputs.get("domainName", "example.com")
            names = [domain, *(inputs.get("subjectAlternativeNames") or [])]
            state["domainValidationOptions"] = [{
                "domainName": d, "resourceRecordName": f"_{_h(d)}.{d}.", "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_{_h(d, 'v')}.acm-validations.aws.",
            } for d in names]
        elif mod == "route53" and kind == "Zone":
            ident = f"Z{suffix.upper()}{_h(name, n=6).upper()}"
            state.update(zoneId=ident, nameServers=["ns-1.awsdns-01.org", "ns-2.awsdns-02.net"])
        elif mod == "wafv2":
            scope = "global" if inputs.get("scope") == "CLOUDFRONT" else "regional"  # CloudFront's ACLs are global
            arn = f"arn:aws:wafv2:{region}:{ACCOUNT_ID}:{scope}/{_WAF_KINDS.get(kind, 'webacl')}/{physical}/{suffix}"
        elif mod == "sqs" and kind == "Queue":
            physical = inputs.get("name") or (f"{physical}.fifo" if inputs.get("fifoQueue") else physical)
            state["url"] = ident = f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{physical}"
            arn = f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{physical}"
        elif mod == "scheduler" and kind == "Schedule":
            arn = f"arn:aws:scheduler:{region}:{ACCOUNT_ID}:schedule/{inputs.get('groupName', 'default')}/{physical}"
        elif mod == "cloudwatch" and kind == "EventRule":
            arn = f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{physical}"
        elif mod == "servicediscovery" and kind == "HttpNamespace":
            arn = f"arn:aws:servicediscovery:{region}:{ACCOUNT_ID}:namespace/ns-{suffix[:16]}"
        elif mod == "cloudwatch" and kind == "Dashboard":
            arn = f"arn:aws:cloudwatch::{ACCOUNT_ID}:dashboard/{inputs.get('dashboardName', physical)}"
        state.setdefault("arn", arn)
        if "name" not in inputs and mod not in ("s3",):
            state["name"] = physical
        state.setdefault("tagsAll", inputs.get("tags") or {})
        return ident, state

    def _gcp(self, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        project = inputs.get("project") or self.gcp_project
        suffix = _h(typ, name)
        physical = _name(inputs.get("name"), f"{name}-{suffix[:7]}")
        mod = typ.split(":")[1].split("/")[0]
        kind = typ.rsplit(":", 1)[-1]
        state = dict(inputs)
        state.setdefault("name", physical)
        state.setdefault("project", project)
        ident = f"projects/{project}/{mod}/{kind.lower()}s/{physical}"
        state["selfLink"] = f"https://www.googleapis.com/{mod}/v1/{ident}"
        if kind == "Account" and mod == "serviceaccount":
            account_id = inputs.get("accountId", physical)
            state["email"] = f"{account_id}@{project}.iam.gserviceaccount.com"
            state["member"] = f"serviceAccount:{state['email']}"
            ident = f"projects/{project}/serviceAccounts/{state['email']}"
        elif mod == "cloudrunv2" and kind == "Service":
            state["uri"] = f"https://{physical}-{suffix[:10]}-uc.a.run.app"
        elif mod == "sql" and kind == "DatabaseInstance":
            state.update(connectionName=f"{project}:{self.gcp_region}:{physical}", privateIpAddress="10.20.0.3")
        elif mod == "redis" and kind == "Instance":
            state.update(host="10.30.0.4", port=6379)
        elif mod == "storage" and kind == "Bucket":
            state["url"] = f"gs://{physical}"
            ident = physical
        elif mod == "compute" and kind in ("GlobalAddress", "Address"):
            state["address"] = "203.0.113.10"
        elif mod == "kms" and kind == "CryptoKey":
            ident = f"{inputs.get('keyRing', 'projects/p/locations/l/keyRings/r')}/cryptoKeys/{physical}"
        return ident, state

    # -- functions --------------------------------------------------------------------------------------
    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        tok = args.token
        a = args.args or {}
        self.calls.append(tok)
        r = self.region
        azs = [f"{r}{c}" for c in "abcdef"]
        answers: dict[str, Any] = {
            "aws:index/getAvailabilityZones:getAvailabilityZones": lambda: {
                "id": r, "names": azs, "zoneIds": [f"use1-az{i}" for i in range(1, 7)], "groupNames": [r] * 6,
                "state": "available"},
            "aws:index/getCallerIdentity:getCallerIdentity": lambda: {
                "id": ACCOUNT_ID, "accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/reviewer",
                "userId": "AIDAREVIEWER"},
            "aws:index/getRegion:getRegion": lambda: {
                "id": r, "name": r, "region": r, "description": r, "endpoint": f"ec2.{r}.amazonaws.com"},
            "aws:index/getPartition:getPartition": lambda: {
                "id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws"},
            "aws:ec2/getAmi:getAmi": lambda: {
                "id": "ami-0abcdef1234567890", "imageId": "ami-0abcdef1234567890", "name": "al2023-ami-2023.6",
                "architecture": "arm64" if "arm64" in json.dumps(a) else "x86_64",
                "arn": f"arn:aws:ec2:{r}::image/ami-0abcdef1234567890", "rootDeviceName": "/dev/xvda"},
            "aws:ec2/getVpc:getVpc": lambda: {
                "id": "vpc-0default000000001", "cidrBlock": "172.31.0.0/16", "default": True,
                "arn": f"arn:aws:ec2:{r}:{ACCOUNT_ID}:vpc/vpc-0default000000001", "mainRouteTableId": "rtb-0main"},
            "aws:ec2/getSubnets:getSubnets": lambda: {
                "id": r, "ids": [f"subnet-0default00000000{i}" for i in range(1, 4)]},
            "aws:ec2/getSubnet:getSubnet": lambda: {
                "id": a.get("id", "subnet-0default000000001"), "vpcId": "vpc-0default000000001",
                "cidrBlock": "172.31.0.0/20", "availabilityZone": azs[0]},
            "aws:iam/getPolicyDocument:getPolicyDocument": lambda: self._policy_document(a),
            "aws:elb/getServiceAccount:getServiceAccount": lambda: {
                "id": ELB_ACCOUNTS.get(r, "127311923021"),
                "arn": f"arn:aws:iam::{ELB_ACCOUNTS.get(r, '127311923021')}:root"},
            "aws:route53/getZone:getZone": lambda: {
                "id": "Z0123456789EXAMPLE", "zoneId": "Z0123456789EXAMPLE",
                "name": str(a.get("name", "example.com")).rstrip("."),
                "arn": "arn:aws:route53:::hostedzone/Z0123456789EXAMPLE", "nameServers": ["ns-1.awsdns-01.org"]},
            "aws:secretsmanager/getSecret:getSecret": lambda: {
                "id": a.get("name", "secret"),
                "arn": f"arn:aws:secretsmanager:{r}:{ACCOUNT_ID}:secret:{a.get('name', 'secret')}-AbCdEf"},
            "aws:ec2/getManagedPrefixList:getManagedPrefixList": lambda: {
                "id": managed_prefix_list_id(str(a.get("name", ""))), "name": a.get("name", ""),
                "arn": f"arn:aws:ec2:{r}:aws:prefix-list/{managed_prefix_list_id(str(a.get('name', '')))}",
                "maxEntries": 55, "ownerId": "AWS", "addressFamily": "IPv4"},
            "gcp:organizations/getProject:getProject": lambda: {
                "id": f"projects/{self.gcp_project}", "projectId": self.gcp_project, "number": GCP_PROJECT_NUMBER,
                "name": self.gcp_project},
            "gcp:organizations/getClientConfig:getClientConfig": lambda: {
                "id": self.gcp_project, "project": self.gcp_project, "region": self.gcp_region,
                "zone": f"{self.gcp_region}-a", "accessToken": SECRET},
            "gcp:compute/getZones:getZones": lambda: {
                "id": self.gcp_region, "names": [f"{self.gcp_region}-{c}" for c in "abcf"],
                "project": self.gcp_project, "region": self.gcp_region},
            "gcp:compute/getDefaultServiceAccount:getDefaultServiceAccount": lambda: {
                "id": "default", "email": f"{GCP_PROJECT_NUMBER}-compute@developer.gserviceaccount.com",
                "name": "default", "project": self.gcp_project},
            "gcp:compute/getImage:getImage": lambda: {
                "id": "debian-12", "name": "debian-12-bookworm-v20241009",
                "selfLink": "https://www.googleapis.com/compute/v1/projects/debian-cloud/global/images/debian-12"},
        }
        # Every field of the SDK's typed result, by name and type; the table above where realism matters.
        answer = synthesize(Context(tok, a, region=r, account=ACCOUNT_ID, gcp_project=self.gcp_project,
                                    gcp_region=self.gcp_region))
        fn = answers.get(tok)
        if fn:
            answer.update(fn())
        return answer

    @staticmethod
    def _policy_document(a: dict[str, Any]) -> dict[str, Any]:
        """Render ``getPolicyDocument`` arguments as the IAM JSON AWS would accept."""
        statements = []
        for s in a.get("statements") or []:
            st: dict[str, Any] = {}
            if s.get("sid"):
                st["Sid"] = s["sid"]
            st["Effect"] = s.get("effect", "Allow")
            for key, out in (("actions", "Action"), ("notActions", "NotAction"), ("resources", "Resource"),
                             ("notResources", "NotResource")):
                if s.get(key):
                    vals = list(s[key])
                    st[out] = vals[0] if len(vals) == 1 else vals
            for key, out in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
                if s.get(key):
                    principal: dict[str, Any] = {}
                    for p in s[key]:
                        ids = list(p.get("identifiers") or [])
                        if p.get("type") == "*" and ids == ["*"]:
                            principal = "*"  # type: ignore[assignment]
                            break
                        principal[p["type"]] = ids[0] if len(ids) == 1 else ids
                    st[out] = principal
            if s.get("conditions"):
                cond: dict[str, dict[str, Any]] = {}
                for c in s["conditions"]:
                    vals = list(c.get("values") or [])
                    cond.setdefault(c["test"], {})[c["variable"]] = vals[0] if len(vals) == 1 else vals
                st["Condition"] = cond
            statements.append(st)
        doc = {"Version": a.get("version") or "2012-10-17", "Statement": statements}
        text = json.dumps(doc)
        return {"id": _h(text), "json": text, "minifiedJson": json.dumps(doc, separators=(",", ":"))}
