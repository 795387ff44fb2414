"""Every subcommand's --help in the same words (issue 22): one noun for one thing. TEMPLATE is a
CloudFormation template read, FILE any other file (an output, a .cfnlintrc); a profile is an instance
profile unless it is AWS CLI's; --macro-name reads the same everywhere; every option says what it is."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

import pytest

from profile_expand.cli import lint_command, main, words

# Options argparse (or the CLI) explains itself.
SELF_EXPLAINED = {"-h", "--help", "--version"}


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = main._parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(commands.choices)


def actions() -> Iterator[tuple[str, argparse.Action]]:
    for name, parser in subcommands().items():
        if name == "lint":  # cfn-lint's parser; ours is its --help text, checked below
            continue
        for action in parser._actions:
            if not SELF_EXPLAINED & set(action.option_strings):
                yield name, action


def label(name: str, action: argparse.Action) -> str:
    return f"{name} {'/'.join(action.option_strings) or action.dest}"


def all_help() -> list[tuple[str, str]]:
    found = [(label(name, action), action.help or "") for name, action in actions()]
    found += [(f"{name} (summary)", parser.description or "") for name, parser in subcommands().items()]
    return [*found, ("lint --help", lint_command.HELP)]


@pytest.mark.parametrize("action", [pytest.param(a, id=label(n, a)) for n, a in actions()])
def test_every_option_says_what_it_is(action: argparse.Action) -> None:
    assert action.help


def test_a_template_read_is_template_everywhere() -> None:
    read = [(label(n, a), a) for n, a in actions() if a.dest in ("template", "built_template")]
    assert len(read) == 4  # expand, event, migrate, rollout --built-template
    assert {where: a.metavar for where, a in read} == dict.fromkeys((w for w, _ in read), words.TEMPLATE)
    positional = [a.help for _, a in read if not a.option_strings]
    assert positional == [words.TEMPLATE_HELP] * 3


def test_any_other_file_is_file_and_an_output_reads_the_same() -> None:
    other = [(label(n, a), a) for n, a in actions() if a.dest in ("output", "template_out", "file")]
    assert len(other) == 5  # expand -o, event -o, migrate -o, rollout --template-out, cfnlintrc FILE
    assert {where: a.metavar for where, a in other} == dict.fromkeys((w for w, _ in other), words.FILE)
    outputs = [a.help or "" for _, a in other if a.dest == "output"]
    assert len(outputs) == 3 and all(h.startswith(words.OUTPUT_HELP) for h in outputs)


def test_macro_name_reads_the_same_in_every_subcommand() -> None:
    texts = [a.help or "" for _, a in actions() if a.dest == "macro_name"]
    assert len(texts) == 3 and all(t.startswith(words.MACRO_NAME_HELP) for t in texts)
    assert words.MACRO_NAME_HELP in lint_command.HELP


def test_no_metavar_is_argparses_guess() -> None:
    # An unnamed value shows as its option's name in capitals (OUT, TEMPLATE_OUT, ADMINISTRATION_ROLE_ARN):
    # the same thing then reads differently in each subcommand.
    guessed = [
        label(n, a)
        for n, a in actions()
        if a.option_strings
        and a.nargs != 0
        and a.metavar is None
        and a.choices is None
        and a.dest not in ("account_id", "request_id", "transform_id", "region")
    ]
    assert guessed == []


def test_a_bare_profile_is_never_written() -> None:
    # "profile" alone could be AWS CLI's named profile or an EC2 instance profile, the project's subject.
    bare = re.compile(r"(?<!instance )(?<!CLI )(?<!named )\bprofiles?\b(?!-expand)")
    assert [(where, text) for where, text in all_help() if bare.search(text)] == []


def test_defaults_are_written_one_way() -> None:
    assert [(w, t) for w, t in all_help() if re.search(r"\bdefault\b(?!:)", t)] == []
