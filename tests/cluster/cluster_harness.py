"""Hosts for the multi-machine tests: Linux network namespaces, a Postgres server from
pgserver's binaries that a test can stop and restart on the same address, processes started
in a namespace and killed by namespace.

Every name (namespaces, bridge, veths) starts with one prefix per test so that
:meth:`Network.destroy` removes exactly what the test made, whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def wait_until(pred: Callable[[], T], what: str, timeout: float, every: float = 0.1) -> T:
    """Poll ``pred`` until it returns something truthy (returned); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def run(*cmd: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, timeout=timeout)


def netns_unavailable() -> str | None:
    """Why network namespaces cannot be made here (None: they can)."""
    if os.geteuid() != 0:
        return "needs root to make network namespaces (ip netns add)"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    if shutil.which("runuser") is None:
        return "runuser (util-linux) is not installed: Postgres cannot run as root"
    probe = f"hxp{uuid.uuid4().hex[:6]}"
    made = run("ip", "netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"ip netns add is not allowed here: {made.stderr.strip()}"
    run("ip", "netns", "del", probe, check=False)
    for kind, extra in (("bridge", []), ("veth", ["peer", "name", f"{probe}p"])):
        made = run("ip", "link", "add", f"{probe}l", "type", kind, *extra, check=False)
        if made.returncode != 0:
            return f"cannot make a {kind} link here: {made.stderr.strip()}"
        run("ip", "link", "del", f"{probe}l", check=False)
    return None


# --- network ------------------------------------------------------------------------------


@dataclass
class Network:
    """A bridge in the root namespace (``.254``) and one namespace per host, each joined to
    the bridge by a veth pair: ``hosts[name]`` is the host's address."""

    prefix: str
    subnet: str  # "10.213.N" (a /24)
    hosts: dict[str, str] = field(default_factory=dict)
    _veths: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls) -> Network:
        """A new network with an unused /24 of 10.213.0.0/16."""
        used = run("ip", "-4", "-o", "addr").stdout
        for n in range(0, 256):
            subnet = f"10.213.{(n + os.getpid()) % 250}"
            if f"{subnet}." not in used:
                break
        net = cls(prefix=f"hx{uuid.uuid4().hex[:4]}", subnet=subnet)
        run("ip", "link", "add", net.bridge, "type", "bridge")
        run("ip", "addr", "add", f"{subnet}.254/24", "dev", net.bridge)
        run("ip", "link", "set", net.bridge, "up")
        return net

    @property
    def bridge(self) -> str:
        return f"{self.prefix}br"

    def ns(self, host: str) -> str:
        """The namespace of ``host``."""
        return f"{self.prefix}-{host}"

    def add_host(self, host: str, last_octet: int) -> str:
        """A namespace joined to the bridge; returns its address."""
        ns, addr = self.ns(host), f"{self.subnet}.{last_octet}"
        outer, inner = f"{self.prefix}{host}o", f"{self.prefix}{host}i"
        run("ip", "netns", "add", ns)
        run("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
        run("ip", "link", "set", inner, "netns", ns)
        run("ip", "link", "set", outer, "master", self.bridge)
        run("ip", "link", "set", outer, "up")
        for cmd in (
            ("ip", "link", "set", "lo", "up"),
            ("ip", "addr", "add", f"{addr}/24", "dev", inner),
            ("ip", "link", "set", inner, "up"),
        ):
            run("ip", "netns", "exec", ns, *cmd)
        self.hosts[host] = addr
        self._veths[host] = outer
        return addr

    def link(self, host: str, up: bool) -> None:
        """Cut (``up=False``) or restore the host's only link."""
        run("ip", "link", "set", self._veths[host], "up" if up else "down")

    def exec_prefix(self, host: str | None) -> list[str]:
        """The command prefix that runs a program on ``host`` (None: the root namespace)."""
        return [] if host is None else ["ip", "netns", "exec", self.ns(host)]

    def pids(self, host: str) -> list[int]:
        """Every process in the host's namespace."""
        out = run("ip", "netns", "pids", self.ns(host), check=False).stdout
        return [int(p) for p in out.split()]

    def kill_host(self, host: str) -> list[int]:
        """SIGKILL every process of ``host`` (a machine losing power); returns their pids."""
        killed: list[int] = []
        for _ in range(20):  # children forked while we kill
            pids = self.pids(host)
            if not pids:
                return killed
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
            time.sleep(0.05)
        raise AssertionError(f"processes of {host} outlived SIGKILL: {self.pids(host)}")

    def destroy(self) -> None:
        """Kill every process of every host, delete the namespaces, veths and the bridge."""
        for host in list(self.hosts):
            with contextlib.suppress(Exception):
                self.kill_host(host)
            run("ip", "netns", "del", self.ns(host), check=False)
            run("ip", "link", "del", self._veths[host], check=False)
        run("ip", "link", "del", self.bridge, check=False)
        # anything left with our prefix (a host half made when setup failed)
        for line in run("ip", "netns", "list", check=False).stdout.splitlines():
            name = line.split()[0] if line.split() else ""
            if name.startswith(f"{self.prefix}-"):
                for pid in run("ip", "netns", "pids", name, check=False).stdout.split():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(pid), signal.SIGKILL)
                run("ip", "netns", "del", name, check=False)
        for line in run("ip", "-o", "link", check=False).stdout.splitlines():
            parts = line.split(": ")
            if len(parts) > 1 and parts[1].split("@")[0].startswith(self.prefix):
                run("ip", "link", "del", parts[1].split("@")[0], check=False)


