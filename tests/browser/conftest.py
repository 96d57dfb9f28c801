"""Browser fixtures: the real server in a subprocess on a free loopback port with a temporary SQLite
database, and Debian's Chromium driven headless by Playwright. Tests skip, saying why, without Chromium
(scripts/browser.sh installs it).

Safe under pytest-xdist: each server has its own folder (tmp_path_factory is per worker) and is started
again on another port if a parallel worker took its port first; tests/conftest.py keeps each module's
tests on one worker, so that its server and Chromium start once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from benchmarks.service_process import free_port
from tests.api.workload import wait_for

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = {"width": 1366, "height": 768}
PORT_ATTEMPTS = 3


class Server:
    """`python -m service serve` on 127.0.0.1 with its own SQLite file; stopped with SIGTERM."""

    def __init__(self, workdir: Path, **env: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "server.log"
        self._log = self.log_path.open("wb")
        environment = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{workdir / 'browser.db'}",
            "SOLVE_WORKERS": "2",
            "API_KEYS": "",
            # These tests are about the page, not the watchdog (tests/api/test_jobs.py is). Under pytest-xdist
            # the server's solves share the cores with another worker's test, and a variant killed at the
            # default 1.5 times its time limit would fail a test of the page.
            "WATCHDOG_FACTOR": "3",
            **env,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=workdir,
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.client = httpx.Client(base_url=self.url, timeout=60)

    def wait_until_ready(self) -> bool:
        """True once /readyz answers; False if the server exited because its port was taken in the
        meantime (the port is free when chosen, and a parallel worker may bind it before this server)."""

        def ready() -> bool | None:
            if self.process.poll() is not None:
                log = self.log_path.read_text()
                assert "address already in use" in log.lower(), f"server exited: {log[-3000:]}"
                return False
            try:
                return self.client.get("/readyz").status_code == 200 or None
            except httpx.TransportError:
                return None

        return wait_for(ready, timeout_s=90, what="the server to be ready", interval_s=0.2)

    def close(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()


ServerFactory = Callable[..., Server]


@pytest.fixture(scope="module")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerFactory]:
    servers: list[Server] = []

    def start(**env: str) -> Server:
        for _ in range(PORT_ATTEMPTS):
            server = Server(tmp_path_factory.mktemp("server"), **env)
            servers.append(server)
            if server.wait_until_ready():
                return server
        raise AssertionError(f"no free port in {PORT_ATTEMPTS} attempts: {server.log_path.read_text()[-3000:]}")

    yield start
    for server in servers:
        server.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/browser.sh as root (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=60_000)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=LAPTOP)
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"the page raised: {errors}"


def use_key(page: Page, key: str) -> None:
    """Save `key` in the page's key form and wait until the Workspace tab has drawn the board with it."""
    page.fill("#api-key", key)
    page.click("#key-form button[type=submit]")
    page.wait_for_function("() => document.body.dataset.boardReady === 'true'")


def open_board(page: Page, server: Server, key: str) -> None:
    """The page from its start, signed in with `key`, once the board is drawn."""
    page.goto(server.url + "/")
    page.wait_for_function("() => document.body.dataset.ready === 'true'")
    use_key(page, key)
