"""Build the CDK corpus: AWS CDK's synthesized integration-test templates that hold instance-profile sites.

    python scripts/fetch_cdk_corpus.py [FOLDER] [--sources FILE] [--mirror DIR] [--base-url URL]
    python scripts/fetch_cdk_corpus.py --discover REPO@COMMIT [--sources FILE] [--mirror DIR]

The templates are not the project's to commit; docs/cdk-corpus-sources.json lists, for each, the file
name it is kept under, its repository, path (an integ.*.js.snapshot/*.template.json) and commit. Each
commit is read from the repository's snapshot under --mirror when that holds it, else fetched with git
(scripts/corpus_git.py, shared with the other corpora); each template is written into FOLDER (default:
.cdk-corpus) whole or not at all; files already there with the listed content are left alone.

--discover rewrites the sources list from one commit: every synthesized integration-test template there
(a file ending .template.json under a *.js.snapshot folder) that has an instance-profile site or profile.
aws/aws-cdk's own snapshot is over the search tool's size limit; the list names a fork's snapshot
(comcalvi/aws-cdk at upstream's v2.147.2 merge-back commit), whose integration tests are CDK's own.
Exit 1 when a file could not be had, saying why; tests/integration/test_cdk_corpus.py runs over the
folder when it exists.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from corpus_git import GITHUB, MIRROR, FetchError, git, reach_commit  # noqa: E402
from fetch_extra_corpus import Source, read_sources, rebuild_files  # noqa: E402

from profile_expand.cli.files import write_atomic  # noqa: E402
from profile_expand.core.pipeline import has_site_types  # noqa: E402

SOURCES = ROOT / "docs" / "cdk-corpus-sources.json"
DEFAULT_FOLDER = ROOT / ".cdk-corpus"
SNAPSHOT_TEMPLATE = re.compile(
    r"(?:^|/)integ\.(?P<test>[^/]+)\.js\.snapshot/(?P<stack>[^/]+)\.template\.json$"
)


def _sited(data: bytes) -> bool:
    try:
        template = json.loads(data)
    except ValueError:
        return False
    return isinstance(template, dict) and has_site_types(template)


def rebuild(
    sources: Sequence[Source], folder: Path, mirror: Path = MIRROR, base_url: str = GITHUB
) -> tuple[int, int, int, list[str]]:
    """Write every listed template with sites into `folder`; (written, already right, without sites, problems)."""
    return rebuild_files(sources, folder, mirror, base_url, keep=_sited)


def file_name(path: str) -> str:
    """A readable, unique-enough name: <package or module>--<test>--<stack>.json."""
    match = SNAPSHOT_TEMPLATE.search(path)
    assert match is not None
    parts = path.split("/")
    module = parts[parts.index("test") - 1] if "test" in parts[1:] else ""
    if module == "framework-integ":  # packages/@aws-cdk-testing/framework-integ/test/<module>/test/...
        module = parts[parts.index("test") + 1]
    return "--".join(part for part in (module, match["test"], match["stack"]) if part) + ".json"


def discover(repo: str, commit: str, mirror: Path = MIRROR, base_url: str = GITHUB) -> list[dict[str, str]]:
    """Every synthesized integration-test template at the commit that has an instance-profile site."""
    entries: list[dict[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="cdk-corpus-") as scratch_name:
        scratch = Path(scratch_name)
        git("init", "--quiet", cwd=scratch)
        where = reach_commit(repo, commit, scratch, mirror, base_url)
        listing = git(*where, "ls-tree", "-r", commit, cwd=scratch).decode()
        for line in listing.splitlines():
            meta, _, path = line.partition("\t")
            kind, blob = meta.split()[1:3]
            if kind != "blob" or not SNAPSHOT_TEMPLATE.search(path) or "/test-data/" in path:
                continue
            if _sited(git(*where, "cat-file", "blob", blob, cwd=scratch)):
                entries.append({"file": file_name(path), "repo": repo, "commit": commit, "path": path})
    names = [entry["file"] for entry in entries]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise FetchError(f"two templates would be kept under one name: {sorted(duplicates)}")
    return sorted(entries, key=lambda entry: entry["file"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--sources", type=Path, default=SOURCES)
    parser.add_argument("--mirror", type=Path, default=MIRROR)
    parser.add_argument("--base-url", default=GITHUB)
    parser.add_argument("--discover", metavar="REPO@COMMIT", help="rewrite the sources list from this commit")
    args = parser.parse_args(argv)
    try:
        if args.discover:
            repo, _, commit = args.discover.partition("@")
            entries = discover(repo, commit, args.mirror, args.base_url)
            text = "[\n" + ",\n".join("  " + json.dumps(entry) for entry in entries) + "\n]\n"
            write_atomic(args.sources, text.encode())
            print(
                f"{args.sources}: {len(entries)} templates with instance-profile sites at {repo}@{commit[:12]}"
            )
            return 0
        written, unchanged, skipped, problems = rebuild(
            read_sources(args.sources), args.folder, args.mirror, args.base_url
        )
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
