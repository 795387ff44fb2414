"""Files in and out for every command that reads a template: nothing lost, never a traceback.

`-o` replaces a file whole or not at all (a size limit or a kill mid-write leaves it as it was), never
writes an expansion over its own source, and bad input of every kind is one line naming file:line:column
with the documented exit code (2 for unreadable input or output).
"""

from __future__ import annotations

import os
import resource
import signal
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from profile_expand.cli.main import main
from tests.functional.test_cli import ROLE

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ("expand", "lint", "event", "migrate")
EXIT_UNREADABLE = 2

# The role, trusting EC2, that the CLI tests share.
HEAD = "Transform: ProfileExpand\nResources:\n" + ROLE
WEB = "  Web:\n    Type: AWS::EC2::Instance\n    Properties:\n      ImageId: ami-0123456789abcdef0\n"
ROLE_AND_PROFILE = (
    HEAD
    + "  WebProfile:\n    Type: AWS::IAM::InstanceProfile\n    Properties:\n      Roles: [!Ref HostRole]\n"
    + WEB
    + "      IamInstanceProfile: !Ref WebProfile\n"
)
SHORTHAND = HEAD + WEB + "      IamRole: !Ref HostRole\n"


def big_migratable(lines: int = 500) -> str:
    """A template migrate converts, padded with comments to tens of kilobytes (comments are kept)."""
    padding = "".join(f"# padding line {n:05d}: the author's notes stay in the file\n" for n in range(lines))
    description = f"Description: {'a long description ' * 2000}\n"
    return padding + description + ROLE_AND_PROFILE


def run_cli(
    *argv: str, stdout: int | None = subprocess.PIPE, **options: object
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "profile_expand.cli.main", *argv],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        cwd=options.pop("cwd", None),  # type: ignore[arg-type]
        preexec_fn=options.pop("preexec_fn", None),  # type: ignore[arg-type]
        timeout=120,
    )


def assert_one_line_no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert stderr.strip(), "a failure says why"


# -- item 9: -o writes the whole file or nothing ------------------------------------------------------


def limit_file_size(limit: int) -> Callable[[], None]:
    def limit_in_child() -> None:
        # Python ignores SIGXFSZ, so a write past the limit fails with EFBIG instead of killing it.
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_in_child


@pytest.mark.parametrize("command", ["migrate", "expand"])
def test_in_place_under_a_size_limit_leaves_the_file_whole(tmp_path: Path, command: str) -> None:
    source = tmp_path / "t.yaml"
    text = big_migratable()
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "out.yaml"
    old_output = "previous output\n" * 5000
    out.write_text(old_output, encoding="utf-8")
    target = source if command == "migrate" else out
    result = run_cli(command, str(source), "-o", str(target), preexec_fn=limit_file_size(8192))
    assert source.read_text(encoding="utf-8") == text, "the author's file is whole"
    assert out.read_text(encoding="utf-8") == old_output
    assert_one_line_no_traceback(result.stderr)
    assert result.returncode == EXIT_UNREADABLE
    assert result.stderr.strip().splitlines()[-1].endswith(f"cannot write {target}: File too large")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.yaml", "t.yaml"], (
        "no temporary file left"
    )


KILLED_MID_WRITE = """\
import os, signal, sys
from profile_expand.cli import files
# Killed after every byte reached the temporary file, before the rename: the worst moment.
os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
files.write_atomic(sys.argv[1], "new text\\n" * 10000)
"""


def test_a_kill_mid_write_leaves_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "t.yaml"
    target.write_text(ROLE_AND_PROFILE, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", KILLED_MID_WRITE, str(target)], check=False, capture_output=True, timeout=60
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert target.read_text(encoding="utf-8") == ROLE_AND_PROFILE
    leftovers = [path for path in tmp_path.iterdir() if path != target]
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".t.yaml."), leftovers


