"""Session fixture: a real, throw-away PostgreSQL server for the database tests.

The Debian binaries (``/usr/lib/postgresql/*/bin``) refuse to run as root, so when the tests run as
root the server runs as an unprivileged system user (``lungread-pg``, created with ``useradd`` if
missing). The cluster lives in a temp dir owned by that user and listens on a free localhost port
(plus a unix socket in the same dir). Tests that use :func:`postgres_url` are skipped, with the
reason, only where no PostgreSQL binaries exist, and fail there under ``LUNGREAD_REQUIRE_TOOLS=1``
(CI). Import the fixture into a test module with
``from tests.support.postgres_server import postgres_url``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.required_tools import missing_tool

PG_USER = "lungread-pg"
DB_NAME = "lungread_test"


def find_pg_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<ver>/bin`` with initdb and pg_ctl, else PATH's, else None."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: float(p.split("/")[-2]), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")) and os.path.exists(os.path.join(candidate, "pg_ctl")):
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ensure_user() -> pwd.struct_passwd | None:
    """The account to run the server as: None when we are not root (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
                       check=True, capture_output=True)
        return pwd.getpwnam(PG_USER)


def _as_user(account: pwd.struct_passwd | None):  # type: ignore[no-untyped-def]
    if account is None:
        return None

    def demote() -> None:
        os.setgid(account.pw_gid)
        os.setuid(account.pw_uid)

    return demote


class PostgresServer:
    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.account = _ensure_user()
        self.root = Path(tempfile.mkdtemp(prefix="lungread-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        if self.account is not None:
            os.chown(self.root, self.account.pw_uid, self.account.pw_gid)
        os.chmod(self.root, 0o755)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {"PATH": f"{self.bin_dir}:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        return subprocess.run(list(args), check=check, capture_output=True, text=True, env=env,
                              cwd=self.root, preexec_fn=_as_user(self.account))

    def start(self) -> str:
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "lungread", "--auth=trust",
                  "--encoding=UTF8", "--no-instructions")
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", opts, "-w", "-t", "60", "start")
        self._run(str(self.bin_dir / "createdb"), "-h", str(self.root), "-p", str(self.port), "-U", "lungread", DB_NAME)
        return f"postgresql+psycopg://lungread@127.0.0.1:{self.port}/{DB_NAME}"

    def new_database(self, name: str) -> str:
        self._run(str(self.bin_dir / "createdb"), "-h", str(self.root), "-p", str(self.port), "-U", "lungread", name)
        return f"postgresql+psycopg://lungread@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = find_pg_bin()
    if bin_dir is None:
        missing_tool("no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin or on PATH")
    server = PostgresServer(bin_dir)
    try:
        server.start()
    except subprocess.CalledProcessError as exc:
        server.stop()
        raise RuntimeError(f"PostgreSQL failed to start: {exc.stderr or exc.stdout}") from exc
    yield server
    server.stop()


_counter = iter(range(1, 10_000))


@pytest.fixture()
def postgres_url(postgres_server: PostgresServer) -> str:
    """URL of a fresh, empty database on the session's PostgreSQL server (one per test)."""
    return postgres_server.new_database(f"lungread_t{next(_counter)}_{int(time.time() * 1000) % 100000}")
