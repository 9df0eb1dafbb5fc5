"""Limits that keep malformed or hostile manifests from hanging or exhausting rmapply."""

from __future__ import annotations

# Any one manifest, partial or variable file read from disk.
MAX_FILE_BYTES = 10 * 1024 * 1024
# The rendered text of one template (a loop may legitimately expand a small file a lot).
MAX_RENDERED_BYTES = 64 * 1024 * 1024
# Manifest and variable files below one directory.
MAX_FILES = 10_000
# Nesting of mappings and lists inside one document (a job needs 4).
MAX_DEPTH = 32
# Values in one YAML document after aliases are expanded (a billion-laughs file stops here).
MAX_EXPANDED_NODES = 2_000_000
# YAML documents in one file.
MAX_DOCUMENTS = 10_000
