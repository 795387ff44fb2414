"""The core's findings on Terraform: modules found under the paths given, translated, judged once, located.

Each folder holding .tf files is one module, its files judged together; a file named alone is judged
with the rest of its folder and reported for itself. A file the parser cannot read is one located error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final, NamedTuple

from profile_expand.core.account import Iam, ProfileFacts, RoleFacts, asked, judge_in_account
from profile_expand.core.errors import ERROR, ROLE_AS_PROFILE, Finding
from profile_expand.core.model import Found, Model
from profile_expand.core.pipeline import analyse
from profile_expand.core.sites import ProfileForm, Site
from profile_expand.core.syntax import Syntax
from profile_expand.core.text import quote
from profile_expand.terraform.hcl import HclError, SourceFile, read
from profile_expand.terraform.plan import read_plan
from profile_expand.terraform.references import counted_by, role_block, role_target
from profile_expand.terraform.translate import PROFILE, ROLE, Translation, translate

SUFFIXES: Final = (".tf", ".tf.json")
PARSE_ERROR: Final = "E0000"  # cfn-lint's code for a file it cannot parse
# Folders that are not the author's modules: Terraform's downloads, version control.
_SKIPPED: Final = (".terraform", ".git", ".terragrunt-cache")


class Located(NamedTuple):
    """One finding at a file's line: what the command line prints."""

    code: str
    severity: str
    path: str
    line: int
    column: int
    message: str
    finding: Finding | None = None  # None for a file that could not be read


def is_terraform(path: str) -> bool:
    return path.endswith(SUFFIXES)


def modules_in(paths: Iterable[str]) -> dict[str, list[str] | None]:
    """Each module folder -> the files to report (None: all of them), from files and folders given."""
    modules: dict[str, list[str] | None] = {}
    for name in paths:
        path = Path(name)
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                if found.is_file() and is_terraform(found.name) and not _skipped(found, path):
                    modules[str(found.parent)] = None
        else:
            folder = str(path.parent)
            if modules.get(folder, []) is not None:
                modules.setdefault(folder, [])
                named = modules[folder]
                assert named is not None
                named.append(str(path))
    return modules


def _skipped(found: Path, root: Path) -> bool:
    return any(part in _SKIPPED for part in found.relative_to(root).parts[:-1])


def module_files(folder: str, named: Sequence[str]) -> list[str]:
    """The module's files: those of the folder, and any named file that lies elsewhere."""
    inside = sorted(str(p) for p in Path(folder).iterdir() if p.is_file() and is_terraform(p.name))
    extra = [name for name in named if name not in inside and Path(name).is_file()]
    return inside + extra if Path(folder).is_dir() else extra


def lint_paths(paths: Iterable[str], iam: Iam | None = None) -> list[Located]:
    """Every finding of every module under `paths`, in file and line order; with `iam`, also what the
    account says of the literal names and ARNs (--ask-iam)."""
    located: list[Located] = []
    paths = list(paths)
    for plan in (path for path in paths if is_plan_file(path)):
        try:
            source = read_plan(plan)
        except HclError as error:
            located.append(Located(PARSE_ERROR, ERROR, error.path, error.line, error.column, error.message))
            continue
        located.extend(lint_module([source], plan=True, iam=iam))
    for folder, named in modules_in(path for path in paths if not is_plan_file(path)).items():
        files = module_files(folder, named or [])
        reported = set(named) if named is not None else set(files)
        sources: list[SourceFile] = []
        for path in files:
            try:
                sources.append(read(path))
            except HclError as error:
                if path in reported or not Path(path).exists():
                    located.append(
                        Located(PARSE_ERROR, ERROR, error.path, error.line, error.column, error.message)
                    )
        missing = [name for name in reported if not Path(name).is_file()]
        for name in missing:
            located.append(Located(PARSE_ERROR, ERROR, name, 1, 1, "no such file"))
        located.extend(item for item in lint_module(sources, iam=iam) if item.path in reported)
    return sorted(located, key=lambda item: (item.path, item.line, item.code))


def is_plan_file(path: str) -> bool:
    return path.endswith(".json") and not path.endswith(".tf.json")


def lint_module(
    sources: Sequence[SourceFile], *, plan: bool = False, iam: Iam | None = None
) -> list[Located]:
    """The findings of one module (of a plan: every message names the resource's address)."""
    translation, model = judged(sources)
    located = []
    findings = list(model.findings)
    if iam is not None:
        findings.extend(in_account(model, iam, terraform_syntax(translation)))
    for finding in dict.fromkeys(findings):
        place = translation.place(finding.logical_id, finding.path)
        if place is None:
            continue
        # E9001 names what was written; in a plan nothing was written there but the resource's address.
        named = finding.code != ROLE_AS_PROFILE or plan
        message = f"{finding.logical_id}: {finding.message}" if named else finding.message
        located.append(
            Located(
                finding.code,
                finding.severity,
                place.path,
                place.span.line,
                place.span.column,
                message,
                finding,
            )
        )
    return located


