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
# Files and folders visited while discovering (a wrong -C such as a home directory stops here).
MAX_ENTRIES = 100_000
# Numbers all range() calls of one render may produce (nested loops that would run for hours).
MAX_RANGE_ITEMS = 10_000_000
# Bits of an integer a template may compute with ** (10 ** 10 ** 9 would take hours).
MAX_INTEGER_BITS = 100_000
