"""A local Reality Modeling v1 service for tests, offline rehearsal and benchmarks.

Moto-style rooms: routes (HTTP -> operation), request_body and request_query (the network's bytes
to typed values, within limits), backend (rules), lifecycle (simulated clock),
storage (SQLite), problems (API error bodies), auth (+ token endpoint), odata ($filter), faults,
server (HTTP/1.1), startup (database, TLS, socket as ConfigErrors), instance (the in-process API).
See docs/emulator.md.
"""

from rmapply.emulator.instance import Emulator
from rmapply.emulator.options import EmulatorOptions

__all__ = ["Emulator", "EmulatorOptions"]
