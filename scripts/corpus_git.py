"""What the corpus scripts share: reaching a repository's commit with git, from a local snapshot or the network.

The corpora (the extra CloudFormation corpus, the Terraform modules, CDK's synthesized templates) are
public files the project does not commit; each sources list pins them to a commit. A commit is read
from the search tool's snapshot of the repository (MIRROR/<owner>+<name>/repo, a bare repository or a
clone's .git) when that holds it, else fetched with git from base_url at that commit only.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterable
from pathlib import Path

GITHUB = "https://github.com"
MIRROR = Path("/work/.mirror")
GIT_TIMEOUT = 600


class FetchError(Exception):
    """A repository or a file a sources list names could not be had."""


def git(*args: str, cwd: Path) -> bytes:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT, check=False)
    if result.returncode != 0:
        raise FetchError(f"git {' '.join(args)}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def blob_id(data: bytes) -> str:
    """Git's id of a blob with this content (`git hash-object`)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def fetch_commit(cache: Path, url: str, commit: str) -> None:
    """The commit in the cache repository: by itself where the server allows it, else with every branch."""
    try:
        git("fetch", "--quiet", "--depth", "1", url, commit, cwd=cache)
    except FetchError:
        git("fetch", "--quiet", url, "+refs/heads/*:refs/remotes/source/*", cwd=cache)
    git("cat-file", "-e", f"{commit}^{{commit}}", cwd=cache)


def snapshot_git_dirs(repo: str, mirror: Path) -> Iterable[Path]:
    """The git directories of the repository's snapshots under `mirror`, if any."""
    for folder in (mirror / repo.replace("/", "+") / "repo",):
        for candidate in (folder / ".git", folder):
            if (candidate / "objects").is_dir():
                yield candidate
                break


def reach_commit(
    repo: str, commit: str, scratch: Path, mirror: Path = MIRROR, base_url: str = GITHUB
) -> tuple[str, ...]:
    """git arguments under which `commit` of `repo` can be read: a snapshot's, or the scratch repository's
    after fetching it there. `scratch` must be a git repository (git init)."""
    for git_dir in snapshot_git_dirs(repo, mirror):
        try:
            git(f"--git-dir={git_dir}", "cat-file", "-e", f"{commit}^{{commit}}", cwd=scratch)
            return (f"--git-dir={git_dir}",)
        except FetchError:
            continue
    fetch_commit(scratch, f"{base_url.rstrip('/')}/{repo}", commit)
    return ()
