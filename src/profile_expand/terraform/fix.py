"""--fix for Terraform: a role's reference where a profile belongs becomes a profile's, in the attribute's form.

Only the certain case is rewritten: a reference, written at the site itself, to one role of the module
(not counted, not a splat). The profile is the module's aws_iam_instance_profile that holds the role, or
one added after the role's block. Every other byte of every file stays as it was (comments, CRLF).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from profile_expand.core.model import ROLE, Found, wanted_forms
from profile_expand.core.sites import ProfileForm
from profile_expand.terraform.hcl import HclError, SourceFile, Traversal, read
from profile_expand.terraform.judge import judged, module_files, modules_in, profile_for
from profile_expand.terraform.translate import PROFILE, Translation

_HOLDS_ROLE: Final = ("name", "id")


def fixes(paths: Iterable[str]) -> dict[str, str]:
    """Each file to rewrite -> its new text (files that do not parse are left for the lint to report)."""
    rewritten: dict[str, str] = {}
    for folder, named in modules_in(
        path for path in paths if not path.endswith(".json") or path.endswith(".tf.json")
    ).items():
        sources = []
        for path in module_files(folder, named or []):
            try:
                sources.append(read(path))
            except HclError:
                continue
        rewritten.update(fix_module(sources))
    return rewritten


def fix_module(sources: list[SourceFile]) -> dict[str, str]:
    """The module's files with its certain mistakes rewritten (only the files that change)."""
    translation, model = judged(sources)
    texts = {source.path: source.text for source in sources}
    edits: dict[str, list[tuple[int, int, str]]] = {}
    added: dict[str, str] = {}  # role -> the profile added for it
    for found in model.found:
        edit = _edit(found, translation, texts, added)
        if edit is not None:
            path, start, end, replacement = edit
            edits.setdefault(path, []).append((start, end, replacement))
    for role, profile in added.items():
        path, block = translation.resources[role]  # a data source's role is never fixed: see _edit
        text = texts[path]
        newline = "\r\n" if "\r\n" in text else "\n"
        end = block.span.end
        name = profile.split(".", 1)[1]
        resource = (
            f'{newline}{newline}resource "{PROFILE}" "{name}" {{{newline}  role = {role}.name{newline}}}'
        )
        edits.setdefault(path, []).append((end, end, resource))
    result = {}
    for path, changes in edits.items():
        text = texts[path]
        for start, end, replacement in sorted(set(changes), reverse=True):
            text = text[:start] + replacement + text[end:]
        result[path] = text
    return result


def _edit(
    found: Found, translation: Translation, texts: dict[str, str], added: dict[str, str]
) -> tuple[str, int, int, str] | None:
    role = found.role
    if (
        found.kind != ROLE
        or role is None
        or role not in translation.resources
        or role in translation.roles_counted
    ):
        return None
    place = translation.place(found.logical_id, found.path)
    if place is None or place.path.endswith(".json") or place.path not in texts:
        return None
    written = texts[place.path][place.span.start : place.span.end]
    parts = written.strip().split(".")
    if "[" in written or len(parts) != 3 or ".".join(parts[:2]) != role:
        return None  # through a local, indexed or a splat: not certain which profile to write
    profile = _holding(role, translation) or added.get(role) or profile_for(role, translation)
    if profile not in translation.resources:
        added[role] = profile
    wanted = wanted_forms(found.site, found.form)
    form = ProfileForm.NAME if ProfileForm.NAME in wanted else ProfileForm.ARN
    attribute = "name" if form is ProfileForm.NAME else "arn"
    return place.path, place.span.start, place.span.end, f"{profile}.{attribute}"


def _holding(role: str, translation: Translation) -> str | None:
    """The module's profile whose role is this role (by name or id), if any."""
    for address, (_, block) in translation.resources.items():
        if block.labels[0] != PROFILE:
            continue
        written = block.body.attributes.get("role")
        if written is not None and isinstance(written.value, Traversal):
            parts = written.value.parts
            if ".".join(parts[:2]) == role and len(parts) == 3 and parts[2] in _HOLDS_ROLE:
                return address
    return None
