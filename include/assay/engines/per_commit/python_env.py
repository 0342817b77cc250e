"""The Python environment a target's tests run in: cached third-party dependencies, the commit's own code.

``python: venv`` has two layers.

1. **A cached virtualenv with third-party dependencies only**, under ``<envs_root>/<target>-<key>-g<N>``. The
   key hashes everything that defines those dependencies: the requirements files (and the files they
   ``-r``/``-c`` include), the dependency tables of the commit's ``pyproject.toml`` (``dependencies``,
   ``optional-dependencies``, ``dependency-groups``, ``build-system``), ``setup.py``/``setup.cfg``, lock files,
   the configured extras, groups and install command, the Python version and the runner packages. It is
   built once, under a lock. The commit's own project, and any local path a requirements file names
   (``.``, ``-e .[test]``, ``./libs/x``), is installed while building only to resolve its dependencies and
   is uninstalled before the venv is marked ready: the cache never holds, nor points at, any commit's code.
2. **A per-run layer with the commit's own project**: ``pip install --no-deps --target <layer> -e <worktree>``
   from this run's worktree, first on ``PYTHONPATH``. A ``sitecustomize.py`` in the layer makes it a site
   directory, so the build backend's editable hook (a ``.pth`` path or an import finder) takes effect in every
   Python process the tests start (xdist workers, subprocesses). importlib.metadata and entry points see the
   project's dist-info; the code imported is this worktree's files, so coverage records ``src/pkg/x.py``
   relative to the repository root; and an older commit's pruned worktree can break nothing.

   Editable into a per-run layer rather than a wheel copy: a copy would make coverage measure files outside
   the checkout, and a ``src/`` package's paths would no longer match ``critical_paths``.

``python: worker`` runs on the worker's interpreter; the commit's project still goes into a per-run layer.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from assay.engines.per_commit.budget import BUILD_TIMEOUT_S, PROJECT_INSTALL_TIMEOUT_S
from assay.engines.per_commit.config import CommitTargetConfig
from assay.errors import TargetError, ToolError
from assay.process import run_command, target_env
from assay.sandbox import SandboxPolicy, interpreter_dirs, wrap_command

RUNNER_PACKAGES = ("pytest", "pytest-cov", "pytest-xdist", "pytest-reportlog")
RUNNER_MODULES = ("pytest", "pytest_cov", "xdist", "pytest_reportlog")
PROBE_TIMEOUT_S = 120
LOCK_FILES = ("uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock", "pylock.toml")
READY = ".assay-env.json"
PIP_WITH_GROUPS = (25, 1)
_PIP_ENV = {"PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}

_INCLUDE = re.compile(r"^(?P<opt>-r|--requirement|-c|--constraint)(?:\s+|=)(?P<path>\S+)$")
_LOCAL = re.compile(
    r"^(?:(?:-e|--editable)(?:\s+|=))?(?:file:)?(?P<path>\.{1,2}(?:/[^\s\[;]*)?)(?P<extras>\[[^\]]*\])?\s*(?:;.*)?$"
)
_COMMENT = re.compile(r"(^|\s)#.*$")
# pip's own words for a requirement that cannot be met whatever the network does
_PERMANENT_PIP = re.compile(
    r"ResolutionImpossible|No matching distribution found|Invalid requirement|Could not find a version"
    r"|does not appear to be a Python project|is not a valid editable requirement|Could not open requirements file"
    r"|dependency group .* not found|requires a different Python",
    re.IGNORECASE,
)

SITECUSTOMIZE = """\
# Written by Assay for one test run: make this layer a site directory, so the editable install of the
# commit's own project in it (a .pth path or an import hook) applies in every Python process of the run.
import os as _os
import site as _site
import sys as _sys

