"""Reusable ComponentResources, one module per concern, per cloud (``components.aws``, ``components.gcp``)."""
