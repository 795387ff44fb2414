"""`profile-expand lint`: cfn-lint itself, with this package's rules, on the templates as written.

Whatever cfn-lint accepts (globs, options before or after the templates, every --format, its exit bits)
is accepted here; `--macro-name` is the one option of ours. cfn-lint's findings are its own on the source,
and the rules add the macro's (E9002/W9002) and the mistakes', at the source's lines.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from profile_expand.cli import files, words

PROG: Final = "profile-expand lint"
MACRO_NAME_OPTION: Final = "--macro-name"
# cfn-lint resolves rule modules by name, wherever the package is installed.
RULES_MODULE: Final = "profile_expand.lint.rules"
STDIN: Final = "-"
# What a folder given to `lint` contributes (as pre-commit's hook selects files: JSON, YAML, .template).
TEMPLATE_SUFFIXES: Final = (".json", ".yaml", ".yml", ".template")
EXIT_CFN_LINT_FAILED: Final = 1
EXIT_USAGE: Final = 2
HELP: Final = f"""\
usage: {PROG} [{MACRO_NAME_OPTION} NAME] [cfn-lint options and templates ...]

cfn-lint with the ProfileExpand rules (and the IamRole shorthand taught to its schemas). Templates and
options go in any order, as for cfn-lint; globs (`templates/**/*.yaml`) are expanded as cfn-lint does,
a folder stands for the .json, .yaml, .yml and .template files under it, and `-` (or no template) reads
standard input.

  {MACRO_NAME_OPTION} NAME  {words.MACRO_NAME_HELP}

cfn-lint's own options follow (`cfn-lint --help`)."""


def register(commands: Any) -> None:
    """List `lint` among the subcommands; main() hands its arguments to run() before argparse sees them."""
    parser = commands.add_parser(
        "lint",
        add_help=False,
        help="cfn-lint with this project's rules; findings point at TEMPLATE's lines",
    )
    parser.add_argument("arguments", nargs="*", metavar="[TEMPLATE | CFN-LINT-OPTION] ...")


