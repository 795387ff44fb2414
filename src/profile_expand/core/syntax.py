"""How findings write what the author wrote and what to write instead: CloudFormation's YAML, or a front end's.

The catalogue (model.py, mistakes.py) says each mistake once; a Syntax only spells its references, so a
Terraform finding has the same code and words as the CloudFormation one, with Terraform's expressions.
"""

# Annotations are evaluated, not postponed (no `from __future__ import annotations`): see sites.py.

from typing import TYPE_CHECKING, Any, Final, NamedTuple

from profile_expand.core import cfn
from profile_expand.core.sites import ProfileForm, Site
from profile_expand.core.text import quote

if TYPE_CHECKING:
    from collections.abc import Callable

    Spell = Callable[[object], str]
    Refer = Callable[[ProfileForm, str], str]
    Name = Callable[[str], str]
    Place = Callable[[Site, ProfileForm | None], str]
    AtSite = Callable[[Any], "Syntax"]
else:
    # At run time the fields' annotations are only read by NamedTuple: plain `object` builds no typing
    # generics in the macro's cold start (subscribing Callable there cost ~2 ms, bench/results.md).
    Spell = Refer = Name = Place = AtSite = object


class Syntax(NamedTuple):
    """The spelling of one input language, for the messages of the catalogue."""

    profile_type: str  # what an instance profile resource is called
    role_type: str  # what a role resource is called
    # How the value written at a site (or in a profile's roles) reads: CloudFormation quotes its JSON.
    written: Spell
    # How a site in `form` refers to the input's profile `profile_id`.
    reference: Refer
    # The profile to suggest for a role (an ID the author may add).
    profile_for: Name
    # How a new profile names its role, e.g. "Roles: [!Ref AppRole]".
    holds_role: Name
    # How a profile's roles entry names a role, e.g. "!Ref AppRole".
    role_reference: Name
    # How a new profile names a role of the account by its name, e.g. "Roles: [app-role]".
    holds_named_role: Name
    # What an instance profile's list of roles is called.
    roles_key: str = cfn.ROLES
    # The IamRole shorthand exists only under the CloudFormation macro.
    shorthand: bool = True
    # How the input names a site's property (form: the {Arn}/{Name} key written, if any); None: as
    # CloudFormation does (IamInstanceProfile, IamInstanceProfile.Arn, option IamInstanceProfile).
    place: Place | None = None
    # Who creates the resources (and may create them in any order nothing fixes).
    engine: str = "CloudFormation"
    # How a resource says it waits for another: CloudFormation's DependsOn, Terraform's depends_on.
    depends_on: Name = lambda resource: f"{cfn.DEPENDS_ON}: {resource}"
    # The spelling at one site (a model.Found leaf), where the input's words depend on what was written
    # there: Terraform quotes the site's own expression (`local.web_role`, not the role's first spelling)
    # and keeps its index on the profile to write (`aws_iam_instance_profile.x[count.index].name`).
    at_site: AtSite | None = None


def for_leaf(syntax: Syntax, found: Any) -> Syntax:
    """The spelling for the findings of one site leaf (model.Found; Any: the model imports this module)."""
    return syntax if syntax.at_site is None else syntax.at_site(found)


def _profile_for(role: str) -> str:
    # model.generated_profile_id, without importing the model here.
    return f"{role}InstanceProfile"


CLOUDFORMATION: Final = Syntax(
    profile_type=cfn.INSTANCE_PROFILE_TYPE,
    role_type=cfn.IAM_ROLE_TYPE,
    written=quote,
    reference=lambda form, profile_id: form.shown(profile_id),
    profile_for=_profile_for,
    holds_role=lambda role: f"{cfn.ROLES}: [!Ref {role}]",
    role_reference=lambda role: f"!Ref {role}",
    holds_named_role=lambda name: f"{cfn.ROLES}: [{name}]",
)
