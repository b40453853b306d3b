"""AWS components: kms, network, service, load_balancer, database, cache, bucket, monitoring (the same concerns,
with the same names and wiring methods, as ``components/gcp``: see ``components.base.KIT``). Shared helpers (tags,
the account context, grants, key helpers, the ingress path of ``allow_from``) are in ``components/aws/common.py``."""
