"""The target's Python environment: third-party dependencies cached by what defines them, the commit's own
project installed per run from its worktree, a broken cached venv rebuilt once.

The real-venv tests build venvs with pip (session-wide cache under pytest's base temp, so each venv is
built once per session) on the small src/ layout project of tests/support/tiny_repo.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from support.tiny_repo import PACKAGE, TESTS, commit_files, make_tiny_repo, write

from assay.config import parse_config
from assay.engines.per_commit.python_env import RUNNER_PACKAGES, dependency_plan, prepare_python
from assay.engines.per_commit.suite import run_commit_suite
from assay.errors import ConfigError, TargetError
from assay.status import Status


def target(**fields):
    base = {"repo": "x", "python": "venv", "source": "tinycalc", "suites": {"unit": {"timeout_s": 300}}}
    return parse_config({"targets": {"tinycalc": base | fields}}).targets["tinycalc"]


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "tinycalc"
    make_tiny_repo(path)
    return path


# -- the cache key: everything that defines the dependencies, nothing else ---------------------------------


def test_key_ignores_the_code_and_follows_every_dependency_source(repo):
    t = target(extras=["test"], dependency_groups=["test"])
    key = dependency_plan("tinycalc", t, repo).key
    write(repo, {"src/tinycalc/__init__.py": PACKAGE.format(sub="a + b"), "tests/test_more.py": "x = 1\n"})
    assert dependency_plan("tinycalc", t, repo).key == key  # code changes share the venv
    pyproject = (repo / "pyproject.toml").read_text()
    changes = {
        "dependencies": pyproject.replace('dependencies = ["six"]', 'dependencies = ["six", "attrs"]'),
        "extra": pyproject.replace(
            'test = ["pytest"]\n\n[project.entry', 'test = ["pytest", "mock"]\n\n[project.entry'
        ),
        "group": pyproject.replace(
            '[dependency-groups]\ntest = ["pytest"]', '[dependency-groups]\ntest = ["pytest>=8"]'
        ),
        "build-system": pyproject.replace('requires = ["setuptools>=64"]', 'requires = ["setuptools>=70"]'),
    }
    seen = {key}
    for what, text in changes.items():
        (repo / "pyproject.toml").write_text(text)
        changed = dependency_plan("tinycalc", t, repo).key
        assert changed not in seen, what
        seen.add(changed)
    (repo / "pyproject.toml").write_text(pyproject)
    (repo / "uv.lock").write_text("version = 1\n")
    assert dependency_plan("tinycalc", t, repo).key not in seen  # a lock file
    assert dependency_plan("tinycalc", target(extras=["test"]), repo).key not in seen  # the config


def test_requirements_files_are_followed_and_the_commits_own_code_is_never_cached(repo):
    write(
        repo,
        {
            "requirements/test.txt": "-r base.txt\n-e .[test]\npytest>=8  # runner\n./libs/helper\n",
            "requirements/base.txt": "six\n",
            "libs/helper/pyproject.toml": '[project]\nname = "helper"\nversion = "1"\n',
        },
    )
    t = target(requirements=["requirements/test.txt"])
    plan = dependency_plan("tinycalc", t, repo)
    assert [(p.path, p.extras) for p in plan.projects] == [(".", ("test",)), ("libs/helper", ())]
    text = plan.requirement_files["requirements/test.txt"]
    assert "-e .[test]" not in text.split("#")[0] and "pytest>=8" in text
    assert "-r {REQDIR}/requirements_base.txt" in text and plan.requirement_files["requirements/base.txt"] == "six\n"
    key = plan.key
    write(repo, {"requirements/base.txt": "six\nattrs\n"})  # an included file is part of the key too
    assert dependency_plan("tinycalc", t, repo).key != key


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"requirements": ["ci/missing.txt"]}, "requirements file 'ci/missing.txt' not found in the commit"),
        ({"dependency_groups": ["lint"]}, "dependency group(s) ['lint'] not in the commit's pyproject.toml"),
        ({"dependency_files": ["poetry.lock"]}, "dependency_files ['poetry.lock'] not found"),
    ],
)
def test_what_the_commit_lacks_is_a_final_error_that_says_what_to_fix(repo, fields, message):
    with pytest.raises(TargetError) as err:
        dependency_plan("tinycalc", target(**fields), repo)
    assert message in str(err.value) and err.value.retryable is False


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"python": "worker", "extras": ["test"]}, "need python: venv"),
        ({"extras": ["test"], "install_project": False}, "need install_project"),
        ({"dependency_groups": ["no spaces"]}, "not a valid extra or dependency-group name"),
        ({"install_command": []}, "install_command must be a non-empty argv list"),
        ({"requirements": ["../outside.txt"]}, "must be a path relative to the repository root"),
        ({"suites": {}}, "at least one suite must be configured"),
        ({"suites": {"Unit Tests": {}}}, "suite name 'Unit Tests' must match"),
        ({"suites": {"unit": {"extra_args": ["--report-log=x"]}}}, "must not contain '--report-log'"),
    ],
)
def test_config_errors(fields, message):
    with pytest.raises(ConfigError, match="is invalid") as err:
        target(**fields)
    assert message in str(err.value)


def test_the_demo_target_keeps_the_workers_interpreter():
    from assay.config import load_config

    assert load_config().targets["demo-platform"].python == "worker"


# -- real venvs ----------------------------------------------------------------------------------------------


@pytest.fixture
def envs(tmp_path_factory):
    """One venv cache for the whole session (the same directory for every test that asks)."""
    path = tmp_path_factory.getbasetemp() / "target-envs-unit"
    path.mkdir(exist_ok=True)
    return path


def run(t, repo, envs, out):
    return run_commit_suite(
        target_name="tinycalc", target=t, suite_name="unit", worktree=repo, envs_root=envs, out_dir=out
    )


def with_import(module: str) -> str:
    return TESTS.replace("import tinycalc\n", f"import tinycalc\nimport {module}\n")


def pip_list(python: str) -> set[str]:
    out = subprocess.run([python, "-m", "pip", "list", "--format=json"], capture_output=True, text=True, check=True)
    return {p["name"].lower() for p in json.loads(out.stdout)}


@pytest.mark.slow
def test_dependency_group_venv_runs_the_commit_and_caches_only_third_party_code(repo, envs, tmp_path):
    t = target(dependency_groups=["test"])
    res = run(t, repo, envs, tmp_path / "out")
    assert res.status is Status.PASS, res.message
    assert res.counts["passed"] == 4  # incl. importlib.metadata version and entry points of the commit
    assert [f.path for f in res.coverage.files] == ["src/tinycalc/__init__.py"]
    env = prepare_python("tinycalc", t, repo, envs)
    installed = pip_list(env.python)
    assert "tinycalc" not in installed and "six" in installed
    assert set(RUNNER_PACKAGES) <= installed
    pip = subprocess.run([env.python, "-m", "pip", "--version"], capture_output=True, text=True, check=True).stdout
    assert tuple(int(x) for x in pip.split()[1].split(".")[:2]) >= (25, 1)  # --group needs pip 25.1


@pytest.mark.slow
def test_an_install_command_that_installs_the_project_editable_leaves_no_trace_in_the_cache(repo, envs, tmp_path):
    t = target(install_command=["{python}", "-m", "pip", "install", "-e", ".[test]"])
    res = run(t, repo, envs, tmp_path / "out")
    assert res.status is Status.PASS, res.message
    env = prepare_python("tinycalc", t, repo, envs)
    assert "tinycalc" not in pip_list(env.python)
    assert [p.path for p in env.projects] == ["."]  # installed per run instead
    assert json.loads((env.env_dir / ".assay-env.json").read_text())["installed_local"] == ["."]
    shutil.rmtree(repo)  # the worktree the venv was built from is gone: a later commit does not care
    make_tiny_repo(repo)
    assert run(t, repo, envs, tmp_path / "out2").status is Status.PASS


@pytest.mark.slow
def test_a_broken_cached_venv_is_rebuilt_once_and_a_commits_own_import_error_is_not_blamed_on_it(repo, envs, tmp_path):
    write(repo, {"requirements-test.txt": "-e .\npytest\n"})
    t = target(requirements=["requirements-test.txt"])
    assert run(t, repo, envs, tmp_path / "first").status is Status.PASS
    env = prepare_python("tinycalc", t, repo, envs)
    site = next(Path(env.env_dir).glob("lib/python3*/site-packages"))
    (site / "six.py").unlink()  # the venv breaks: the package's import fails, a fresh venv would work
    res = run(t, repo, envs, tmp_path / "second")
    assert res.status is Status.PASS, res.message
    assert "No module named 'six'" in res.details["environment_rebuilt"]
    assert "the cached environment was rebuilt first" in res.message
    fresh = prepare_python("tinycalc", t, repo, envs)
    assert fresh.env_dir != env.env_dir
    assert (next(fresh.env_dir.glob("lib/python3*/site-packages")) / "six.py").exists()

    # the commit's own code fails to import: its result, no rebuild
    commit_files(repo, {"tests/test_calc.py": with_import("tinycalc.gone")}, "import a module that is not there")
    res = run(t, repo, envs, tmp_path / "third")
    assert res.status is Status.ERROR and res.retryable is False
    assert "ModuleNotFoundError in tests/test_calc.py:4" in res.message
    assert "environment_rebuilt" not in res.details
    assert prepare_python("tinycalc", t, repo, envs).env_dir == fresh.env_dir

    # a third-party module the commit never declared: one rebuild finds a fresh venv lacks it too, then never again
    commit_files(repo, {"tests/test_calc.py": with_import("undeclared_dep_xyz")}, "use an undeclared dependency")
    res = run(t, repo, envs, tmp_path / "fourth")
    assert res.status is Status.ERROR and "No module named 'undeclared_dep_xyz'" in res.details["environment_rebuilt"]
    res = run(t, repo, envs, tmp_path / "fifth")
    assert res.status is Status.ERROR and "environment_rebuilt" not in res.details
    assert "ModuleNotFoundError in tests/test_calc.py:4" in res.message
