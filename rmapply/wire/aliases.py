"""camelCase aliases (the API's dialect) of snake_case field names, each computed once.

Every model of the wire, the plan and rmapply.toml names its aliases with this generator.
pydantic calls it for every field of every class, inherited fields again in each subclass
(the plan's actions repeat a dozen): cached, each name costs its regular expressions once.
"""

from __future__ import annotations

import functools

from pydantic.alias_generators import to_camel

camel_alias = functools.cache(to_camel)
