"""GCP components: kms, network, service, load_balancer, database, cache, bucket, monitoring (the same concerns,
with the same names and wiring methods, as ``components/aws``: see ``components.base.KIT``). Shared helpers
(labels, CMEK references, the Workload protocol) are in ``components/gcp/common.py``."""
