"""Rebuild the extra corpus (the 97 public templates behind the README's precision and migrate figures).

    python scripts/fetch_extra_corpus.py [FOLDER] [--sources FILE] [--mirror DIR] [--base-url URL]

The templates are not the project's to commit; docs/extra-corpus-sources.json lists, for each, the file
name it is kept under, its repository, path, commit and licence. Each repository's commit is read from
its snapshot under --mirror (default /work/.mirror, where the search tool's `fetch` leaves them) when that
holds it, else fetched with git at that commit only (`git fetch --depth 1 URL COMMIT`, as GitHub allows;
scripts/corpus_git.py); each file is written
into FOLDER (default: .extra-corpus) under its listed name, whole or not at all. Files already there with
the listed content are left alone, so a second run fetches nothing. --base-url replaces
https://github.com (the tests use file:// repositories). Exit 1 when a file could not be had, saying why.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from corpus_git import GITHUB, MIRROR, FetchError, blob_id, git, reach_commit  # noqa: E402

from profile_expand.cli.files import write_atomic  # noqa: E402

SOURCES = ROOT / "docs" / "extra-corpus-sources.json"
DEFAULT_FOLDER = ROOT / ".extra-corpus"


class Source(NamedTuple):
    file: str
    repo: str
    path: str
    commit: str


def read_sources(path: Path) -> list[Source]:
    entries: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    sources = [Source(e["file"], e["repo"], e["path"], e["commit"]) for e in entries]
    names = [source.file for source in sources]
    if len(set(names)) != len(names):
        raise FetchError(f"{path}: two entries have the same file name")
    for name in names:
        if "/" in name or name.startswith("."):
            raise FetchError(f"{path}: {name!r} is not a plain file name")
    return sources


def rebuild(
    sources: Sequence[Source], folder: Path, base_url: str = GITHUB, mirror: Path = MIRROR
) -> tuple[int, int, list[str]]:
    """Write every listed file into `folder`; (files written, files already right, problems)."""
    written, unchanged, _, problems = rebuild_files(sources, folder, mirror, base_url)
    return written, unchanged, problems


def rebuild_files(
    sources: Sequence[Source],
    folder: Path,
    mirror: Path = MIRROR,
    base_url: str = GITHUB,
    keep: Callable[[bytes], bool] | None = None,
) -> tuple[int, int, int, list[str]]:
    """Write every listed file that `keep` accepts (all by default) into `folder`, the bytes as committed
    (CRLF and all); (written, already right, not kept, problems). The CDK corpus shares it."""
    folder.mkdir(parents=True, exist_ok=True)
    by_commit: dict[tuple[str, str], list[Source]] = defaultdict(list)
    for source in sources:
        by_commit[(source.repo, source.commit)].append(source)
    written = unchanged = skipped = 0
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="corpus-") as scratch:
        cache = Path(scratch)
        git("init", "--quiet", cwd=cache)
        for (repo, commit), wanted in sorted(by_commit.items()):
            try:
                where = reach_commit(repo, commit, cache, mirror, base_url)
            except FetchError as error:
                problems.extend(f"{source.file}: {repo}@{commit[:12]}: {error}" for source in wanted)
                continue
            for source in wanted:
                target = folder / source.file
                try:
                    expected = git(*where, "rev-parse", f"{commit}:{source.path}", cwd=cache).decode().strip()
                except FetchError:
                    problems.append(f"{source.file}: {repo}@{commit[:12]} has no {source.path}")
                    continue
                if target.is_file() and blob_id(target.read_bytes()) == expected:
                    unchanged += 1
                    continue
                data = git(*where, "cat-file", "blob", expected, cwd=cache)
                if keep is not None and not keep(data):
                    skipped += 1
                    continue
                write_atomic(target, data)
                written += 1
    return written, unchanged, skipped, problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--sources", type=Path, default=SOURCES)
    parser.add_argument("--base-url", default=GITHUB)
    parser.add_argument("--mirror", type=Path, default=MIRROR)
    args = parser.parse_args(argv)
    try:
        sources = read_sources(args.sources)
        written, unchanged, problems = rebuild(sources, args.folder, args.base_url, args.mirror)
    except (FetchError, OSError, ValueError) as error:
        print(f"fetch_extra_corpus: {error}", file=sys.stderr)
        return 1
    for problem in problems:
        print(f"fetch_extra_corpus: {problem}", file=sys.stderr)
    print(
        f"{args.folder}: {written} written, {unchanged} already there, {len(problems)} missing "
        f"(of {len(sources)} in {args.sources.name})"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
