"""A throwaway PostgreSQL server on 127.0.0.1 for the multi-worker tests (``postgres_url`` fixture).

It runs Debian's ``initdb`` / ``pg_ctl`` (``apt-get install postgresql``; ``scripts/setup.sh test`` installs it)
in a temporary directory on a free port, as the ``postgres`` user when the tests run as root, and is stopped
and deleted afterwards. Tests that use it are skipped, with the reason, only when the binaries are missing.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile

import pytest


def postgres_bindir() -> str | None:
    """The directory of ``initdb`` and ``pg_ctl``: Debian's newest ``/usr/lib/postgresql/*/bin``, else PATH."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return candidate
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb and shutil.which("pg_ctl") else None


def _version(path: str) -> float:
    try:
        return float(path.split("/")[-2])
    except ValueError:
        return 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(root: str) -> list[str]:
    """``runuser -u postgres --`` when running as root (PostgreSQL refuses root), else nothing."""
    if os.geteuid() != 0:
        return []
    import pwd
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user to run the server (Debian's postgresql "
                    "package creates it)")
    os.chown(root, user.pw_uid, user.pw_gid)
    runuser = shutil.which("runuser")
    return [runuser, "-u", "postgres", "--"] if runuser else ["su", "postgres", "-s", "/bin/sh", "-c"]


def _run(prefix: list[str], command: list[str], cwd: str) -> subprocess.CompletedProcess:
    if prefix and prefix[0] == "su":  # su takes one shell string
        import shlex
        command = [" ".join(shlex.quote(c) for c in command)]
    return subprocess.run(prefix + command, cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def postgres_url():
    """``postgresql://postgres@127.0.0.1:PORT/postgres`` of a fresh server, stopped after the test."""
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql "
                    "(scripts/setup.sh test installs it)")
    pytest.importorskip("psycopg2", reason="the PostgreSQL driver: pip install psycopg2-binary")
    root = tempfile.mkdtemp(prefix="loom-pg-")
    prefix = _as_server_user(root)
    data, port = os.path.join(root, "data"), _free_port()
    done = _run(prefix, [os.path.join(bindir, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-N"], root)
    assert done.returncode == 0, f"initdb failed:\n{done.stdout}\n{done.stderr}"
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    done = _run(prefix, [os.path.join(bindir, "pg_ctl"), "-D", data, "-l", os.path.join(root, "server.log"), "-w",
                         "-o", options, "start"], root)
    log = open(os.path.join(root, "server.log")).read() if os.path.exists(os.path.join(root, "server.log")) else ""
    assert done.returncode == 0, f"pg_ctl start failed:\n{done.stdout}\n{done.stderr}\n{log}"
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        _run(prefix, [os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"], root)
        shutil.rmtree(root, ignore_errors=True)
