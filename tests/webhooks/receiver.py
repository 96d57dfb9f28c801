"""A webhook receiver for the tests: a real HTTP server on loopback that records every POST and answers as
scripted (a status code, or hang until released), as a CRM's endpoint would."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from tests.api.workload import wait_for

Answer = int | Literal["hang"]
# A hanging answer is released by the test; this bounds it should a test fail before releasing it.
HANG_LIMIT_S = 120.0


@dataclass(frozen=True)
class Received:
    """One POST as the receiver got it."""

    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


class Receiver:
    """Answers each POST with the next scripted answer, then `default` once the script is used up."""

    def __init__(self, default: Answer = 200) -> None:
        self.default: Answer = default
        self._script: deque[Answer] = deque()
        self._received: list[Received] = []
        self._answered: list[int] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self.hanging = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def script(self, *answers: Answer) -> None:
        with self._lock:
            self._script.extend(answers)

    def release(self) -> None:
        """Let every hanging answer (and every later one scripted to hang) go."""
        self._release.set()

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    @property
    def answered(self) -> list[int]:
        """The status of every answer sent (a hang released answers 200), in order."""
        with self._lock:
            return list(self._answered)

    def wait_for(self, probe: Callable[[Receiver], bool], *, timeout_s: float, what: str) -> None:
        """Until `probe` holds for this receiver (tests.api.workload.wait_for: bounded, polled)."""
        wait_for(lambda: True if probe(self) else None, timeout_s=timeout_s, what=what)

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def _next_answer(self) -> Answer:
        with self._lock:
            return self._script.popleft() if self._script else self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {name.lower(): value for name, value in self.headers.items()}
                answer = receiver._next_answer()
                with receiver._lock:
                    receiver._received.append(Received(self.path, headers, body))
                    receiver.hanging += answer == "hang"
                if answer == "hang":
                    receiver._release.wait(HANG_LIMIT_S)
                    with receiver._lock:
                        receiver.hanging -= 1
                status = 200 if answer == "hang" else answer
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the sender has gone (killed, or gave up waiting)
                    return
                with receiver._lock:
                    receiver._answered.append(status)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the tests look at `received`

        return Handler
