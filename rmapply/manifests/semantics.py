"""Checks across fields and resources: references, outputs, caches, dependencies, names."""

from __future__ import annotations

from collections import defaultdict

from rmapply.manifests.findings import Finding
from rmapply.manifests.suggest import closest, did_you_mean
from rmapply.manifests.validate import Resource
from rmapply.model import Address, JobSpec, WorkspaceSpec
from rmapply.model.specs import CACHE_ADDRESS_PREFIX, OutputRef
from rmapply.wire import OutputFormat


def check(
    jobs: dict[str, tuple[Resource, JobSpec]],
    workspaces: dict[str, tuple[Resource, WorkspaceSpec]],
    all_keys: dict[str, set[str]],
) -> list[Finding]:
    """Every semantic finding (errors and warnings) of the validated resources.

    ``all_keys`` holds every key written per kind, valid or not, so that a reference to a
    resource that merely failed validation is not reported a second time as unknown.
    """
    findings: list[Finding] = []
    # each job's output references, parsed once for the checks and the cycle search
    refs = {key: spec.output_refs for key, (_, spec) in jobs.items()}
    for key, (resource, spec) in jobs.items():
        findings += _check_job(key, resource, spec, jobs, all_keys, refs=refs[key])
    for resource, workspace in workspaces.values():
        if not workspace.i_twin_id:
            findings.append(
                _at(resource, ("iTwinId",), "not set here nor as [project] iTwinId in rmapply.toml")
            )
    findings += _cycles(jobs, refs)
    findings += _same_names(jobs, workspaces)
    return findings


def _at(
    resource: Resource, path: tuple[str | int, ...], message: str, severity: str = "error"
) -> Finding:
    return Finding(
        resource.file,
        (resource.kind, resource.key, *path),
        message,
        resource.document,
        severity=severity,
        line=0 if path else resource.line,
    )


def _check_job(
    key: str,
    resource: Resource,
    spec: JobSpec,
    jobs: dict[str, tuple[Resource, JobSpec]],
    all_keys: dict[str, set[str]],
    *,
    refs: dict[int, OutputRef],
) -> list[Finding]:
    found: list[Finding] = []
    if spec.workspace is not None and spec.workspace_id is not None:
        found.append(
            _at(
                resource,
                ("workspaceId",),
                "set 'workspace' (a workspace key in the manifests) or 'workspaceId' (an id), "
                "not both",
            )
        )
    elif spec.workspace is None and spec.workspace_id is None:
        found.append(
            _at(
                resource,
                (),
                "needs 'workspace' (a workspace key in the manifests) or 'workspaceId'",
            )
        )
    elif spec.workspace is not None and spec.workspace not in all_keys["workspaces"]:
        found.append(
            _at(
                resource,
                ("workspace",),
                f"{spec.workspace!r} is not a workspace in the manifests"
                + did_you_mean(spec.workspace.removeprefix("workspaces."), all_keys["workspaces"]),
            )
        )
    if not spec.inputs:
        found.append(_at(resource, ("inputs",), "needs at least one input (a reality-data id)"))
    outputs = spec.settings.outputs
    if not outputs:
        found.append(_at(resource, ("settings", "outputs"), "needs at least one output format"))
    values: list[str] = [output._value_ for output in outputs]  # (.value is a slow descriptor)
    if len(set(values)) < len(values):
        first_seen: dict[str, int] = {}
        for index, value in enumerate(values):
            if value in first_seen:
                found.append(
                    _at(
                        resource,
                        ("settings", "outputs", index),
                        f"{value!r} is listed twice (also outputs[{first_seen[value]}])",
                    )
                )
            first_seen.setdefault(value, index)
    engines = spec.settings.processing_engines
    if engines is not None and engines < 0:
        found.append(
            _at(
                resource,
                ("settings", "processingEngines"),
                f"must be 0 (use your engine limit) or more, got {engines}",
            )
        )
    cache = spec.settings.cache_settings
    if cache is not None and cache.use_cache is not None:
        found += _check_cache(key, resource, spec, jobs, all_keys)
    if refs:
        found += _check_output_refs(key, resource, refs, jobs, all_keys)
    for index, text in enumerate(spec.depends_on):
        path = ("dependsOn", index)
        try:
            address = Address.parse(text)
        except ValueError as exc:
            found.append(_at(resource, path, str(exc)))
            continue
        if address == Address.job(key):
            found.append(_at(resource, path, "a job cannot depend on itself"))
        elif address.key not in all_keys[address.kind.value]:
            near = closest(address.key, all_keys[address.kind.value])
            hint = f"; did you mean '{address.kind.value}.{near}'?" if near else ""
            found.append(_at(resource, path, f"{text!r} is not in the manifests{hint}"))
    return found


