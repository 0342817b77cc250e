"""Run a target's code (its tests, its build backend, its service) where it cannot reach Assay's secrets.

A commit's code is untrusted: without a sandbox a test can read ``$AIRFLOW_HOME/airflow.cfg``, the metadata
and metrics databases, other targets' worktrees, and open any connection. :func:`wrap_command` turns an argv
into one that runs under bubblewrap (``bwrap``) with only this visible:

* the system directories read-only: ``/usr`` (and the ``/lib*``, ``/bin``, ``/sbin`` links or binds), and
  from ``/etc`` only what programs need to start and resolve names (:data:`ETC_FILES`: the dynamic loader's
  cache, CA certificates, ``passwd``/``group``/``nsswitch.conf``, ``hosts``, ``resolv.conf``, time zone,
  ``alternatives``), never the rest of ``/etc`` (``pip.conf`` may hold an index token, ``gitconfig``, the
  database servers' configs);
* the interpreter: its base prefix (``sys.base_prefix``) and the exact venv directory, read-only; never a
  venv's parent (the Assay checkout holds ``.assay/`` next to ``.venv``);
* what the caller names: the worktree (read-only for tests), the task's output directory (read-write),
  extra read-only paths of the target's config;
* a private ``/tmp`` and ``/dev/shm`` (tmpfs), ``/proc`` of a private PID namespace, a minimal ``/dev``.

Namespaces: IPC, PID, UTS, cgroup, and the network unless the policy says ``network: host`` (a private
network namespace has its own loopback, up: a suite may start servers on 127.0.0.1 inside the sandbox, but
nothing on the host, 127.0.0.1:5432 included, is reachable). ``--die-with-parent`` and ``--new-session``
(no TIOCSTI into the worker's terminal). When the worker runs as root the command also drops to an
unprivileged uid/gid (``policy.uid``, 65534 ``nobody`` by default) with ``setpriv`` inside the sandbox, no
capabilities, ``no_new_privs``: the kernel sees a non-root uid, so even a root-owned 0600 file that is
bound is refused. (bwrap's own ``--uid`` in a user namespace would only *rename* root: the kernel still sees
uid 0.) A non-root worker keeps its uid and gets a user namespace instead.

The environment is the caller's (already scrubbed by :func:`assay.process.target_env`), passed as the
process environment, with ``HOME`` and ``TMPDIR`` pointed at the private ``/tmp``.

A sandbox that cannot be set up (bwrap missing, namespaces refused) is an error, never a silent fallback
to running unsandboxed.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from assay.errors import ToolError

NOBODY = 65534
INSTALL_HINT = "install bubblewrap (apt-get install bubblewrap) or mark the target trusted: sandbox: {enabled: false}"
#: system directories bound read-only (a merged-/usr link such as /lib -> usr/lib is recreated as a link)
SYSTEM_DIRS = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin")
#: the parts of /etc programs need to start (ld.so), verify TLS, name users and resolve hosts; nothing else
ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "ssl",
    "ca-certificates",
    "ca-certificates.conf",
    "pki",
    "passwd",
    "group",
    "nsswitch.conf",
    "host.conf",
    "hosts",
    "resolv.conf",
    "gai.conf",
    "services",
    "protocols",
    "localtime",
    "timezone",
    "mime.types",
    "os-release",
    "locale.alias",
    "matplotlibrc",
)


class SandboxUnavailable(ToolError):
    """The sandbox could not be set up on this worker: final (a retry on the same worker cannot help)."""

    retryable = False


@dataclass(frozen=True)
class SandboxPolicy:
    """How a target's code is confined (a trusted target has no policy: its code runs unconfined, as before).

    ``network``: ``none`` (a private network namespace with its own loopback) or ``host`` (the worker's
    network, e.g. to reach a PostgreSQL server); ``uid``: the unprivileged uid (and gid) to drop to when the
    worker runs as root (``None``: keep root's uid, still without capabilities); ``read_only``: extra host
    paths to expose read-only; ``protected``: directories whose secrets must never be visible: binding one
    of them or any directory containing one is refused (default: ``AIRFLOW_HOME`` and ``ASSAY_HOME``)."""

    network: Literal["none", "host"] = "none"
    uid: int | None = NOBODY
    read_only: tuple[str, ...] = ()
    bwrap: str = "bwrap"
    setpriv: str = "setpriv"
    protected: tuple[str, ...] | None = None

    def with_network(self, network: Literal["none", "host"] | None) -> SandboxPolicy:
        return self if network is None or network == self.network else replace(self, network=network)

    @property
    def drops_uid(self) -> bool:
        return self.uid is not None and os.geteuid() == 0

    def protected_paths(self) -> list[Path]:
        if self.protected is not None:
            return [Path(p).resolve() for p in self.protected]
        from assay.paths import assay_home

        paths = [assay_home()]
        if os.environ.get("AIRFLOW_HOME"):
            paths.append(Path(os.environ["AIRFLOW_HOME"]).resolve())
        else:
            paths.append(Path("~/airflow").expanduser().resolve())
        return paths


@dataclass(frozen=True)
class SandboxedCommand:
    """What to run instead: the wrapped argv and its environment, plus what the sandbox exposes (for details)."""

    argv: list[str]
    env: dict[str, str]
    read_only: tuple[str, ...] = ()
    writable: tuple[str, ...] = ()
    uid: int | None = None
    network: str = "none"

    def describe(self) -> dict[str, object]:
        return {
            "sandbox": "bwrap",
            "network": self.network,
            "uid": self.uid,
            "read_only": list(self.read_only),
            "writable": list(self.writable),
        }


def interpreter_dirs(python: str | os.PathLike[str]) -> list[Path]:
    """The directories an interpreter needs: its venv (exactly, when it is one) and its base prefix.

    ``python`` may be a venv's ``bin/python`` (the venv is the directory holding ``pyvenv.cfg``; its base is
    that file's ``home``), or a plain interpreter (its prefix)."""
    exe = Path(python)
    if not exe.is_absolute():
        exe = Path(shutil.which(str(python)) or python).absolute()
    dirs: list[Path] = []
    venv = exe.parent.parent
    cfg = venv / "pyvenv.cfg"
    if cfg.is_file():
        dirs.append(venv)
        for line in cfg.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home" and value.strip():
                dirs.append(Path(value.strip()).resolve().parent)
    else:
        dirs.append(exe.resolve().parent.parent)
    if exe == Path(sys.executable).absolute():
        dirs += [Path(sys.prefix), Path(sys.base_prefix)]
    out: list[Path] = []
    for d in dirs:
        if d not in out:
            out.append(d)
    return out


@functools.lru_cache(maxsize=8)
def _probe(bwrap: str, drop: bool, setpriv: str) -> str | None:
    """None when ``bwrap`` can create the namespaces here, else why not."""
    exe = shutil.which(bwrap)
    if exe is None:
        return f"bubblewrap ({bwrap!r}) is not installed on this worker"
    argv = [exe, *_namespace_args("none"), "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"]
    if drop:
        argv += [*_cap_args(), "--", setpriv, *_setpriv_args(NOBODY), "--", "true"]
    else:
        argv += ["--", "true"]
    try:
        res = subprocess.run(argv, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run {exe}: {exc}"
    if res.returncode != 0:
        said = (res.stderr or res.stdout).decode(errors="replace").strip()[-500:]
        return f"{exe} cannot create the sandbox's namespaces here (exit {res.returncode}: {said})"
    return None


def check_available(policy: SandboxPolicy) -> None:
    """Raise :class:`SandboxUnavailable` (with what to do) when the sandbox cannot be set up on this worker."""
    why = _probe(policy.bwrap, policy.drops_uid, policy.setpriv)
    if why:
        raise SandboxUnavailable(f"the target's code must run sandboxed but {why}: {INSTALL_HINT}")


def hand_over(policy: SandboxPolicy | None, path: str | os.PathLike[str]) -> None:
    """Give a scratch tree of Assay's (a copy the target's code must write in) to the sandbox's uid, when it
    drops root; nothing otherwise."""
    if policy is None or not policy.drops_uid:
        return
    assert policy.uid is not None
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.lchown(os.path.join(root, name), policy.uid, policy.uid)
    os.lchown(path, policy.uid, policy.uid)


def _namespace_args(network: str) -> list[str]:
    if os.geteuid() == 0:  # no user namespace: setpriv then drops to a uid the kernel really sees
        args = ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
        return [*args, "--unshare-net"] if network == "none" else args
    return ["--unshare-all", *(["--share-net"] if network == "host" else [])]


def _cap_args() -> list[str]:
    return ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]


def _setpriv_args(uid: int) -> list[str]:
    return [
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
    ]


def _check_readable(path: Path, uid: int | None) -> None:
    """A read-only path the dropped uid could not read would fail deep inside the tool ("could not find"):
    say which and why here."""
    try:
        st = path.stat()
    except OSError:
        return
    need = 0o005 if path.is_dir() else 0o004
    if st.st_uid != uid and st.st_mode & need != need:
        raise ToolError(
            f"{path} is exposed to the target's code but uid {uid} cannot read it (mode {st.st_mode & 0o777:o}, "
            f"owner uid {st.st_uid}): make it world-readable, or set the target's sandbox.uid: null",
            retryable=False,
        )


def _contains(outer: Path, inner: Path) -> bool:
    return outer == inner or outer in inner.parents


def _system_args() -> list[str]:
    args: list[str] = []
    for d in SYSTEM_DIRS:
        p = Path(d)
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), d]
        elif p.is_dir():
            args += ["--ro-bind", d, d]
    args += ["--dir", "/etc"]
    for name in ETC_FILES:
        p = Path("/etc") / name
        if p.exists():
            args += ["--ro-bind", str(p), str(p)]
    return args


