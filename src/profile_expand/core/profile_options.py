"""Options for generated instance profiles: Path and name, per site and as template-wide defaults.

Per site:  IamRole: {Role: <role or role properties>, Profile: {Path: /apps/, InstanceProfileName: web}}
           Profile: {LogicalId: WebProfile} keeps an existing profile's logical ID (per site only);
           Profile: {Form: Name} (or Arn) names the profile in the other form the property accepts;
           PermissionReadiness: false (beside Role) adds no DependsOn on the role's policies at the site.
Defaults:  Metadata: {ProfileExpand: {ProfileDefaults: {Path: /apps/, NamePrefix: myapp}}}
A NamePrefix gives each profile the name <prefix>-<stack UUID>-<role digest>: unique per stack and region.
"""

# Annotations are evaluated, not postponed (no `from __future__ import annotations`): a NamedTuple
# compiles each string annotation into a ForwardRef, which doubles its cost at cold start.

import re
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

from profile_expand.core import cfn
from profile_expand.core.errors import Diagnostics, Spot
from profile_expand.core.roles import PROFILE_KEY, READINESS_KEY, ROLE_DEFINITION_KEYS, ROLE_KEY, WRAPPER_KEYS
from profile_expand.core.sites import ProfileForm, Site
from profile_expand.core.text import canonical, quote, stem, stem_of_value, unknown_keys_message

PATH_KEY: Final = "Path"
NAME_KEY: Final = cfn.INSTANCE_PROFILE_NAME
NAME_PREFIX_KEY: Final = "NamePrefix"
LOGICAL_ID_KEY: Final = "LogicalId"
FORM_KEY: Final = "Form"
# Form: which accepted form the site names its profile in (Site.form_named): its Name or its Arn.
FORMS: Final = ("Name", "Arn")
DEFAULTS_KEY: Final = "ProfileDefaults"

# IAM's limits: a path is / or /segments/ (512), a profile name 1-128 of [\w+=,.@-].
_IAM_PATH: Final = r"/(?:[\x21-\x7e]{1,510}/)?"
_NAME: Final = r"[\w+=,.@-]{1,128}"
# Room for "-<36-character stack UUID>-<8-character digest>" within the 128 characters of a profile name.
_PREFIX: Final = r"[\w+=,.@-]{1,64}"
# CloudFormation's logical IDs: alphanumeric, at most 255 characters.
_LOGICAL_ID: Final = r"[A-Za-z0-9]{1,255}"


_NO_OPTIONS_KEY: Final = "[null,null,null]"  # canonical([None, None, None])


class ProfileOptions(NamedTuple):
    """What a generated profile looks like beyond its role. None means: not set."""

    path: Any = None
    name: Any = None
    name_prefix: str | None = None
    # The profile's logical ID, chosen by the author (to keep an existing profile's): part of the
    # profile's identity, so uses with different LogicalIds never share a profile.
    logical_id: str | None = None
    # How this site names the profile ("Name" or "Arn"; None: the form the site writes). A site's own
    # choice, never part of the profile's identity: sites naming one profile in two forms share it.
    form: str | None = None

    @property
    def key(self) -> str:
        # Without a LogicalId the key is what it always was: NamePrefix digests derive from it.
        if self.path is None and self.name is None and self.name_prefix is None and self.logical_id is None:
            return _NO_OPTIONS_KEY  # the usual case, asked for at every use
        if self.logical_id is None:
            return canonical([self.path, self.name, self.name_prefix])
        return canonical([self.path, self.name, self.name_prefix, self.logical_id])

    @property
    def named(self) -> bool:
        return self.name is not None or self.name_prefix is not None

    def over(self, defaults: "ProfileOptions") -> "ProfileOptions":
        """These options on top of the template-wide defaults (an explicit name drops the default prefix)."""
        return ProfileOptions(
            path=self.path if self.path is not None else defaults.path,
            name=self.name,
            name_prefix=self.name_prefix
            if self.name is not None or self.name_prefix
            else defaults.name_prefix,
            logical_id=self.logical_id,
            form=self.form,
        )

    def label(self, defaults: "ProfileOptions") -> str:
        """The readable part these options add to a generated logical ID (nothing for the defaults)."""
        parts = []
        if self.name is not None:
            parts.append(stem_of_value(self.name))
        elif self.name_prefix is not None and self.name_prefix != defaults.name_prefix:
            parts.append(stem(self.name_prefix))
        if self.path is not None and self.path != defaults.path:
            parts.append(stem_of_value(self.path))
        return "".join(parts)