def test_migrate_in_place_works_and_keeps_the_mode(tmp_path: Path) -> None:
    source = tmp_path / "t.yaml"
    source.write_text(ROLE_AND_PROFILE, encoding="utf-8")
    source.chmod(0o640)
    assert main(["migrate", str(source), "-o", str(source)]) == 0
    assert "IamRole:" in source.read_text(encoding="utf-8")
    assert stat.S_IMODE(source.stat().st_mode) == 0o640
    assert [path.name for path in tmp_path.iterdir()] == ["t.yaml"], "no temporary file left"


def test_a_new_output_file_gets_the_umask_mode(tmp_path: Path) -> None:
    source = tmp_path / "t.yaml"
    source.write_text(SHORTHAND, encoding="utf-8")
    out = tmp_path / "new.yaml"
    old_mask = os.umask(0o027)
    try:
        assert main(["expand", str(source), "-o", str(out)]) == 0
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert "IamInstanceProfile" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("spelling", ["same", "dotted", "symlink"])
@pytest.mark.parametrize("command", ["expand", "event"])
def test_output_onto_its_own_source_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, spelling: str
) -> None:
    source = tmp_path / "t.yaml"
    source.write_text(SHORTHAND, encoding="utf-8")
    out = {
        "same": str(source),
        "dotted": str(tmp_path / "." / "t.yaml"),
        "symlink": str(tmp_path / "link.yaml"),
    }[spelling]
    if spelling == "symlink":
        (tmp_path / "link.yaml").symlink_to(source)
    assert main([command, str(source), "-o", out]) == EXIT_UNREADABLE
    assert source.read_text(encoding="utf-8") == SHORTHAND
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is the input" in err, err


@pytest.mark.parametrize(
    "argv",
    [
        ["expand", "{t}", "-o", "{missing}/out.yaml"],
        ["event", "{t}", "-o", "{missing}/event.json"],
        ["migrate", "{r}", "-o", "{missing}/out.yaml"],
        ["lint", "{bad}", "--output-file", "{missing}/lint.txt"],
    ],
    ids=["expand", "event", "migrate", "lint"],
)
def test_output_into_a_missing_folder_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    (tmp_path / "t.yaml").write_text(SHORTHAND, encoding="utf-8")
    (tmp_path / "r.yaml").write_text(ROLE_AND_PROFILE, encoding="utf-8")
    # A finding to write: cfn-lint's E1152 on the image ID.
    (tmp_path / "bad.yaml").write_text(SHORTHAND.replace("ami-0123456789abcdef0", "ami-1"), encoding="utf-8")
    values = {
        "t": tmp_path / "t.yaml",
        "r": tmp_path / "r.yaml",
        "bad": tmp_path / "bad.yaml",
        "missing": tmp_path / "no" / "such",
    }
    assert main([part.format(**values) for part in argv]) == EXIT_UNREADABLE
    err = capsys.readouterr().err
    assert f"cannot write {tmp_path / 'no' / 'such'}" in err, err
    assert err.strip().endswith("No such file or directory"), err


# -- item 11: bad input, every command ----------------------------------------------------------------

