"""Issue 24: the guard parses YAML with libyaml where PyYAML's C extension loads and with the pure-Python
parser where it does not (an x86_64 stand-in of the arm64 image), to the same data; the bundle's check
keeps only extensions built for aarch64, and only where allowed."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import pytest
import yaml

from profile_expand.core import template_text
from profile_expand.core.errors import TemplateSyntaxError

ROOT = Path(__file__).resolve().parents[2]
YAML_TEXTS = sorted(
    [*ROOT.glob("tests/golden/input/*.yaml"), *ROOT.glob("examples/*.yaml"), ROOT / "guard.yaml"]
)
_spec = importlib.util.spec_from_file_location("check_extensions", ROOT / "src" / "check_extensions.py")
assert _spec is not None and _spec.loader is not None
check_extensions = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_extensions)

needs_libyaml = pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="this PyYAML has no libyaml")


@needs_libyaml
def test_libyaml_parses_where_it_loads() -> None:
    assert template_text.safe_loader() is yaml.CSafeLoader


def test_without_libyaml_the_pure_parser_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    assert template_text.safe_loader() is yaml.SafeLoader
    assert template_text.load_template("A: !GetAtt R.Arn") == {"A": {"Fn::GetAtt": ["R", "Arn"]}}


@needs_libyaml
@pytest.mark.parametrize("path", YAML_TEXTS, ids=[p.name for p in YAML_TEXTS])
def test_both_parsers_give_the_same_template(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    with_libyaml = template_text.load_template(text)
    monkeypatch.setattr(template_text, "safe_loader", lambda: yaml.SafeLoader)
    assert template_text.load_template(text) == with_libyaml


@needs_libyaml
@pytest.mark.parametrize("text", ["A: [1, 2", "A: *nowhere", "A: !!python/object:x {}", "\tA: 1"])
def test_both_parsers_refuse_the_same_texts(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    with pytest.raises(TemplateSyntaxError):
        template_text.load_template(text)
    monkeypatch.setattr(template_text, "safe_loader", lambda: yaml.SafeLoader)
    with pytest.raises(TemplateSyntaxError):
        template_text.load_template(text)


def _elf(path: Path, machine: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) + struct.pack("<HH", 3, machine)
    path.write_bytes(header + bytes(44))
    return path


def test_the_bundle_check_keeps_only_allowed_aarch64_extensions(tmp_path: Path) -> None:
    _elf(tmp_path / "yaml" / "_yaml.cpython-313-aarch64-linux-gnu.so", 183)
    assert check_extensions.problems(tmp_path, ["yaml/_yaml*.so"]) == []
    # The macro's bundle allows none.
    assert len(check_extensions.problems(tmp_path, [])) == 1


@pytest.mark.parametrize(("machine", "name"), [(62, "x86_64"), (3, "i386")])
def test_the_bundle_check_refuses_an_extension_of_another_architecture(
    tmp_path: Path, machine: int, name: str
) -> None:
    _elf(tmp_path / "yaml" / f"_yaml.cpython-313-{name}-linux-gnu.so", machine)
    (problem,) = check_extensions.problems(tmp_path, ["yaml/_yaml*.so"])
    assert "not aarch64" in problem
    assert check_extensions.main([str(tmp_path), "yaml/_yaml*.so"]) == 1


def test_the_bundle_check_refuses_a_file_that_is_no_elf(tmp_path: Path) -> None:
    (tmp_path / "yaml").mkdir()
    (tmp_path / "yaml" / "_yaml.so").write_bytes(b"not an ELF file at all")
    assert check_extensions.problems(tmp_path, ["yaml/_yaml*.so"]) != []