def in_account(model: Model, iam: Iam, syntax: Syntax) -> list[Finding]:
    """The guard's account check of each literal name or ARN at a site (what the module creates is not
    asked about: the core's asked() leaves out its profiles and roles). IAM trouble raises GuardUnavailable."""
    findings: list[Finding] = []
    answers: dict[str, tuple[ProfileFacts | None, RoleFacts | None]] = {}
    for leaf in model.found:
        name = asked(leaf)
        if name is None:
            continue
        if name.name not in answers:
            profile = iam.instance_profile(name.name)
            answers[name.name] = (profile, iam.role(name.name) if profile is None else None)
        profile, role = answers[name.name]
        findings.extend(judge_in_account(leaf, name, profile, role, syntax=syntax))
    return findings


def judged(sources: Sequence[SourceFile]) -> tuple[Translation, Model]:
    """One module translated, and the core's account of it."""
    translation = translate(sources)
    return translation, analyse(
        translation.template, transform_declared=False, syntax=terraform_syntax(translation)
    )


def profile_for(role: str, translation: Translation) -> str:
    """The profile to write for a role: aws_iam_instance_profile.<the role's name in the module>."""
    name = role.rsplit(".", 1)[-1]
    candidate = f"{PROFILE}.{name}"
    if candidate in translation.resources:
        candidate = f"{PROFILE}.{name}_profile"
    return candidate


def terraform_syntax(translation: Translation) -> Syntax:
    def written(value: object) -> str:
        from profile_expand.core.text import canonical

        return translation.texts.get(canonical(value), quote(value))

    def reference(form: ProfileForm, profile: str) -> str:
        return f"{profile}.{'arn' if form in (ProfileForm.ARN, ProfileForm.ARN_OBJECT) else 'name'}"

    spelled = Syntax(
        profile_type=PROFILE,
        role_type=ROLE,
        written=written,
        reference=reference,
        profile_for=lambda role: profile_for(role, translation),
        holds_role=lambda role: holds_role(role, translation),
        role_reference=lambda role: f"{role}.name",
        holds_named_role=lambda name: f'role = "{name}"',
        roles_key="role",
        shorthand=False,
        place=place,
        engine="Terraform",
        depends_on=lambda resource: f"depends_on = [{resource}]",
    )
    return spelled._replace(at_site=lambda found: _at_site(found, spelled, translation))


def _at_site(found: Found, base: Syntax, translation: Translation) -> Syntax:
    """The spelling at one site: its own expression quoted (not the first spelling of the same role
    elsewhere in the module), and the index written after the role kept on the profile to write.
    A leaf below the attribute (under Fn::If, {Arn}/{Name}) is not the expression written: `base`."""
    place = translation.place(found.logical_id, found.path)
    written = place.text if place is not None else None
    if written is None or found.steps:
        return base
    leaf = found.value
    target = role_target(written, translation)
    index = f"[{target.at}]" if target is not None and target.at not in (None, "*") else ""

    def quoted(value: object) -> str:
        return written if value == leaf else base.written(value)

    def reference(form: ProfileForm, profile: str) -> str:
        return base.reference(form, f"{profile}{index}")

    return base._replace(written=quoted, reference=reference)


def holds_role(role: str, translation: Translation) -> str:
    """What a profile of the role writes (inside a message's backticks): with the role's own count or
    for_each, so that profile i holds role i."""
    counted = counted_by(role_block(role, translation))
    role = in_module(role)
    if counted == "count":
        return f"count = length({role})` and `role = {role}[count.index].name"
    if counted == "for_each":
        return f"for_each = {role}` and `role = each.value.name"
    return f"role = {role}.name"


def in_module(address: str) -> str:
    """A plan's address as its module's own code writes it: module.web.aws_iam_role.this -> aws_iam_role.this."""
    parts = address.split(".")
    while len(parts) > 2 and parts[0] == "module":
        parts = parts[2:]
    return ".".join(parts)


def place(site: Site, form: ProfileForm | None) -> str:
    """The provider's attribute for a site, as a message names it: iam_instance_profile.arn, ..."""
    attributes = site.terraform
    if not attributes:
        return site.profile_property
    chosen = next((a for a in attributes if form is not None and a.key == form.key), attributes[0])
    if chosen.option_setting:
        return f"setting {site.profile_property}"
    return ".".join((*chosen.blocks, chosen.attribute))
