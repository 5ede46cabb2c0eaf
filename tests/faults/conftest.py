"""A throwaway PostgreSQL cluster per test session, which the fault tests may stop, start
and lock at will without disturbing anyone else's database.

It is made with the server's own tools (`initdb`, `pg_ctl`), on a free port, in a temporary
directory; as root they run as the `postgres` OS user (PostgreSQL refuses to run as root).
Without those tools the tests are skipped with the reason; with REQUIRE_POSTGRES=1 (.ci/run)
they fail instead, as the other PostgreSQL tests do (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from app.config import normalise_database_url
from app.db.migrate import upgrade_to_head
from tests.e2e.api_client import create_event, sign_up
from tests.support.requirements import skip_or_fail
from tests.support.server import ServerProcess, free_port

PG_TOOLS = ("initdb", "pg_ctl")
_names = itertools.count(1)


def find_pg_bin() -> Path | None:
    """The directory holding both initdb and pg_ctl: on PATH, /usr/local/bin, or Debian's
    versioned /usr/lib/postgresql/<version>/bin (newest first)."""
    on_path = shutil.which("initdb")
    candidates = [Path(on_path).parent] if on_path else []
    candidates.append(Path("/usr/local/bin"))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for directory in candidates:
        if all((directory / tool).is_file() for tool in PG_TOOLS):
            return directory
    return None


class PostgresCluster:
    """One `initdb`-made cluster listening on 127.0.0.1:`port` with trust authentication."""

    def __init__(self, bin_dir: Path, root: Path, port: int, as_owner: list[str]) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.log_path = root / "postgres.log"
        self.port = port
        self.as_owner = as_owner

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        command = [*self.as_owner, str(self.bin_dir / tool), *args]  # an absolute tool wins
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}):\n{result.stderr}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def tool(self, name: str) -> Path:
        """A server tool beside initdb (following /usr/local/bin symlinks to Debian's
        versioned directory, where pg_basebackup lives)."""
        for directory in (self.bin_dir, (self.bin_dir / "initdb").resolve().parent):
            if (directory / name).is_file():
                return directory / name
        raise RuntimeError(f"{name} not found beside initdb in {self.bin_dir}")

    def base_backup_of(self, primary: PostgresCluster) -> None:
        """This cluster's data directory as a streaming replica of `primary`."""
        self._run(
            str(self.tool("pg_basebackup")),
            *("-D", str(self.data), "-h", "127.0.0.1", "-p", str(primary.port)),
            *("-U", "postgres", "-X", "stream", "-R", "--no-sync"),
            timeout=120,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-o", options, "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def _processes(self) -> list[int]:
        """The postmaster and its children (backends, checkpointer, ...)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                # the command name may hold spaces: the parent pid follows the last ')'
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                    children.append(int(stat.parent.name))
        return [postmaster, *children]

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """Every server process stopped (SIGSTOP): the kernel still accepts and acknowledges
        TCP, but nothing ever answers, like a server stalled on its disk or a paused VM."""
        processes = self._processes()
        for pid in processes:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in processes:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def connect(
        self, database: str = "postgres", *, autocommit: bool = False
    ) -> psycopg.Connection:
        return psycopg.connect(self.url(database), connect_timeout=3, autocommit=autocommit)

    def create_database(self) -> str:
        """A new database, migrated; its URL.

        Migrated here rather than left to the server's start-up: NiceGUI runs async start-up
        handlers as background tasks, so the server answers /health (and requests) while
        its migrations may still be running."""
        name = f"faults_{next(_names)}"
        with self.connect(autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        upgrade_to_head(normalise_database_url(self.url(name)))
        return self.url(name)


def _owned_root(prefix: str) -> tuple[Path, list[str]]:
    """A fresh temporary directory PostgreSQL may use, and the command prefix that runs its
    tools as the right user (the `postgres` OS user when we are root)."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() != 0:
        return root, []
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        shutil.rmtree(root)
        skip_or_fail("postgres", "running as root and there is no `postgres` OS user to run initdb")
    if shutil.which("runuser") is None:
        shutil.rmtree(root)
        skip_or_fail("postgres", "running as root and `runuser` is missing")
    os.chown(root, owner.pw_uid, owner.pw_gid)
    return root, ["runuser", "-u", "postgres", "--"]


def _pg_bin() -> Path:
    bin_dir = find_pg_bin()
    if bin_dir is None:
        skip_or_fail(
            "postgres", "initdb/pg_ctl not found: database fault tests need a throwaway cluster"
        )
    assert bin_dir is not None
    return bin_dir


@contextlib.contextmanager
def running_cluster(
    prefix: str, *, replica_of: PostgresCluster | None = None
) -> Iterator[PostgresCluster]:
    """A throwaway cluster, running until the block ends, then stopped and deleted.

    With `replica_of`, a streaming replica of that (running) cluster instead of a new one:
    `pg_basebackup -R` copies it and writes the standby settings, so it starts in recovery,
    follows the primary's WAL and answers read-only queries."""
    bin_dir = _pg_bin()
    root, as_owner = _owned_root(prefix)
    cluster = PostgresCluster(bin_dir, root, free_port(), as_owner)
    try:
        if replica_of is None:
            cluster.init()
        else:
            cluster.base_backup_of(replica_of)
        cluster.start()
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(root, ignore_errors=True)
        skip_or_fail("postgres", f"could not make a throwaway PostgreSQL cluster: {exc}")
    try:
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            if cluster.running:
                cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def _cluster() -> Iterator[PostgresCluster]:
    with running_cluster("faults-pg-") as cluster:
        yield cluster


@pytest.fixture
def cluster(_cluster: PostgresCluster) -> PostgresCluster:
    """The session's cluster, running (a test that stopped it and failed left it down)."""
    if not _cluster.running:
        _cluster.start()
    return _cluster


@pytest.fixture
def start_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., ServerProcess]]:
    """Starts `python main.py` on a database with extra settings (environment variables);
    every server started is stopped at the end, whatever happened."""
    started: list[ServerProcess] = []

    def _start(database_url: str, **settings: str) -> ServerProcess:
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        server = ServerProcess(database_url, log_dir=tmp_path)
        started.append(server)
        return server.start()

    yield _start
    for server in started:
        server.stop()


