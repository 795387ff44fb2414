"""scripts/fetch_cdk_corpus.py against a local snapshot laid out as the search tool's fetch leaves one
(<mirror>/<owner>+<name>/repo): the listed commit's template is written, a template without
instance-profile sites is not, a second run writes nothing, and --discover lists the sited templates."""

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
    mirror = tmp_path / "mirror"
    repo = mirror / "aws+aws-cdk" / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "--quiet")
    (repo / "integ.a.js.snapshot").mkdir()
    (repo / "integ.a.js.snapshot" / "a.template.json").write_text(json.dumps(WITH_SITE))
    (repo / "b.template.json").write_text(json.dumps(WITHOUT))
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "one")
    commit = git(repo, "rev-parse", "HEAD")
    (repo / "integ.a.js.snapshot" / "a.template.json").write_text(
        "{}"
    )  # the tip differs: the listed commit is read
    git(repo, "commit", "--quiet", "-am", "two")
    sources = tmp_path / "sources.json"
    sources.write_text(
        json.dumps(
            [
                {
                    "file": "a.json",
                    "repo": "aws/aws-cdk",
                    "path": "integ.a.js.snapshot/a.template.json",
                    "commit": commit,
                },
                {"file": "b.json", "repo": "aws/aws-cdk", "path": "b.template.json", "commit": commit},
            ]
        )
    )
    folder = tmp_path / "corpus"
    argv = [str(folder), "--sources", str(sources), "--mirror", str(mirror), "--base-url", "file:///nowhere"]
    assert fetch_cdk_corpus.main(argv) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["a.json"]
    assert json.loads((folder / "a.json").read_text()) == WITH_SITE
    written, unchanged, _, problems = fetch_cdk_corpus.rebuild(
        fetch_cdk_corpus.read_sources(sources), folder, mirror, "file:///nowhere"
    )
    assert (written, unchanged, problems) == (0, 1, [])

    listed = tmp_path / "listed.json"
    discover = ["--discover", f"aws/aws-cdk@{commit}", "--sources", str(listed), "--mirror", str(mirror)]
    assert fetch_cdk_corpus.main([*discover, "--base-url", "file:///nowhere"]) == 0
    assert json.loads(listed.read_text()) == [
        {
            "file": "a--a.json",
            "repo": "aws/aws-cdk",
            "commit": commit,
            "path": "integ.a.js.snapshot/a.template.json",
        }
    ]
