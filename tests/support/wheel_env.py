"""A fresh virtual environment with LungRead installed from its wheel, as a user would have it.

The wheel is built from the checkout's files as git sees them (tracked, plus new files it does not
ignore), so whatever the packaging misses is missing here too. Its declared dependencies (``Requires-Dist``, followed
transitively through the installed distributions' own requirements) are linked in from the test
environment instead of downloaded: the run stays offline and fast, yet an undeclared dependency
(a test-only package the code imports) is absent, as on a user's machine.

When the tests run as root, the venv is created and used by an unprivileged account
(``lungread-user``, created with ``useradd`` if missing): installing LungRead must need no root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.paths import REPO_ROOT

USER = "lungread-user"


def build_wheel(out: Path) -> Path:
    """Build the project's wheel from a copy of its tracked files; returns the .whl path."""
    src = out / "src"
    # Tracked files and new ones git does not ignore: what the next commit will hold.
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                           capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        if name.startswith("tests/"):
            continue
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (REPO_ROOT / name).is_file():
            shutil.copy2(REPO_ROOT / name, target)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(out / "dist"), str(src)], check=True, capture_output=True, text=True)
    (wheel,) = (out / "dist").glob("lungread-*.whl")
    return wheel


def declared_requirements(wheel: Path) -> list[Requirement]:
    """The wheel's run-time requirements (Requires-Dist without an extra marker)."""
    with zipfile.ZipFile(wheel) as zf:
        (meta,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        text = zf.read(meta).decode()
    reqs = [Requirement(line.split(":", 1)[1].strip()) for line in text.splitlines() if line.startswith("Requires-Dist:")]
    return [r for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})]


def dependency_closure(roots: list[Requirement]) -> dict[str, metadata.Distribution]:
    """Installed distributions that ``roots`` need, transitively (extras such as psycopg[binary]
    followed)."""
    found: dict[str, metadata.Distribution] = {}
    todo = [(r, frozenset(r.extras)) for r in roots]
    while todo:
        req, extras = todo.pop()
        name = canonicalize_name(req.name)
        if name in found:
            continue
        dist = metadata.distribution(req.name)
        found[name] = dist
        for text in dist.requires or []:
            sub = Requirement(text)
            envs = [{"extra": ""}] + [{"extra": e} for e in extras]
            if sub.marker is None or any(sub.marker.evaluate(env) for env in envs):
                todo.append((sub, frozenset(sub.extras)))
    return found


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)  # same file system: instant, no space; readable without the source path
    except OSError:
        shutil.copy2(src, dst)


def link_distributions(dists: dict[str, metadata.Distribution], target: Path) -> None:
    """Put every top-level file and folder of ``dists`` (packages and .dist-info) into ``target``."""
    target.mkdir(parents=True)
    for dist in dists.values():
        base = Path(dist.locate_file(""))
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in sorted(tops):
            src, dst = base / top, target / top
            if dst.exists() or not src.exists():
                continue
            if src.is_dir():
                shutil.copytree(src, dst, copy_function=_link_or_copy, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                _link_or_copy(str(src), str(dst))


def unprivileged() -> tuple[pwd.struct_passwd | None, Callable[[], None] | None]:
    """(account, preexec_fn) to run commands without root; (None, None) when not root already."""
    if os.geteuid() != 0:
        return None, None
    try:
        account = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
                       check=True, capture_output=True)
        account = pwd.getpwnam(USER)

    def demote() -> None:
        os.setgroups([])
        os.setgid(account.pw_gid)
        os.setuid(account.pw_uid)

    return account, demote


def user_python(demote: Callable[[], None] | None) -> str:
    """A Python 3.11 the (unprivileged) user can run: this one, else the system's."""
    for candidate in (getattr(sys, "_base_executable", None), shutil.which("python3.11"), "/usr/bin/python3.11",
                      "/usr/bin/python3"):
        if candidate and os.path.exists(candidate):
            try:
                probe = subprocess.run([candidate, "-c", "import sys, venv; assert sys.version_info[:2] == (3, 11)"],
                                       preexec_fn=demote, capture_output=True)
            except OSError:  # e.g. under /root, which the user cannot enter
                continue
            if probe.returncode == 0:
                return candidate
    raise RuntimeError("no Python 3.11 with venv that an unprivileged user can run (apt install python3-venv)")
