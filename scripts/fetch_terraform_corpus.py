"""Rebuild the Terraform corpus (public modules the Terraform lint is tested and benchmarked on).

    python scripts/fetch_terraform_corpus.py [FOLDER] [--sources FILE] [--mirror DIR] [--base-url URL]

The modules are not the project's to commit; docs/terraform-corpus-sources.json lists, for each, the
folder name it is kept under, its repository, the module's path in it and the commit. Each module's
.tf and .tf.json files (that folder only: a sub-folder is a module of its own) are written into
FOLDER/<module>/ (default: .terraform-corpus), whole or not at all; files already right are left alone.
A repository is read from its snapshot under --mirror (default /work/.mirror/<owner>+<name>/repo,
where the search tool's `fetch` leaves them) when it holds the commit, else fetched with git from
--base-url (https://github.com) at that commit (scripts/corpus_git.py, shared with the other corpora).
Exit 1 when a module could not be had, saying why.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from corpus_git import GITHUB, MIRROR, FetchError, blob_id, git, reach_commit  # noqa: E402

from profile_expand.cli.files import write_atomic  # noqa: E402

SOURCES = ROOT / "docs" / "terraform-corpus-sources.json"
DEFAULT_FOLDER = ROOT / ".terraform-corpus"
SUFFIXES = (".tf", ".tf.json")


class Module(NamedTuple):
    module: str
    repo: str
    commit: str
    path: str


def read_sources(path: Path) -> list[Module]:
    entries = json.loads(path.read_text(encoding="utf-8"))
    modules = [Module(e["module"], e["repo"], e["commit"], e["path"]) for e in entries]
    names = [module.module for module in modules]
    if len(set(names)) != len(names):
        raise FetchError(f"{path}: two modules have the same name")
    for name in names:
        if "/" in name or name.startswith("."):
            raise FetchError(f"{path}: {name!r} is not a plain folder name")
    return modules


def rebuild(
    modules: Sequence[Module], folder: Path, mirror: Path = MIRROR, base_url: str = GITHUB
) -> tuple[int, int, list[str]]:
    """Write every listed module into `folder`; (files written, files already right, problems)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = unchanged = 0
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="terraform-corpus-") as scratch_name:
        scratch = Path(scratch_name)
        git("init", "--quiet", cwd=scratch)
        for module in modules:
            try:
                where = reach_commit(module.repo, module.commit, scratch, mirror, base_url)
                tree = (
                    f"{module.commit}^{{tree}}"
                    if module.path in (".", "")
                    else f"{module.commit}:{module.path}"
                )
                listing = git(*where, "ls-tree", tree, cwd=scratch).decode()
            except FetchError as error:
                problems.append(f"{module.module}: {module.repo}@{module.commit[:12]}: {error}")
                continue
            found = 0
            for line in listing.splitlines():
                meta, _, name = line.partition("\t")
                kind, blob = meta.split()[1:3]
                if kind != "blob" or not name.endswith(SUFFIXES):
                    continue
                found += 1
                target = folder / module.module / name
                if target.is_file() and blob_id(target.read_bytes()) == blob:
                    unchanged += 1
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(target, git(*where, "cat-file", "blob", blob, cwd=scratch))
                written += 1
            if not found:
                problems.append(
                    f"{module.module}: {module.repo}@{module.commit[:12]} has no .tf in {module.path}"
                )
    return written, unchanged, problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--sources", type=Path, default=SOURCES)
    parser.add_argument("--mirror", type=Path, default=MIRROR)
    parser.add_argument("--base-url", default=GITHUB)
    args = parser.parse_args(argv)
    try:
        written, unchanged, problems = rebuild(
            read_sources(args.sources), args.folder, args.mirror, args.base_url
        )
    except (FetchError, OSError, ValueError, KeyError) as error:
        print(f"fetch_terraform_corpus: error: {error}", file=sys.stderr)
        return 1
    print(f"{args.folder}: {written} files written, {unchanged} already there")
    for problem in problems:
        print(f"fetch_terraform_corpus: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
