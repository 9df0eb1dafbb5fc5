"""rmapply.client (see docs/architecture.md)."""
