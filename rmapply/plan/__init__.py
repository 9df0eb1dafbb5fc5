"""rmapply.plan (see docs/architecture.md)."""