def run(arguments: Sequence[str]) -> int:
    """Lint as cfn-lint does, with the rules appended; cfn-lint's exit code."""
    try:
        if any(argument in ("-h", "--help") for argument in arguments):
            files.write_stdout(HELP + "\n")
    except OSError as error:
        return _cannot_write_stdout(error)
    try:
        macro_name, cfnlint_arguments = split_macro_name(arguments)
    except ValueError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    # cfn-lint's runner is imported here: `expand` and `event` do not need its rules and schemas loaded.
    from cfnlint.exceptions import ConfigFileError  # type: ignore[import-untyped]
    from cfnlint.rules import Match, Rules  # type: ignore[import-untyped]
    from cfnlint.rules.errors import ConfigError  # type: ignore[import-untyped]
    from cfnlint.runner.cli import Runner, get_formatter  # type: ignore[import-untyped]

    try:
        try:
            config = _config(cfnlint_arguments, macro_name)
        except ConfigFileError as error:  # what cfn-lint's own main() does with a bad .cfnlintrc
            if error.config is not None:
                output = get_formatter(error.config).print_matches(
                    [Match(str(error), ConfigError(), None)], Rules(), config=error.config
                )
                if output:
                    print(output)
            else:
                print(str(error))
            return EXIT_CFN_LINT_FAILED
        _runner(Runner, Match, get_formatter)(config).cli()
    except SystemExit as stop:  # cfn-lint always ends this way, with its exit bits (or usage: 2)
        return stop.code if isinstance(stop.code, int) else EXIT_CFN_LINT_FAILED
    except OSError as error:  # cfn-lint printing its help or usage into a closed pipe
        return _cannot_write_stdout(error)
    except Exception as error:  # cfn-lint raised instead of reporting: one line, never a traceback
        print(f"{PROG}: error: cfn-lint: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_CFN_LINT_FAILED
    return 0


def _cannot_write_stdout(error: OSError) -> int:
    files.silence_stdout()
    print(f"{PROG}: error: cannot write standard output: {error.strerror or error}", file=sys.stderr)
    return EXIT_USAGE


def split_macro_name(arguments: Sequence[str]) -> tuple[str | None, list[str]]:
    """Our `--macro-name NAME` (anywhere before `--`), and cfn-lint's arguments; `-` becomes standard input.

    >>> split_macro_name(["t.yaml", "--macro-name", "Team", "--format", "json"])
    ('Team', ['t.yaml', '--format', 'json'])
    """
    macro_name: str | None = None
    rest: list[str] = []
    position = 0
    while position < len(arguments):
        argument = arguments[position]
        if argument == "--":
            rest.extend(arguments[position:])
            break
        if argument == MACRO_NAME_OPTION:
            if position + 1 >= len(arguments) or arguments[position + 1].startswith("-"):
                raise ValueError(f"{MACRO_NAME_OPTION} needs the macro's name")
            macro_name = arguments[position + 1]
            position += 2
            continue
        if argument.startswith(f"{MACRO_NAME_OPTION}="):
            macro_name = argument.partition("=")[2]
            if not macro_name:
                raise ValueError(f"{MACRO_NAME_OPTION} needs the macro's name")
        elif argument != STDIN:  # cfn-lint reads standard input when it is given no template
            rest.append(argument)
        position += 1
    return macro_name, rest


def _runner(runner: Any, match: Any, get_formatter: Any) -> Any:
    """cfn-lint's Runner, but one template's crash inside cfn-lint is that template's E0002, not the run's
    end, and its report is written whole or not at all."""
    from cfnlint.rules.errors import RuleError
    from cfnlint.runner.template import run_template_by_file_paths  # type: ignore[import-untyped]

    class OneTemplate:
        """The run's configuration, seen as naming one template."""

        def __init__(self, config: Any, filename: str) -> None:
            self._config = config
            self.templates = [filename]

        def __getattr__(self, name: str) -> Any:
            return getattr(self._config, name)

    class Runner(runner):  # type: ignore[misc]  # cfn-lint ships no py.typed
        def run(self) -> Iterator[Any]:
            config = self.config
            if config.deployment_files or config.parameter_files or not config.templates:
                yield from super().run()
                return
            for filename in config.templates:
                try:
                    # Whole, before any is printed: a crash leaves no half-reported template.
                    found = list(run_template_by_file_paths(OneTemplate(config, filename), self.rules))
                except Exception as error:  # cfn-lint's own bug, on this template only
                    found = [
                        match.create(
                            filename=filename,
                            rule=RuleError(),
                            message=f"cfn-lint failed on this template ({type(error).__name__}: {error}); "
                            "the other templates were linted",
                        )
                    ]
                yield from found

        def _cli_output(self, matches: list[Any]) -> None:
            # cfn-lint's own order and text; the file replaced whole (cfn-lint truncates, then writes).
            matches.sort(key=lambda found: (found.filename or "", found.linenumber, found.rule.id))
            output = get_formatter(self.config).print_matches(matches, self.rules, config=self.config)
            if output:
                target = self.config.output_file
                try:
                    if target:
                        files.write_atomic(target, output)
                    else:
                        files.write_stdout(output + "\n")
                except OSError as error:
                    where = target or "standard output"
                    print(f"{PROG}: error: cannot write {where}: {error.strerror or error}", file=sys.stderr)
                    if not target:
                        files.silence_stdout()
                    raise SystemExit(EXIT_USAGE) from error
            self._exit(matches)

    return Runner


def _templates_in(folder: Path) -> list[str]:
    """The files under `folder` (any depth) that cfn-lint would take for templates, by name, sorted."""
    return sorted(
        str(path) for path in folder.rglob("*") if path.is_file() and path.suffix in TEMPLATE_SUFFIXES
    )


def _config(arguments: list[str], macro_name: str | None) -> Any:
    """cfn-lint's configuration from its own arguments and files, with our rules appended to theirs."""
    from cfnlint.config import ConfigMixIn  # type: ignore[import-untyped]

    from profile_expand.lint.rules import MACRO_NAME_SETTING, RULES

    class Config(ConfigMixIn):  # type: ignore[misc]  # cfn-lint ships no py.typed
        # Properties, not arguments: a .cfnlintrc's append_rules and configure_rules are kept, not replaced.
        @property
        def templates(self) -> list[str] | None:
            # A folder stands for the templates in it (cfn-lint itself reports a folder as E0000).
            named: list[str] | None = super().templates
            if named is None:
                return None
            ignored = set(self._ignore_templates())
            found: list[str] = []
            for name in named:
                inside = _templates_in(Path(name)) if Path(name).is_dir() else [name]
                found.extend(path for path in inside if path not in ignored and path not in found)
            return found

        @property
        def append_rules(self) -> list[str]:
            rules: list[str] = list(super().append_rules)
            return rules if RULES_MODULE in rules else [*rules, RULES_MODULE]

        @property
        def configure_rules(self) -> dict[str, Any]:
            # Read for every rule of every template: nothing added unless there is something to add.
            configured: dict[str, Any] = super().configure_rules
            if macro_name is None:
                return configured
            configured = dict(configured or {})
            for rule in RULES:
                configured[rule.id] = {**(configured.get(rule.id) or {}), MACRO_NAME_SETTING: macro_name}
            return configured

    return Config(arguments)
