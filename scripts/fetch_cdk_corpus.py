"""Build the CDK corpus: AWS CDK's synthesized integration-test templates that hold instance-profile sites.

    python scripts/fetch_cdk_corpus.py [FOLDER] [--sources FILE] [--git-dir DIR]

The templates are not the project's to commit; docs/cdk-corpus-sources.json lists, for each, the file
name it is kept under, its repository (aws/aws-cdk), path (an integ.*.js.snapshot/*.template.json) and
commit. They are read with git from a local copy of the repository (--git-dir: a bare mirror or a
clone's .git; default: the first of /work/.mirror/aws+aws-cdk*) at the listed commit, and written into
FOLDER (default: .cdk-corpus) whole or not at all; files already there with the listed content are left
alone. A template with no instance-profile site or profile is not written. Exit 1 when a file could not be
had, saying why; tests/integration/test_cdk_corpus.py runs over the folder when it exists.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from fetch_extra_corpus import FetchError, Source, blob_id, git, read_sources  # noqa: E402

from profile_expand.cli.files import write_atomic  # noqa: E402
from profile_expand.core.pipeline import has_site_types  # noqa: E402

SOURCES = ROOT / "docs" / "cdk-corpus-sources.json"
DEFAULT_FOLDER = ROOT / ".cdk-corpus"
MIRRORS = Path("/work/.mirror")


def default_git_dir() -> Path | None:
    """The mirror of aws/aws-cdk that the search tool's fetch leaves, if any."""
    for candidate in sorted(MIRRORS.glob("aws+aws-cdk*")):
        inner = [p.parent for p in candidate.rglob("HEAD") if (p.parent / "objects").is_dir()]
        if inner:
            return inner[0]
    return None


def rebuild(sources: Sequence[Source], folder: Path, git_dir: Path) -> tuple[int, int, int, list[str]]:
    """Write every listed template with sites into `folder`; (written, already right, without sites, problems)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = unchanged = skipped = 0
    problems: list[str] = []
    for source in sources:
        try:
            expected = git("--git-dir", str(git_dir), "rev-parse", f"{source.commit}:{source.path}", cwd=ROOT)
        except FetchError as error:
            problems.append(f"{source.file}: {source.repo}@{source.commit[:12]}: {error}")
            continue
        blob = expected.decode().strip()
        target = folder / source.file
        if target.is_file() and blob_id(target.read_bytes()) == blob:
            unchanged += 1
            continue
        data = git("--git-dir", str(git_dir), "cat-file", "blob", blob, cwd=ROOT)
        if not has_site_types(json.loads(data)):
            skipped += 1
            continue
        write_atomic(target, data)
        written += 1
    return written, unchanged, skipped, problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--sources", type=Path, default=SOURCES)
    parser.add_argument("--git-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    git_dir = args.git_dir or default_git_dir()
    if git_dir is None:
        print(f"fetch_cdk_corpus: no copy of aws/aws-cdk under {MIRRORS}: pass --git-dir", file=sys.stderr)
        return 1
    try:
        written, unchanged, skipped, problems = rebuild(read_sources(args.sources), args.folder, git_dir)
    except (FetchError, OSError, ValueError) as error:
        print(f"fetch_cdk_corpus: {error}", file=sys.stderr)
        return 1
    for problem in problems:
        print(f"fetch_cdk_corpus: {problem}", file=sys.stderr)
    print(
        f"{args.folder}: {written} written, {unchanged} already there, {skipped} without sites, {len(problems)} missing"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
