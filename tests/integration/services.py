"""Throwaway PostgreSQL, Redis and nginx servers for integration tests: free ports, a temp dir, torn down
reliably.

The binaries come from Debian packages (`scripts/services.sh` installs them). PostgreSQL refuses to run as
root, so under root every PostgreSQL command runs as the `postgres` system user (`runuser`) and the data
directory is created outside pytest's private temp tree (which that user could not enter) and owned by it.
Both servers run in the foreground as children in their own process group, so a test that fails half-way
still stops them (`stop()` is idempotent; the fixtures call it in `finally`).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PG_OS_USER = "postgres"  # the Debian package's system user; used only when we are root


class ServiceError(RuntimeError):
    """A service could not be found, started or reached; the message says what to do."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def pg_bindir() -> Path | None:
    """Folder with initdb/postgres: PATH first, then Debian's /usr/lib/postgresql/<version>/bin."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("postgres"):
        return Path(initdb).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]), reverse=True
    )
    return Path(candidates[0]).parent if candidates else None


def nginx_binary() -> str | None:
    """nginx from PATH, or where the Debian package puts it (/usr/sbin is not on every user's PATH)."""
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def missing_binaries(*, nginx: bool = False) -> list[str]:
    """What `scripts/services.sh` would have to install; empty when the servers can be started
    (PostgreSQL and Redis; nginx too when asked)."""
    missing = []
    if nginx and nginx_binary() is None:
        missing.append("nginx")
    if pg_bindir() is None:
        missing.append("postgresql (initdb, postgres)")
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if os.geteuid() == 0 and pg_bindir() is not None:
        try:
            import pwd

            pwd.getpwnam(PG_OS_USER)
        except KeyError:
            missing.append(f"system user {PG_OS_USER!r} (created by the postgresql package)")
        if shutil.which("runuser") is None:
            missing.append("runuser (util-linux)")
    return missing


def _stop_group(proc: subprocess.Popen[bytes] | None, sig: int, grace: float) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


@dataclass
class Postgres:
    """A private PostgreSQL cluster on 127.0.0.1:<free port> with a password-protected superuser."""

    user: str = "hotline"
    password: str = "hotline-test-pw"
    port: int = 0
    root: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    started_in: float = 0.0
    databases: list[str] = field(default_factory=list)

    def url(self, database: str, driver: str = "postgresql") -> str:
        return f"{driver}://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _as_pg(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", PG_OS_USER, "--", *argv] if os.geteuid() == 0 else argv

    def start(self, timeout: float = 60) -> Postgres:
        bindir = pg_bindir()
        if bindir is None:
            raise ServiceError("找不到 PostgreSQL (initdb/postgres)：请运行 `bash scripts/services.sh`")
        t0 = time.monotonic()
        # Not under pytest's tmp dir: its parents are mode 0700 and the postgres user could not enter them.
        self.root = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
        data, pwfile, log = self.root / "data", self.root / "pw", self.root / "postgres.log"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.root, PG_OS_USER)
            shutil.chown(pwfile, PG_OS_USER)
        init = subprocess.run(
            self._as_pg(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    self.user,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ]
            ),
            capture_output=True,
            text=True,
            cwd=self.root,
        )
        if init.returncode != 0:
            raise ServiceError(
                f"initdb 失败 (exit {init.returncode}):\n{init.stdout[-1500:]}{init.stderr[-1500:]}"
            )
        self.port = free_port()
        self._launch()
        self._wait_ready(log, timeout)
        self.started_in = time.monotonic() - t0
        return self

    def restart(self, timeout: float = 60, while_down: Callable[[], object] | None = None) -> None:
        """Fast shutdown, then the same cluster again on the same port (connections are dropped);
        `while_down` runs while the server is stopped."""
        assert self.root is not None, "not started"
        _stop_group(self.proc, signal.SIGINT, 20)
        if while_down is not None:
            while_down()
        self._launch()
        self._wait_ready(self.root / "postgres.log", timeout)

    def _launch(self) -> None:
        assert self.root is not None
        bindir = pg_bindir()
        assert bindir is not None
        data, log = self.root / "data", self.root / "postgres.log"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                self._as_pg(
                    [
                        str(bindir / "postgres"),
                        "-D",
                        str(data),
                        "-p",
                        str(self.port),
                        "-k",
                        str(self.root),  # unix socket here, not in /var/run/postgresql
                        "-c",
                        "listen_addresses=127.0.0.1",
                        "-c",
                        "fsync=off",  # a throwaway cluster: durability is not under test
                        "-c",
                        "synchronous_commit=off",
                        "-c",
                        "full_page_writes=off",
                        "-c",
                        "max_connections=200",
                    ]
                ),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.root,
                start_new_session=True,
            )

    def _wait_ready(self, log: Path, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise ServiceError(
                    f"PostgreSQL 退出 (exit {self.proc.returncode}), log {log}:\n{_log_tail(log)}"
                )
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError as exc:
                last = exc
                time.sleep(0.2)
        raise ServiceError(f"PostgreSQL 在 {timeout:.0f} 秒内没有就绪: {last}\n{_log_tail(log)}")

    def create_database(self, name: str) -> str:
        """CREATE DATABASE name; returns its postgresql:// URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.databases.append(name)
        return self.url(name)

    def pid(self) -> int | None:
        """The postmaster's pid (runuser is our direct child under root)."""
        if self.root is None:
            return None
        try:
            return int((self.root / "data" / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        _stop_group(self.proc, signal.SIGINT, 20)  # SIGINT = fast shutdown
        self.proc = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


@dataclass
class Redis:
    """`redis-server` on 127.0.0.1:<free port>, no persistence, in the foreground."""

    port: int = 0
    root: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    started_in: float = 0.0

    def start(self, timeout: float = 20) -> Redis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceError("找不到 redis-server：请运行 `bash scripts/services.sh`")
        t0 = time.monotonic()
        self.root = Path(tempfile.mkdtemp(prefix="hotline-redis-"))
        self.port = free_port()
        log = self.root / "redis.log"
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--dir",
                    str(self.root),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServiceError(f"redis-server 退出 (exit {self.proc.returncode}):\n{_log_tail(log)}")
            try:
                if self.command("PING") == "PONG":
                    self.started_in = time.monotonic() - t0
                    return self
            except OSError:
                time.sleep(0.1)
        raise ServiceError(f"redis-server 在 {timeout:.0f} 秒内没有就绪:\n{_log_tail(log)}")

    def command(self, *args: str) -> str:
        """One command over RESP; returns the reply as text (bulk/simple strings and integers)."""
        request = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
        with socket.create_connection(("127.0.0.1", self.port), timeout=3) as s:
            s.sendall(request.encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                if _complete(data):
                    break
        kind, body = data[:1], data[1:]
        if kind in (b"+", b":"):
            return body.split(b"\r\n", 1)[0].decode()
        if kind == b"$":
            header, rest = body.split(b"\r\n", 1)
            return "" if int(header) < 0 else rest[: int(header)].decode(errors="replace")
        if kind == b"-":
            raise ServiceError(f"redis error: {body.decode(errors='replace').strip()}")
        return data.decode(errors="replace")

    def stop(self) -> None:
        _stop_group(self.proc, signal.SIGTERM, 10)
        self.proc = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


@dataclass
class Nginx:
    """`nginx` in the foreground with a generated configuration, everything under a temp dir.

    `http_block` is the inside of the configuration's `http {}` (upstreams and servers); the rest (pid,
    logs, temp paths, no daemon) is filled in here so nothing touches /etc/nginx or /var/log/nginx. Under
    root the worker processes run as nginx's default unprivileged user, so the temp dir is world-readable.
    The access log (`access_log`) records the upstream each request went to (`upstream_log`).
    """

    http_block: str
    root: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    started_in: float = 0.0

    # "|"-separated: $upstream_addr lists every server tried ("127.0.0.1:1, 127.0.0.1:2")
    LOG_FORMAT = "$msec|$server_port|$request_method|$uri|$status|$upstream_addr|$upstream_status"

    @property
    def access_log(self) -> Path:
        assert self.root is not None, "not started"
        return self.root / "access.log"

    def config(self) -> str:
        assert self.root is not None
        temp = "\n".join(
            f"    {kind}_temp_path {self.root / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        return (
            "daemon off;\n"
            "worker_processes 1;\n"
            f"pid {self.root / 'nginx.pid'};\n"
            f"error_log {self.root / 'error.log'} warn;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            f"    log_format upstreams '{self.LOG_FORMAT}';\n"
            f"    access_log {self.access_log} upstreams;\n"
            f"{temp}\n"
            f"{self.http_block}\n"
            "}\n"
        )

    def start(self, ports: list[int], timeout: float = 20) -> Nginx:
        """Start, then wait until every port in `ports` (the configuration's listen ports) accepts."""
        binary = nginx_binary()
        if binary is None:
            raise ServiceError("找不到 nginx：请运行 `bash scripts/services.sh`")
        t0 = time.monotonic()
        self.root = Path(tempfile.mkdtemp(prefix="hotline-nginx-"))
        self.root.chmod(0o755)  # workers (nobody under root) create temp files below it
        conf = self.root / "nginx.conf"
        conf.write_text(self.config())
        log = self.root / "nginx.out"
        check = subprocess.run(
            [binary, "-t", "-q", "-p", str(self.root), "-e", str(self.root / "error.log"), "-c", str(conf)],
            capture_output=True,
            text=True,
        )
        if check.returncode != 0:
            raise ServiceError(f"nginx 配置无效:\n{check.stderr[-2000:]}\n{self.config()}")
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [binary, "-p", str(self.root), "-e", str(self.root / "error.log"), "-c", str(conf)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        pending = list(ports)
        while pending and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServiceError(
                    f"nginx 退出 (exit {self.proc.returncode}):\n{_log_tail(self.root / 'error.log')}"
                )
            try:
                with socket.create_connection(("127.0.0.1", pending[0]), timeout=1):
                    pending.pop(0)
            except OSError:
                time.sleep(0.1)
        if pending:
            raise ServiceError(f"nginx 在 {timeout:.0f} 秒内没有就绪:\n{_log_tail(self.root / 'error.log')}")
        self.started_in = time.monotonic() - t0
        return self

    def upstream_log(self) -> list[dict[str, str]]:
        """The access log so far: one dict per request (server port, uri, status, upstream(s) tried)."""
        keys = ("msec", "port", "method", "uri", "status", "upstream", "upstream_status")
        try:
            lines = self.access_log.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []
        return [dict(zip(keys, line.split("|"), strict=False)) for line in lines]

    def error_log(self) -> str:
        return _log_tail(self.root / "error.log", 40) if self.root is not None else "(not started)"

    def stop(self) -> None:
        _stop_group(self.proc, signal.SIGTERM, 10)  # SIGTERM = fast shutdown (master and workers)
        self.proc = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


def _complete(data: bytes) -> bool:
    if not data.endswith(b"\r\n"):
        return False
    if data[:1] == b"$":
        header, rest = data[1:].split(b"\r\n", 1)
        size = int(header)
        return size < 0 or len(rest) >= size + 2
    return True


def rss_mb(pid: int) -> float:
    """Resident set size of one process in MiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


def children_of(pid: int) -> list[int]:
    """Direct children of a process (from /proc), for reliable teardown and RSS figures."""
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(stat.split("/")[2]))
    return found