NO_OPTIONS: Final = ProfileOptions()


# An IamRole value split: the role part, its path below the IamRole value, the site's profile options,
# and whether permission readiness is on at the site (a site option: never part of the profile's identity).
SiteValue = tuple[object, tuple[str | int, ...], "ProfileOptions", bool]


def split_site_value(value: object, spot: Spot) -> SiteValue | None:
    """An IamRole value -> the role part, its path, the site's profile options and permission readiness
    (None: recorded why not)."""
    if not (
        isinstance(value, dict) and not cfn.is_intrinsic(value) and any(k in WRAPPER_KEYS for k in value)
    ):
        return value, (), NO_OPTIONS, True
    unknown = [key for key in value if key not in WRAPPER_KEYS]
    if unknown:
        mixed = [key for key in unknown if key in ROLE_DEFINITION_KEYS]
        spot.error(
            f"{quote(value)} mixes role properties ({', '.join(mixed)}) with Role/Profile: "
            "put the role properties under Role."
            if mixed
            else unknown_keys_message(unknown, WRAPPER_KEYS, "IamRole with Role/Profile")
        )
        return None
    if ROLE_KEY not in value:
        spot.error("IamRole with Profile options also needs Role: the role to put in it.")
        return None
    options = parse_options(value.get(PROFILE_KEY, {}), spot.below(PROFILE_KEY), SITE_OPTIONS)
    readiness = value.get(READINESS_KEY, True)
    if not isinstance(readiness, bool):
        spot.below(READINESS_KEY).error(
            f"{quote(readiness)} is not true or false: write `{READINESS_KEY}: false` to add no "
            "DependsOn on the role's policies at this site."
        )
        return None
    if options is None:
        return None
    return value[ROLE_KEY], (ROLE_KEY,), options, readiness


# Which options a place takes, and what the author calls them there.
OptionsKind = tuple[tuple[str, ...], str]
SITE_OPTIONS: Final[OptionsKind] = (
    (PATH_KEY, NAME_KEY, NAME_PREFIX_KEY, LOGICAL_ID_KEY, FORM_KEY),
    "Profile options",
)
# Template-wide defaults take no name: two profiles may not share one.
DEFAULT_OPTIONS: Final[OptionsKind] = ((PATH_KEY, NAME_PREFIX_KEY), "ProfileDefaults")


