"""The names a template gives a meaning to: its helpers, its filters, and the reserved ones.

Apart from the renderer so that checking a variable's name does not import Jinja.
"""

from __future__ import annotations

HELPERS = ("env", "uuid5", "vars")
FILTERS = ("tojson", "toml", "yaml")
# Names a variable may not take: the helpers and Jinja's own globals.
RESERVED = frozenset({*HELPERS, "range", "dict", "lipsum", "cycler", "joiner", "namespace"})
