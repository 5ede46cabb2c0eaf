"""The HTTP targets the registration and search benchmarks run against, each started as its
own processes and stopped again by pid: the app as `python main.py`, the app with its access
log silenced, another checkout's app, a bare FastAPI endpoint, and nginx in front of one or
two app processes (deploy/cluster.py)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.common import PROJECT_ROOT, REDIS_URL, forget_redis_keys
from tests.support.server import free_port

SECRET_KEY = "bench-registration-throughput-secret-key-0123456789"
REDIS_PREFIX = f"bench-reg-{os.getpid()}:"


TARGET_LABELS = {
    "raw": "raw psycopg",
    "bare": "bare FastAPI",
    "app": "app",
    "app-nolog": "app, access log off",
    "app-other": "app, other checkout",
    "app-again": "app (next to the other)",
    "direct1": "1 process, no nginx",
    "nginx1": "nginx + 1 process",
    "nginx2": "nginx + 2 processes",
}


@dataclass
class Target:
    name: str
    base_url: str = ""
    pids: list[int] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    @property
    def label(self) -> str:
        return TARGET_LABELS[self.name]

    def path(self, event_id: int, user_id: int) -> str:
        if self.name == "bare":
            return f"/register/{event_id}/{user_id}"
        return f"/api/events/{event_id}/register"

    def server_errors(self) -> int:
        """Tracebacks and ERROR lines in the server logs."""
        count = 0
        for log in self.logs:
            if log.exists():
                text = log.read_text(errors="replace")
                count += text.count("Traceback") + text.count(" ERROR ")
        return count


def server_environment(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env |= {
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "APP_ENV": "production",
        "PUBLIC_URL": "http://127.0.0.1",  # production requires it (issue 13)
        "COOKIE_SECURE": "false",  # plain HTTP on loopback
        "BCRYPT_ROUNDS": "4",
        "API_RATE_LIMIT": "off",
        "LOGIN_RATE_LIMIT": "off",
        "LOGIN_IP_RATE_LIMIT": "off",
        "SIGNUP_RATE_LIMIT": "off",
    }
    return env


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: server exited:\n{log.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url}: no answer on /health in {timeout:.0f}s")


class Servers:
    """Starts the HTTP targets and stops them again (every process it started, by pid)."""

    def __init__(
        self, database_url: str, work_dir: Path, other_checkout: Path | None = None
    ) -> None:
        self.database_url = database_url
        self.work_dir = work_dir
        self.other_checkout = other_checkout
        self.direct: Target | None = None  # the process behind nginx1, reached directly
        self.processes: list[subprocess.Popen[bytes]] = []
        self.clusters: list[Path] = []

    def _spawn(
        self, command: list[str], env: dict[str, str], log: Path, cwd: Path = PROJECT_ROOT
    ) -> subprocess.Popen:
        with log.open("ab") as out:
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def start_app(self, name: str) -> Target:
        port = free_port()
        env = server_environment(self.database_url) | {
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "MIGRATE_ON_START": "false",
            "NICEGUI_STORAGE_PATH": str(self.work_dir / f"nicegui-{port}"),
        }
        log = self.work_dir / f"{name}-{port}.log"
        command = [sys.executable, "main.py"]
        if name == "app-nolog":  # the same server with the access logger silenced
            command = [sys.executable, str(PROJECT_ROOT / "bench" / "_main_without_access_log.py")]
        cwd = PROJECT_ROOT
        if name == "app-other":  # the app of another checkout (same venv, same database)
            assert self.other_checkout is not None
            cwd = self.other_checkout
        process = self._spawn(command, env, log, cwd)
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, process, log, 60)
        return Target(name, url, [process.pid], [log])

    def start_bare(self) -> Target:
        port = free_port()
        log = self.work_dir / f"bare-{port}.log"
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "bare_endpoint:app",
            "--app-dir",
            str(PROJECT_ROOT / "bench"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        process = self._spawn(command, server_environment(self.database_url), log)
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, process, log, 60)
        return Target("bare", url, [process.pid], [log])

    def start_cluster(self, name: str, processes: int) -> Target:
        from deploy import cluster as deploy_cluster

        run_dir = self.work_dir / f"cluster-{processes}"
        ports = [free_port() for _ in range(processes)]
        port = free_port()
        env = server_environment(self.database_url) | {
            # the site's own origin, which pages' sockets must come from (app/web/socket_guard.py)
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "NICEGUI_STORAGE_PATH": str(run_dir / "nicegui"),
            "REDIS_URL": REDIS_URL,
            "NICEGUI_REDIS_KEY_PREFIX": REDIS_PREFIX,
        }
        members = deploy_cluster.Cluster(run_dir=run_dir, app_ports=ports, port=port, env=env)
        self.clusters.append(run_dir)
        deploy_cluster.start(members)
        pids = [deploy_cluster.app_pid(members, p) for p in ports]
        if processes == 1 and pids[0]:  # the same process, reached without nginx
            self.direct = Target(
                "direct1", members.app_url(ports[0]), [pids[0]], [members.app_log(ports[0])]
            )
        pids.append(deploy_cluster.read_pid(members.nginx_pid_file))
        return Target(
            name,
            members.url,
            [p for p in pids if p],
            [members.app_log(p) for p in ports],
        )

    def start(self, name: str) -> Target:
        if name == "bare":
            return self.start_bare()
        if name in ("app", "app-nolog", "app-again", "app-other"):
            return self.start_app(name)
        if name == "nginx1":
            return self.start_cluster(name, 1)
        if name == "nginx2":
            return self.start_cluster(name, 2)
        if name == "direct1":
            if self.direct is None:
                raise RuntimeError("direct1 needs nginx1 started first")
            return self.direct
        if name == "raw":
            return Target("raw")
        raise ValueError(name)

    def stop(self) -> None:
        from deploy import cluster as deploy_cluster

        for run_dir in self.clusters:
            with contextlib.suppress(Exception):
                deploy_cluster.stop(run_dir)
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, 15)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, 9)
                process.wait(timeout=5)
        if self.clusters:
            forget_redis_keys(REDIS_PREFIX)
        self.processes, self.clusters, self.direct = [], [], None
