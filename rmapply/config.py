"""rmapply.config (see docs/architecture.md)."""
