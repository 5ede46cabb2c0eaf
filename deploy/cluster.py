"""Run the app as several processes behind nginx on one machine, and stop them again.

    uv run deploy/cluster.py start [--processes 2] [--port 8000] [--app-port 8101]
    uv run deploy/cluster.py status
    uv run deploy/cluster.py stop

PostgreSQL and Redis are expected to be running already (DATABASE_URL; REDIS_URL, default
redis://127.0.0.1:6379/0). `start` migrates the database once, starts N app processes on
loopback ports app-port, app-port+1, ... (each `main.py` with its own PORT), renders
deploy/nginx.conf.template for them and starts nginx in front on --port. Everything the set
writes (pid files, logs, nginx's config and temp files) goes into the run directory
(--run-dir, default deploy/run/), so `stop` finds what `start` left and several sets can run
side by side in different directories (the tests do).

Why one migration first: every process migrates on start by default, and two processes
migrating one fresh database at the same moment race to create the same tables.

The processes share, through the environment they inherit: DATABASE_URL (PostgreSQL: live
updates cross processes with LISTEN/NOTIFY; SQLite is refused), SECRET_KEY (one key signs the
session cookie and API tokens, whichever process issued them), NICEGUI_REDIS_URL (NiceGUI's
per-user storage, so a signed-in person stays signed in when their process goes away) and
RATE_LIMIT_STORAGE (one budget per client across processes). The last two default to
REDIS_URL; anything already set in the environment wins.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEPLOY_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = DEPLOY_DIR.parent
TEMPLATE = DEPLOY_DIR / "nginx.conf.template"
DEFAULT_RUN_DIR = DEPLOY_DIR / "run"
STATE_FILE = "cluster.json"
STOP_TIMEOUT = 15.0  # uvicorn's graceful shutdown is 10 s by default (GRACEFUL_SHUTDOWN_SECONDS)


@dataclass
class Cluster:
    run_dir: Path
    app_ports: list[int]
    port: int
    host: str = "127.0.0.1"
    secure_cookie: bool = False  # served over HTTPS (TLS in front): sticky cookie gets Secure
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def app_url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}"

    def app_pid_file(self, port: int) -> Path:
        return self.run_dir / f"app-{port}.pid"

    def app_log(self, port: int) -> Path:
        return self.run_dir / f"app-{port}.log"

    @property
    def nginx_pid_file(self) -> Path:
        return self.run_dir / "nginx.pid"

    @property
    def nginx_conf(self) -> Path:
        return self.run_dir / "nginx.conf"

    def save(self) -> None:
        state = asdict(self) | {"run_dir": str(self.run_dir), "env": {}}
        (self.run_dir / STATE_FILE).write_text(json.dumps(state, indent=2))

    @classmethod
    def load(cls, run_dir: Path) -> Cluster:
        state = json.loads((run_dir / STATE_FILE).read_text())
        return cls(
            run_dir=run_dir,
            app_ports=list(state["app_ports"]),
            port=int(state["port"]),
            host=state.get("host", "127.0.0.1"),
            secure_cookie=bool(state.get("secure_cookie", False)),
        )


def find_nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (our own exited child not yet reaped) is not alive
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def render_nginx_conf(cluster: Cluster) -> str:
    """The template with this set's ports and paths filled in."""
    servers = "\n".join(
        f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;"
        for port in cluster.app_ports
    )
    values = {
        "run_dir": str(cluster.run_dir),
        "listen": f"{cluster.host}:{cluster.port}",
        "upstream_servers": servers,
        "cookie_flags": "; Secure" if cluster.secure_cookie else "",
    }
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    if "{{" in text:
        raise RuntimeError("nginx.conf.template has a placeholder cluster.py does not fill")
    return text