_here = _os.path.dirname(_os.path.abspath(__file__))
_before = list(_sys.path)
_site.addsitedir(_here)
_added = [p for p in _sys.path if p not in _before]
if _added:  # the commit's source roots go right after this layer, ahead of site-packages
    _at = next((i + 1 for i, p in enumerate(_before) if _os.path.abspath(p or ".") == _here), 0)
    _sys.path[:] = _before[:_at] + _added + _before[_at:]

# then the interpreter's own sitecustomize, if it has one
import importlib.machinery as _machinery  # noqa: E402
import importlib.util as _util  # noqa: E402

_spec = _machinery.PathFinder.find_spec(
    "sitecustomize", [p for p in _sys.path if _os.path.abspath(p or ".") != _here]
)
if _spec is not None and _spec.loader is not None:
    _spec.loader.exec_module(_util.module_from_spec(_spec))
"""


@dataclass(frozen=True)
class LocalProject:
    """A project inside the repository (``.`` for the root) whose code is installed per run."""

    path: str
    extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class DependencyPlan:
    """How to build the cached dependencies of one commit, and the key they are cached under."""

    key: str
    inputs: dict[str, Any]
    requirement_files: dict[str, str] = field(default_factory=dict)  # repo-relative name -> filtered text
    top_files: tuple[str, ...] = ()
    projects: tuple[LocalProject, ...] = ()
    groups: tuple[str, ...] = ()
    build_requires: tuple[str, ...] = ()
    command: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TargetPython:
    """The interpreter a suite runs with and the commit projects to install per run."""

    python: str
    plan: DependencyPlan
    env_dir: Path | None = None  # None: the worker's own interpreter
    built_now: bool = False  # built (or rebuilt) during this call: not a suspect when imports fail
    projects: tuple[LocalProject, ...] = ()
    known_missing: tuple[str, ...] = ()  # modules a fresh build of this venv lacked too


@dataclass(frozen=True)
class ProjectLayer:
    """The per-run directory holding the commit's own project (editable, pointing at this worktree)."""

    path: Path | None
    projects: tuple[str, ...] = ()

    def env(self) -> dict[str, str]:
        return {"PYTHONPATH": str(self.path)} if self.path else {}


# -- what defines the dependencies ----------------------------------------------------------------------


def read_pyproject(root: Path) -> dict[str, Any]:
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TargetError(f"pyproject.toml of the commit is not valid TOML: {exc}", retryable=False) from None


def installable(root: Path, pyproject: dict[str, Any] | None = None) -> bool:
    """Whether ``root`` is a Python project pip can install (a [project] or [build-system], or setup.py)."""
    data = read_pyproject(root) if pyproject is None else pyproject
    return (root / "setup.py").is_file() or "project" in data or "build-system" in data


def _logical_lines(text: str) -> list[str]:
    lines, current = [], ""
    for raw in text.splitlines():
        if raw.endswith("\\"):
            current += raw[:-1]
            continue
        lines.append(current + raw)
        current = ""
    if current:
        lines.append(current)
    return lines


