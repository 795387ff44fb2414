"""scripts/fetch_extra_corpus.py against local git repositories (file:// URLs): no network needed.

Each repository is laid out as GitHub's would be (BASE/owner/name); the listed commit is an older one than
the branch tip, so the file must come from that commit and not from the tip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("git") is None, reason="needs git"),
]

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import fetch_extra_corpus  # noqa: E402


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()


def make_repo(base: Path, name: str, files: dict[str, bytes], *, allow_sha: bool) -> str:
    """A repository at base/name whose first commit holds `files`; the tip changes them. Returns commit 1."""
    repo = base / name
    repo.mkdir(parents=True)
    git(repo, "init", "--quiet", "--initial-branch=main")
    if allow_sha:  # what GitHub allows: fetching any reachable commit by its id
        git(repo, "config", "uploadpack.allowReachableSHA1InWant", "true")
    for path, data in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_bytes(data)
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "first")
    first = git(repo, "rev-parse", "HEAD")
    for path in files:
        (repo / path).write_bytes(b"# changed at the tip\n")
    git(repo, "commit", "--quiet", "-am", "second")
    return first


@pytest.fixture
def sources(tmp_path: Path) -> tuple[Path, str]:
    base = tmp_path / "github"
    one = make_repo(
        base,
        "owner/templates",
        {"a/web.yaml": b"Resources: {}\n", "b/db.json": b'{"Resources": {}}\r\n'},
        allow_sha=True,
    )
    two = make_repo(base, "other/stacks", {"x.template": b"Resources:\n  A: {Type: X}\n"}, allow_sha=False)
    entries = [
        {"file": "001-web.yaml", "repo": "owner/templates", "path": "a/web.yaml", "commit": one},
        {"file": "002-db.json", "repo": "owner/templates", "path": "b/db.json", "commit": one},
        {"file": "003-x.template", "repo": "other/stacks", "path": "x.template", "commit": two},
    ]
    for entry in entries:
        entry.update(license="MIT-0", format="yaml")
    listing = tmp_path / "sources.json"
    listing.write_text(json.dumps(entries, indent=1), encoding="utf-8")
    return listing, base.as_uri()


def run(folder: Path, listing: Path, base_url: str) -> int:
    return fetch_extra_corpus.main([str(folder), "--sources", str(listing), "--base-url", base_url])


def test_rebuilds_every_file_at_its_commit_then_fetches_nothing(
    tmp_path: Path, sources: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    listing, base_url = sources
    folder = tmp_path / "corpus"
    assert run(folder, listing, base_url) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["001-web.yaml", "002-db.json", "003-x.template"]
    assert (folder / "001-web.yaml").read_bytes() == b"Resources: {}\n"
    assert (folder / "002-db.json").read_bytes() == b'{"Resources": {}}\r\n', "bytes as committed"
    # other/stacks does not serve commits by id: the script fetched its branches instead.
    assert (folder / "003-x.template").read_bytes() == b"Resources:\n  A: {Type: X}\n"
    assert "3 written, 0 already there, 0 missing" in capsys.readouterr().out

    (folder / "001-web.yaml").write_text("edited by hand\n", encoding="utf-8")
    assert run(folder, listing, base_url) == 0
    assert (folder / "001-web.yaml").read_bytes() == b"Resources: {}\n"
    assert "1 written, 2 already there, 0 missing" in capsys.readouterr().out


def test_what_cannot_be_had_is_named_and_exits_1(
    tmp_path: Path, sources: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    listing, base_url = sources
    entries = json.loads(listing.read_text(encoding="utf-8"))
    entries[0]["path"] = "a/gone.yaml"
    entries.append({**entries[1], "file": "004-nowhere.yaml", "repo": "nobody/nothing"})
    listing.write_text(json.dumps(entries), encoding="utf-8")
    folder = tmp_path / "corpus"
    assert run(folder, listing, base_url) == 1
    captured = capsys.readouterr()
    assert "001-web.yaml: owner/templates@" in captured.err and "has no a/gone.yaml" in captured.err
    assert "004-nowhere.yaml: nobody/nothing@" in captured.err
    assert "2 written, 0 already there, 2 missing (of 4" in captured.out
    assert sorted(p.name for p in folder.iterdir()) == ["002-db.json", "003-x.template"]


def test_the_project_listing_is_well_formed() -> None:
    sources = fetch_extra_corpus.read_sources(fetch_extra_corpus.SOURCES)
    assert len(sources) == 97
    assert all(len(source.commit) == 40 for source in sources)
