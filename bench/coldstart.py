"""Cold start as import time in fresh interpreters: this Python, and the function's own (the built bundle)."""

from __future__ import annotations

import ast
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.settings import HANDLER_MODULE, HANDLER_SOURCE, PACKAGE_DIR, ROOT, SAM_TEMPLATE, runtime_version


def powertools_imports(source: str) -> list[str]:
    """The aws_lambda_powertools modules a module imports at run time (not under TYPE_CHECKING)."""
    found: list[str] = []

    def visit(statements: Sequence[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            found.extend(n for n in names if n.split(".")[0] == "aws_lambda_powertools" and n not in found)

    visit(ast.parse(source).body)
    return found


_IMPORT_PROBE = (
    "import time; wall, cpu = time.perf_counter(), time.process_time(); import {modules}; "
    "print(time.perf_counter() - wall, time.process_time() - cpu)"
)

# Labels of the import subjects.
POWERTOOLS = "aws_lambda_powertools"
POWERTOOLS_AS_HANDLER = "the Powertools modules the handler imports"
HANDLER_CACHED = "handler, bytecode cached"
HANDLER_SOURCE_ONLY = "handler, compiled from source"


def _import_seconds(
    modules: str, env: dict[str, str], python: str = sys.executable, cwd: Path | str = ROOT
) -> tuple[float, float]:
    """Wall and CPU seconds to import `modules` in a fresh interpreter, interpreter start-up excluded."""
    completed = subprocess.run(
        [python, "-c", _IMPORT_PROBE.format(modules=modules)],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        env=env,
    )
    wall, cpu = completed.stdout.split()
    return float(wall), float(cpu)


@dataclass(frozen=True)
class ColdStart:
    subjects: dict[str, str]  # label -> modules imported
    cpu_ms: dict[str, list[float]]  # label -> CPU time of each run (time.process_time in the child)
    wall_ms: dict[str, list[float]]  # label -> wall time of each run
    extra_modules: list[tuple[str, float]]  # what the handler imports beyond Powertools, self ms
    runs: int


def _importtime(modules: str, env: dict[str, str]) -> dict[str, float]:
    """Self time in ms of each module imported by `import modules` (python -X importtime)."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {modules}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    times: dict[str, float] = {}
    for line in completed.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line.removeprefix("import time:").split("|")
        times[name.strip()] = int(self_us) / 1000
    return times


def _bytecode_caches(folder: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Environments for a fresh interpreter: every module's bytecode cached, or all but this project's.

    Both use a private cache (PYTHONPYCACHEPREFIX), filled once and then read-only, so the result does not
    depend on whether this machine happens to write .pyc files. The second is what a bundle of .py files
    on Lambda's read-only /var/task gets: the project's modules compiled at every cold start.
    """
    cached, source_only = folder / "cached", folder / "source-only"
    base = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    }
    warm = {**base, "PYTHONPYCACHEPREFIX": str(cached)}
    subprocess.run([sys.executable, "-c", f"import {HANDLER_MODULE}"], check=True, cwd=ROOT, env=warm)
    shutil.copytree(cached, source_only)
    project = source_only / (PACKAGE_DIR.relative_to(PACKAGE_DIR.anchor))  # every module of ours, core/ too
    shutil.rmtree(project)
    frozen = {**base, "PYTHONDONTWRITEBYTECODE": "1"}
    return {**frozen, "PYTHONPYCACHEPREFIX": str(cached)}, {**frozen, "PYTHONPYCACHEPREFIX": str(source_only)}


def measure_cold_start(runs: int) -> ColdStart:
    handler_powertools = ", ".join(powertools_imports(HANDLER_SOURCE.read_text()))
    subjects = {
        POWERTOOLS: "aws_lambda_powertools",
        POWERTOOLS_AS_HANDLER: handler_powertools,
        HANDLER_CACHED: HANDLER_MODULE,
        HANDLER_SOURCE_ONLY: HANDLER_MODULE,
    }
    with tempfile.TemporaryDirectory() as folder:
        cached, source_only = _bytecode_caches(Path(folder))
        envs = {label: source_only if label == HANDLER_SOURCE_ONLY else cached for label in subjects}
        for label, modules in subjects.items():  # warm the file cache first
            _import_seconds(modules, envs[label])
        cpu: dict[str, list[float]] = {label: [] for label in subjects}
        wall: dict[str, list[float]] = {label: [] for label in subjects}
        labels = list(subjects)
        for number in range(runs):
            # Rotate the order so that no subject always runs right after the same other one.
            for label in labels[number % len(labels) :] + labels[: number % len(labels)]:
                wall_s, cpu_s = _import_seconds(subjects[label], envs[label])
                wall[label].append(wall_s * 1000)
                cpu[label].append(cpu_s * 1000)
        # Which modules the handler adds beyond Powertools, and their own import time (median of 5 runs).
        handler_runs = [_importtime(HANDLER_MODULE, cached) for _ in range(5)]
        baseline = set(_importtime(handler_powertools, cached))
    extra = {name for name in handler_runs[0] if name not in baseline}
    extra_modules = sorted(
        ((name, statistics.median(run.get(name, 0.0) for run in handler_runs)) for name in extra),
        key=lambda item: -item[1],
    )
    return ColdStart(
        subjects=subjects,
        cpu_ms=cpu,
        wall_ms=wall,
        extra_modules=extra_modules,
        runs=runs,
    )


BENCH_DIR = ROOT / ".bench"  # gitignored: the runtime venv, made once and reused
# The Lambda bundle's own requirements: the Powertools pin (requirements-dev.txt includes this file).
REQUIREMENTS = ROOT / "src" / "lambda-requirements.txt"
BUILD_TARGET = "build-ProfileExpandFunction"  # src/Makefile's target, the one `sam build` runs
RUNTIME_PYTHON_VARIABLE = "BENCH_RUNTIME_PYTHON"

# Labels of the import subjects on the runtime's Python.
RUNTIME_POWERTOOLS = "aws_lambda_powertools"
RUNTIME_HANDLER_SOURCE = "handler, bundle of source (RUNTIME_PYTHON=false)"
RUNTIME_HANDLER_BYTECODE = "handler, bundle with bytecode"


def _normalized_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_version(requirements_text: str, package: str) -> str | None:
    """The version a requirements file pins `package` to with `==`, or None."""
    for line in requirements_text.splitlines():
        match = re.fullmatch(
            r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([^\s;]+)\s*(?:;.*)?",
            line.split("#", 1)[0].strip(),
        )
        if match and _normalized_name(match.group(1)) == _normalized_name(package):
            return match.group(2)
    return None


def pyenv_pythons(versions: Path, version: str) -> list[Path]:
    """bin/pythonX.Y of each pyenv release of `version` (3.13, 3.13.0, 3.13.2 ...), newest first.

    Not 3.13t, 3.13-dev or release candidates: Lambda runs a release of the standard build.
    """
    found = []
    if versions.is_dir():
        for folder in versions.iterdir():
            match = re.fullmatch(rf"{re.escape(version)}(?:\.(\d+))?", folder.name)
            executable = folder / "bin" / f"python{version}"
            if match and executable.is_file():
                found.append((int(match.group(1) or -1), executable))
    return [executable for _, executable in sorted(found, reverse=True)]


@dataclass(frozen=True)
class RuntimePython:
    executable: str  # the interpreter's own path (sys.executable), not a shim
    implementation: str
    version: str  # e.g. 3.13.0
    found_by: str


_VERSION_PROBE = (
    "import platform, sys; print(platform.python_implementation(), platform.python_version(), sys.executable)"
)


def _probe_python(command: str, version: str, found_by: str) -> RuntimePython | str:
    """The interpreter `command` when it runs and is CPython `version`, else why not."""
    try:
        completed = subprocess.run(
            [command, "-c", _VERSION_PROBE],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{command} ({found_by}): {error}"
    if completed.returncode != 0:
        why = (completed.stderr.strip().splitlines() or ["no message"])[0]
        return f"{command} ({found_by}): exit {completed.returncode}, {why}"
    implementation, reported, executable = completed.stdout.strip().split(" ", 2)
    if implementation != "CPython" or not (reported == version or reported.startswith(f"{version}.")):
        return f"{command} ({found_by}): is {implementation} {reported}, the function runs CPython {version}"
    return RuntimePython(executable, implementation, reported, found_by)


def find_runtime_python(version: str) -> RuntimePython | str:
    """An interpreter of the function's Python version on this machine, else why none was found.

    $BENCH_RUNTIME_PYTHON when set (and then only it), else pythonX.Y on the PATH, else pyenv's.
    """
    explicit = os.environ.get(RUNTIME_PYTHON_VARIABLE)
    if explicit:
        return _probe_python(explicit, version, f"from ${RUNTIME_PYTHON_VARIABLE}")
    candidates = [(f"python{version}", "on the PATH")]
    notes = []  # why a place held no candidate at all
    if shutil.which("pyenv"):
        prefix = subprocess.run(["pyenv", "prefix", version], capture_output=True, text=True)
        if prefix.returncode == 0:
            # pyenv prints several prefixes joined with ':' when it resolves more than one version.
            candidates += [
                (str(Path(folder) / "bin" / f"python{version}"), f"by `pyenv prefix {version}`")
                for folder in prefix.stdout.strip().split(":")
                if folder
            ]
        else:
            why = (prefix.stderr.strip().splitlines() or ["no such version"])[0]
            notes.append(f"`pyenv prefix {version}`: {why}")
    else:
        notes.append("no pyenv on the PATH")
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    releases = pyenv_pythons(root / "versions", version)
    candidates += [(str(executable), f"in {root / 'versions'}") for executable in releases]
    if not releases:
        notes.append(f"{root / 'versions'}: no {version} release")
    places: dict[str, str] = {}
    for command, found_by in candidates:
        places.setdefault(command, found_by)  # each command once, found by its first place
    misses = []
    for command, found_by in places.items():
        found = _probe_python(command, version, found_by)
        if isinstance(found, RuntimePython):
            return found
        misses.append(found)
    return f"no CPython {version} on this machine (set {RUNTIME_PYTHON_VARIABLE} to one): " + "; ".join(
        misses + notes
    )


def runtime_venv(python: RuntimePython) -> Path | str:
    """An empty venv of the runtime's Python under .bench/ (made once, reused while it matches): it keeps
    the interpreter's own site-packages off the path, so only the bundle (PYTHONPATH) supplies modules."""
    venv = BENCH_DIR / f"venv-python{'.'.join(python.version.split('.')[:2])}"
    stamp_path = venv / "bench-stamp.json"
    stamp = json.dumps(
        {"python": python.executable, "version": python.version, "empty": True}, sort_keys=True
    )
    venv_python = venv / "bin" / "python"
    if venv_python.exists() and stamp_path.exists() and stamp_path.read_text() == stamp:
        return venv
    print(f"bench: creating {venv.relative_to(ROOT)}", file=sys.stderr)
    shutil.rmtree(venv, ignore_errors=True)
    step = [python.executable, "-m", "venv", "--without-pip", str(venv)]
    completed = subprocess.run(step, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if completed.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        why = (completed.stderr.strip().splitlines() or ["no message"])[-1]
        return f"`{' '.join(step[1:])}` with {python.executable} failed: {why}"
    stamp_path.write_text(stamp)
    return venv


def build_bundle(artifacts: Path, runtime_python: str) -> None:
    """The function's bundle as `sam build` makes it: src/Makefile's target, with RUNTIME_PYTHON set."""
    command = [
        "make",
        "-C",
        str(ROOT / "src"),
        BUILD_TARGET,
        f"ARTIFACTS_DIR={artifacts}",
        f"RUNTIME_PYTHON={runtime_python}",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if completed.returncode != 0:
        raise SystemExit(f"bench: `{' '.join(command)}` failed:\n{completed.stdout}{completed.stderr}")


@dataclass(frozen=True)
class BundleSize:
    files: int
    bytecode_files: int
    bytes: int
    zipped_bytes: int  # deflated, as the deployment package is uploaded


def bundle_size(folder: Path) -> BundleSize:
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in files:
            zipped.write(path, path.relative_to(folder))
    return BundleSize(
        files=len(files),
        bytecode_files=sum(1 for path in files if path.suffix == ".pyc"),
        bytes=sum(path.stat().st_size for path in files),
        zipped_bytes=len(archive.getvalue()),
    )


def code_origins(verbose_stderr: str, folder: Path) -> Counter[str]:
    """How many modules under `folder` `python -v` says it ran from bytecode and from source."""
    origins: Counter[str] = Counter()
    for line in verbose_stderr.splitlines():
        # "# code object from '<...>.pyc'" (bytecode read) or "# code object from <...>.py" (compiled)
        match = re.fullmatch(r"# code object from '?(.+?)'?", line.strip())
        if match and Path(match.group(1)).is_relative_to(folder):
            origins["bytecode" if match.group(1).endswith(".pyc") else "source"] += 1
    return origins


@dataclass(frozen=True)
class RuntimeColdStart:
    python: RuntimePython
    venv: Path
    powertools: str
    bundles: dict[str, BundleSize]  # handler label -> its bundle
    cpu_ms: dict[str, list[float]]  # label -> CPU time of each run
    wall_ms: dict[str, list[float]]
    runs: int


def measure_runtime_cold_start(runs: int) -> RuntimeColdStart | str:
    """Import of the built bundle, source only and with bytecode, against Powertools, on the runtime's Python.

    Returns why not when this machine has no interpreter of that version or cannot make the venv.
    """
    version = runtime_version(SAM_TEMPLATE.read_text())
    python = find_runtime_python(version)
    if isinstance(python, str):
        return python
    powertools = pinned_version(REQUIREMENTS.read_text(), "aws-lambda-powertools")
    if powertools is None:
        return f"{REQUIREMENTS.name} pins no aws-lambda-powertools version"
    venv = runtime_venv(python)
    if isinstance(venv, str):
        return venv
    venv_python = str(venv / "bin" / "python")
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE")
    }
    with tempfile.TemporaryDirectory() as folder:
        bundles = {
            RUNTIME_HANDLER_SOURCE: (Path(folder) / "source", "false", "source"),
            RUNTIME_HANDLER_BYTECODE: (Path(folder) / "bytecode", python.executable, "bytecode"),
        }
        envs = {}
        for label, (bundle, runtime_python, expected) in bundles.items():
            build_bundle(bundle, runtime_python)
            envs[label] = {**base, "PYTHONPATH": str(bundle), "PYTHONDONTWRITEBYTECODE": "1"}
            # Refuse to time a bundle that does not load as built (stale bytecode, the wrong package ...).
            verbose = subprocess.run(
                [venv_python, "-v", "-c", f"import {HANDLER_MODULE}"],
                capture_output=True,
                text=True,
                check=True,
                cwd=folder,
                env=envs[label],
            )
            origins = code_origins(verbose.stderr, bundle)
            if not origins[expected] or set(origins) != {expected}:
                raise SystemExit(f"bench: {label}: python -v shows its modules loaded as {dict(origins)}")
        # Powertools as the deployed bundle has it: with its bytecode.
        envs[RUNTIME_POWERTOOLS] = envs[RUNTIME_HANDLER_BYTECODE]
        subjects = {
            RUNTIME_POWERTOOLS: "aws_lambda_powertools",
            RUNTIME_HANDLER_SOURCE: HANDLER_MODULE,
            RUNTIME_HANDLER_BYTECODE: HANDLER_MODULE,
        }
        for label, modules in subjects.items():  # warm the file cache first
            _import_seconds(modules, envs[label], python=venv_python, cwd=folder)
        cpu: dict[str, list[float]] = {label: [] for label in subjects}
        wall: dict[str, list[float]] = {label: [] for label in subjects}
        labels = list(subjects)
        for number in range(runs):
            for label in labels[number % len(labels) :] + labels[: number % len(labels)]:
                wall_s, cpu_s = _import_seconds(subjects[label], envs[label], python=venv_python, cwd=folder)
                wall[label].append(wall_s * 1000)
                cpu[label].append(cpu_s * 1000)
        sizes = {label: bundle_size(bundle) for label, (bundle, _, _) in bundles.items()}
    if sizes[RUNTIME_HANDLER_SOURCE].bytecode_files:
        raise SystemExit("bench: bytecode was written into the source bundle during the runs")
    return RuntimeColdStart(
        python=python,
        venv=venv,
        powertools=powertools,
        bundles=sizes,
        cpu_ms=cpu,
        wall_ms=wall,
        runs=runs,
    )
