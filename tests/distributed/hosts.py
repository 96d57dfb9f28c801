"""Hosts of their own for Celery workers on this one machine: each host a Linux network namespace with its own
address on a bridge, joined to it by a veth pair whose link can be cut (a partition) and restored.

PostgreSQL and RabbitMQ listen on 127.0.0.1 only, which no namespace can reach: a `Forwarder` in the test
process listens on the bridge's address and relays each connection to loopback, so the hosts reach the
broker and the database over their own links and only namespace addresses and loopback are used.

Everything made here is named `pah<pid>...` after the process that made it, deleted on exit (even on a
failure), and a later run deletes what a run killed before its clean-up (a dead pid's leftovers).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import os
import random
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

PREFIX = "pah"  # presales-allocator hosts: every namespace and link made here starts with it
# A partitioned host's TCP retransmits back off up to 120 s by default, so its late answer would reach the
# database up to two minutes after the link is back; capped at 1 s inside the hosts (Linux >= 6.15), the
# test waits seconds. The partition itself is unchanged: nothing crosses the link while it is down.
TCP_RTO_MAX_MS = 1000
RTO_MAX = "/proc/sys/net/ipv4/tcp_rto_max_ms"


def why_no_hosts() -> str | None:
    """Why network namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "making network namespaces, a bridge and veth links needs root (run the tests as root)"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is missing: apt-get install iproute2"
    return None


def ip(*args: str) -> str:
    completed = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {completed.stderr.strip()}")
    return completed.stdout


@dataclass(frozen=True)
class Host:
    """One namespace: where its processes run, its address, and the bridge's end of its link."""

    namespace: str
    address: str
    link: str  # the veth end on the bridge, in the root namespace: down cuts the host off

    @property
    def launcher(self) -> list[str]:
        """The command prefix that runs a program on this host (`ip netns exec` execs in place: same pid)."""
        return ["ip", "netns", "exec", self.namespace]


class Network:
    """A bridge in the root namespace with `hosts` namespaces on it, each on its own veth pair."""

    def __init__(self, hosts: int) -> None:
        self.tag = f"{PREFIX}{os.getpid()}"
        self.bridge = f"{self.tag}b"
        subnet = _free_subnet()
        addresses = list(subnet.hosts())
        self.gateway = str(addresses[0])  # the bridge's address: the forwarder listens here
        self.prefixlen = subnet.prefixlen
        self.hosts = [Host(f"{self.tag}-host{i}", str(addresses[i + 1]), f"{self.tag}v{i}") for i in range(hosts)]

    def __enter__(self) -> Network:
        remove_leftovers()
        try:
            self._make()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _make(self) -> None:
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.gateway}/{self.prefixlen}", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for i, host in enumerate(self.hosts):
            inside = f"{self.tag}n{i}"
            ip("netns", "add", host.namespace)
            ip("link", "add", host.link, "type", "veth", "peer", "name", inside)
            ip("link", "set", inside, "netns", host.namespace)
            ip("link", "set", host.link, "master", self.bridge)
            ip("link", "set", host.link, "up")
            ip("-n", host.namespace, "addr", "add", f"{host.address}/{self.prefixlen}", "dev", inside)
            ip("-n", host.namespace, "link", "set", inside, "up")
            ip("-n", host.namespace, "link", "set", "lo", "up")
            if Path(RTO_MAX).exists():
                ip("netns", "exec", host.namespace, "sh", "-c", f"echo {TCP_RTO_MAX_MS} > {RTO_MAX}")

    def partition(self, host: Host) -> None:
        """Cut the host's link: its processes live on, but nothing they send or are sent gets through."""
        ip("link", "set", host.link, "down")

    def heal(self, host: Host) -> None:
        ip("link", "set", host.link, "up")

    def close(self) -> None:
        """Delete the namespaces (their veth ends, and so the pairs, go with them) and the bridge."""
        for host in self.hosts:
            with contextlib.suppress(RuntimeError):
                ip("netns", "delete", host.namespace)
            with contextlib.suppress(RuntimeError):
                ip("link", "delete", host.link)
        with contextlib.suppress(RuntimeError):
            ip("link", "delete", self.bridge)


def _free_subnet() -> ipaddress.IPv4Network:
    """A /24 in 10.213.0.0/16 that no address of the root namespace is in."""
    used = [ipaddress.ip_interface(found).network for found in re.findall(r"inet (\S+)", ip("-4", "addr"))]
    candidates = list(ipaddress.IPv4Network("10.213.0.0/16").subnets(new_prefix=24))
    random.shuffle(candidates)
    for subnet in candidates:
        if not any(subnet.overlaps(other) for other in used):
            return subnet
    raise RuntimeError("no free /24 left in 10.213.0.0/16 for the test hosts")


def remove_leftovers() -> None:
    """Delete namespaces and links that a run killed before its clean-up left (their pid is gone)."""
    names = ip("netns", "list").split() + re.findall(r"^\d+: ([^:@\s]+)", ip("-o", "link"), flags=re.MULTILINE)
    for name in names:
        made_by = re.match(rf"{PREFIX}(\d+)", name)
        if made_by is None or Path(f"/proc/{made_by.group(1)}").exists():
            continue
        with contextlib.suppress(RuntimeError):
            if "-host" in name:
                ip("netns", "delete", name)
            else:
                ip("link", "delete", name)


class Forwarder:
    """TCP relays from an address of the bridge to services on loopback, on an event loop in a thread.

    A relay is a plain byte pipe each way: when either side closes, both do, so a peer that gives up on a
    partitioned host (RabbitMQ after missed heartbeats) closes that host's connection as it would directly.
    """

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="forwarder", daemon=True)
        self._thread.start()
        self._servers: list[asyncio.Server] = []
        self._transports: set[asyncio.StreamWriter] = set()

    def relay(self, listen_host: str, target_host: str, target_port: int) -> int:
        """Listen on a free port of `listen_host`, relaying to target_host:target_port; the port."""
        served = asyncio.run_coroutine_threadsafe(self._serve(listen_host, target_host, target_port), self._loop)
        return served.result(10)

    async def _serve(self, listen_host: str, target_host: str, target_port: int) -> int:
        connect = functools.partial(self._connection, target_host, target_port)
        server = await asyncio.start_server(connect, listen_host, 0)
        self._servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    async def _connection(
        self, target_host: str, target_port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(target_host, target_port)
        except OSError:
            writer.close()
            return
        self._transports |= {writer, upstream_writer}
        try:
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            self._transports -= {writer, upstream_writer}

    def close(self) -> None:
        async def stop() -> None:
            for server in self._servers:
                server.close()
            for writer in list(self._transports):
                writer.transport.abort()
            relays = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in relays:
                task.cancel()
            await asyncio.gather(*relays, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> Forwarder:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream or an error, then close the other side (which ends the opposite pipe)."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
