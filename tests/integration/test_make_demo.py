"""`make demo` on a fresh copy of the repository installs only what the demo runs, then prints the expansion.

`make test` installs the rest (the SAM CLI, moto, mypy...): a first look must not cost hundreds of MB.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import shell_environment

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
# Installed by `make test` only; none of them runs in the demo.
DEV_ONLY = {"aws-sam-cli", "moto", "mypy", "pytest", "ruff", "hypothesis", "boto3", "aws-lambda-powertools"}

# What `make demo` ends with (issue 22): a newcomer otherwise does not know where the command went.
TOOLS_ARE_HERE = "The tools are in .venv/bin: .venv/bin/profile-expand --help (or . .venv/bin/activate, then profile-expand --help)"


def requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(line.split("==")[0].split("[")[0].lower())
    return names


def test_demo_requirements_are_the_package_dependencies() -> None:
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = {
        spec.split(">")[0].split("<")[0].split("=")[0].lower()
        for spec in pyproject["project"]["dependencies"]
    }
    assert requirement_names(ROOT / "requirements-demo.txt") == declared
    assert (
        "-r requirements-demo.txt" in (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    )


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_demo_installs_only_what_the_demo_runs(tmp_path: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
    ).stdout.split(b"\0")
    copy = tmp_path / "clone"
    for name in filter(None, listed):
        source = ROOT / name.decode()
        if source.is_file():
            (copy / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name.decode())
    demo = subprocess.run(
        ["make", "demo", f"PYTHON={sys.executable}"],
        cwd=copy,
        env=shell_environment(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "Type: AWS::IAM::InstanceProfile" in demo.stdout
    assert demo.stdout.splitlines()[-1] == TOOLS_ARE_HERE
    freeze = subprocess.run(
        [str(copy / ".venv" / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    installed = {line.split("==")[0].lower() for line in freeze.splitlines() if line}
    assert not installed & DEV_ONLY, installed & DEV_ONLY
    # The package, its three dependencies and theirs (cfn-lint's networkx, sympy...): about a dozen.
    assert len(installed) <= 16, sorted(installed)
    assert (copy / ".venv" / ".installed-demo").exists()
    assert not (copy / ".venv" / ".installed").exists(), "make demo did not set up the test tools"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.skipif(
    not (ROOT / ".venv" / ".installed-demo").exists(), reason="no .venv set up here (make setup or make demo)"
)
def test_make_demo_ends_by_saying_where_the_tools_are() -> None:
    # This checkout's .venv is set up, so the demo runs only the expansion and the last words.
    demo = subprocess.run(
        ["make", "demo"], cwd=ROOT, env=shell_environment(), capture_output=True, text=True, timeout=300
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert demo.stdout.splitlines()[-1] == TOOLS_ARE_HERE
    assert (ROOT / ".venv" / "bin" / "profile-expand").exists()