BAD_INPUTS: dict[str, bytes] = {
    "non-utf8": SHORTHAND.replace(
        "ami-0123456789abcdef0", "ami-0123456789abcdef0\n      Tags: [{Key: a, Value: caf\xe9}]"
    ).encode("latin-1"),
    "tab-after-key": SHORTHAND.replace("ImageId: ami", "ImageId:\tami").encode(),
    "merge-override": ROLE_AND_PROFILE.replace(
        "    Properties:\n      ImageId: ami-0123456789abcdef0\n      IamInstanceProfile: !Ref WebProfile\n",
        "    Properties:\n      <<: {ImageId: ami-0123456789abcdef0, IamInstanceProfile: !Ref HostRole}\n"
        "      IamInstanceProfile: !Ref WebProfile\n",
    ).encode(),
    "transform-mapping": ROLE_AND_PROFILE.replace(
        "Transform: ProfileExpand", "Transform: {Name: AWS::Include, Parameters: {Location: s3://b/k.yaml}}"
    ).encode(),
    "json-400-deep": (
        '{"Transform": "ProfileExpand", "Resources": {"A": {"Type": "AWS::S3::Bucket", "Metadata": '
        + '{"a": ' * 400
        + "1"
        + "}" * 400
        + "}}}\n"
    ).encode(),
    "json-400-deep-lists": (
        '{"Resources": {"A": {"Type": "AWS::S3::Bucket", "Metadata": {"a": '
        + "[" * 400
        + "1"
        + "]" * 400
        + "}}}}\n"
    ).encode(),
    "json-int-4301-digits": (
        '{"Resources": {"A": {"Type": "AWS::S3::Bucket", "Metadata": {"N": ' + "7" * 4301 + "}}}}\n"
    ).encode(),
    "yaml-int-4301-digits": (SHORTHAND + "    Metadata: {N: " + "7" * 4301 + "}\n").encode(),
}
# Where the one line must point (line, column), and the exit code, for input every command must refuse.
UNREADABLE: dict[str, tuple[int, int]] = {
    "non-utf8": (17, 33),
    "json-400-deep": (1, 0),
    "json-400-deep-lists": (1, 0),
    "json-int-4301-digits": (1, 0),
    "yaml-int-4301-digits": (18, 0),
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_never_gives_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, case: str
) -> None:
    suffix = ".json" if case.startswith("json") else ".yaml"
    source = tmp_path / f"t{suffix}"
    source.write_bytes(BAD_INPUTS[case])
    try:
        code = main([command, str(source)])
    except BaseException as error:  # the point: nothing may escape main
        pytest.fail(f"{command} {case}: {type(error).__name__}: {error}")
    captured = capsys.readouterr()
    err = captured.err
    assert "Traceback" not in err
    if case in UNREADABLE and command == "lint":
        # lint is cfn-lint: what it cannot read is a finding of the file (E0000, say), in the chosen format.
        assert code == EXIT_UNREADABLE, err
        assert str(source) in captured.out, captured.out
        return
    if case in UNREADABLE:
        line, column = UNREADABLE[case]
        assert code == EXIT_UNREADABLE, err
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith(f"{source}:{line}:"), err
        if column:
            assert lines[0].startswith(f"{source}:{line}:{column}: "), err
    else:
        assert code in {0, 1, 2, 4, 6}, (code, err)
        for line in err.strip().splitlines():
            assert line.startswith((str(source), "profile-expand")), err


def test_non_utf8_message_says_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "t.yaml"
    source.write_bytes(BAD_INPUTS["non-utf8"])
    assert main(["expand", str(source)]) == EXIT_UNREADABLE
    assert capsys.readouterr().err == (
        f"{source}:17:33: not UTF-8 text (byte 0xe9); CloudFormation reads templates as UTF-8: "
        "save the file as UTF-8\n"
    )


