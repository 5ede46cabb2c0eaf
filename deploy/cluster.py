"""Run the app as several processes behind nginx on one machine, and stop them again.

    uv run deploy/cluster.py start [--processes 2] [--port 8000] [--app-port 8101]
    uv run deploy/cluster.py status
    uv run deploy/cluster.py stop

PostgreSQL and Redis are expected to be running already (DATABASE_URL; REDIS_URL, default
redis://127.0.0.1:6379/0). `start` migrates the database once, then starts supervisord
(https://supervisord.org, from PyPI) on a configuration it writes: N app programs on loopback
ports app-port, app-port+1, ... (each `main.py` with its own PORT) and nginx in front on
--port (deploy/nginx.conf.template rendered for them), started once the apps answer. Every
member that exits is started again by supervisord at once; one that dies within
START_SECONDS of its start is retried after 1 s, 2 s, ... and given up (FATAL, shown by
`status`) after START_RETRIES such failures in a row, so a process that cannot start never
spins. `status` asks supervisord (XML-RPC on its Unix socket) for each member's state, pid
and uptime, counts restarts in its log and asks /health; `stop` has supervisord stop nginx,
then the apps (SIGTERM to each process group, SIGKILL after STOP_TIMEOUT), then itself.

Everything the set writes (supervisord's configuration, socket, pid file and log, the apps'
logs, nginx's config, logs and temp files) goes into the run directory (--run-dir, default
deploy/run/), so `stop` finds what `start` left and several sets can run side by side in
different directories (the tests do).

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
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import xmlrpc.client
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from supervisor.xmlrpc import SupervisorTransport

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
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


# Where nginx keeps its files on a systemd host (`nginx-conf --system`): all root's, none the
# app user's (issue 21, item 10). eventhub-nginx.service creates them (RuntimeDirectory=,
# LogsDirectory=, CacheDirectory=).
SYSTEM_NGINX_CONF = Path("/etc/eventhub/nginx.conf")
SYSTEM_PID_FILE = Path("/run/eventhub-nginx/nginx.pid")
SYSTEM_LOG_DIR = Path("/var/log/eventhub-nginx")
SYSTEM_TEMP_DIR = Path("/var/cache/eventhub-nginx")


def render_nginx_conf(cluster: Cluster, *, system: bool = False) -> str:
    """The template with this set's ports and paths filled in: everything in the run
    directory (a set started by hand), or with `system` in root's places for a systemd host
    (SYSTEM_*)."""
    servers = "\n".join(
        f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;"
        for port in cluster.app_ports
    )
    values = {
        "pid_file": str(SYSTEM_PID_FILE if system else cluster.nginx_pid_file),
        "log_dir": str(SYSTEM_LOG_DIR if system else cluster.run_dir),
        "temp_dir": str(SYSTEM_TEMP_DIR if system else cluster.run_dir / "tmp"),
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


def migrate(env: dict[str, str]) -> None:
    code = "from app.config import get_settings; from app.db.migrate import upgrade_to_head; "
    code += "upgrade_to_head(get_settings().database_url)"
    subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, check=True)


# --- Supervision ---------------------------------------------------------------------------
# supervisord (module doc, deploy/README.md "Supervision") runs every member. Its settings:
APP_PRIORITY, NGINX_PRIORITY = 100, 900  # started in this order, stopped in the reverse
START_SECONDS = 5  # a process must stay up this long to count as started
START_RETRIES = 5  # failed starts in a row (backoff 1 s, 2 s, ... 5 s) before FATAL: given up
SUPERVISOR_WAIT = 15.0  # for supervisord's control socket to answer after its start


def supervisor_socket(run_dir: Path) -> Path:
    """The control socket: in the run directory, unless that path is too long for a Unix
    socket (108 bytes), then in the temporary directory under a name derived from it."""
    path = run_dir / "supervisor.sock"
    if len(str(path)) < 100:
        return path
    digest = hashlib.sha256(str(run_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"eventhub-supervisor-{digest}.sock"


def supervisor_program(
    name: str,
    command: list[str],
    *,
    log: Path,
    priority: int,
    autostart: bool = True,
    environment: dict[str, str] | None = None,
    startsecs: int = START_SECONDS,
) -> str:
    """One `[program:x]` section: restarted whenever it exits (autorestart), retried with
    growing delays when it dies within `startsecs` of a start, its whole process group
    stopped (uvicorn's reloader-free server, nginx's workers) on stop or kill."""
    lines = [
        f"[program:{name}]",
        # supervisord expands %(name)s in its values: a literal % is written %%
        "command=" + " ".join(shlex.quote(part) for part in command).replace("%", "%%"),
        f"directory={PROJECT_ROOT}",
        f"priority={priority}",
        f"autostart={'true' if autostart else 'false'}",
        "autorestart=true",
        f"startsecs={startsecs}",
        f"startretries={START_RETRIES}",
        "stopsignal=TERM",
        f"stopwaitsecs={round(STOP_TIMEOUT)}",
        "stopasgroup=true",
        "killasgroup=true",
        "redirect_stderr=true",
        f"stdout_logfile={log}",
        "stdout_logfile_maxbytes=50MB",
        "stdout_logfile_backups=2",
    ]
    if environment:
        pairs = ",".join(f'{key}="{value}"' for key, value in environment.items())
        lines.append(f"environment={pairs}")
    return "\n".join(lines) + "\n"


def supervisor_conf(run_dir: Path, programs: list[str]) -> str:
    """supervisord's configuration for the set in `run_dir` with these program sections."""
    sock = supervisor_socket(run_dir)
    head = f"""[unix_http_server]
file={sock}
chmod=0700

[supervisord]
logfile={run_dir / "supervisord.log"}
logfile_maxbytes=10MB
pidfile={run_dir / "supervisord.pid"}
childlogdir={run_dir}
directory={PROJECT_ROOT}
nodaemon=true
loglevel=info

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{sock}

"""
    return head + "\n".join(programs)


