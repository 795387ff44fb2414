"""Which DependsOn entries `profile-expand migrate` drops or moves when a profile becomes IamRole: an entry
a site's reference implies goes; the profile's own, which nothing implies, moves to the sites' resources."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from profile_expand.cli.migrate_compare import _dependencies
from profile_expand.core import cfn
from profile_expand.core.readiness import depends_on_list
from profile_expand.core.sites import ProfileForm

if TYPE_CHECKING:  # migrate imports this module: its types are for annotations only
    from profile_expand.cli.migrate import Conversion, Slot


def _movable_depends_on(
    template: Mapping[str, Any], profile: str, users: list[Slot]
) -> tuple[str, ...] | None:
    """The profile's own DependsOn that no reference of it implies, when each resource using the profile
    can carry it instead (a DependsOn list or none; each dependency unconditional or under the user's own
    Condition): the sites then still wait for it, through no profile. None when one cannot."""
    resources = template[cfn.RESOURCES]
    resource = resources[profile]
    own = depends_on_list(resource)
    implied = _dependencies({cfn.PROPERTIES: resource.get(cfn.PROPERTIES)}, resources)
    unimplied = tuple(name for name in own or [] if name not in implied)
    if own is None or not users:
        return None
    for logical_id in dict.fromkeys(slot.logical_id for slot in users):
        user = resources[logical_id]
        if depends_on_list(user) is None:
            return None
        for name in unimplied:
            condition = (
                resources[name].get(cfn.CONDITION) if isinstance(resources.get(name), Mapping) else None
            )
            if name == logical_id or condition not in (None, user.get(cfn.CONDITION)):
                return None
    return unimplied


def moved_depends_on(template: Mapping[str, Any], conversion: Conversion) -> dict[str, list[str]]:
    """Each site resource's DependsOn with the conversion's moved dependencies added (those it lacks)."""
    resources = template[cfn.RESOURCES]
    changed: dict[str, list[str]] = {}
    if not conversion.moved:
        return changed
    for logical_id in dict.fromkeys(slot.logical_id for slot in conversion.slots):
        current = depends_on_list(resources[logical_id]) or []
        added = [name for name in conversion.moved if name not in current]
        if added:
            changed[logical_id] = [*current, *added]
    return changed


def moved_from(conversions: tuple[Conversion, ...]) -> dict[str, tuple[str, ...]]:
    """profile -> the DependsOn its conversion moves to the sites' resources (differences allows it)."""
    return {c.profile: c.moved for c in conversions if c.moved}


def _implied_depends_on(
    template: Mapping[str, Any], profile: str, uses: list[tuple[Slot, ProfileForm]]
) -> tuple[str, ...]:
    """The resources whose DependsOn names the profile and that also name it at a site (the reference the
    macro writes there keeps the order): that DependsOn entry goes with the profile."""
    resources = template[cfn.RESOURCES]
    users = dict.fromkeys(slot.logical_id for slot, _ in uses)
    return tuple(lid for lid in users if profile in (depends_on_list(resources[lid]) or []))
