"""Where a state lives: the endpoint and iTwin it is bound to, and the store that checks them.

A state file holds ids that mean something at one endpoint only. Asked at another one (a typo,
a proxy answering 404, ``--local`` on a real project), every job would look gone and be planned
again. So the state records the endpoint it was made against, and a :class:`BoundStateStore`
refuses to hand a state bound elsewhere to a command that talks to another endpoint (see
docs/state.md, "Binding").
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from rmapply.errors import StateEndpointMismatchError
from rmapply.state.document import StateDocument

if TYPE_CHECKING:  # types only: a plan that reads the state never imports restore or the lock
    from rmapply.state.restore import Restored
    from rmapply.state.store import StateSession, StateStore
    from rmapply.state.traces import StateTraces
    from rmapply.state.versions import StateVersion

LOCAL_PREFIX = "local:"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_endpoint(url: str) -> str:
    """``url`` as a state records it: scheme, host, port and path; never user info or query.

    Scheme and host are lowercased, a default port and a trailing slash are dropped, so the
    same service spelled two ways is one endpoint. A ``local:`` marker is kept as it is.
    """
    if url.startswith(LOCAL_PREFIX):
        return url
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: keep the URL recognisable, nothing more
        port = None
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, parts.path.rstrip("/"), "", ""))


# a named tuple: built at import for a third of a dataclass's cost
class Binding(NamedTuple):
    """The endpoint (normalised, or ``local:`` + data path) and iTwin a command works with."""

    endpoint: str
    itwin_id: str | None = None


def is_bound(document: StateDocument) -> bool:
    """True when ``document`` records the endpoint it was made against."""
    return document.endpoint is not None


def is_empty(document: StateDocument) -> bool:
    """True when ``document`` holds no id that could be read back (no resource, nothing pending)."""
    return not document.resources and not document.pending


def check_binding(document: StateDocument, binding: Binding, *, location: str) -> None:
    """Refuse (StateEndpointMismatchError) a state bound to another endpoint or iTwin."""
    if document.endpoint is not None and document.endpoint != binding.endpoint:
        raise StateEndpointMismatchError(
            f"state file {location} belongs to endpoint {document.endpoint}, "
            f"but this command talks to {binding.endpoint}; nothing was read or changed",
            hint=f"use the endpoint the state belongs to (--endpoint, RMAPPLY_ENDPOINT or "
            f"[api] endpoint); if the service really moved, run "
            f"'rmapply state rebind --endpoint {_shown(binding.endpoint)}' (it checks that the "
            "new endpoint knows the recorded ids); see docs/state.md#binding",
        )
    if (
        document.itwin_id is not None
        and binding.itwin_id is not None
        and document.itwin_id != binding.itwin_id
    ):
        raise StateEndpointMismatchError(
            f"state file {location} belongs to iTwin {document.itwin_id}, but [project] "
            f"iTwinId is {binding.itwin_id}; nothing was read or changed",
            hint="point [state] path at this project's own state file, or, if the project "
            f"really moved, run 'rmapply state rebind --itwin {binding.itwin_id}' (it checks "
            "that the recorded jobs belong to it); see docs/state.md#binding",
        )


def _shown(endpoint: str) -> str:
    return "URL" if endpoint.startswith(LOCAL_PREFIX) else endpoint


def bound(document: StateDocument, binding: Binding) -> StateDocument:
    """A copy of ``document`` bound to ``binding``."""
    return document.model_copy(
        update={"endpoint": binding.endpoint, "itwin_id": binding.itwin_id or document.itwin_id}
    )


def read_back(document: StateDocument, answered: Iterable[str]) -> bool:
    """True when at least one recorded id is among ``answered`` (ids the endpoint served)."""
    recorded = {record.remote_id for record in document.resources.values()}
    return any(remote_id in recorded for remote_id in answered)


class BoundStateStore:
    """A StateStore that hands out only states bound to ``binding`` (or not bound yet).

    An unbound state with nothing in it is bound in memory when a writer takes the lock, so
    its first write (the first apply) records the endpoint; an unbound state with ids is bound
    only by :func:`bind_session` once the endpoint answered one of them.
    """

    def __init__(self, inner: StateStore, binding: Binding) -> None:
        self.inner = inner
        self.binding = binding

    @property
    def location(self) -> str:
        """Where the state is."""
        return self.inner.location

    def exists(self) -> bool:
        """True when there is any state."""
        return self.inner.exists()

    def load(self) -> StateDocument:
        """The state for reading, refused when bound elsewhere."""
        document = self.inner.load()
        check_binding(document, self.binding, location=self.location)
        return document

    def find_traces(self) -> StateTraces:
        """The inner store's traces of an earlier state."""
        return self.inner.find_traces()

    def check_traces(self) -> None:
        """The inner store's check for traces of an earlier state."""
        self.inner.check_traces()

    def versions(self) -> list[StateVersion]:
        """The inner store's restorable versions."""
        return self.inner.versions()

    def restore(
        self,
        version: str | None = None,
        *,
        command: str = "state restore",
        timeout: float = 0.0,
        allow_other_lineage: bool = False,
    ) -> Restored:
        """Restore through the inner store (a version is a state of this same file)."""
        return self.inner.restore(
            version, command=command, timeout=timeout, allow_other_lineage=allow_other_lineage
        )

    @contextlib.contextmanager
    def lock(self, command: str, timeout: float = 0.0) -> Iterator[StateSession]:
        """The writer's session, refused (before anything is written) when bound elsewhere."""
        with self.inner.lock(command, timeout) as session:
            document = session.document
            check_binding(document, self.binding, location=self.location)
            if not is_bound(document) and is_empty(document):
                # nothing to read back: written with the first change this command records
                document.endpoint = self.binding.endpoint
                document.itwin_id = self.binding.itwin_id
            yield session


def bind_session(session: StateSession, binding: Binding, answered: Iterable[str]) -> bool:
    """Bind an unbound state once ``answered`` (ids the endpoint served) holds a recorded one.

    Written at once (serial + 1); True when it bound the state.
    """
    document = session.document
    if is_bound(document) or not read_back(document, answered):
        return False
    session.save(bound(document, binding))
    return True


def _bound_store_is_a_state_store(store: BoundStateStore) -> StateStore:
    return store  # mypy proves here that the bound store implements the interface