def cache_reference(spec: JobSpec) -> str | None:
    """The job key named by ``cacheSettings.useCache = "jobs.KEY"``, if any."""
    address = spec.cache_address
    return address.removeprefix(CACHE_ADDRESS_PREFIX) if address else None


def _check_cache(
    key: str,
    resource: Resource,
    spec: JobSpec,
    jobs: dict[str, tuple[Resource, JobSpec]],
    all_keys: dict[str, set[str]],
) -> list[Finding]:
    cache = spec.settings.cache_settings
    use = cache.use_cache if cache else None
    if use is None:
        return []
    path = ("settings", "cacheSettings", "useCache")
    target = cache_reference(spec)
    if target is None:  # a cache id: checked with the other ids (manifests/ids.py)
        return []
    if target == key:
        return [_at(resource, path, "a job cannot reuse its own cache")]
    if target not in all_keys["jobs"]:
        near = closest(target, all_keys["jobs"])
        hint = f"; did you mean 'jobs.{near}'?" if near else ""
        return [_at(resource, path, f"{use!r} is not a job in the manifests{hint}")]
    other = jobs.get(target)
    if other is not None:
        other_cache = other[1].settings.cache_settings
        if not (other_cache and other_cache.create_cache):
            return [
                _at(
                    resource,
                    path,
                    f"{use!r} does not create a cache (set its cacheSettings.createCache)",
                )
            ]
    return []


def _check_output_refs(
    key: str,
    resource: Resource,
    refs: dict[int, OutputRef],
    jobs: dict[str, tuple[Resource, JobSpec]],
    all_keys: dict[str, set[str]],
) -> list[Finding]:
    """The job each ``jobs.KEY.outputs.FORMAT`` input (``refs``, by index) names exists and
    lists that output."""
    found: list[Finding] = []
    for index, ref in refs.items():
        path = ("inputs", index, "id")
        target = ref.address.key
        if target == key:
            found.append(_at(resource, path, "a job cannot take its own output as an input"))
            continue
        if target not in all_keys["jobs"]:
            near = closest(target, all_keys["jobs"])
            hint = f"; did you mean {_nearest_ref(near, ref.format, jobs)!r}?" if near else ""
            found.append(
                _at(resource, path, f"{str(ref)!r}: jobs.{target} is not in the manifests{hint}")
            )
            continue
        other = jobs.get(target)
        if other is None:  # that job failed validation: reported there
            continue
        listed = [o.value for o in other[1].settings.outputs]
        if ref.format in listed:
            continue
        known = ref.format in {f.value for f in OutputFormat}
        near = closest(ref.format, listed if listed else [f.value for f in OutputFormat])
        hint = f"; did you mean 'jobs.{target}.outputs.{near}'?" if near else ""
        what = (
            f"jobs.{target} does not list {ref.format!r} in its settings.outputs"
            if known
            else f"{ref.format!r} is not an output format"
        )
        outputs = ", ".join(listed) or "none"
        message = f"{str(ref)!r}: {what} (jobs.{target} outputs: {outputs}){hint}"
        found.append(_at(resource, path, message))
    return found


