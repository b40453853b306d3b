"""AWS components: kms, network, service, load_balancer, database, cache, bucket, monitoring, and for
multi-service stacks cluster, task (the base of web_service, worker and job) and queue (the same concerns,
with the same names and wiring methods, as ``components/gcp``: see ``components.base.KIT``). Shared helpers (tags,
the account context, grants, key helpers, the ingress path of ``allow_from``) are in ``components/aws/common.py``."""
