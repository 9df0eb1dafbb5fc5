"""rmapply.refresh (see docs/architecture.md)."""
