"""The `profile-expand` console script: `lint` goes straight to cfn-lint, without the other commands' imports.

`lint` runs once per file in pre-commit and CI: YAML round-tripping, the Transform chain and the rollout
code are not loaded for it (about 40 ms of CPU a process).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """profile_expand.cli.main.main, with `lint` dispatched before the rest of the command line is imported."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["lint"]:
        from profile_expand.cli import lint_command as cli_lint

        return cli_lint.run(arguments[1:])
    from profile_expand.cli import main as cli

    return cli.main(arguments)
