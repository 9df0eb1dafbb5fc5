"""The spec a state record holds, rebuilt from the body actually sent (see docs/apply.md).

A record's spec (and the digest computed from it) must say what the service was given, not what
the plan said it would be given: were the two ever to differ, the next plan shows the difference
instead of hiding it for good under the planned digest.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from rmapply.model import digest
from rmapply.model.specs import CACHE_ADDRESS_PREFIX, OutputRef
from rmapply.wire import JobCreation, JobPatch, WorkspaceCreation

# the API fields of a job spec that a POST /jobs body carries (workspaceId apart: see below)
_CREATION_FIELDS = ("type", "name", "inputs", "settings", "costEstimationParameters")
# the fields a PATCH of an unsubmitted job may carry (settings are sent whole)
_PATCH_FIELDS = ("type", "settings", "costEstimationParameters")
_WORKSPACE_FIELDS = ("name", "iTwinId", "contextCaptureVersion")


def job_spec_as_sent(planned: Mapping[str, Any], body: JobCreation) -> dict[str, Any]:
    """``planned`` with every field a POST /jobs body carries taken from ``body``.

    Two ids stay as the spec names them, because the body can only carry what they resolved
    to: ``workspace`` (a key; the job's record keeps the workspace id) and ``useCache =
    "jobs.KEY"`` (the job whose id is the cache id).
    """
    return _as_sent(planned, body.to_wire(), _CREATION_FIELDS, workspace_id=body.workspace_id)


def job_spec_as_patched(planned: Mapping[str, Any], body: JobPatch) -> dict[str, Any]:
    """``planned`` with every field the PATCH ``body`` set taken from it (the others are left
    as they were, which is what the plan found them to be)."""
    sent = body.to_wire()
    fields = tuple(f for f in _PATCH_FIELDS if f in sent)
    return _as_sent(planned, sent, fields, workspace_id=None)


def workspace_spec_as_sent(planned: Mapping[str, Any], body: WorkspaceCreation) -> dict[str, Any]:
    """``planned`` with every field of the POST /workspaces body taken from ``body``."""
    return _as_sent(planned, body.to_wire(), _WORKSPACE_FIELDS, workspace_id=None)


def spec_digest(spec: Mapping[str, Any]) -> str:
    """The digest a record keeps of its spec (computed here, never copied from a plan)."""
    return digest(dict(spec))


def _as_sent(
    planned: Mapping[str, Any],
    sent: Mapping[str, Any],
    fields: tuple[str, ...],
    *,
    workspace_id: str | None,
) -> dict[str, Any]:
    spec = dict(planned)
    for name in fields:
        if name in sent:
            spec[name] = copy.deepcopy(sent[name])
        else:
            spec.pop(name, None)
    if workspace_id is not None and not planned.get("workspace"):
        spec["workspaceId"] = workspace_id
    _keep_output_references(planned, spec)
    address = _cache_address(planned)
    if address is not None and "settings" in fields:
        cache = (spec.get("settings") or {}).get("cacheSettings")
        if isinstance(cache, dict) and "useCache" in cache:
            cache["useCache"] = address
    return spec


def _keep_output_references(planned: Mapping[str, Any], spec: dict[str, Any]) -> None:
    """Inputs written as ``jobs.KEY.outputs.FORMAT`` stay so in the spec (the record's
    ``remote`` holds the ids they were filled with), as ``useCache = "jobs.KEY"`` does."""
    written = planned.get("inputs")
    sent = spec.get("inputs")
    if not isinstance(written, list) or not isinstance(sent, list) or written is sent:
        return
    for index, item in enumerate(written):
        if index >= len(sent) or not isinstance(item, Mapping) or not isinstance(sent[index], dict):
            continue
        given = item.get("id")
        if isinstance(given, str) and OutputRef.parse(given) is not None:
            sent[index]["id"] = given


def _cache_address(spec: Mapping[str, Any]) -> str | None:
    settings = spec.get("settings")
    cache = settings.get("cacheSettings") if isinstance(settings, Mapping) else None
    use = cache.get("useCache") if isinstance(cache, Mapping) else None
    return use if isinstance(use, str) and use.startswith(CACHE_ADDRESS_PREFIX) else None
