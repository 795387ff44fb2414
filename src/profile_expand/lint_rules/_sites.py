"""What the ProfileExpand cfn-lint rules share: walking a resource to its sites, the Transform, the core.

A private module (cfn-lint's directory loader skips files starting with "_"): rule files import it as a
module, never its names, so that loading a rule file never registers a rule twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeGuard

from cfnlint.template import Template  # type: ignore[import-untyped]

from profile_expand import cfn, sites
from profile_expand.core import Expansion, expand_with_report
from profile_expand.errors import InvalidTemplateError
from profile_expand.sites import Site, SiteKind, sites_for

Path = tuple[str | int, ...]

# The rules' source_url: the README section that documents them.
SOURCE_URL = "https://github.com/profile-expand/profile-expand#lint-rules"
OPTION_NAME = "OptionName"
OPTION_VALUE = "Value"
OPTION_NAMESPACE = "Namespace"


def has_transform(template: Template) -> bool:
    """The template's Transform lists ProfileExpand (as written, before cfn-lint's own transforms)."""
    declared = template.transform_pre.get(cfn.TRANSFORM, [])
    return any(isinstance(name, str) and name == cfn.TRANSFORM_NAME for name in declared)


def expansion(template: Template) -> Expansion | InvalidTemplateError:
    """What the macro does with this template: its expansion, or the errors it would answer with.

    cfn-lint does not know the ProfileExpand transform and leaves the template as written (after the
    transforms it does apply, such as AWS::LanguageExtensions), which is what the macro receives.
    """
    try:
        return expand_with_report(plain(template.template))
    except InvalidTemplateError as error:
        return error


def plain(value: Any) -> Any:
    """A copy of a decoded template made of plain dict, list and str.

    cfn-lint's node types (which carry positions) would otherwise show in the macro's messages, which
    name a value's type when it is the wrong one.
    """
    if isinstance(value, Mapping):
        return {plain(key): plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value


def site_resources(template: Template) -> Iterator[tuple[str, Mapping[str, Any], Site]]:
    """(logical ID, resource, site) for every resource whose type has a site, each site in table order."""
    resources = template.template.get(cfn.RESOURCES)
    if not isinstance(resources, Mapping):
        return
    for logical_id, resource in resources.items():
        if not (isinstance(logical_id, str) and isinstance(resource, Mapping)):
            continue
        resource_type = resource.get(cfn.TYPE)
        if isinstance(resource_type, str):
            for site in sites_for(resource_type):
                yield logical_id, resource, site


def containers(node: object, steps: tuple[str, ...], path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """The site's containers, following Fn::If into both branches (either may be deployed)."""
    return sites.containers(node, steps, path, through_fn_if=True)


def option_entries(site: Site, settings: object, path: Path) -> Iterator[tuple[Path, Mapping[str, Any]]]:
    """The entries of an OptionSettings list in the site's namespace, with their paths."""
    if not isinstance(settings, list):
        return
    for position, entry in enumerate(settings):
        if isinstance(entry, Mapping) and entry.get(OPTION_NAMESPACE) == site.option_namespace:
            yield (*path, position), entry


def profile_values(resource: Mapping[str, Any], site: Site) -> Iterator[tuple[Path, Any]]:
    """(path below the resource, value) of every profile property the site has in this resource."""
    for path, container in containers(resource, site.container):
        if site.kind is SiteKind.OPTION_SETTING:
            for entry_path, entry in option_entries(site, container, path):
                if entry.get(OPTION_NAME) == site.profile_property and OPTION_VALUE in entry:
                    yield (*entry_path, OPTION_VALUE), entry[OPTION_VALUE]
        elif isinstance(container, Mapping) and site.profile_property in container:
            yield (*path, site.profile_property), container[site.profile_property]


def shorthand_paths(resource: Mapping[str, Any], site: Site) -> Iterator[Path]:
    """The path of every IamRole shorthand written on the site in this resource."""
    for path, container in containers(resource, site.container):
        if site.kind is SiteKind.OPTION_SETTING:
            for entry_path, entry in option_entries(site, container, path):
                if entry.get(OPTION_NAME) == cfn.IAM_ROLE_SHORTHAND:
                    yield (*entry_path, OPTION_NAME)
        elif isinstance(container, Mapping) and cfn.IAM_ROLE_SHORTHAND in container:
            yield (*path, cfn.IAM_ROLE_SHORTHAND)


def match_path(logical_id: str, path: Path) -> list[str | int]:
    """A cfn-lint match path (from the template root) for a path below a resource.

    Problems of the whole template (no logical ID) point at its Transform, the macro's entry point.
    """
    if logical_id:
        return [cfn.RESOURCES, logical_id, *path]
    return [cfn.TRANSFORM, *path]


def is_fn_if(node: object) -> TypeGuard[Mapping[str, Any]]:
    """A well-formed {"Fn::If": [condition, when_true, when_false]}."""
    if not (isinstance(node, Mapping) and len(node) == 1 and cfn.FN_IF in node):
        return False
    branches = node[cfn.FN_IF]
    return isinstance(branches, list) and len(branches) == 3
