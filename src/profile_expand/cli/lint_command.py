"""`profile-expand lint`: cfn-lint itself, with this package's rules, on the templates as written.

Whatever cfn-lint accepts (globs, options before or after the templates, every --format, its exit bits)
is accepted here; `--macro-name` is the one option of ours. cfn-lint's findings are its own on the source,
and the rules add the macro's (E9002/W9002) and the mistakes', at the source's lines.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final, NamedTuple

from profile_expand.cli import files, words

PROG: Final = "profile-expand lint"
MACRO_NAME_OPTION: Final = "--macro-name"
# cfn-lint resolves rule modules by name, wherever the package is installed.
RULES_MODULE: Final = "profile_expand.lint.rules"
STDIN: Final = "-"
# What a folder given to `lint` contributes (as pre-commit's hook selects files: JSON, YAML, .template).
TEMPLATE_SUFFIXES: Final = (".json", ".yaml", ".yml", ".template")
TERRAFORM_SUFFIXES: Final = (".tf", ".tf.json")
TERRAFORM_JSON: Final = ".tf.json"
FIX_OPTION: Final = "--fix"
ASK_IAM_OPTION: Final = "--ask-iam"
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
    cfnlint_arguments, terraform = split_terraform(cfnlint_arguments)
    if terraform.paths:
        # Imported only for Terraform: a CloudFormation lint never loads the HCL parser.
        from profile_expand.cli import terraform_lint

        early = terraform_lint.before_lint(terraform)
        if early is not None:
            return early
        options = [a for a in cfnlint_arguments if not (Path(a).is_dir() and not _templates_in(Path(a)))]
        if macro_name is None and (done := terraform_lint.without_cfn_lint(terraform, options)) is not None:
            return done
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
        _runner(Runner, Match, get_formatter, terraform)(config).cli()
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


def _runner(runner: Any, match: Any, get_formatter: Any, terraform: TerraformInputs | None = None) -> Any:
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
        def cli(self) -> None:
            if terraform is not None and terraform.paths and not self.config.templates:
                # Terraform alone: cfn-lint would read standard input for want of a template.
                self._cli_output(list(self.run()))
            super().cli()

        def run(self) -> Iterator[Any]:
            if terraform is not None and terraform.paths:
                from profile_expand.cli import terraform_lint

                yield from terraform_lint.matches(terraform, self.rules, match)
                if not self.config.templates:
                    return
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
    """The files under `folder` (any depth) that cfn-lint would take for templates, by name, sorted
    (Terraform's .tf.json files are Terraform's)."""
    return sorted(
        str(path)
        for path in folder.rglob("*")
        if path.is_file() and path.suffix in TEMPLATE_SUFFIXES and not path.name.endswith(TERRAFORM_JSON)
    )


class TerraformInputs(NamedTuple):
    """What of a lint call is Terraform's: files, module folders and plans; and the options for them."""

    paths: tuple[str, ...]
    fix: bool = False
    ask_iam: bool = False


def split_terraform(arguments: Sequence[str]) -> tuple[list[str], TerraformInputs]:
    """cfn-lint's arguments, and the Terraform inputs and options (--fix, --ask-iam) among them.

    A folder is both: cfn-lint's templates in it, and its Terraform modules. Told apart by name alone
    (.tf, .tf.json) or, for a .json file, by a plan's keys; nothing here imports the HCL parser.

    >>> split_terraform(["main.tf", "--format", "json", "--fix"])
    (['--format', 'json'], TerraformInputs(paths=('main.tf',), fix=True, ask_iam=False))
    """
    rest: list[str] = []
    paths: list[str] = []
    fix = ask_iam = False
    for argument in arguments:
        if argument == FIX_OPTION:
            fix = True
        elif argument == ASK_IAM_OPTION:
            ask_iam = True
        elif argument.startswith("-"):
            rest.append(argument)
        elif argument.endswith(TERRAFORM_SUFFIXES) or _is_plan(argument):
            paths.append(argument)
        else:
            if _holds_terraform(argument):
                paths.append(argument)
            rest.append(argument)
    return rest, TerraformInputs(tuple(paths), fix, ask_iam)


def _holds_terraform(name: str) -> bool:
    path = Path(name)
    return path.is_dir() and any(
        found.name.endswith(TERRAFORM_SUFFIXES)
        for found in path.rglob("*")
        if ".terraform" not in found.parts
    )


def _is_plan(name: str) -> bool:
    """A JSON file whose top level names Terraform's plan keys (terraform show -json)."""
    if not name.endswith(".json"):
        return False
    try:
        with open(name, "rb") as handle:
            text = handle.read()
    except OSError:
        return False
    return b'"format_version"' in text and b'"planned_values"' in text


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
