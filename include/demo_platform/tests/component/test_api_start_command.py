"""The start command ``python -m serving``: options, fail-fast errors, and worker restart under uvicorn."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from serving import __main__ as cli
from serving.server_process import ServerProcess, run_server_process

pytestmark = pytest.mark.component


def _workers(parent: psutil.Process) -> set[int]:
    pids = set()
    for child in parent.children():
        try:
            if "spawn_main" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                pids.add(child.pid)
        except psutil.Error:  # exited while we looked
            continue
    return pids


@pytest.fixture()
def multiworker(tmp_path: Path) -> Iterator[ServerProcess]:
    """Two workers, registry only, with a tokens file and a SQLite file of this test."""
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"tokens": [{"token": "cli-admin-token", "actor": "cli", "role": "admin"}]}))
    args = [
        "--workers",
        "2",
        "--no-train",
        "--db-url",
        f"sqlite:///{tmp_path / 'cli.db'}",
        "--tokens-file",
        str(tokens),
    ]
    with run_server_process(args, log_path=tmp_path / "server.log") as server:
        yield server


def _wait_for(predicate: Callable[[], bool], timeout_s: float = 120) -> bool:
    """Poll until ``predicate`` holds; the bound is generous because a busy machine starts processes slowly."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_multiworker_start_applies_options_and_restarts_a_killed_worker(multiworker: ServerProcess) -> None:
    url, headers = multiworker.url, {"Authorization": "Bearer cli-admin-token"}
    assert httpx.get(f"{url}/health").json() == {"status": "ok", "model_loaded": False, "db": "ok", "model_id": None}
    created = httpx.post(f"{url}/models/register", json={"name": "m", "version": "1"}, headers=headers)
    assert created.status_code == 201  # --tokens-file and --db-url took effect
    assert httpx.get(f"{url}/models", headers={"Authorization": "Bearer demo-admin-token"}).status_code == 403

    parent = psutil.Process(multiworker.process.pid)
    assert _wait_for(lambda: len(_workers(parent)) == 2), f"expected 2 workers: {multiworker.log_tail()}"
    before = _workers(parent)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    replaced = _wait_for(lambda: victim not in _workers(parent) and len(_workers(parent)) == 2)
    assert replaced, f"uvicorn did not replace killed worker {victim}: {_workers(parent)}\n{multiworker.log_tail()}"
    [replacement] = _workers(parent) - before
    assert _wait_for(lambda: f"Started server process [{replacement}]" in multiworker.log_tail(10_000))
    assert f"Child process [{victim}] died" in multiworker.log_tail(10_000)
    for _ in range(6):  # the service kept answering throughout
        assert httpx.get(f"{url}/models/1", headers=headers, timeout=10).json()["name"] == "m"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tokens-file", "/nonexistent/tokens.json"], "cannot read tokens file /nonexistent/tokens.json"),
        (["--db-url", "sqlite://"], "must name a SQLite file"),
        (["--db-url", "not a url"], "is not a SQLAlchemy URL"),
        (["--model-path", "/nonexistent/model.pt"], "model_path '/nonexistent/model.pt' is not a file"),
    ],
)
def test_bad_options_fail_fast_with_exit_2_and_a_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    for name in list(os.environ):
        if name.startswith("DEMO_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(os, "environ", dict(os.environ))  # main() exports its options; keep them in this test
    assert cli.main(args) == 2
    assert message in capsys.readouterr().err


def test_nonpositive_workers_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.parse_args(["--workers", "0"])
    assert info.value.code == 2 and "--workers must be >= 1" in capsys.readouterr().err


def test_options_are_exported_for_the_workers() -> None:
    env: dict[str, str] = {}
    args = ["--db-url", "sqlite:///x.db", "--tokens-file", "t.json", "--model-path", "m.pt", "--no-train"]
    cli.export_settings(cli.parse_args([*args, "--rate-limit", "5", "--burst", "9", "--test-mode"]), env)
    assert env == {
        "DEMO_DB_URL": "sqlite:///x.db",
        "DEMO_TOKENS_FILE": "t.json",
        "DEMO_MODEL_PATH": "m.pt",
        "DEMO_TRAIN_MODEL": "0",
        "DEMO_RATE_LIMIT_PER_S": "5.0",
        "DEMO_RATE_LIMIT_BURST": "9",
        "DEMO_TEST_MODE": "1",
    }
    bare: dict[str, str] = {}
    cli.export_settings(cli.parse_args([]), bare)
    assert bare == {}


def test_two_workers_writing_the_audit_chain_at_once_keep_one_unbroken_chain(
    multiworker: ServerProcess, tmp_path: Path
) -> None:
    """Both worker processes append to one hash chain: each takes the chain's write lock before reading its
    head (SQLite ignores SELECT ... FOR UPDATE; before, two workers read the same head, wrote the same seq,
    and one request in four answered 500)."""
    from concurrent.futures import ThreadPoolExecutor

    from serving.audit import CHAIN_FIELDS, GENESIS_HASH, chain_hash
    from serving.tables import AuditRecord
    from sqlalchemy import create_engine, select

    url, headers = multiworker.url, {"Authorization": "Bearer cli-admin-token"}
    parent = psutil.Process(multiworker.process.pid)
    assert _wait_for(lambda: len(_workers(parent)) == 2), f"expected 2 workers: {multiworker.log_tail()}"
    with ThreadPoolExecutor(16) as pool:  # a connection per request, so the kernel spreads them over both workers
        codes = list(
            pool.map(lambda _: httpx.get(f"{url}/models", headers=headers, timeout=30).status_code, range(300))
        )
    assert codes.count(200) == 300, f"{sorted(set(codes))}\n{multiworker.log_tail()}"
    engine = create_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with engine.connect() as conn:
        rows = conn.execute(select(AuditRecord).order_by(AuditRecord.seq)).all()
    engine.dispose()
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1)) and len(rows) >= 300
    prev = GENESIS_HASH
    for r in rows:
        assert r.prev_hash == prev and r.row_hash == chain_hash(prev, [getattr(r, f) for f in CHAIN_FIELDS]), r.seq
        prev = r.row_hash