def _bind_targets(path: Path) -> list[Path]:
    """Where a path must appear in the sandbox: as given (absolute) and, when a link leads elsewhere, resolved."""
    given = Path(os.path.abspath(path))
    real = given.resolve()
    return [given] if given == real else [given, real]


def wrap_command(
    policy: SandboxPolicy,
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    env: Mapping[str, str],
    read_only: Iterable[str | os.PathLike[str]] = (),
    writable: Iterable[str | os.PathLike[str]] = (),
) -> SandboxedCommand:
    """``argv`` wrapped to run under ``policy`` in ``cwd``; ``read_only``/``writable``: the host paths it sees.

    Raises :class:`SandboxUnavailable` when bwrap cannot run here and ``ToolError`` when a path to expose
    would expose a protected directory (``AIRFLOW_HOME``, ``ASSAY_HOME``). The ``writable`` directories are
    handed to the sandbox's uid (chown) when it drops root."""
    check_available(policy)
    protected = policy.protected_paths()
    ro = [Path(os.path.abspath(p)) for p in [*read_only, *policy.read_only]]
    rw = [Path(os.path.abspath(p)) for p in writable]
    for p in [*ro, *rw]:
        for secret in protected:
            if _contains(p.resolve(), secret) or _contains(p, secret):
                raise ToolError(
                    f"refusing to expose {p} to the target's code: it contains {secret} (Assay's own home)",
                    retryable=False,
                )
    drop = policy.drops_uid
    if drop:
        for p in ro:
            _check_readable(p, policy.uid)
    args = [shutil.which(policy.bwrap) or policy.bwrap, *_namespace_args(policy.network)]
    args += ["--die-with-parent", "--new-session"]
    args += _system_args()
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/dev/shm"]
    args += ["--perms", "1777", "--tmpfs", "/tmp"]
    binds: list[tuple[str, Path, Path]] = []
    for kind, paths in (("--ro-bind", ro), ("--bind", rw)):
        for p in paths:
            if p.exists():
                binds += [(kind, p.resolve(), dest) for dest in _bind_targets(p)]
    made: set[Path] = {Path("/"), Path("/tmp")}
    for _, _, dest in binds:  # bwrap would make missing parents 0700 root: untraversable for the dropped uid
        for parent in reversed(dest.parents):
            if parent not in made and not any(_contains(Path(s), parent) for s in (*SYSTEM_DIRS, "/etc", "/proc")):
                made.add(parent)
                args += ["--perms", "0755", "--dir", str(parent)]
    seen: set[tuple[str, Path]] = set()
    for kind, src, dest in binds:
        if (kind, dest) not in seen:
            seen.add((kind, dest))
            args += [kind, str(src), str(dest)]
    if drop:
        assert policy.uid is not None
        for p in rw:
            if p.is_dir():
                os.chown(p, policy.uid, policy.uid)
    args += ["--chdir", os.path.abspath(cwd)]
    if drop:
        assert policy.uid is not None
        args += [*_cap_args(), "--", shutil.which(policy.setpriv) or policy.setpriv, *_setpriv_args(policy.uid)]
    else:  # as root without a user namespace bwrap would keep every capability
        args += ["--cap-drop", "ALL"]
    args += ["--", *argv]
    sandbox_env = dict(env) | {"HOME": "/tmp", "TMPDIR": "/tmp"}
    if drop and "GIT_CONFIG_COUNT" not in sandbox_env:
        # the repositories it sees are Assay's, bound read-only: let git read them as the dropped uid
        sandbox_env |= {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory", "GIT_CONFIG_VALUE_0": "*"}
    return SandboxedCommand(
        args,
        sandbox_env,
        tuple(str(p) for p in ro),
        tuple(str(p) for p in rw),
        policy.uid if drop else os.geteuid(),
        policy.network,
    )
