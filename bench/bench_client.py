"""Client overhead per call against the in-process emulator: python bench/bench_client.py."""

from __future__ import annotations

import http.client
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from rmapply import wire
from rmapply.client import RealityModelingClient, StaticToken
from rmapply.emulator import Emulator, EmulatorOptions

CALLS = 2000


def main() -> None:
    """Print per-call cost of the client next to a bare http.client loop."""
    with Emulator(EmulatorOptions(speed=1000)) as emu:
        client = RealityModelingClient(emu.base_url, StaticToken("t"))
        itwin = str(uuid.uuid4())
        ws = client.create_workspace(wire.WorkspaceCreation(name="w", i_twin_id=itwin))
        body = wire.JobCreation.from_wire(
            {
                "type": "Full",
                "name": "j",
                "workspaceId": ws.id,
                "inputs": [{"id": "a"}],
                "settings": {"quality": "Draft", "outputs": ["OBJ"]},
            }
        )
        job = client.create_job(body)
        conn = http.client.HTTPConnection("127.0.0.1", emu.port)
        path = f"/contextcapture/jobs/{job.id}"
        headers = {"Authorization": "Bearer t", "Accept": wire.API_MEDIA_TYPE}
        start = time.perf_counter()
        for _ in range(CALLS):
            conn.request("GET", path, headers=headers)
            json.loads(conn.getresponse().read())
        raw = (time.perf_counter() - start) / CALLS
        start = time.perf_counter()
        for _ in range(CALLS):
            client.get_job(job.id)
        per_call = (time.perf_counter() - start) / CALLS
        print(
            f"sequential GET /jobs/id: http.client {raw * 1e6:.0f} us, client "
            f"{per_call * 1e6:.0f} us, overhead {(per_call - raw) * 1e6:.0f} us per call"
        )
        start = time.perf_counter()
        for _ in range(500):
            client.create_job(body)
        print(f"sequential POST /jobs: {(time.perf_counter() - start) / 500 * 1e6:.0f} us per call")
        for workers in (8, 16):
            start = time.perf_counter()
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(lambda _: client.get_job(job.id), range(CALLS)))
            elapsed = time.perf_counter() - start
            print(f"{workers} workers, {CALLS} GETs over one client: {elapsed:.2f} s")


if __name__ == "__main__":
    main()
