"""--fix for Terraform: a role's reference where a profile belongs becomes a profile's, in the attribute's form.

Only the certain cases are rewritten: a reference to one role of the module (a resource or a data source;
counted or for_each'd with the index written, or through a local that is a plain reference). The profile
is the module's aws_iam_instance_profile holding that role with the same indexing, or one added after the
role's block with the role's own count or for_each. Every other byte of every file stays (comments, CRLF).
What is not certain is left as written, with the reason and what to write (Fixes.left).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, NamedTuple

from profile_expand.core.model import ROLE, Found, wanted_forms
from profile_expand.core.sites import ProfileForm
from profile_expand.terraform.hcl import Block, HclError, SourceFile, read
from profile_expand.terraform.judge import is_plan_file, judged, module_files, modules_in, profile_for
from profile_expand.terraform.references import SPACE, counted_by, role_block, role_target
from profile_expand.terraform.translate import PROFILE, Translation

_HOLDS_ROLE: Final = ("name", "id")
PLAN_IS_NOT_SOURCE: Final = (
    "a plan is not source: --fix changes nothing in it; fix the module the plan was made from "
    "(profile-expand lint --fix <its folder>), then plan again"
)


class Left(NamedTuple):
    """A role where a profile belongs that --fix did not rewrite: where, and why (with what to write)."""

    path: str
    line: int
    column: int
    reason: str


class Fixes(NamedTuple):
    texts: dict[str, str]  # each file to rewrite -> its new text
    left: list[Left]


def fixes(paths: Iterable[str]) -> Fixes:
    """The files to rewrite (files that do not parse are left for the lint to report), and what is left."""
    paths = list(paths)
    rewritten: dict[str, str] = {}
    left = [Left(path, 1, 1, PLAN_IS_NOT_SOURCE) for path in paths if is_plan_file(path)]
    for folder, named in modules_in(path for path in paths if not is_plan_file(path)).items():
        sources = []
        for path in module_files(folder, named or []):
            try:
                sources.append(read(path))
            except HclError:
                continue
        module = fix_module(sources)
        rewritten.update(module.texts)
        reported = set(named) if named is not None else {source.path for source in sources}
        left.extend(item for item in module.left if item.path in reported)
    return Fixes(rewritten, sorted(left))


def fix_module(sources: list[SourceFile]) -> Fixes:
    """The module's files with its certain mistakes rewritten (only the files that change)."""
    translation, model = judged(sources)
    texts = {source.path: source.text for source in sources}
    edits: dict[str, list[tuple[int, int, str]]] = {}
    added: dict[str, str] = {}  # role -> the profile added for it
    left: list[Left] = []
    for found in model.found:
        if found.kind != ROLE:
            continue
        edit = _edit(found, translation, texts, added)
        if isinstance(edit, Left):
            left.append(edit)
        elif edit is not None:
            path, start, end, replacement = edit
            edits.setdefault(path, []).append((start, end, replacement))
    for role, profile in added.items():
        path, block = _block(role, translation)
        edits.setdefault(path, []).append(
            (block.span.end, block.span.end, _resource(role, profile, block, texts[path]))
        )
    result = {}
    for path, changes in edits.items():
        text = texts[path]
        for start, end, replacement in sorted(set(changes), reverse=True):
            text = text[:start] + replacement + text[end:]
        result[path] = text
    return Fixes(result, left)