def supervisor(run_dir: Path) -> Any:
    """An XML-RPC proxy on the set's supervisord (its `supervisor.*` namespace)."""
    transport = SupervisorTransport(None, None, f"unix://{supervisor_socket(run_dir)}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor


def start_supervisor(run_dir: Path, conf: str, env: dict[str, str]) -> int:
    """Start supervisord on `conf` in the background (its own session: it outlives this
    script) and wait for its control socket; its pid."""
    (run_dir / "supervisord.conf").write_text(conf)
    (run_dir / "supervisord.log").write_text("")  # restarts are counted from this start on
    supervisor_socket(run_dir).unlink(missing_ok=True)
    with (run_dir / "supervisord.out").open("ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "supervisor.supervisord",
                "-c",
                str(run_dir / "supervisord.conf"),
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + SUPERVISOR_WAIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                "supervisord exited:\n" + (run_dir / "supervisord.out").read_text()[-2000:]
            )
        with contextlib.suppress(OSError, xmlrpc.client.Fault):
            if supervisor(run_dir).getState()["statename"] == "RUNNING":
                return process.pid
        time.sleep(0.1)
    raise RuntimeError(f"supervisord did not answer on {supervisor_socket(run_dir)}")


def process_info(run_dir: Path, name: str) -> dict[str, Any] | None:
    """supervisord's record of one program (state, pid, start, ...), None if unknown."""
    try:
        info: dict[str, Any] = supervisor(run_dir).getProcessInfo(name)
    except (OSError, xmlrpc.client.Fault):
        return None
    return info


def app_pid(cluster: Cluster, port: int) -> int | None:
    """The pid of the app process on `port` now (it changes when supervisord restarts it)."""
    info = process_info(cluster.run_dir, f"app-{port}")
    if info is None or not info["pid"]:
        return None
    return int(info["pid"])


def spawn_counts(run_dir: Path) -> dict[str, int]:
    """How often supervisord started each program since `start` (from its log)."""
    counts: dict[str, int] = {}
    log = run_dir / "supervisord.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    for match in re.finditer(r"spawned: '([^']+)' with pid", text):
        counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    return counts