def _flat(rel: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", rel)


def _relative_to(path: Path, root: Path) -> str | None:
    try:
        rel = path.resolve().relative_to(root).as_posix()
    except ValueError:
        return None
    return rel or "."


def _scan_requirements(root: Path, rel: str, texts: dict[str, str], projects: dict[str, set[str]]) -> None:
    """Filter one requirements file: local paths of the repository become per-run projects (their
    dependencies are still cached); includes are followed and rewritten to the filtered copies."""
    if rel in texts:
        return
    path = root / rel
    if not path.is_file():
        raise TargetError(
            f"requirements file {rel!r} not found in the commit (fix the target's 'requirements')", retryable=False
        )
    texts[rel] = ""  # guards include cycles
    out = []
    for line in _logical_lines(path.read_text(encoding="utf-8", errors="replace")):
        bare = _COMMENT.sub("", line).strip()
        if m := _INCLUDE.match(bare):
            inc = _relative_to(path.parent / m.group("path"), root)
            if inc is None:
                out.append(line)
                continue
            _scan_requirements(root, inc, texts, projects)
            out.append(f"{m.group('opt')} {{REQDIR}}/{_flat(inc)}")
        elif (m := _LOCAL.match(bare)) and (local := _relative_to(root / m.group("path"), root)) is not None:
            extras = {e.strip() for e in (m.group("extras") or "[]")[1:-1].split(",") if e.strip()}
            projects.setdefault(local, set()).update(extras)  # pip reads local paths relative to the cwd
            out.append(f"# {bare}: the commit's own code, installed per run by Assay")
        else:
            out.append(line)
    texts[rel] = "\n".join(out) + "\n"


def _file_digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _project_inputs(root: Path, rel: str) -> dict[str, Any]:
    where = root / rel
    data = read_pyproject(where)
    project = data.get("project") or {}
    dynamic = set(project.get("dynamic") or [])
    inputs: dict[str, Any] = {
        "build-system": data.get("build-system"),
        "dependencies": project.get("dependencies"),
        "optional-dependencies": project.get("optional-dependencies"),
        "dependency-groups": data.get("dependency-groups"),
        "requires-python": project.get("requires-python"),
        "setup.py": _file_digest(where / "setup.py"),
        "setup.cfg": _file_digest(where / "setup.cfg"),
    }
    if dynamic & {"dependencies", "optional-dependencies"}:  # computed by the backend: key on all it may read
        inputs["pyproject.toml"] = _file_digest(where / "pyproject.toml")
        inputs["requirements*"] = {
            p.relative_to(where).as_posix(): _file_digest(p)
            for p in sorted([*where.glob("requirements*.txt"), *where.glob("requirements/*.txt")])
        }
    return inputs


def _build_requires(root: Path, projects: list[LocalProject]) -> list[str]:
    reqs: list[str] = []
    for p in projects:
        data = read_pyproject(root / p.path)
        declared = (data.get("build-system") or {}).get("requires")
        for req in declared if declared is not None else ["setuptools>=64"]:
            if req not in reqs:
                reqs.append(req)
    return reqs


def dependency_plan(name: str, target: CommitTargetConfig, worktree: Path) -> DependencyPlan:
    """What the commit's dependencies are and the cache key they define (nothing is installed)."""
    root = Path(worktree).resolve()
    pyproject = read_pyproject(root)
    root_installable = installable(root, pyproject)
    if target.install_project and not root_installable:
        raise TargetError(
            f"target {name!r}: install_project is true but the commit has no pyproject.toml "
            "with [project] or [build-system], and no setup.py",
            retryable=False,
        )
    if target.extras and not root_installable:
        raise TargetError(
            f"target {name!r}: extras {target.extras} need an installable project, but the commit "
            "has no pyproject.toml with [project] or [build-system], and no setup.py",
            retryable=False,
        )
    texts: dict[str, str] = {}
    found: dict[str, set[str]] = {}
    declared = target.requirements
    if declared is None:
        nothing_else = not (target.extras or target.dependency_groups or target.install_command)
        declared = ["requirements.txt"] if nothing_else and (root / "requirements.txt").is_file() else []
    if target.python == "venv":
        for rel in declared:
            _scan_requirements(root, rel, texts, found)
    if target.install_project is not False and root_installable:
        found.setdefault(".", set()).update(target.extras)
    projects = [LocalProject(path, tuple(sorted(extras))) for path, extras in sorted(found.items())]
    groups = tuple(target.dependency_groups)
    if groups:
        known = sorted(pyproject.get("dependency-groups") or {})
        missing = [g for g in groups if g not in known]
        if missing:
            raise TargetError(
                f"target {name!r}: dependency group(s) {missing} not in the commit's pyproject.toml "
                f"[dependency-groups] (it has: {', '.join(known) or 'none'})",
                retryable=False,
            )
    build_requires = _build_requires(root, projects) if target.python == "venv" else []
    inputs = {
        "python": sys.version,
        "runner": RUNNER_PACKAGES,
        "config": {
            "requirements": declared,
            "extras": target.extras,
            "groups": list(groups),
            "command": target.install_command,
            "install_project": target.install_project,
        },
        "requirements": texts,
        "projects": {p.path: _project_inputs(root, p.path) for p in projects},
        "root": _project_inputs(root, "."),
        "locks": {f: _file_digest(root / f) for f in LOCK_FILES if (root / f).is_file()},
        "dependency_files": {f: _file_digest(root / f) for f in target.dependency_files},
    }
    missing_files = [f for f, digest in inputs["dependency_files"].items() if digest is None]
    if missing_files:
        raise TargetError(f"target {name!r}: dependency_files {missing_files} not found in the commit", retryable=False)
    key = hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return DependencyPlan(
        key,
        inputs,
        texts,
        tuple(declared),
        tuple(projects),
        groups,
        tuple(build_requires),
        tuple(target.install_command) if target.install_command else None,
    )


# -- the cached venv ---------------------------------------------------------------------------------------


def _scrubbed_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return target_env(_PIP_ENV | (extra or {}))


def _run(
    argv: list[str],
    *,
    cwd: Path,
    log: Path,
    what: str,
    timeout_s: float = BUILD_TIMEOUT_S,
    env: dict[str, str] | None = None,
    sandbox: SandboxPolicy | None = None,
    read_only: tuple[Path, ...] = (),
    writable: tuple[Path, ...] = (),
) -> str:
    env = env or _scrubbed_env()
    if sandbox is not None:  # the commit's own code (its build backend) runs here
        try:
            wrapped = wrap_command(sandbox, argv, cwd=cwd, env=env, read_only=read_only, writable=writable)
        except ToolError as exc:
            raise TargetError(f"{what}: {exc}", retryable=False) from None
        argv, env = wrapped.argv, wrapped.env
    res = run_command(argv, cwd=cwd, timeout_s=timeout_s, log_path=log, env=env)
    if res.timed_out:
        raise TargetError(f"{what} timed out after {timeout_s:.0f} s (log: {log})")
    if res.returncode != 0:
        tail = res.output_tail[-1500:]
        raise TargetError(
            f"{what} failed (exit {res.returncode}, log: {log}):\n{tail}",
            retryable=not _PERMANENT_PIP.search(res.output_tail),
        )
    return res.output_tail


_EDITABLE_REQUIRES = """
import importlib, json, sys, tomllib
data = tomllib.load(open("pyproject.toml", "rb")) if __import__("os").path.exists("pyproject.toml") else {}
system = data.get("build-system") or {}
sys.path[:0] = [p for p in system.get("backend-path") or []]
name = system.get("build-backend") or "setuptools.build_meta:__legacy__"
module, _, attr = name.partition(":")
backend = importlib.import_module(module)
for part in filter(None, attr.split(".")):
    backend = getattr(backend, part)
hook = getattr(backend, "get_requires_for_build_editable", None)
open(sys.argv[1], "w").write(json.dumps(list(hook()) if hook else []))
"""

_LIST_LOCAL = """
import importlib.metadata as m, json, sys
out = []
for d in m.distributions():
    text = d.read_text("direct_url.json")
    url = json.loads(text).get("url", "") if text else ""
    if url.startswith("file://"):
        out.append([d.metadata["Name"], url[len("file://"):]])
open(sys.argv[1], "w").write(json.dumps(out))
"""


def _generation_dirs(envs_root: Path, name: str, key: str) -> list[tuple[int, Path]]:
    pattern = re.compile(re.escape(f"{name}-{key}-g") + r"(\d+)")
    gens = [(int(m.group(1)), p) for p in envs_root.glob(f"{name}-{key}-g*") if (m := pattern.fullmatch(p.name))]
    return sorted(gens)


def _current(envs_root: Path, name: str, key: str) -> Path | None:
    try:
        env_dir = envs_root / (envs_root / f"{name}-{key}.current").read_text().strip()
    except FileNotFoundError:
        return None
    return env_dir if (env_dir / READY).is_file() else None


def _target_python(env_dir: Path, plan: DependencyPlan, built_now: bool) -> TargetPython:
    marker = json.loads((env_dir / READY).read_text())
    projects = {p.path: p for p in plan.projects}
    for rel in marker.get("installed_local", []):  # e.g. an install_command's own "pip install -e ."
        projects.setdefault(rel, LocalProject(rel))
    return TargetPython(
        str(env_dir / "bin" / "python"),
        plan,
        env_dir,
        built_now,
        tuple(projects.values()),
        tuple(marker.get("known_missing", [])),
    )


def note_missing_modules(tp: TargetPython, modules: set[str]) -> None:
    """Remember on the venv that a fresh build of it lacks ``modules`` too (the commit does not declare them)."""
    if tp.env_dir is None:
        return
    with _Lock(tp.env_dir.parent / f"{tp.env_dir.name}.marker.lock"):
        path = tp.env_dir / READY
        marker = json.loads(path.read_text())
        marker["known_missing"] = sorted(set(marker.get("known_missing", [])) | modules)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(marker, indent=1, sort_keys=True, default=str))
        tmp.replace(path)


