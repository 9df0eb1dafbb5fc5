"""rmapply.apply (see docs/architecture.md)."""
