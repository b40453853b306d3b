"""Golden inventories of the gcp-dev and gcp-prod stacks: the same format and comparison as the AWS ones
(``tests/test_inventories.py``), with the GCP settings that matter.

Regenerate deliberately with ``python -m pytest tests/test_gcp_inventories.py --update-inventories`` and review the
YAML diff in the pull request.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from helpers import GCP_STACKS, INVENTORIES, VALUE_KEYS, compare, inventory

GCP_VALUE_KEYS: dict[str, list[str]] = {
    "gcp:projects/service:Service": ["service", "disableOnDestroy"],
    "gcp:compute/network:Network": ["autoCreateSubnetworks", "routingMode"],
    "gcp:compute/subnetwork:Subnetwork": ["ipCidrRange", "privateIpGoogleAccess", "logConfig"],
    "gcp:compute/routerNat:RouterNat": [
        "natIpAllocateOption", "minPortsPerVm", "enableDynamicPortAllocation", "sourceSubnetworkIpRangesToNat"],
    "gcp:compute/globalAddress:GlobalAddress": ["purpose", "addressType", "address", "prefixLength"],
    "gcp:compute/firewall:Firewall": [
        "direction", "priority", "allows", "denies", "sourceRanges", "destinationRanges", "targetTags"],
    "gcp:kms/cryptoKey:CryptoKey": ["purpose", "rotationPeriod"],
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": ["role", "member"],
    "gcp:cloudrunv2/service:Service": [
        "ingress", "invokerIamDisabled", "deletionProtection", "template.scaling", "template.vpcAccess.egress",
        "template.containers.0.image", "template.containers.0.resources.limits",
        "template.containers.0.resources.cpuIdle", "template.serviceAccount"],
    "gcp:artifactregistry/repository:Repository": ["format", "dockerConfig.immutableTags"],
    "gcp:secretmanager/secretIamMember:SecretIamMember": ["role", "member"],
    "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup": ["networkEndpointType", "cloudRun.tag"],
    "gcp:compute/backendService:BackendService": ["loadBalancingScheme", "protocol", "logConfig.sampleRate"],
    "gcp:compute/securityPolicy:SecurityPolicy": ["type", "rules"],
    "gcp:compute/sSLPolicy:SSLPolicy": ["profile", "minTlsVersion"],
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": ["managed.domains"],
    "gcp:compute/uRLMap:URLMap": ["pathMatchers.0.pathRules", "defaultUrlRedirect.httpsRedirect"],
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": ["portRange", "loadBalancingScheme"],
    "gcp:sql/databaseInstance:DatabaseInstance": [
        "databaseVersion", "deletionProtection", "settings.tier", "settings.edition", "settings.availabilityType",
        "settings.diskSize", "settings.deletionProtectionEnabled", "settings.ipConfiguration.ipv4Enabled",
        "settings.ipConfiguration.sslMode", "settings.backupConfiguration.pointInTimeRecoveryEnabled",
        "settings.backupConfiguration.backupRetentionSettings.retainedBackups", "settings.databaseFlags"],
    "gcp:sql/user:User": ["name", "type"],
    "gcp:projects/iAMMember:IAMMember": ["role", "member", "condition.expression"],
    "gcp:redis/instance:Instance": [
        "tier", "memorySizeGb", "replicaCount", "readReplicasMode", "connectMode", "authEnabled",
        "transitEncryptionMode", "persistenceConfig.persistenceMode", "deletionProtection"],
    "gcp:storage/bucket:Bucket": [
        "location", "uniformBucketLevelAccess", "publicAccessPrevention", "versioning.enabled"],
    "gcp:storage/bucketIAMMember:BucketIAMMember": ["role", "member"],
    "gcp:monitoring/notificationChannel:NotificationChannel": ["type", "userLabels.channel"],
    "gcp:monitoring/alertPolicy:AlertPolicy": ["severity", "conditions.0.conditionThreshold.thresholdValue"],
    "gcp:logging/projectBucketConfig:ProjectBucketConfig": ["bucketId", "retentionDays"],
    "gcp:billing/budget:Budget": ["amount.specifiedAmount.units", "thresholdRules"],
    "gcp:cloudrunv2/job:Job": [
        "template.template.timeout", "template.template.maxRetries", "template.template.containers.0.commands",
        "template.template.containers.0.resources.limits", "template.template.serviceAccount"],
    "gcp:cloudscheduler/job:Job": ["schedule", "timeZone", "httpTarget.httpMethod",
                                   "httpTarget.oauthToken.serviceAccountEmail"],
    "gcp:pubsub/topic:Topic": ["name"],
    "gcp:pubsub/subscription:Subscription": [
        "name", "ackDeadlineSeconds", "messageRetentionDuration", "enableMessageOrdering",
        "deadLetterPolicy.maxDeliveryAttempts", "retryPolicy", "expirationPolicy.ttl",
        "pushConfig.oidcToken.serviceAccountEmail"],
    "gcp:pubsub/topicIAMMember:TopicIAMMember": ["topic", "role", "member"],
    "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember": ["subscription", "role", "member"],
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": ["role", "member"],
    "gcp:cloudrunv2/jobIamMember:JobIamMember": ["role", "member"],
    "gcp:serviceaccount/iAMMember:IAMMember": ["role", "member"],
}
"""Per GCP type, the inputs recorded in ``values`` (added to the shared ``VALUE_KEYS``; the keys are disjoint)."""

GCP_MUST_NOT_EXIST = [
    "gcp:compute/instance:Instance",
    "gcp:projects/iAMBinding:IAMBinding",
    "gcp:projects/iAMPolicy:IAMPolicy",
    "gcp:serviceaccount/key:Key",
    "gcp:storage/bucketACL:BucketACL",
    "gcp:storage/bucketIAMBinding:BucketIAMBinding",
    "gcp:storage/bucketIAMPolicy:BucketIAMPolicy",
    "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding",
    "gcp:cloudrunv2/serviceIamPolicy:ServiceIamPolicy",
    "gcp:pubsub/topicIAMBinding:TopicIAMBinding",
    "gcp:pubsub/topicIAMPolicy:TopicIAMPolicy",
]
"""Types no GCP stack may contain (``counts`` records them as 0): VMs, authoritative IAM (also on Cloud Run and
Pub/Sub: invokers and publishers are additive members, never a policy that could replace someone else's), keys,
ACLs. Run invoker members exist only for callers (tests/test_gcp_workloads.py asserts who)."""



def gcp_inventory(graphs: dict[str, Any], stack: str) -> dict[str, Any]:
    """The shared inventory of one GCP stack; counts keep only GCP (and provider) types."""
    every_type = set().union(*(g.types() for g in graphs.values())) | set(GCP_MUST_NOT_EXIST)
    inv = inventory(graphs[stack], every_type, {**VALUE_KEYS, **GCP_VALUE_KEYS})
    inv["counts"] = {t: n for t, n in inv["counts"].items() if not t.startswith("aws:")}
    return inv


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_stack_matches_its_inventory(run_stack, request, stack):
    graphs = {s: run_stack(s) for s in GCP_STACKS}
    actual = gcp_inventory(graphs, stack)
    path = INVENTORIES / f"{stack}.yaml"
    if request.config.getoption("--update-inventories", default=False):
        header = (f"# Golden inventory of the {stack} stack (tests/test_gcp_inventories.py). Do not edit by hand:\n"
                  "# python -m pytest tests/test_gcp_inventories.py --update-inventories, then review the diff.\n")
        path.write_text(header + yaml.safe_dump(actual, sort_keys=False, width=120, allow_unicode=True))
    assert path.exists(), f"{path} is missing: run python -m pytest tests/test_gcp_inventories.py --update-inventories"
    diffs = compare(stack, yaml.safe_load(path.read_text()), actual)
    assert not diffs, (f"{len(diffs)} differences from tests/inventories/{stack}.yaml (if intended, regenerate with "
                       "`python -m pytest tests/test_gcp_inventories.py --update-inventories` and commit the diff):\n"
                       + "\n".join(diffs))


def test_gcp_inventories_say_what_must_not_exist():
    dev = yaml.safe_load((INVENTORIES / "gcp-dev.yaml").read_text())["counts"]
    prod = yaml.safe_load((INVENTORIES / "gcp-prod.yaml").read_text())["counts"]
    assert dev["gcp:compute/routerNat:RouterNat"] == 0 and prod["gcp:compute/routerNat:RouterNat"] == 1
    assert dev["gcp:billing/budget:Budget"] == 0 and prod["gcp:billing/budget:Budget"] == 1
    assert all(dev[t] == 0 and prod[t] == 0 for t in GCP_MUST_NOT_EXIST)
    assert not [t for t in dev if t.startswith("aws:")]
