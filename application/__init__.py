"""The use cases: ingest, reconcile, post, resolve, write back, status."""
