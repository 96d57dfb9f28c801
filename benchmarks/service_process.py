"""The service as a benchmark starts it: its own process on a free loopback port, SQLite in a temporary
folder unless the environment says otherwise, ready once /healthz answers; killed on the way out."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def service_process(code: Path = ROOT, **environment: str) -> Iterator[int]:
    """Serve `code` (a checkout) with `environment` added to this process's; yields the port."""
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "PYTHONPATH": str(code),
            "DATABASE_URL": f"sqlite:///{folder}/service.db",
            "LOG_LEVEL": "warning",
            **environment,
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--port", str(port)],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start")
                time.sleep(0.2)
            yield port
        finally:
            server.kill()
            server.wait(10)
