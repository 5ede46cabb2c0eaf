"""Real server processes for browser, fault and cluster tests: `python
main.py` on a free port, as a user runs it, with the test's database and none of pytest's
variables (NiceGUI's `ui.run` changes behaviour when it sees PYTEST_CURRENT_TEST)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    def __init__(
        self,
        database_url: str,
        *,
        port: int | None = None,
        log_dir: Path,
        arguments: tuple[str, ...] = (),
        environment: dict[str, str] | None = None,
    ) -> None:
        """`arguments` and `environment` are added to the server's command line and
        environment (e.g. `--demo`)."""
        self.database_url = database_url
        self.arguments = arguments
        self.environment = environment or {}
        self.port = port or free_port()
        self.log_path = log_dir / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> ServerProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        env.update(
            DATABASE_URL=self.database_url,
            HOST="127.0.0.1",
            PORT=str(self.port),
            MIGRATE_ON_START="true",
            BCRYPT_ROUNDS="4",
        )
        env.update(self.environment)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "main.py", *self.arguments],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not answer /health in {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


def open_page(server: ServerProcess, path: str = "/login") -> tuple[str, str]:
    """GET a page as a browser would: its client id and the session cookie it set."""
    response = httpx.get(f"{server.url}{path}")
    assert response.status_code == 200
    match = re.search(r"client_id['\"]:\s*['\"]([0-9a-f-]+)", response.text)
    assert match, "client id not found in the page"
    return match.group(1), response.cookies["session"]
