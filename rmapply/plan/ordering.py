"""Dependency order of a plan's actions, and ``--target`` selection with what the targets need."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from fnmatch import fnmatchcase

from rmapply.errors import PlanError
from rmapply.model import Address, ResourceKind
from rmapply.plan.actions import Action, ActionType

REMOVALS = frozenset({ActionType.DELETE, ActionType.FORGET})
_NOOP = ActionType.NOOP  # a module constant: enum members looked up on the class are slow


def _tie(address: Address) -> tuple[int, str]:
    # workspaces first, then by key: the order a reader expects among independent resources
    return (0 if address.kind is ResourceKind.WORKSPACE else 1, address.key)


def matching(
    patterns: Sequence[str],
    universe: Iterable[Address],
    *,
    flag: str = "--target",
    where: str = "in the manifests or the state",
) -> set[Address]:
    """Addresses matching any glob (``jobs.site-*``); PlanError naming every pattern that
    matches none, with the closest address when one is close."""
    import difflib  # here, not at the top: start-up never needs it

    addresses = list(universe)
    names = {a: str(a) for a in addresses}
    found: set[Address] = set()
    unmatched: list[str] = []
    for pattern in patterns:
        hits = {a for a, name in names.items() if fnmatchcase(name, pattern)}
        if not hits:
            unmatched.append(pattern)
        found |= hits
    if unmatched:
        listed = ", ".join(repr(p) for p in unmatched)
        close = [
            guess
            for p in unmatched
            for guess in difflib.get_close_matches(p, sorted(names.values()), n=1)
        ]
        guess = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
        raise PlanError(
            f"{flag} {listed} matches no resource {where}",
            hint=f"{guess}{flag} takes an address or a glob such as 'jobs.site-*'",
        )
    return found


def closure(
    start: Iterable[Address], needs: Callable[[Address], Iterable[Address]]
) -> set[Address]:
    """``start`` and, transitively, everything it needs."""
    seen: set[Address] = set()
    todo = list(start)
    while todo:
        address = todo.pop()
        if address in seen:
            continue
        seen.add(address)
        todo.extend(d for d in needs(address) if d not in seen)
    return seen


def _topological(nodes: Iterable[Address], after: Mapping[Address, set[Address]]) -> list[Address]:
    """Kahn's algorithm: a node comes after every node in ``after[node]``; ties by ``_tie``."""
    members = set(nodes)
    waiting = {n: {d for d in after.get(n, ()) if d in members and d != n} for n in members}
    followers: dict[Address, list[Address]] = {}
    for node, deps in waiting.items():
        for dep in deps:
            followers.setdefault(dep, []).append(node)
    ready = [(_tie(n), n) for n, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    ordered: list[Address] = []
    while ready:
        _, node = heapq.heappop(ready)
        ordered.append(node)
        for follower in followers.get(node, ()):
            deps = waiting[follower]
            deps.discard(node)
            if not deps:
                heapq.heappush(ready, (_tie(follower), follower))
    if len(ordered) != len(members):
        stuck = sorted(str(n) for n in members - set(ordered))
        raise PlanError(
            f"dependency cycle among {', '.join(stuck)}",
            hint="remove one of the dependsOn entries that close the cycle",
        )
    return ordered


def order_actions(
    actions: Sequence[Action],
    needs: Mapping[Address, set[Address]],
    used_by_removed: Mapping[Address, set[Address]],
) -> tuple[Action, ...]:
    """Creations and changes first, each after what it needs; then removals, each after the
    removals of what used it (a job is forgotten before the workspace it ran in is deleted);
    no-ops last, in the order given.

    ``needs``: desired dependencies by address; ``used_by_removed``: for a removed resource, the
    addresses it used (its workspace, its dependsOn), taken from the state.
    """
    by_address: dict[Address, Action] = {}
    noops: list[Address] = []
    forward: list[Address] = []
    backward: list[Address] = []
    for action in actions:  # one pass: a 10,000-action plan is mostly no-ops
        address, kind = action.address, action.action
        by_address[address] = action
        if kind is _NOOP:
            noops.append(address)
        elif kind in REMOVALS:
            backward.append(address)
        else:
            forward.append(address)
    if not forward and not backward:
        return tuple(actions)
    removal_after: dict[Address, set[Address]] = {}
    for user in backward:
        for used in used_by_removed.get(user, ()):
            removal_after.setdefault(used, set()).add(user)
    ordered = _topological(forward, needs) + _topological(backward, removal_after)
    return tuple([by_address[a] for a in ordered] + [by_address[a] for a in noops])
