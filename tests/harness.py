"""Real, throw-away services for the test suite.

Everything here starts genuine server processes (PostgreSQL, Redis, an SMTP
sink, a TCP listener that never answers) bound to 127.0.0.1 on free ports and
backed by temporary directories, and tears them down again.  This module holds
no pytest fixtures: ``tests/conftest.py`` wraps these classes.

Every class can be used as a context manager::

    with RedisServer() as redis_server:
        client = redis.Redis.from_url(redis_server.url)

Failures to start raise :class:`RuntimeError` with a message that says what is
missing or shows the tail of the server log; nothing here silently skips.
"""

from __future__ import annotations

import atexit
import contextlib
import email
import email.policy
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Self

__all__ = [
    "PostgresServer",
    "RedisServer",
    "SMTPSink",
    "SilentServer",
    "free_port",
    "to_libpq_url",
]

LOOPBACK = "127.0.0.1"
# How often to pick a new port when a freshly chosen free port was taken.
_PORT_ATTEMPTS = 3


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now.

    The port is found by binding to port 0 and letting the kernel pick one;
    the socket is closed again before returning, so there is a (tiny) window
    in which another process could take it.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def to_libpq_url(url: str) -> str:
    """Turn a SQLAlchemy URL (``postgresql+psycopg://...``) into a libpq URL.

    The result can be passed straight to :func:`psycopg.connect`.
    """
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def _tail(path: Path, lines: int = 40) -> str:
    """Return the last ``lines`` lines of a log file, or a note if unreadable."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<could not read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:]) or "<log is empty>"


class _Service:
    """Shared context-manager behaviour: ``with`` starts and stops."""

    def start(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def stop(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------


def _version_key(path: str) -> tuple[int, ...]:
    """Sort key for ``/usr/lib/postgresql/<version>/bin`` paths."""
    version = Path(path).parent.name
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)


def find_postgres_bindir() -> Path:
    """Locate the directory holding PostgreSQL's ``initdb`` and ``pg_ctl``.

    Order: ``pg_config --bindir``, then the newest ``/usr/lib/postgresql/*/bin``,
    then whatever ``initdb`` is on ``PATH``.
    """
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"],
                capture_output=True,
                text=True,
                check=True,
                timeout=10,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out and (Path(out) / "initdb").is_file() and (Path(out) / "pg_ctl").is_file():
            return Path(out)

    candidates = [
        d
        for d in glob.glob("/usr/lib/postgresql/*/bin")
        if os.path.isfile(os.path.join(d, "initdb")) and os.path.isfile(os.path.join(d, "pg_ctl"))
    ]
    if candidates:
        return Path(max(candidates, key=_version_key))

    initdb = shutil.which("initdb")
    if initdb:
        bindir = Path(os.path.realpath(initdb)).parent
        if (bindir / "pg_ctl").is_file():
            return bindir
        if shutil.which("pg_ctl"):
            return Path(initdb).parent

    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install them with "
        "`apt-get install postgresql` (or run scripts/ensure-test-deps.sh)"
    )


