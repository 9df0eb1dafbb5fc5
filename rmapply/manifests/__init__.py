"""rmapply.manifests (see docs/architecture.md)."""