def test_migrate_refuses_a_merge_key_it_cannot_edit_safely(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "t.yaml"
    source.write_bytes(BAD_INPUTS["merge-override"])
    assert main(["migrate", str(source), "-o", str(source)]) == 1
    assert source.read_bytes() == BAD_INPUTS["merge-override"], "nothing written"
    err = capsys.readouterr().err
    assert err.startswith(f"{source}:20:7: cannot edit this file: a YAML merge key (<<)"), err
    assert err.rstrip().endswith("nothing written"), err


def test_migrate_names_the_place_its_editor_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "t.yaml"
    text = ROLE_AND_PROFILE.replace("ImageId: ami", "ImageId:\tami")
    source.write_text(text, encoding="utf-8")
    assert main(["migrate", str(source), "-o", str(source)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{source}:20:15: cannot edit this file: found character '\\t'"), err
    assert source.read_text(encoding="utf-8") == text


def test_migrate_adds_the_macro_after_a_transform_written_as_a_mapping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "t.yaml"
    source.write_bytes(BAD_INPUTS["transform-mapping"])
    assert main(["migrate", str(source)]) == 0
    out = capsys.readouterr().out
    assert "Transform: [{Name: AWS::Include, Parameters: {Location: s3://b/k.yaml}}, ProfileExpand]\n" in out


def test_no_transform_keeps_a_transform_written_as_a_mapping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "t.yaml"
    source.write_text(
        SHORTHAND.replace(
            "Transform: ProfileExpand",
            "Transform: [{Name: AWS::Include, Parameters: {Location: s3://b/k.yaml}}, ProfileExpand]",
        ),
        encoding="utf-8",
    )
    assert main(["expand", str(source), "--no-transform", "--format", "json"]) == 0
    import json

    out = json.loads(capsys.readouterr().out)
    assert out["Transform"] == {"Name": "AWS::Include", "Parameters": {"Location": "s3://b/k.yaml"}}


# -- item 11: standard output closed or full ---------------------------------------------------------


@pytest.mark.parametrize("command", ["expand", "event", "migrate"])
def test_full_stdout_is_one_line_and_exit_2(tmp_path: Path, command: str) -> None:
    source = tmp_path / "t.yaml"
    source.write_text(ROLE_AND_PROFILE, encoding="utf-8")
    with open("/dev/full", "w") as full:
        result = run_cli(command, str(source), stdout=full.fileno())
    assert_one_line_no_traceback(result.stderr)
    assert result.returncode == EXIT_UNREADABLE, result.stderr
    assert "cannot write standard output: No space left on device" in result.stderr


@pytest.mark.parametrize("command", ["expand", "event", "migrate"])
def test_closed_stdout_is_one_line_and_exit_2(tmp_path: Path, command: str) -> None:
    source = tmp_path / "t.yaml"
    source.write_text(ROLE_AND_PROFILE, encoding="utf-8")
    result = subprocess.run(
        f'"{sys.executable}" -m profile_expand.cli.main {command} "{source}" >&-',
        shell=True,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        timeout=120,
    )
    assert_one_line_no_traceback(result.stderr)
    assert result.returncode == EXIT_UNREADABLE, result.stderr
    assert "cannot write standard output" in result.stderr


# -- item 11: a bug is one line too --------------------------------------------------------------------


def test_an_internal_error_is_one_line_and_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "t.yaml"
    source.write_text(SHORTHAND, encoding="utf-8")

    def broken(template: object) -> object:
        raise KeyError("Resources\nand a second line")

    monkeypatch.setattr("profile_expand.cli.main.expand_with_report", broken)
    monkeypatch.delenv("PROFILE_EXPAND_DEBUG", raising=False)
    assert main(["expand", str(source)]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("profile-expand: internal error: KeyError: ") and "please report it" in err
    monkeypatch.setenv("PROFILE_EXPAND_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["expand", str(source)])


# -- issue 17 item 4: CloudFormation's size limit, checked before any pass -----------------------------


def _padded(size: int) -> str:
    """SHORTHAND with a Metadata string making the file exactly `size` bytes."""
    head = "Metadata:\n  Padding: "
    return head + "x" * (size - len(head) - 1 - len(SHORTHAND.encode())) + "\n" + SHORTHAND


@pytest.mark.parametrize("command", ["expand", "event"])
def test_a_template_over_1_mb_is_refused_before_it_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    source = tmp_path / "t.yaml"
    source.write_text(_padded(1_000_001), encoding="utf-8")
    assert source.stat().st_size == 1_000_001

    assert main([command, str(source)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "1,000,001 bytes, over CloudFormation's limit of 1,000,000" in err, err


def test_a_template_at_the_limit_expands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "t.yaml"
    source.write_text(_padded(1_000_000), encoding="utf-8")
    assert source.stat().st_size == 1_000_000

    assert main(["expand", str(source)]) == 0
    assert "InstanceProfile" in capsys.readouterr().out
