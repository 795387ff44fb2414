"""The Terraform lint on real public modules (docs/terraform-corpus-sources.json, rebuilt into
.terraform-corpus by `make terraform-corpus`): every profile site found, and no finding, since none of
these modules holds the mistake. Skipped, with the reason, where the corpus has not been rebuilt."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from profile_expand.core.model import PROFILE
from profile_expand.terraform.hcl import read
from profile_expand.terraform.judge import judged, module_files, modules_in
from tests.support import ROOT

CORPUS = ROOT / ".terraform-corpus"
SCRIPT = ROOT / "scripts" / "fetch_terraform_corpus.py"
needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason="no .terraform-corpus: run make terraform-corpus"
)


@needs_corpus
def test_the_corpus_sites_are_found_as_profiles_and_nothing_is_reported() -> None:
    kinds: Counter[str] = Counter()
    findings = []
    for folder, _ in modules_in([str(CORPUS)]).items():
        _, model = judged([read(path) for path in module_files(folder, [])])
        kinds.update(leaf.kind for leaf in model.found)
        findings.extend((folder, finding.code, finding.message) for finding in model.findings)
    assert findings == []
    # kops writes aws_launch_template iam_instance_profile { name = aws_iam_instance_profile.X.id } in
    # each of its clusters: seen as the profile it is, not skipped as unknown.
    assert kinds[PROFILE] >= 100
    assert set(kinds) <= {PROFILE, "unknown"}


def test_the_rebuild_script_reads_a_mirror_snapshot(tmp_path: Path) -> None:
    source = tmp_path / "work"
    source.mkdir()
    (source / "examples" / "web").mkdir(parents=True)
    (source / "main.tf").write_text('resource "aws_instance" "a" {}\n')
    (source / "examples" / "web" / "main.tf").write_text('resource "aws_instance" "b" {}\n')
    (source / "README.md").write_text("not terraform\n")

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=source, check=True, capture_output=True, text=True).stdout

    git("init", "--quiet")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "m")
    commit = git("rev-parse", "HEAD").strip()
    mirror = tmp_path / "mirror" / "owner+mods"
    mirror.mkdir(parents=True)
    subprocess.run(["git", "clone", "--quiet", "--bare", str(source), str(mirror / "repo")], check=True)
    sources = tmp_path / "sources.json"
    sources.write_text(
        json.dumps(
            [
                {"module": "root", "repo": "owner/mods", "commit": commit, "path": "."},
                {"module": "web", "repo": "owner/mods", "commit": commit, "path": "examples/web"},
            ]
        )
    )
    out = tmp_path / "corpus"
    command = [
        sys.executable,
        str(SCRIPT),
        str(out),
        "--sources",
        str(sources),
        "--mirror",
        str(tmp_path / "mirror"),
    ]
    first = subprocess.run(command, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "root/main.tf",
        "web/main.tf",
    ]
    second = subprocess.run(command, capture_output=True, text=True, check=False)
    assert "0 files written, 2 already there" in second.stdout