def parse_options(value: object, spot: Spot, kind: OptionsKind) -> ProfileOptions | None:
    """Profile options as written at `spot`, or None after recording every problem with them."""
    allowed, where = kind
    if not isinstance(value, Mapping) or cfn.is_intrinsic(value):
        spot.error(f"{where} must be a mapping with keys {', '.join(allowed)}.")
        return None
    unknown = [key for key in value if key not in allowed]
    ok = not unknown
    if unknown:
        hint = " (template-wide, use NamePrefix: names must be unique)" if NAME_KEY in unknown else ""
        spot.error(unknown_keys_message(unknown, allowed, where) + hint)
    path_value, name, prefix = value.get(PATH_KEY), value.get(NAME_KEY), value.get(NAME_PREFIX_KEY)
    if path_value is not None and not _literal_or_intrinsic(path_value, _IAM_PATH):
        spot.below(PATH_KEY).error(
            f"{quote(path_value)} is not an IAM path: write / or /one/or/more/segments/."
        )
        ok = False
    if name is not None and not _literal_or_intrinsic(name, _NAME):
        spot.below(NAME_KEY).error(
            f"{quote(name)} is not a valid instance profile name (1-128 letters, digits and +=,.@_-)."
        )
        ok = False
    if prefix is not None and not (isinstance(prefix, str) and re.fullmatch(_PREFIX, prefix)):
        spot.below(NAME_PREFIX_KEY).error(
            f"{quote(prefix)} is not a valid NamePrefix: a literal of 1-64 letters, digits and +=,.@_- "
            "(the rest of the name is the stack's UUID and a digest)."
        )
        ok = False
    profile_id = value.get(LOGICAL_ID_KEY)
    if profile_id is not None and not (isinstance(profile_id, str) and re.fullmatch(_LOGICAL_ID, profile_id)):
        spot.below(LOGICAL_ID_KEY).error(
            f"{quote(profile_id)} is not a logical ID: write 1-255 letters and digits, literally."
        )
        ok = False
    form = value.get(FORM_KEY)
    if form is not None and form not in FORMS:
        spot.below(FORM_KEY).error(
            f"{quote(form)} is not a form: write {FORM_KEY}: Name or {FORM_KEY}: Arn (how the site names "
            "the profile), or leave it out for the form the site is written in by default."
        )
        ok = False
    if name is not None and prefix is not None:
        spot.error(f"set {NAME_KEY} or {NAME_PREFIX_KEY}, not both.")
        ok = False
    if not ok:
        return None
    return ProfileOptions(path=path_value, name=name, name_prefix=prefix, logical_id=profile_id, form=form)


def template_defaults(template: Mapping[str, Any], diagnostics: Diagnostics) -> ProfileOptions:
    """Metadata.ProfileExpand.ProfileDefaults, the options every generated profile starts from."""
    metadata = template.get(cfn.METADATA)
    ours = metadata.get(cfn.METADATA_KEY) if isinstance(metadata, Mapping) else None
    if not isinstance(ours, Mapping) or DEFAULTS_KEY not in ours:
        return NO_OPTIONS
    spot = diagnostics.at("", (cfn.METADATA, cfn.METADATA_KEY, DEFAULTS_KEY))
    return parse_options(ours[DEFAULTS_KEY], spot, DEFAULT_OPTIONS) or NO_OPTIONS


def with_required_prefix(options: ProfileOptions, prefix: str, spot: Spot) -> ProfileOptions:
    """A service demands profile names starting with `prefix`: apply it, or report a name that cannot match."""
    if isinstance(options.name, str) and not options.name.startswith(prefix):
        spot.error(f"the instance profile name {quote(options.name)} must start with {prefix} here.")
    if options.name is None and not (options.name_prefix or "").startswith(prefix):
        if options.name_prefix is not None and options.name_prefix != prefix:
            spot.error(f"the NamePrefix {quote(options.name_prefix)} must start with {prefix} here.")
        return options._replace(name_prefix=prefix)
    return options


def site_form(options: ProfileOptions, site: Site, spot: Spot) -> ProfileForm | None:
    """The form the site names its profile in: Profile Form if the property accepts it, else the site's
    own (None: recorded that the property does not take that form)."""
    form = site.form_named(options.form)
    if form is None:
        accepted = " or ".join(f"{FORM_KEY}: {key}" for key in FORMS if site.form_named(key) is not None)
        spot.below(PROFILE_KEY, FORM_KEY).error(
            f"{site.profile_property} does not take the profile's {options.form}: write {accepted}, or "
            f"leave {FORM_KEY} out."
        )
    return form


def _literal_or_intrinsic(value: object, pattern: str) -> bool:
    if isinstance(value, str):
        return re.fullmatch(pattern, value) is not None
    return isinstance(value, dict) and cfn.is_intrinsic(value)


def stack_unique_name(prefix: str, digest: str) -> dict[str, Any]:
    """<prefix>-<the stack ID's UUID>-<digest>: unique per stack and region, at most 64 characters."""
    stack_uuid = {cfn.FN_SELECT: [2, {cfn.FN_SPLIT: ["/", cfn.ref(cfn.STACK_ID)]}]}
    return {cfn.FN_JOIN: ["-", [prefix, stack_uuid, digest]]}
