"""Scalars the shorthand does not touch come out of `expand` as CloudFormation reads what the author wrote.

The reference for that reading is cfn-lint's decoder (PyYAML's YAML 1.1 resolver: `Yes` is true, `017` is
15, `1:30` is 90; CloudFormation reads YAML 1.1 booleans as booleans too, see the README), with the
exceptions CloudFormation documents: it has no timestamp type (`2010-09-09` is that text) and does not
support the `!!set`, `!!binary`, `!!omap` and `!!pairs` tags, which are refused at their line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from profile_expand.cli.main import main
from tests.functional.test_cli_io import SHORTHAND

# name: the YAML the author wrote
SCALARS: dict[str, str] = {
    "timestamp-utc": "2030-01-01T00:00:00Z",
    "timestamp-offset": "2001-12-14 21:59:43.10 -5",
    "timestamp-fraction": "2001-12-14t21:59:43.10-05:00",
    "date": "2010-09-09",
    "explicit-timestamp": "!!timestamp 2030-01-01",
    "octal": "017",
    "zeros": "000",
    "hex": "0x1F",
    "binary-int": "0b101",
    "underscores": "1_000",
    "sexagesimal": "1:30",
    "sexagesimal-long": "190:20:30",
    "sexagesimal-float": "1:30.5",
    "float": "1.5e3",
    "float-dot": ".5",
    "word-yes": "Yes",
    "word-no": "no",
    "word-on": "On",
    "word-off": "OFF",
    "word-y": "y",
    "word-null": "~",
    "empty": "",
    "o-octal-is-text": "0o17",
    "quoted-octal": '"017"',
    "quoted-yes": "'Yes'",
    "quoted-date": '"2030-01-01"',
    "explicit-str": "!!str 017",
    "explicit-int": '!!int "017"',
    "explicit-float": "!!float 1",
    "int-4300-digits": "7" * 4300,
    "unicode": "Web server 🚀",
}
TIMESTAMPS = {"timestamp-utc", "timestamp-offset", "timestamp-fraction", "date", "explicit-timestamp"}
UNSUPPORTED_TAGS = {
    "set": "!!set {a: null, b: null}",
    "binary": "!!binary aGVsbG8=",
    "omap": "!!omap [a: 1, b: 2]",
    "pairs": "!!pairs [a: 1, a: 2]",
}

HEAD = SHORTHAND + "    Metadata:\n      Values:\n"


def template() -> str:
    # Keys are names that YAML reads as strings (`yes:` as a key would be true).
    return HEAD + "".join(f"        {name}: {text}\n" for name, text in SCALARS.items())


def typed(value: Any) -> Any:
    """The value with its type, so that True and 1, or 1.0 and 1, never compare equal."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    return (type(value).__name__, value)


def cloudformation_reading(name: str, text: str) -> Any:
    """What CloudFormation reads for `text`: cfn-lint's reading, a timestamp being its text."""
    if name in TIMESTAMPS:
        return text.removeprefix("!!timestamp ")
    value = cfn_yaml.loads(f"v: {text}\n")["v"]
    return str(value) if isinstance(value, str) else value


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    return {name: cloudformation_reading(name, text) for name, text in SCALARS.items()}


@pytest.mark.parametrize("no_transform", [False, True], ids=["expand", "no-transform"])
@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_every_scalar_comes_out_as_cloudformation_reads_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], expected: dict[str, Any], fmt: str, no_transform: bool
) -> None:
    source = tmp_path / "t.yaml"
    source.write_text(template(), encoding="utf-8")
    argv = ["expand", str(source), "--format", fmt, *(["--no-transform"] if no_transform else [])]
    assert main(argv) == 0
    out = capsys.readouterr().out
    read = json.loads(out) if fmt == "json" else cfn_yaml.loads(out)
    values = read["Resources"]["Web"]["Metadata"]["Values"]
    got = {name: str(value) if isinstance(value, str) else value for name, value in values.items()}
    assert typed(got) == typed(expected)
    assert list(got) == list(SCALARS), "key order kept"
    # The expansion did happen: the shorthand is gone.
    assert "IamInstanceProfile" in read["Resources"]["Web"]["Properties"]


def test_a_timestamp_is_the_text_the_author_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "t.yaml"
    source.write_text(template(), encoding="utf-8")
    assert main(["expand", str(source)]) == 0
    out = capsys.readouterr().out
    assert "timestamp-utc: '2030-01-01T00:00:00Z'\n" in out
    assert "+00:00" not in out


# Not lint: it is cfn-lint, whose decoder reads these tags (and reports what it cannot read as E0000).
@pytest.mark.parametrize("command", ["expand", "event", "migrate"])
@pytest.mark.parametrize("tag", sorted(UNSUPPORTED_TAGS))
def test_tags_cloudformation_does_not_support_are_refused_at_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tag: str, command: str
) -> None:
    source = tmp_path / "t.yaml"
    source.write_text(HEAD + f"        bad: {UNSUPPORTED_TAGS[tag]}\n", encoding="utf-8")
    assert main([command, str(source)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"{source}:20:14: "), err
    assert f"CloudFormation does not support the YAML tag !!{tag}" in err[0]


# (`1e400` is a string in YAML 1.1, whose floats need a dot; `1.0e+400` is a float, and infinite.)
@pytest.mark.parametrize("text", [".inf", "-.Inf", ".NaN", "1.0e+400"])
def test_numbers_without_a_json_form_are_refused_at_their_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    source = tmp_path / "t.yaml"
    source.write_text(HEAD + f"        bad: {text}\n", encoding="utf-8")
    assert main(["expand", str(source), "--format", "json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{source}:20:9: ") and "has no JSON form" in err, err


def test_a_json_number_that_overflows_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "t.json"
    source.write_text('{"Resources": {"A": {"Type": "AWS::S3::Bucket", "Metadata": {"N": 1e400}}}}\n')
    assert main(["expand", str(source)]) == 2
    assert "has no JSON form" in capsys.readouterr().err
