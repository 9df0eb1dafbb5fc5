"""rmapply.project (see docs/architecture.md)."""