def _build(name: str, plan: DependencyPlan, worktree: Path, env_dir: Path, log_dir: Path) -> None:
    root = worktree.resolve()
    python = env_dir / "bin" / "python"
    log = log_dir / f"{env_dir.name}.log"
    steps = log_dir / f"{env_dir.name}.steps"
    shutil.rmtree(steps, ignore_errors=True)
    steps.mkdir(parents=True)
    _run(
        [sys.executable, "-m", "venv", "--upgrade-deps", str(env_dir)],
        cwd=root,
        log=steps / "venv.log",
        what=f"target {name!r}: creating its virtualenv",
    )
    if plan.groups:
        out = _run([str(python), "-m", "pip", "--version"], cwd=root, log=steps / "pip-version.log", what="pip")
        version = tuple(int(x) for x in re.findall(r"pip (\d+)\.(\d+)", out)[0])
        if version < PIP_WITH_GROUPS:
            raise TargetError(
                f"target {name!r}: dependency_groups need pip >= 25.1 in the target venv; "
                f"upgrading gave pip {'.'.join(map(str, version))}",
                retryable=False,
            )
    req_dir = steps / "requirements"
    req_dir.mkdir()
    for rel, text in plan.requirement_files.items():
        (req_dir / _flat(rel)).write_text(text.replace("{REQDIR}", str(req_dir)), encoding="utf-8")
    argv = [str(python), "-m", "pip", "install"]
    for rel in plan.top_files:
        argv += ["-r", str(req_dir / _flat(rel))]
    for p in plan.projects:  # built only to resolve their dependencies; uninstalled below
        spec = str((root / p.path).resolve())
        argv.append(f"{spec}[{','.join(p.extras)}]" if p.extras else spec)
    for group in plan.groups:
        argv += ["--group", group]
    argv += [*plan.build_requires, *RUNNER_PACKAGES]
    _run(argv, cwd=root, log=steps / "pip-install.log", what=f"target {name!r}: installing its dependencies")
    _install_editable_requires(name, plan, root, python, steps)
    if plan.command:
        command = [part.replace("{python}", str(python)) for part in plan.command]
        env = _scrubbed_env({"VIRTUAL_ENV": str(env_dir)})
        env["PATH"] = f"{env_dir / 'bin'}:{env.get('PATH', '')}"
        _run(
            command,
            cwd=root,
            log=steps / "install-command.log",
            env=env,
            what=f"target {name!r}: its install_command {' '.join(plan.command)!r}",
        )
    listing = steps / "local.json"
    _run([str(python), "-c", _LIST_LOCAL, str(listing)], cwd=root, log=steps / "list.log", what="listing the venv")
    local = [(dist, Path(path)) for dist, path in json.loads(listing.read_text())]
    ours = [(dist, rel) for dist, path in local if (rel := _relative_to(path, root)) is not None]
    if ours:
        _run(
            [str(python), "-m", "pip", "uninstall", "-y", *sorted({d for d, _ in ours})],
            cwd=root,
            log=steps / "uninstall.log",
            what=f"target {name!r}: removing the commit's own code from the cache",
        )
    probe = "import " + ", ".join(RUNNER_MODULES)
    _run(
        [str(python), "-c", probe],
        cwd=root,
        log=steps / "probe.log",
        timeout_s=PROBE_TIMEOUT_S,
        what=f"target {name!r}: checking the new virtualenv",
    )
    (env_dir / READY).write_text(
        json.dumps(
            {
                "key": plan.key,
                "built_from": str(root),
                "installed_local": sorted({rel for _, rel in ours}),
                "inputs": plan.inputs,
            },
            indent=1,
            sort_keys=True,
            default=str,
        )
    )
    log.write_text("".join(p.read_text(errors="replace") for p in sorted(steps.glob("*.log"))))