class PostgresServer(_Service):
    """A private PostgreSQL cluster in a temporary directory on 127.0.0.1.

    The cluster uses trust authentication for the superuser ``user`` (default
    ``careteam``), listens on 127.0.0.1 only, keeps its Unix socket inside the
    temporary directory and turns off fsync and friends for speed.

    PostgreSQL refuses to run as root, so when the tests run as root the
    server commands are run as the ``postgres`` system user via ``runuser``.
    """

    def __init__(self, user: str = "careteam", dbname: str = "postgres") -> None:
        """Prepare (but do not start) a server.

        ``dbname`` is the database :attr:`url` points at; it is created on
        start unless it is ``postgres``, which always exists.
        """
        self.user = user
        self.dbname = dbname
        self.port: int | None = None
        self.tmpdir: Path | None = None
        self._bindir: Path | None = None
        self._run_as: list[str] = []

    # -- paths -------------------------------------------------------------

    @property
    def datadir(self) -> Path:
        """The cluster's data directory."""
        return self._require_tmpdir() / "data"

    @property
    def logfile(self) -> Path:
        """The server log written by ``pg_ctl -l``."""
        return self._require_tmpdir() / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        """Directory holding the server's Unix socket."""
        return self._require_tmpdir() / "sock"

    def _require_tmpdir(self) -> Path:
        if self.tmpdir is None:
            raise RuntimeError("PostgresServer is not started")
        return self.tmpdir

    # -- URLs --------------------------------------------------------------

    def url_for(self, dbname: str) -> str:
        """SQLAlchemy URL for database ``dbname`` on this server."""
        if self.port is None:
            raise RuntimeError("PostgresServer is not started")
        return f"postgresql+psycopg://{self.user}@{LOOPBACK}:{self.port}/{dbname}"

    @property
    def url(self) -> str:
        """SQLAlchemy URL ``postgresql+psycopg://USER@127.0.0.1:PORT/DBNAME``."""
        return self.url_for(self.dbname)

    @property
    def conninfo(self) -> str:
        """libpq URL of :attr:`url`, usable with :func:`psycopg.connect`."""
        return to_libpq_url(self.url)

    # -- lifecycle ---------------------------------------------------------

    def _cmd(self, *args: str | os.PathLike[str]) -> list[str]:
        assert self._bindir is not None
        return [*self._run_as, str(self._bindir / str(args[0])), *map(str, args[1:])]

    def _run(self, *args: str | os.PathLike[str], timeout: float = 60) -> None:
        cmd = self._cmd(*args)
        try:
            result = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=self.tmpdir,
                env={**os.environ, "LC_ALL": "C", "LANG": "C"},
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(
                f"PostgreSQL command timed out after {timeout}s: {' '.join(cmd)}\n"
                f"server log tail:\n{self._log_tail()}"
            ) from exc
        if result.returncode != 0:
            raise RuntimeError(
                f"PostgreSQL command failed (exit {result.returncode}): {' '.join(cmd)}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\n"
                f"server log tail:\n{self._log_tail()}"
            )

    def _log_tail(self) -> str:
        if self.tmpdir is None:
            return "<no log>"
        return _tail(self.logfile)

    def _setup_privileges(self, tmpdir: Path) -> None:
        """When root, arrange for commands to run as the ``postgres`` user."""
        if os.geteuid() != 0:
            self._run_as = []
            return
        try:
            pg_user = pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError(
                "PostgreSQL cannot run as root and there is no 'postgres' system user: "
                "install PostgreSQL with `apt-get install postgresql` (which creates it) "
                "or create the user with `useradd --system postgres`"
            ) from None
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        if not os.path.exists(runuser):
            raise RuntimeError(
                "running PostgreSQL as root needs `runuser` (util-linux), not found"
            )
        self._run_as = [runuser, "-u", "postgres", "--"]
        os.chown(tmpdir, pg_user.pw_uid, pg_user.pw_gid)
        self.socket_dir.mkdir()
        os.chown(self.socket_dir, pg_user.pw_uid, pg_user.pw_gid)

    def start(self) -> None:
        """Create a fresh cluster, start it and wait until it accepts connections."""
        if self.port is not None:
            return
        self._bindir = find_postgres_bindir()
        self.tmpdir = Path(tempfile.mkdtemp(prefix="careteam-pg-"))
        try:
            self._setup_privileges(self.tmpdir)
            self.socket_dir.mkdir(exist_ok=True)
            self._run(
                "initdb",
                "-D",
                self.datadir,
                "-A",
                "trust",
                "-U",
                self.user,
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                timeout=120,
            )
            atexit.register(self.stop)
            for attempt in range(1, _PORT_ATTEMPTS + 1):
                # free_port() is racy: if another process grabbed the port in
                # the meantime, pick a new one and try again.
                self.port = free_port()
                self._write_settings()
                if self.logfile.exists():
                    self.logfile.write_text("")
                try:
                    self._run(
                        "pg_ctl", "-D", self.datadir, "-l", self.logfile, "-w", "-t", "30", "start"
                    )
                    break
                except RuntimeError:
                    if attempt < _PORT_ATTEMPTS and "could not bind" in self._log_tail():
                        continue
                    raise
            self._wait_ready(timeout=30)
            if self.dbname != "postgres":
                self.create_database(self.dbname)
        except BaseException:
            self.stop()
            raise

    def _write_settings(self) -> None:
        """Append this run's settings to postgresql.conf (later lines win)."""
        settings = {
            "listen_addresses": f"'{LOOPBACK}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "100",
            "log_min_messages": "warning",
        }
        with (self.datadir / "postgresql.conf").open("a") as conf:
            conf.write("\n# added by tests/harness.py\n")
            for key, value in settings.items():
                conf.write(f"{key} = {value}\n")

    def _wait_ready(self, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(
                    to_libpq_url(self.url_for("postgres")), connect_timeout=2
                ) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.Error as exc:
                last_error = exc
                time.sleep(0.1)
        raise RuntimeError(
            f"PostgreSQL on {LOOPBACK}:{self.port} did not accept connections within "
            f"{timeout}s (last error: {last_error})\nserver log tail:\n{self._log_tail()}"
        )

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its SQLAlchemy URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(
            to_libpq_url(self.url_for("postgres")), autocommit=True, connect_timeout=5
        ) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name)

    def stop(self) -> None:
        """Stop the server immediately and delete its temporary directory."""
        atexit.unregister(self.stop)
        tmpdir, self.tmpdir = self.tmpdir, None
        self.port = None
        if tmpdir is None:
            return
        pidfile = tmpdir / "data" / "postmaster.pid"
        if pidfile.exists() and self._bindir is not None:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(
                    self._cmd("pg_ctl", "-D", tmpdir / "data", "-m", "immediate", "-w", "stop"),
                    capture_output=True,
                    timeout=30,
                    cwd=tmpdir,
                )
            if pidfile.exists():  # pg_ctl failed: kill the postmaster directly
                try:
                    pid = int(pidfile.read_text().split()[0])
                    os.kill(pid, signal.SIGKILL)
                except (OSError, ValueError, IndexError):
                    pass
        shutil.rmtree(tmpdir, ignore_errors=True)


