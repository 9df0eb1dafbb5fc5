"""rmapply.state (see docs/architecture.md)."""
