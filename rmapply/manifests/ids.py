"""The ids a job's manifest writes (input ids, ``workspaceId``, ``useCache``) are the API's ids,
GUIDs, or references that rmapply resolves itself; checked on the data as written, so that they
are reported together with every other problem of the job."""

from __future__ import annotations

from rmapply.config import GUID
from rmapply.manifests.findings import Finding, PathPart
from rmapply.manifests.validate import Resource
from rmapply.model.specs import CACHE_ADDRESS_PREFIX, OutputRef

EXAMPLE_GUID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
_GUID_MATCH = GUID.fullmatch


def is_guid(value: str) -> bool:
    """True for a hyphenated GUID, the shape of every id of the API."""
    return GUID.fullmatch(value) is not None and "\n" not in value


def input_reference(value: str) -> bool:
    """True when an input id is a reference that rmapply resolves before sending the job.

    The one place where such references are recognised: the output of another job,
    ``jobs.KEY.outputs.FORMAT`` (``OutputRef``); whether that job and output exist is checked
    with the other cross-resource checks (manifests/semantics.py).
    """
    return OutputRef.parse(value) is not None


def _at(resource: Resource, path: tuple[PathPart, ...], message: str) -> Finding:
    return Finding(resource.file, (resource.kind, resource.key, *path), message, resource.document)


def _shown(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


def id_findings(resource: Resource) -> list[Finding]:
    """A finding for every id of the job ``resource`` that is neither a GUID nor a reference
    (an id that is not a string is reported by the spec's validation)."""
    data = resource.data
    if resource.kind != "jobs" or not isinstance(data, dict):
        return []
    found: list[Finding] = []
    workspace_id = data.get("workspaceId")
    if isinstance(workspace_id, str) and not is_guid(workspace_id):
        found.append(
            _at(
                resource,
                ("workspaceId",),
                f"{_shown(workspace_id)} is not a workspace id (a GUID like {EXAMPLE_GUID}); "
                "a workspace of the manifests is named with 'workspace = \"KEY\"'",
            )
        )
    inputs = data.get("inputs")
    for index, item in enumerate(inputs if isinstance(inputs, list) else ()):
        input_id = item.get("id") if isinstance(item, dict) else None
        # (is_guid and input_reference inlined: this runs for every input of every job)
        if (
            not isinstance(input_id, str)
            or (_GUID_MATCH(input_id) is not None and "\n" not in input_id)
            or input_reference(input_id)
        ):
            continue
        # something that starts like an address was meant as a reference: show that shape too
        shape = " nor an output reference (jobs.KEY.outputs.FORMAT)"
        found.append(
            _at(
                resource,
                ("inputs", index, "id"),
                f"{_shown(input_id)} is not a reality-data id (a GUID like {EXAMPLE_GUID})"
                + (shape if input_id.startswith(CACHE_ADDRESS_PREFIX) else ""),
            )
        )
    settings = data.get("settings")
    cache = settings.get("cacheSettings") if isinstance(settings, dict) else None
    use = cache.get("useCache") if isinstance(cache, dict) else None
    if isinstance(use, str) and not use.startswith(CACHE_ADDRESS_PREFIX) and not is_guid(use):
        found.append(
            _at(
                resource,
                ("settings", "cacheSettings", "useCache"),
                f"{_shown(use)} is neither a job address (jobs.KEY) nor a cache id (a GUID)",
            )
        )
    return found