def _edit(
    found: Found, translation: Translation, texts: dict[str, str], added: dict[str, str]
) -> tuple[str, int, int, str] | Left | None:
    place = translation.place(found.logical_id, found.path)
    if place is None or place.path not in texts:
        return None
    written = texts[place.path][place.span.start : place.span.end].strip()
    where = (place.path, place.span.line, place.span.column)
    wanted = wanted_forms(found.site, found.form)
    attribute = "name" if ProfileForm.NAME in wanted else "arn"
    role = found.role
    if role is None or role_block(role, translation) is None:
        return Left(
            *where,
            "not rewritten: the role is not one this module declares, so no profile of it can be added here; write the name (or ARN) of an instance profile that holds it",
        )
    suggestion = f"{profile_for(role, translation)}.{attribute}"
    if place.path.endswith(".json"):
        return Left(
            *where,
            f"not rewritten: --fix leaves Terraform's JSON syntax (.tf.json) as written; add an {PROFILE} holding {role} and write `${{{suggestion}}}` here",
        )
    target = role_target(written, translation)
    if target is None or target.role != role:
        return Left(
            *where,
            f"not rewritten: `{written}` is not a plain reference to one role; write a reference to an {PROFILE} holding {role} (`{suggestion}`)",
        )
    if target.at == "*":
        return Left(
            *where,
            f"not rewritten: the splat `{written}` names every instance of {role}; add an {PROFILE} with the role's count or for_each and write the one you mean (e.g. `{profile_for(role, translation)}[0].{attribute}`)",
        )
    counting = counted_by(role_block(role, translation))
    if (counting is None) != (target.at is None):
        return Left(
            *where,
            f"not rewritten: `{written}` and {role}'s count/for_each do not agree; fix the index first",
        )
    held = _holding(role, counting, target.at, translation)
    if held is not None:
        profile, index = held
    else:
        profile, index = added.get(role) or _new_profile(role, translation, added), target.at
        added[role] = profile
    indexed = f"[{index}]" if index is not None else ""
    return place.path, place.span.start, place.span.end, f"{profile}{indexed}.{attribute}"


def _block(role: str, translation: Translation) -> tuple[str, Block]:
    return translation.data[role] if role.startswith("data.") else translation.resources[role]


def _text(value: Any) -> str:
    """An expression as written, without its spaces (a Traversal, Call or Other), for comparing."""
    written = getattr(value, "text", None)
    return SPACE.sub("", written) if isinstance(written, str) else repr(value)


def _holding(
    role: str, counting: str | None, index: str | None, translation: Translation
) -> tuple[str, str | None] | None:
    """The module's profile holding this role with the same indexing, and the index to write after it."""
    declared = role_block(role, translation)
    assert declared is not None
    for address, (_, block) in translation.resources.items():
        if block.labels[0] != PROFILE or "role" not in block.body.attributes:
            continue
        held = _text(block.body.attributes["role"].value)
        mine = counted_by(block)
        if counting is None and mine is None:
            if held in (f"{role}.{attribute}" for attribute in _HOLDS_ROLE):
                return address, None
        elif counting == "count" and mine == "count":
            if held in (f"{role}[count.index].{attribute}" for attribute in _HOLDS_ROLE):
                return address, index  # profile i holds role i
            same_count = _text(block.body.attributes["count"].value) == _text(
                declared.body.attributes["count"].value
            )
            if same_count and index == "0" and held in (f"{role}[0].{a}" for a in _HOLDS_ROLE):
                return (
                    address,
                    "0",
                )  # terraform-aws-modules' habit: both exist together, profile 0 holds role 0
        elif counting == "for_each" and mine == "for_each":
            over = _text(block.body.attributes["for_each"].value)
            holds = (
                *(f"each.value.{a}" for a in _HOLDS_ROLE),
                *(f"{role}[each.key].{a}" for a in _HOLDS_ROLE),
            )
            if over == role and held in holds:
                return address, index
    return None


def _new_profile(role: str, translation: Translation, added: dict[str, str]) -> str:
    profile = profile_for(role, translation)
    while profile in translation.resources or profile in added.values():
        profile += "_profile"
    return profile


def _resource(role: str, profile: str, block: Block, text: str) -> str:
    """The profile's block, written after the role's with the role's own count or for_each."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = {
        None: [f"role = {role}.name"],
        "count": [f"count = length({role})", f"role  = {role}[count.index].name"],
        "for_each": [f"for_each = {role}", "role     = each.value.name"],
    }[counted_by(block)]
    body = "".join(f"  {line}{newline}" for line in lines)
    name = profile.split(".", 1)[1]
    return f'{newline}{newline}resource "{PROFILE}" "{name}" {{{newline}{body}}}'
