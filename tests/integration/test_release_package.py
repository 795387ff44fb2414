"""The release a user installs: `python -m build` gives a wheel and an sdist that `twine check` passes, and
the wheel installed in a clean virtual environment provides the command, the lint rules and the override spec.

Building fetches setuptools into build's isolated environment and the clean venv fetches the package's
dependencies (cfn-lint, PyYAML): both from PyPI, as a user's install does.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import profile_expand
from tests.support import ROOT, load_template

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
VERSION = profile_expand.__version__
SHORTHAND = ROOT / "tests" / "fixtures" / "lint" / "templates" / "bad" / "shorthand_without_transform.yaml"
MISTAKE = ROOT / "tests" / "fixtures" / "lint" / "templates" / "bad" / "role_where_profile_expected.yaml"


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # No PYTHONPATH or virtualenv of ours may leak into the clean environment.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=900
    )


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = run(BIN / "python", "-m", "build", "--outdir", out, ROOT)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean venv (no system site-packages) with only the wheel and its declared dependencies."""
    home = tmp_path_factory.mktemp("clean")
    created = run(sys.executable, "-m", "venv", home / "venv")
    assert created.returncode == 0, created.stderr
    (wheel,) = dist.glob("*.whl")
    installed = run(home / "venv" / "bin" / "python", "-m", "pip", "install", "--quiet", wheel)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    return home / "venv"


def test_wheel_and_sdist_are_named_by_the_version_and_pass_twine_check(dist: Path) -> None:
    wheel = dist / f"profile_expand-{VERSION}-py3-none-any.whl"
    sdist = dist / f"profile_expand-{VERSION}.tar.gz"
    assert sorted(p.name for p in dist.iterdir()) == sorted([wheel.name, sdist.name])
    checked = run(BIN / "twine", "check", "--strict", wheel, sdist)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("PASSED") == 2


def test_wheel_ships_the_rules_the_override_spec_and_the_license(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "profile_expand/py.typed",
        "profile_expand/lint/data/override-spec.json",
        "profile_expand/lint/rules/__init__.py",
        "profile_expand/macro/handler.py",
        f"profile_expand-{VERSION}.dist-info/licenses/LICENSE",
    ):
        assert expected in names, expected
    metadata = zipfile.ZipFile(wheel).read(f"profile_expand-{VERSION}.dist-info/METADATA").decode()
    assert f"Version: {VERSION}" in metadata
    assert "License-Expression: Apache-2.0" in metadata
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    members = {Path(m).relative_to(f"profile_expand-{VERSION}").as_posix() for m in names[1:]}
    assert {
        "LICENSE",
        "README.md",
        "pyproject.toml",
        "src/profile_expand/lint/data/override-spec.json",
    } <= members


def test_installed_command_reports_the_release_version(venv: Path, tmp_path: Path) -> None:
    result = run(venv / "bin" / "profile-expand", "--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"profile-expand {VERSION}"
    changelog = (ROOT / "CHANGELOG.md").read_text()
    sar = load_template(ROOT / "template.yaml")["Metadata"]["AWS::ServerlessRepo::Application"]
    assert result.stdout.split()[-1] == sar["SemanticVersion"]
    # Before the first release the changelog has none (tests/unit/test_release.py checks which state holds).
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, flags=re.MULTILINE)
    assert releases[:1] in ([], [VERSION])


def test_installed_package_comes_from_the_venv_and_expands(venv: Path, tmp_path: Path) -> None:
    where = run(
        venv / "bin" / "python", "-c", "import profile_expand; print(profile_expand.__file__)", cwd=tmp_path
    )
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout + where.stderr
    expanded = run(
        venv / "bin" / "profile-expand", "expand", ROOT / "examples" / "web-app.yaml", cwd=tmp_path
    )
    assert expanded.returncode == 0, expanded.stderr
    assert "WebRoleInstanceProfile" in expanded.stdout


def test_installed_rules_and_override_spec_work_in_plain_cfn_lint(venv: Path, tmp_path: Path) -> None:
    spec = run(
        venv / "bin" / "python",
        "-c",
        "import profile_expand.lint.override_spec as o; print(o.override_spec_path())",
        cwd=tmp_path,
    )
    spec_path = Path(spec.stdout.strip())
    assert spec_path.is_file() and spec_path.is_relative_to(venv), spec.stdout + spec.stderr
    ours = ["--append-rules", "profile_expand.lint.rules", "--override-spec", str(spec_path)]
    cfn_lint = venv / "bin" / "cfn-lint"
    # The shorthand without the Transform: W9001 from the installed rules, and no E3002 thanks to the spec.
    shorthand = run(cfn_lint, SHORTHAND, *ours, cwd=tmp_path)
    assert "W9001" in shorthand.stdout and "E3002" not in shorthand.stdout, (
        shorthand.stdout + shorthand.stderr
    )
    # Without them cfn-lint knows neither.
    bare = run(cfn_lint, SHORTHAND, cwd=tmp_path)
    assert "E3002" in bare.stdout and "W9001" not in bare.stdout
    mistake = run(cfn_lint, MISTAKE, *ours, cwd=tmp_path)
    assert "E9001" in mistake.stdout, mistake.stdout + mistake.stderr


def test_a_cfnlintrc_written_in_one_venv_works_with_plain_cfn_lint_from_another(
    venv: Path, tmp_path: Path
) -> None:
    """`profile-expand cfnlintrc` run from this checkout's venv; cfn-lint of the clean venv reads the file."""
    project = tmp_path / "project"
    project.mkdir()
    written = run(BIN / "profile-expand", "cfnlintrc", cwd=project)
    assert written.returncode == 0, written.stdout + written.stderr
    shorthand = project / "shorthand.yaml"
    shorthand.write_bytes(SHORTHAND.read_bytes())
    mistake = project / "mistake.yaml"
    mistake.write_bytes(MISTAKE.read_bytes())

    other = venv / "bin"
    # Up to date there too: the file names nothing of the venv that wrote it.
    check = run(other / "profile-expand", "cfnlintrc", "--check", cwd=project)
    assert check.returncode == 0, check.stdout + check.stderr
    linted = run(other / "cfn-lint", "--format", "parseable", "--", shorthand.name, mistake.name, cwd=project)
    assert "W9001" in linted.stdout and "E9001" in linted.stdout, linted.stdout + linted.stderr
    assert "E3002" not in linted.stdout, linted.stdout