def _install_editable_requires(name: str, plan: DependencyPlan, root: Path, python: Path, steps: Path) -> None:
    """What each project's build backend needs for an editable build beyond ``[build-system] requires``
    (PEP 660 ``get_requires_for_build_editable``, e.g. hatchling's ``editables``), so the per-run install
    can build without isolation (no index needed). Best effort: without it, the per-run install isolates."""
    extra: list[str] = []
    for i, project in enumerate(plan.projects):
        out = steps / f"editable-requires-{i}.json"
        try:
            _run(
                [str(python), "-c", _EDITABLE_REQUIRES, str(out)],
                cwd=(root / project.path).resolve(),
                log=steps / f"editable-requires-{i}.log",
                timeout_s=PROBE_TIMEOUT_S,
                what="build backend hook",
            )
            extra += [r for r in json.loads(out.read_text()) if r not in extra]
        except (TargetError, OSError, ValueError):
            continue
    if extra:
        _run(
            [str(python), "-m", "pip", "install", *extra],
            cwd=root,
            log=steps / "pip-editable-requires.log",
            what=f"target {name!r}: installing its build backend's editable requirements",
        )


def _build_generation(name: str, plan: DependencyPlan, worktree: Path, envs_root: Path) -> Path:
    gens = _generation_dirs(envs_root, name, plan.key)
    env_dir = envs_root / f"{name}-{plan.key}-g{(gens[-1][0] + 1) if gens else 1}"
    shutil.rmtree(env_dir, ignore_errors=True)
    try:
        _build(name, plan, worktree, env_dir, envs_root)
    except BaseException:
        shutil.rmtree(env_dir, ignore_errors=True)
        raise
    pointer = envs_root / f"{name}-{plan.key}.current"
    tmp = pointer.with_suffix(".tmp")
    tmp.write_text(env_dir.name)
    tmp.replace(pointer)
    for _, old in gens[:-1]:  # keep the generation just replaced: a running suite may still use it
        shutil.rmtree(old, ignore_errors=True)
    return env_dir