def wait_healthy(cluster: Cluster, port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = process_info(cluster.run_dir, f"app-{port}")
        if info is not None and info["statename"] in ("FATAL", "EXITED", "STOPPED"):
            tail = cluster.app_log(port).read_text(errors="replace")[-3000:]
            raise RuntimeError(f"app process on port {port} is {info['statename']}:\n{tail}")
        if healthy(cluster.app_url(port)):
            return
        time.sleep(0.2)
    raise RuntimeError(f"app process on port {port} did not answer /health in {timeout:.0f}s")


def write_nginx_conf(cluster: Cluster) -> Path:
    """nginx.conf for the set in its run directory, with the temp folders it names."""
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (cluster.run_dir / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    cluster.nginx_conf.write_text(render_nginx_conf(cluster))
    return cluster.nginx_conf


def nginx_program(cluster: Cluster, nginx: str) -> str:
    """nginx as a supervised program, started by `start` once the apps answer."""
    write_nginx_conf(cluster)
    prefix = f"{cluster.run_dir}/"
    command = [nginx, "-p", prefix, "-c", str(cluster.nginx_conf)]
    check = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"nginx refused its configuration:\n{check.stderr}")
    return supervisor_program(
        "nginx",
        command,
        log=cluster.run_dir / "nginx.out",
        priority=NGINX_PRIORITY,
        autostart=False,
        startsecs=1,
    )


def start_nginx(cluster: Cluster) -> None:
    try:
        supervisor(cluster.run_dir).startProcess("nginx", True)
    except xmlrpc.client.Fault as fault:
        log = (cluster.run_dir / "nginx-error.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"nginx did not start ({fault.faultString}):\n{log}") from fault
    deadline = time.monotonic() + 15
    while not healthy(cluster.url):
        if time.monotonic() > deadline:
            raise RuntimeError(f"nginx did not answer on {cluster.url} in 15s")
        time.sleep(0.1)


def start(cluster: Cluster) -> Cluster:
    """Start the whole set under supervisord; on any failure, stop what was started and
    raise."""
    nginx = find_nginx()
    if nginx is None:
        raise RuntimeError("nginx is not installed (Debian: apt-get install -y nginx)")
    cluster.run_dir.mkdir(parents=True, exist_ok=True)
    if alive(read_pid(cluster.run_dir / "supervisord.pid")):
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
        programs = [
            supervisor_program(
                f"app-{port}",
                [sys.executable, "main.py"],
                log=cluster.app_log(port),
                priority=APP_PRIORITY,
                environment={"PORT": str(port)},
            )
            for port in cluster.app_ports
        ]
        programs.append(nginx_program(cluster, nginx))
        start_supervisor(cluster.run_dir, supervisor_conf(cluster.run_dir, programs), env)
        for port in cluster.app_ports:
            wait_healthy(cluster, port)
        start_nginx(cluster)
    except BaseException:
        stop(cluster.run_dir)
        raise
    return cluster


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop(run_dir: Path) -> list[str]:
    """Stop nginx first (no new requests), then the apps, then supervisord; whatever is still
    there after the graceful stop is killed, so nothing of the set keeps running. Returns the
    names of the programs that were running."""
    supervisord = read_pid(run_dir / "supervisord.pid")
    if not alive(supervisord):
        (run_dir / "supervisord.pid").unlink(missing_ok=True)
        return []
    assert supervisord is not None
    control = supervisor(run_dir)
    groups: set[int] = set()
    stopped: list[str] = []
    with contextlib.suppress(OSError, xmlrpc.client.Fault):
        for info in control.getAllProcessInfo():
            if info["pid"]:
                groups.add(int(info["pid"]))  # each program leads its own process group
                stopped.append(info["name"])
        stopped.sort(key=lambda name: name != "nginx")
        if "nginx" in stopped:
            control.stopProcess("nginx", True)
        control.stopAllProcesses(True)
        control.shutdown()
    deadline = time.monotonic() + STOP_TIMEOUT
    while alive(supervisord) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(supervisord):
        with contextlib.suppress(ProcessLookupError):
            os.kill(supervisord, signal.SIGKILL)
    for pgid in groups:  # anything a stop did not reach (it should be none)
        if _group_alive(pgid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
    (run_dir / "supervisord.pid").unlink(missing_ok=True)
    supervisor_socket(run_dir).unlink(missing_ok=True)
    return stopped


@dataclass
class MemberStatus:
    """One member of the set as `status` reports it."""

    state: str  # supervisord's: RUNNING, STARTING, BACKOFF, EXITED, FATAL, STOPPED, ...
    pid: int | None
    uptime: float | None  # seconds since its current start, while it runs
    restarts: int  # starts after the first since `start`
    answers: bool  # /health (apps) or the front page of nginx answers 200

    def line(self, name: str) -> str:
        uptime = "-" if self.uptime is None else str(timedelta(seconds=round(self.uptime)))
        health = "answers" if self.answers else "not answering"
        return (
            f"{name}: {self.state} pid {self.pid or '-'} uptime {uptime} "
            f"restarts {self.restarts} {health}"
        )


def status(run_dir: Path) -> dict[str, MemberStatus]:
    """Each member's state, pid, uptime and restarts (supervisord's record) and whether it
    answers. Empty when no set was started from `run_dir`; every member DOWN when its
    supervisord is not running."""
    try:
        cluster = Cluster.load(run_dir)
    except (OSError, ValueError, KeyError):
        return {}
    urls = {f"app-{port}": cluster.app_url(port) for port in cluster.app_ports}
    urls["nginx"] = cluster.url
    spawns = spawn_counts(run_dir)
    report = {}
    for name, url in urls.items():
        info = process_info(run_dir, name) if alive(read_pid(run_dir / "supervisord.pid")) else None
        if info is None:
            report[name] = MemberStatus("DOWN", None, None, 0, False)
            continue
        running = info["statename"] == "RUNNING"
        report[name] = MemberStatus(
            state=info["statename"],
            pid=int(info["pid"]) or None,
            uptime=float(info["now"] - info["start"]) if running else None,
            restarts=max(spawns.get(name, 0) - 1, 0),
            answers=healthy(url),
        )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "command",
        choices=["start", "stop", "status", "nginx-conf"],
        help="nginx-conf: only write <run-dir>/nginx.conf, or with --system print the "
        "systemd host's configuration (deploy/README.md)",
    )
    parser.add_argument(
        "--system",
        action="store_true",
        help="nginx-conf for a systemd host: print it (for root to save as "
        f"{SYSTEM_NGINX_CONF}), with pid, logs and temp files in root's places",
    )
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
    if args.command in ("start", "nginx-conf"):
        if args.processes < 1:
            parser.error("--processes must be at least 1")
        cluster = Cluster(
            run_dir=run_dir,
            app_ports=[args.app_port + i for i in range(args.processes)],
            port=args.port,
            host=args.host,
            secure_cookie=args.secure_cookie,
        )
        if args.command == "nginx-conf":
            print(
                render_nginx_conf(cluster, system=True)
                if args.system
                else write_nginx_conf(cluster)
            )
            return 0
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
    for name, member in report.items():
        print(member.line(name))
    ok = all(m.state == "RUNNING" and m.answers for m in report.values())
    return 0 if ok else 3


if __name__ == "__main__":
    sys.exit(main())
