"""AWS components: network, service, load balancer, database, cache, bucket, monitoring."""
