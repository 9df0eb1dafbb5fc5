"""rmapply.emulator (see docs/architecture.md)."""