def timed(call: Callable[[], httpx.Response]) -> tuple[float, httpx.Response]:
    began = time.monotonic()
    response = call()
    return time.monotonic() - began, response


def wait_for(predicate: Callable[[], bool], seconds: float, what: str) -> float:
    """Polls until `predicate()` holds; the seconds it took."""
    began = time.monotonic()
    while not predicate():
        if time.monotonic() - began > seconds:
            raise AssertionError(f"not within {seconds}s: {what}")
        time.sleep(0.05)
    return time.monotonic() - began


def waiting_on_a_lock(cluster: PostgresCluster, database_url: str) -> Callable[[], bool]:
    """True once some session of the database waits for a lock (our blocked request)."""
    name = database_url.rsplit("/", 1)[1]

    def _check() -> bool:
        with cluster.connect(autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = %s AND wait_event_type = 'Lock'",
                (name,),
            ).fetchone()
        return bool(row and row[0])

    return _check


@contextlib.contextmanager
def registration_blocked_on_a_lock(
    cluster: PostgresCluster, server: ServerProcess, database_url: str
) -> Iterator[tuple[Future[httpx.Response], Callable[[], None], dict[str, Any]]]:
    """A registration in flight, waiting for the event's row lock that the test holds; the
    yielded `release()` lets it go on."""
    event = create_event(server.url, sign_up(server.url, "Organiser"))
    guest = sign_up(server.url, "Guest")
    with cluster.connect(database_url.rsplit("/", 1)[1]) as locker, ThreadPoolExecutor(1) as pool:
        locker.execute("SELECT id FROM events WHERE id = %s FOR UPDATE", (event["id"],))
        try:
            in_flight = pool.submit(
                httpx.post,
                f"{server.url}/api/events/{event['id']}/register",
                headers={"Authorization": f"Bearer {guest}"},
                timeout=30,
            )
            wait_for(waiting_on_a_lock(cluster, database_url), 10, "registration waiting")
            yield in_flight, locker.rollback, event
        finally:
            locker.rollback()