class _Lock:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> _Lock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("a")
        fcntl.flock(self._fh, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()


def prepare_python(name: str, target: CommitTargetConfig, worktree: Path, envs_root: Path) -> TargetPython:
    """The interpreter for the commit in ``worktree``: the worker's, or the cached venv of its dependencies
    (built now, under a lock, when no venv has that key yet)."""
    plan = dependency_plan(name, target, Path(worktree))
    if target.python == "worker":
        return TargetPython(sys.executable, plan, None, False, plan.projects)
    envs_root = Path(envs_root).resolve()
    if (env_dir := _current(envs_root, name, plan.key)) is not None:
        return _target_python(env_dir, plan, built_now=False)
    with _Lock(envs_root / f"{name}-{plan.key}.lock"):
        if (env_dir := _current(envs_root, name, plan.key)) is not None:
            return _target_python(env_dir, plan, built_now=False)
        return _target_python(_build_generation(name, plan, Path(worktree), envs_root), plan, built_now=True)


def rebuild_python(name: str, broken: TargetPython, worktree: Path, envs_root: Path) -> TargetPython:
    """A fresh venv in place of ``broken`` (unless another task already replaced it)."""
    if broken.env_dir is None:
        return broken
    plan = broken.plan
    envs_root = Path(envs_root).resolve()
    with _Lock(envs_root / f"{name}-{plan.key}.lock"):
        current = _current(envs_root, name, plan.key)
        if current is not None and current != broken.env_dir:
            return _target_python(current, plan, built_now=True)
        return _target_python(_build_generation(name, plan, Path(worktree), envs_root), plan, built_now=True)


# -- the per-run layer -------------------------------------------------------------------------------------


def install_project_layer(
    tp: TargetPython, worktree: Path, layer_dir: Path, *, sandbox: SandboxPolicy | None = None
) -> ProjectLayer:
    """Install the commit's own project(s) from ``worktree`` into ``layer_dir`` (editable, no dependencies).

    A project that cannot be built from this commit is a final TargetError: a retry builds the same code.

    ``sandbox``: the build backend (the commit's code: ``setup.py``, a backend in the tree) runs confined. It
    writes into the worktree (egg-info, version files), so this step keeps the worker's uid (without any
    capability) and sees the worktree and the layer read-write, the interpreter read-only, nothing else.
    ``--no-build-isolation`` needs no network; an isolated build (``python: worker``, or the fallback) fetches
    its build requirements from the index, so it gets the host network."""
    root = Path(worktree).resolve()
    projects = [p for p in tp.projects if (root / p.path).is_dir()]
    if not projects:
        return ProjectLayer(None)
    specs = [x for p in projects for x in ("-e", str((root / p.path).resolve()))]
    layer_dir = Path(layer_dir).resolve()
    log = layer_dir.with_name(layer_dir.name + ".log")
    base = [tp.python, "-m", "pip", "install", "--no-deps", "--no-compile", "--target", str(layer_dir)]
    attempts = (["--no-build-isolation"], []) if tp.env_dir is not None else ([],)
    error: TargetError | None = None
    with _DirLock(root):  # suites of one commit build in its worktree (egg-info, version files) one at a time
        for extra in attempts:  # the venv has the build backend; without it pip isolates the build (the index)
            shutil.rmtree(layer_dir, ignore_errors=True)
            layer_dir.parent.mkdir(parents=True, exist_ok=True)
            try:
                layer_dir.mkdir()
                _run(
                    [*base, *extra, *specs],
                    cwd=root,
                    timeout_s=PROJECT_INSTALL_TIMEOUT_S,
                    log=log if extra else log.with_suffix(".isolated.log"),
                    what=f"installing the commit's own project ({', '.join(p.path for p in projects)})",
                    sandbox=None
                    if sandbox is None
                    else replace(sandbox, uid=None, network="none" if extra else "host"),
                    read_only=tuple(interpreter_dirs(tp.python)),
                    writable=(root, layer_dir),
                )
            except TargetError as exc:
                error = exc
                continue
            (layer_dir / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
            return ProjectLayer(layer_dir, tuple(p.path for p in projects))
    assert error is not None
    raise TargetError(str(error), retryable=False)


class _DirLock:
    """An exclusive flock on a directory itself (no lock file left behind)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> _DirLock:
        self._fd = os.open(self.path, os.O_RDONLY)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
