"""scripts/fetch_cdk_corpus.py against a local git repository: the listed commit's template is written,
a template without instance-profile sites is not, and a second run writes nothing."""

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

import fetch_cdk_corpus  # noqa: E402

WITH_SITE = {"Resources": {"P": {"Type": "AWS::IAM::InstanceProfile", "Properties": {"Roles": ["r"]}}}}
WITHOUT = {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()


def test_the_listed_templates_with_sites_are_written_from_the_listed_commit(tmp_path: Path) -> None:
    repo = tmp_path / "aws-cdk"
    repo.mkdir()
    git(repo, "init", "--quiet")
    (repo / "a.template.json").write_text(json.dumps(WITH_SITE))
    (repo / "b.template.json").write_text(json.dumps(WITHOUT))
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "one")
    commit = git(repo, "rev-parse", "HEAD")
    (repo / "a.template.json").write_text("{}")  # the tip differs: the listed commit is read
    git(repo, "commit", "--quiet", "-am", "two")
    sources = tmp_path / "sources.json"
    sources.write_text(
        json.dumps(
            [
                {"file": "a.json", "repo": "aws/aws-cdk", "path": "a.template.json", "commit": commit},
                {"file": "b.json", "repo": "aws/aws-cdk", "path": "b.template.json", "commit": commit},
            ]
        )
    )
    folder = tmp_path / "corpus"
    argv = [str(folder), "--sources", str(sources), "--git-dir", str(repo / ".git")]
    assert fetch_cdk_corpus.main(argv) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["a.json"]
    assert json.loads((folder / "a.json").read_text()) == WITH_SITE
    written, unchanged, _, problems = fetch_cdk_corpus.rebuild(
        fetch_cdk_corpus.read_sources(sources), folder, repo / ".git"
    )
    assert (written, unchanged, problems) == (0, 1, [])