def app_environment(cluster: Cluster, port: int | None = None) -> dict[str, str]:
    """What an app process (or, without a port, the migration) runs with."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env |= cluster.env
    redis_url = env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    env.setdefault("NICEGUI_REDIS_URL", redis_url)
    env.setdefault("RATE_LIMIT_STORAGE", redis_url)
    env.setdefault("FORWARDED_ALLOW_IPS", "127.0.0.1")
    env |= {"HOST": "127.0.0.1", "MIGRATE_ON_START": "false"}
    if port is not None:
        env["PORT"] = str(port)
    return env


def _spawn(command: list[str], *, log: Path, env: dict[str, str] | None = None) -> int:
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: outlives this script, stops alone
        )
    return process.pid


def migrate(env: dict[str, str]) -> None:
    code = "from app.config import get_settings; from app.migrate import upgrade_to_head; "
    code += "upgrade_to_head(get_settings().database_url)"
    subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, check=True)


def start_app(cluster: Cluster, port: int) -> int:
    pid = _spawn(
        [sys.executable, "main.py"], log=cluster.app_log(port), env=app_environment(cluster, port)
    )
    cluster.app_pid_file(port).write_text(f"{pid}\n")
    return pid


def wait_healthy(cluster: Cluster, port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    pid = read_pid(cluster.app_pid_file(port))
    while time.monotonic() < deadline:
        if not alive(pid):
            tail = cluster.app_log(port).read_text(errors="replace")[-3000:]
            raise RuntimeError(f"app process on port {port} exited:\n{tail}")
        if healthy(cluster.app_url(port)):
            return
        time.sleep(0.2)
    raise RuntimeError(f"app process on port {port} did not answer /health in {timeout:.0f}s")


def start_nginx(cluster: Cluster, nginx: str) -> int:
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (cluster.run_dir / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    cluster.nginx_conf.write_text(render_nginx_conf(cluster))
    prefix = f"{cluster.run_dir}/"
    check = subprocess.run(
        [nginx, "-t", "-q", "-p", prefix, "-c", str(cluster.nginx_conf)],
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        raise RuntimeError(f"nginx refused its configuration:\n{check.stderr}")
    pid = _spawn(
        [nginx, "-p", prefix, "-c", str(cluster.nginx_conf)], log=cluster.run_dir / "nginx.out"
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if not alive(pid):
            raise RuntimeError(
                "nginx exited:\n" + (cluster.run_dir / "nginx-error.log").read_text()[-2000:]
            )
        if read_pid(cluster.nginx_pid_file) == pid and healthy(cluster.url):
            return pid
        time.sleep(0.1)
    raise RuntimeError(f"nginx did not answer on {cluster.url} in 15s")


def start(cluster: Cluster) -> Cluster:
    """Start the whole set; on any failure, stop what was started and raise."""
    nginx = find_nginx()
    if nginx is None:
        raise RuntimeError("nginx is not installed (Debian: apt-get install -y nginx)")
    cluster.run_dir.mkdir(parents=True, exist_ok=True)
    if any(alive(pid) for pid in running_pids(cluster.run_dir).values()):
        raise RuntimeError(f"a cluster is already running from {cluster.run_dir}: stop it first")
    env = app_environment(cluster)
    if not env.get("DATABASE_URL", "").startswith(("postgres://", "postgresql")):
        raise RuntimeError("several processes need PostgreSQL: set DATABASE_URL=postgresql://...")
    wanted = [("127.0.0.1", p) for p in cluster.app_ports] + [(cluster.host, cluster.port)]
    busy = [port for host, port in wanted if not port_free(port, host)]
    if busy:
        raise RuntimeError(f"ports already in use: {busy}")
    cluster.save()
    try:
        migrate(env)
        for port in cluster.app_ports:
            start_app(cluster, port)
        for port in cluster.app_ports:
            wait_healthy(cluster, port)
        start_nginx(cluster, nginx)
    except BaseException:
        stop(cluster.run_dir)
        raise
    return cluster


def running_pids(run_dir: Path) -> dict[str, int]:
    """Every pid file in `run_dir`, by name (app-8101, nginx)."""
    if not run_dir.exists():
        return {}
    return {path.stem: pid for path in sorted(run_dir.glob("*.pid")) if (pid := read_pid(path))}


def _terminate(pid: int, *, group: bool, timeout: float) -> None:
    """SIGTERM (a graceful stop for uvicorn, a fast one for nginx), SIGKILL after `timeout`."""
    kill = os.killpg if group else os.kill
    try:
        kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        kill(pid, signal.SIGKILL)


def stop(run_dir: Path) -> list[str]:
    """Stop nginx first (no new requests), then the app processes. Returns what was stopped."""
    stopped = []
    pids = running_pids(run_dir)
    order = sorted(pids, key=lambda name: name != "nginx")
    for name in order:
        pid = pids[name]
        if alive(pid):
            # app processes lead their own group (start_new_session): stop the whole group
            _terminate(pid, group=name != "nginx", timeout=STOP_TIMEOUT)
            stopped.append(name)
        (run_dir / f"{name}.pid").unlink(missing_ok=True)
    return stopped


def status(run_dir: Path) -> dict[str, str]:
    """Each member and how it is: up (answers /health), running (not answering) or down."""
    try:
        cluster = Cluster.load(run_dir)
    except (OSError, ValueError, KeyError):
        return {}
    report = {}
    for port in cluster.app_ports:
        pid = read_pid(cluster.app_pid_file(port))
        if not alive(pid):
            report[f"app-{port}"] = "down"
        else:
            report[f"app-{port}"] = "up" if healthy(cluster.app_url(port)) else "running"
    pid = read_pid(cluster.nginx_pid_file)
    if not alive(pid):
        report["nginx"] = "down"
    else:
        report["nginx"] = "up" if healthy(cluster.url) else "running"
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--processes", type=int, default=2, help="app processes (default 2)")
    parser.add_argument("--port", type=int, default=8000, help="nginx's port (default 8000)")
    parser.add_argument("--host", default="127.0.0.1", help="nginx's address (0.0.0.0: all)")
    parser.add_argument(
        "--app-port", type=int, default=8101, help="first app port; the next ones follow"
    )
    parser.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR)
    parser.add_argument(
        "--secure-cookie",
        action="store_true",
        help="users reach the site over HTTPS: mark nginx's sticky cookie Secure",
    )
    args = parser.parse_args(argv)
    run_dir = args.run_dir.resolve()
    if args.command == "start":
        if args.processes < 1:
            parser.error("--processes must be at least 1")
        cluster = Cluster(
            run_dir=run_dir,
            app_ports=[args.app_port + i for i in range(args.processes)],
            port=args.port,
            host=args.host,
            secure_cookie=args.secure_cookie,
        )
        try:
            start(cluster)
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            print(f"cluster: {exc}", file=sys.stderr)
            return 1
        print(f"cluster: nginx on {cluster.url}, app processes on ports {cluster.app_ports}")
        print(f"cluster: logs and pid files in {run_dir}")
        return 0
    if args.command == "stop":
        stopped = stop(run_dir)
        print(f"cluster: stopped {', '.join(stopped) or 'nothing (nothing was running)'}")
        return 0
    report = status(run_dir)
    if not report:
        print(f"cluster: no cluster was started from {run_dir}")
        return 3
    for name, state in report.items():
        print(f"{name}: {state}")
    return 0 if all(state == "up" for state in report.values()) else 3


if __name__ == "__main__":
    sys.exit(main())