# --------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------


def find_redis_server() -> str:
    """Return the path of ``redis-server`` or raise a RuntimeError."""
    path = shutil.which("redis-server")
    if path:
        return path
    if os.access("/usr/bin/redis-server", os.X_OK):
        return "/usr/bin/redis-server"
    raise RuntimeError("redis-server not found: install it with apt-get install redis-server")


class RedisServer(_Service):
    """A ``redis-server`` subprocess on 127.0.0.1 with no persistence.

    :meth:`pause`/:meth:`resume` freeze and thaw the process (SIGSTOP/SIGCONT)
    to simulate an unresponsive Redis; :meth:`restart` stops it and starts it
    again on the same port with the same data directory.
    """

    def __init__(self, port: int | None = None) -> None:
        """Prepare (but do not start) a server; ``port`` defaults to a free one."""
        self.port: int | None = port
        self.tmpdir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._paused = False

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        if self.port is None:
            raise RuntimeError("RedisServer is not started")
        return f"redis://{LOOPBACK}:{self.port}/0"

    @property
    def logfile(self) -> Path:
        """File receiving the server's stdout/stderr."""
        if self.tmpdir is None:
            raise RuntimeError("RedisServer is not started")
        return self.tmpdir / "redis.log"

    def start(self) -> None:
        """Start the server and wait (up to 10 s) until it answers PING."""
        if self.process is not None:
            return
        binary = find_redis_server()
        if self.tmpdir is None:
            self.tmpdir = Path(tempfile.mkdtemp(prefix="careteam-redis-"))
        auto_port = self.port is None
        atexit.register(self.stop)
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            if auto_port:
                self.port = free_port()
            self._spawn(binary)
            try:
                self._wait_ready(timeout=10)
                return
            except RuntimeError:
                self._stop_process()
                # free_port() is racy: retry on a new port if ours was taken.
                if auto_port and attempt < _PORT_ATTEMPTS and self._port_in_use_logged():
                    self.port = None
                    continue
                self.stop()
                raise
            except BaseException:
                self.stop()
                raise

    def _port_in_use_logged(self) -> bool:
        return "Address already in use" in _tail(self.logfile, lines=10)

    def _spawn(self, binary: str) -> None:
        assert self.tmpdir is not None
        with self.logfile.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    LOOPBACK,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.tmpdir),
                    "--daemonize",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.tmpdir,
            )

    def _wait_ready(self, timeout: float) -> None:
        import redis

        assert self.process is not None
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        client = redis.Redis(
            host=LOOPBACK,
            port=self.port or 0,
            socket_timeout=1,
            socket_connect_timeout=1,
            retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0),
        )
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"redis-server exited with code {self.process.returncode} "
                        f"while starting on port {self.port}\nlog tail:\n{_tail(self.logfile)}"
                    )
                try:
                    if client.ping():
                        return
                except redis.RedisError as exc:
                    last_error = exc
                time.sleep(0.05)
        finally:
            client.close()
        raise RuntimeError(
            f"redis-server on {LOOPBACK}:{self.port} did not answer PING within {timeout}s "
            f"(last error: {last_error})\nlog tail:\n{_tail(self.logfile)}"
        )

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections are accepted, nothing answers."""
        if self.process is None:
            raise RuntimeError("RedisServer is not started")
        self.process.send_signal(signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        """Thaw a paused server (SIGCONT)."""
        if self.process is None:
            raise RuntimeError("RedisServer is not started")
        self.process.send_signal(signal.SIGCONT)
        self._paused = False

    def _stop_process(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            if self._paused:
                process.send_signal(signal.SIGCONT)
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self._paused = False

    def restart(self) -> None:
        """Stop the server and start it again on the same port and data dir."""
        self._stop_process()
        self.start()

    def stop(self) -> None:
        """Stop the server and delete its temporary directory."""
        atexit.unregister(self.stop)
        self._stop_process()
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None


# --------------------------------------------------------------------------
# A TCP server that never answers
# --------------------------------------------------------------------------


class SilentServer(_Service):
    """A TCP listener on 127.0.0.1 that accepts connections and never replies.

    Incoming bytes are read and discarded so clients never block on writing;
    no byte is ever sent back.  Used to prove that code talking to a broker
    that hangs gives up instead of hanging the web request.
    """

    def __init__(self) -> None:
        """Prepare (but do not start) the listener."""
        self.port: int | None = None
        self._sock: socket.socket | None = None
        self._stopping = threading.Event()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0`` pointing at the silent listener."""
        if self.port is None:
            raise RuntimeError("SilentServer is not started")
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self) -> None:
        """Bind a free loopback port and start accepting in a daemon thread."""
        if self._sock is not None:
            return
        self._stopping.clear()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, 0))
        sock.listen(128)
        sock.settimeout(0.1)
        self._sock = sock
        self.port = int(sock.getsockname()[1])
        self._thread = threading.Thread(
            target=self._accept_loop, name="silent-server", daemon=True
        )
        self._thread.start()

    def _accept_loop(self) -> None:
        assert self._sock is not None
        listener = self._sock
        while not self._stopping.is_set():
            try:
                conn, _addr = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(0.1)
            with self._lock:
                self._conns.append(conn)
            threading.Thread(
                target=self._drain, args=(conn,), name="silent-conn", daemon=True
            ).start()

    def _drain(self, conn: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                if not conn.recv(65536):
                    return
            except TimeoutError:
                continue
            except OSError:
                return

    def stop(self) -> None:
        """Stop accepting and close every open connection."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.close()
        self.port = None


# --------------------------------------------------------------------------
# SMTP
# --------------------------------------------------------------------------


class _SinkHandler:
    """aiosmtpd handler that hands every message to an :class:`SMTPSink`."""

    def __init__(self, sink: SMTPSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        # SMTP transfers lines ending in CRLF; store them the way Python
        # builds them (LF) so bodies compare equal to what the app composed.
        raw = raw.replace(b"\r\n", b"\n")
        if not self.sink.parse:
            self.sink._add(raw, envelope.mail_from, list(envelope.rcpt_tos))
            return "250 Message accepted for delivery"
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.sink._add(message, envelope.mail_from, list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


class SMTPSink(_Service):
    """An SMTP server on 127.0.0.1 that keeps every message it receives.

    Received messages are parsed with ``email.policy.default`` into
    :class:`email.message.EmailMessage` objects and appended to
    :attr:`messages`; the SMTP envelopes (``MAIL FROM``, ``RCPT TO``) go to
    :attr:`envelopes` in the same order.
    """

    def __init__(self, parse: bool = True) -> None:
        """Prepare (but do not start) the sink.

        ``parse=False`` keeps each message as the raw bytes received (LF line ends) instead
        of parsing it: a benchmark's sink, whose parsing with ``email.policy.default``
        (several milliseconds a message, in this process) would be what it measures.
        """
        self.host = LOOPBACK
        self.port: int | None = None
        self.parse = parse
        self.messages: list[EmailMessage | bytes] = []  # bytes when not parsing
        self.envelopes: list[tuple[str, list[str]]] = []
        self._cond = threading.Condition()
        self._controller: Any = None

    def _add(self, message: EmailMessage | bytes, mail_from: str, rcpt_tos: list[str]) -> None:
        with self._cond:
            self.messages.append(message)
            self.envelopes.append((mail_from, rcpt_tos))
            self._cond.notify_all()

    def start(self) -> None:
        """Start the SMTP server on a free port in its own thread."""
        if self._controller is not None:
            return
        from aiosmtpd.controller import Controller

        self.port = free_port()
        controller = Controller(_SinkHandler(self), hostname=self.host, port=self.port)
        try:
            controller.start()
        except Exception as exc:
            self.port = None
            raise RuntimeError(f"could not start SMTP sink on {self.host}: {exc!r}") from exc
        self._controller = controller

    def stop(self) -> None:
        """Stop the SMTP server (received messages are kept)."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()
        self.port = None

    def clear(self) -> None:
        """Forget every message received so far."""
        with self._cond:
            self.messages.clear()
            self.envelopes.clear()

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        """Wait until at least ``count`` messages arrived; return a copy of them.

        Raises :class:`TimeoutError` (with how many did arrive) on timeout.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.messages) >= count, timeout=timeout):
                raise TimeoutError(
                    f"expected at least {count} e-mail(s) within {timeout}s, "
                    f"got {len(self.messages)}"
                )
            return list(self.messages)
