"""The demo platform's git repository (``make run``'s default target): the platform's files, never the
``assay/`` folder of what Assay needs to test it; a second run commits only what changed."""

from __future__ import annotations

import subprocess

from support.demo_platform import DEMO_ASSAY_DIR, DEMO_DIR, prepare_demo_repo
from support.git_repo import commit_all


def _tracked(repo) -> set[str]:
    out = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_the_repository_holds_the_platform_without_assays_folder(tmp_path):
    repo = tmp_path / "demo-platform"
    sha = prepare_demo_repo(repo)
    tracked = _tracked(repo)
    assert {"fraud/data.py", "serving/app.py", "tests/unit/test_data.py", "requirements.txt"} <= tracked
    assert DEMO_ASSAY_DIR.is_dir() and not [p for p in tracked if p.split("/")[0] == "assay"]
    assert not (repo / "assay").exists()
    assert not [p for p in tracked if "__pycache__" in p]
    # every platform file is there, byte for byte
    for rel in ("fraud/customers.py", "pytest.ini"):
        assert (repo / rel).read_bytes() == (DEMO_DIR / rel).read_bytes()

    again = prepare_demo_repo(repo)
    assert again == sha  # nothing changed: no new commit
    (repo / "fraud" / "data.py").write_text("# edited in the target\n")
    edited = commit_all(repo, "an edit in the target")
    restored = prepare_demo_repo(repo)  # the platform's own file is restored in a new commit
    assert len({sha, edited, restored}) == 3
    assert (repo / "fraud" / "data.py").read_bytes() == (DEMO_DIR / "fraud" / "data.py").read_bytes()
