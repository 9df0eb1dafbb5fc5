"""Manifests: a directory of TOML/YAML (Jinja) files in, a validated DesiredState out."""

from rmapply.manifests.load import LoadResult, load_manifests

__all__ = ["LoadResult", "load_manifests"]
