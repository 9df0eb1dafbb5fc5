"""rmapply: a declarative reconciler for Bentley iTwin Reality Modeling jobs."""

__version__ = "0.1.0"
