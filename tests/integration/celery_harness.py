"""Real `celery -A worker` processes for the integration tests, started as in production.

Workers and beat run exactly as in production (`python -m celery -A worker worker|beat`
from the repository root), configured only through environment variables: SECRET_KEY,
DATABASE_URL, REDIS_URL and `CARETEAM_`-prefixed overrides. Their output goes to a log
file whose tail is shown whenever one of them fails to start. Nothing here skips: a
process that cannot start fails the test. No fixtures here: tests/integration/conftest.py
wraps these classes.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from careteam import PLAIN_ENV
from tests.harness import RedisServer
from tests.helpers import SECRET_KEY

REPO_ROOT = Path(__file__).resolve().parents[2]
# Importing the app and connecting to the broker takes a few seconds on a slow machine.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
WORKER_READY = re.compile(rb"@\S+ ready\.")
BEAT_READY = re.compile(rb"beat: Starting\.\.\.")


def celery_env(
    *, database_url: str, redis_url: str | None = None, **overrides: str
) -> dict[str, str]:
    """The environment of a worker or beat process: this one's, minus app settings.

    Inherited DATABASE_URL, REDIS_URL, CARETEAM_* and FLASK_* variables are dropped so that
    the process sees only what the test chose. `overrides` are added as they are, e.g.
    `CARETEAM_CELERY__broker_url="sqla+sqlite:///..."`.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in PLAIN_ENV and not key.startswith(("CARETEAM_", "FLASK_"))
    }
    env.update(
        SECRET_KEY=SECRET_KEY,
        DATABASE_URL=database_url,
        PYTHONPATH=str(REPO_ROOT),
        PYTHONUNBUFFERED="1",
    )
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    env.update(overrides)
    return env


class CeleryProcess:
    """One `python -m celery -A worker ...` subprocess, logging to a file."""

    def __init__(self, role: str, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.role = role
        self.args = args
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]

    def start(self, ready: re.Pattern[bytes], timeout: float = START_TIMEOUT) -> None:
        """Start the process and wait until its log shows `ready`."""
        command = [sys.executable, "-m", "celery", "-A", "worker", *self.args]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while not ready.search(self.log_path.read_bytes()):
            if self.process.poll() is not None:
                code = self.process.returncode
                self.stop()
                raise RuntimeError(
                    f"celery {self.role} exited with code {code}\n{self.describe()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"celery {self.role} was not ready within {timeout}s\n{self.describe()}"
                )
            time.sleep(0.1)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"<could not read {self.log_path}: {exc}>"
        return "\n".join(text.splitlines()[-lines:]) or "<log is empty>"

    def describe(self) -> str:
        """The command, whether it still runs, and its log tail, for failure messages."""
        state = "running" if self.alive() else "not running"
        return (
            f"--- celery {self.role} ({state}): celery -A worker {' '.join(self.args)}\n"
            f"--- log tail ({self.log_path}):\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Ask for a warm shutdown (SIGTERM); kill the process if it does not comply."""
        atexit.unregister(self.stop)
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


class CeleryLauncher:
    """Starts workers and beat in one log directory and stops them all at the end."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: list[CeleryProcess] = []

    def worker(self, env: dict[str, str]) -> CeleryProcess:
        """Start a one-process worker on the default queue; return once it is ready."""
        name = f"careteam-test-{uuid.uuid4().hex[:8]}"
        args = [
            "worker",
            "--loglevel=INFO",
            "--pool=solo",
            "-Q",
            "celery",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{name}@%h",
        ]
        return self._start("worker", args, env, WORKER_READY, self.log_dir / f"{name}.log")

    def beat(self, env: dict[str, str]) -> CeleryProcess:
        """Start beat with a fresh schedule file; return once it has started."""
        name = f"beat-{uuid.uuid4().hex[:8]}"
        schedule = self.log_dir / f"{name}-schedule"
        args = ["beat", "--loglevel=INFO", "-s", str(schedule), "--max-interval", "1"]
        return self._start("beat", args, env, BEAT_READY, self.log_dir / f"{name}.log")

    def _start(
        self,
        role: str,
        args: list[str],
        env: dict[str, str],
        ready: re.Pattern[bytes],
        log_path: Path,
    ) -> CeleryProcess:
        process = CeleryProcess(role, args, env, log_path)
        self.processes.append(process)
        process.start(ready)
        return process

    def describe(self) -> str:
        return "\n".join(process.describe() for process in self.processes)

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def flush_redis(server: RedisServer) -> None:
    """Empty the broker, so that no task of another test or backend reaches our worker."""
    client = redis.Redis.from_url(
        server.url, socket_timeout=2, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0)
    )
    with contextlib.closing(client):
        client.flushdb()