# --- Postgres -----------------------------------------------------------------------------


def pg_bin(name: str) -> str:
    """A Postgres program shipped by pgserver (Postgres 16 with pgvector)."""
    import pgserver

    return str(Path(pgserver.__file__).parent / "pginstall" / "bin" / name)


class Postgres:
    """A Postgres server on ``host:port`` (in a namespace when ``netns`` is given), trust
    authentication for TCP clients; run as the ``pgserver`` system user under root, as
    pgserver itself does (Postgres refuses to run as root)."""

    def __init__(self, host: str, port: int, *, prefix: list[str] | None = None) -> None:
        self.host, self.port = host, port
        self.prefix = prefix or []
        # Outside pytest's temp root, which is 0700 (the server's user must enter it).
        self.root = Path(tempfile.mkdtemp(prefix="heaters-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.user: str | None = None
        if os.geteuid() == 0:
            from pgserver.utils import ensure_user_exists

            ensure_user_exists("pgserver")
            self.user = "pgserver"
            self.root.chmod(0o755)
            shutil.chown(self.root, self.user, self.user)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def _cmd(self, *args: str) -> list[str]:
        as_user = ["runuser", "-u", self.user, "--"] if self.user else []
        return [*self.prefix, *as_user, *args]

    def _run(self, *args: str, timeout: float = 120) -> None:
        done = subprocess.run(self._cmd(*args), capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            log = self.log.read_text()[-3000:] if self.log.exists() else ""
            raise AssertionError(f"{args[0]} failed: {done.stderr.strip()}\n{log}")

    def init(self) -> None:
        """initdb, listen on ``host:port`` only (no unix socket), trust TCP clients."""
        self._run(pg_bin("initdb"), "-D", str(self.data), "--auth=trust", "-U", "postgres",
                  "--encoding=utf8", "--no-sync")  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nlisten_addresses = '{self.host}'\nport = {self.port}\n"
                "unix_socket_directories = ''\nmax_connections = 200\nfsync = off\n"
                "synchronous_commit = off\nfull_page_writes = off\n"
            )
        (self.data / "pg_hba.conf").write_text(
            "host all all 0.0.0.0/0 trust\nhost all all ::/0 trust\n"
        )
        if self.user:
            shutil.chown(self.data / "pg_hba.conf", self.user, self.user)

    def start(self) -> None:
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "start")  # fmt: skip

    def stop(self) -> None:
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def restart(self) -> None:
        """Stop (fast: every connection is cut) and start again on the same address."""
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-m", "fast",
                  "-w", "-t", "60", "restart")  # fmt: skip

    def running(self) -> bool:
        done = subprocess.run(self._cmd(pg_bin("pg_ctl"), "-D", str(self.data), "status"),
                              capture_output=True, text=True, timeout=30)  # fmt: skip
        return done.returncode == 0

    def destroy(self) -> None:
        """Stop the server (immediately) and remove its files."""
        if self.data.exists() and self.running():
            subprocess.run(
                self._cmd(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"),
                capture_output=True, timeout=60,
            )  # fmt: skip
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():  # a server whose namespace died with it is gone already
            with contextlib.suppress(ValueError, ProcessLookupError, OSError):
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


# --- processes ----------------------------------------------------------------------------


@dataclass
class Proc:
    """A process started by a test, with its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM, then SIGKILL after ``timeout``."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)


def start(
    name: str, cmd: list[str], *, env: dict[str, str], logs: Path, cwd: Path,
    prefix: list[str] | None = None,
) -> Proc:  # fmt: skip
    """Start ``cmd`` (in a namespace when ``prefix`` says so), output to ``logs/name.log``."""
    log = logs / f"{name}.log"
    with log.open("ab") as out:
        popen = subprocess.Popen([*(prefix or []), *cmd], env=env, cwd=cwd, stdout=out,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # fmt: skip
    return Proc(name, popen, log)
