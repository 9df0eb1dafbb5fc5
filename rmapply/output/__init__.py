"""rmapply.output (see docs/architecture.md)."""