def _nearest_ref(key: str, format: str, jobs: dict[str, tuple[Resource, JobSpec]]) -> str:
    """``jobs.KEY.outputs.FORMAT`` with the format corrected too when ``KEY`` lists another."""
    other = jobs.get(key)
    listed = [o.value for o in other[1].settings.outputs] if other is not None else []
    if listed and format not in listed:
        format = closest(format, listed) or format
    return f"jobs.{key}.outputs.{format}"


def _edge_field(spec: JobSpec, target: str) -> tuple[str | int, ...]:
    """The field of ``spec`` that makes it depend on ``jobs.target`` (a cycle is shown there)."""
    for index, ref in spec.output_refs.items():
        if ref.address.key == target:
            return ("inputs", index, "id")
    if cache_reference(spec) == target:
        return ("settings", "cacheSettings", "useCache")
    return ("dependsOn",)


def _cycles(
    jobs: dict[str, tuple[Resource, JobSpec]], refs: dict[str, dict[int, OutputRef]]
) -> list[Finding]:
    """One finding per dependency cycle among jobs (dependsOn, useCache and output-reference
    edges); ``refs`` holds each job's output references."""
    edges: dict[str, list[str]] = {}
    for key, (_, spec) in jobs.items():
        cache = spec.settings.cache_settings
        if not (spec.depends_on or refs[key] or (cache is not None and cache.use_cache)):
            edges[key] = []  # (most jobs: no edge to look for)
            continue
        targets = [a.removeprefix("jobs.") for a in spec.depends_on if a.startswith("jobs.")]
        cached = cache_reference(spec)
        targets += [cached] if cached else []
        targets += [ref.address.key for ref in refs[key].values()]
        edges[key] = [t for t in dict.fromkeys(targets) if t in jobs and t != key]
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    findings: list[Finding] = []
    for start in sorted(edges):
        if state.get(start):
            continue
        if not edges[start]:  # a job without edges closes no cycle: done at once
            state[start] = 2
            continue
        path: list[str] = [start]
        iterators = [iter(edges[start])]
        state[start] = 1
        while iterators:
            step = next(iterators[-1], None)
            if step is None:
                state[path.pop()] = 2
                iterators.pop()
            elif state.get(step) == 1:
                cycle = [*path[path.index(step) :], step]
                text = " -> ".join(f"jobs.{k}" for k in cycle)
                resource, spec = jobs[step]
                field = _edge_field(spec, cycle[1])
                findings.append(_at(resource, field, f"dependency cycle: {text}"))
            elif not state.get(step):
                state[step] = 1
                path.append(step)
                iterators.append(iter(edges[step]))
    return findings


def _same_names(
    jobs: dict[str, tuple[Resource, JobSpec]], workspaces: dict[str, tuple[Resource, WorkspaceSpec]]
) -> list[Finding]:
    """Warnings for two jobs of one workspace (or two workspaces of one iTwin) with one name."""
    findings: list[Finding] = []
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for key, (_, spec) in sorted(jobs.items()):
        owner = (
            f"workspaces.{spec.workspace}" if spec.workspace else f"workspaceId {spec.workspace_id}"
        )
        groups[(owner, spec.name)].append(key)
    for (owner, name), keys in groups.items():
        for key in keys[1:]:
            message = f"job name {name!r} is also used by jobs.{keys[0]} in {owner}"
            findings.append(_at(jobs[key][0], ("name",), message, "warning"))
    spaces: dict[tuple[str, str], list[str]] = defaultdict(list)
    for key, (_, workspace) in sorted(workspaces.items()):
        spaces[(workspace.i_twin_id or "", workspace.name)].append(key)
    for (_, name), keys in spaces.items():
        for key in keys[1:]:
            message = f"workspace name {name!r} is also used by workspaces.{keys[0]} in this iTwin"
            findings.append(_at(workspaces[key][0], ("name",), message, "warning"))
    return findings
