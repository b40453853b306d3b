"""CrossGuard policy packs (one directory per pack) and their shared framework, :mod:`policies.common`."""
