"""A Terraform module read as the core reads a template: its roles, profiles and sites, addressed as Terraform does.

Each resource becomes a resource of the CloudFormation type its site row names, under its Terraform
address; references become Ref and GetAtt of those addresses; what Terraform decides at apply time
(variables, module outputs, other expressions) becomes a Ref to nothing, which the core leaves alone.
The core then judges it once, and Places map each finding back to the file and line it came from.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final, NamedTuple

from profile_expand.core import cfn
from profile_expand.core.sites import EACH, SITES, ProfileForm, Site, TerraformAttribute
from profile_expand.core.text import Path, canonical
from profile_expand.terraform.hcl import Block, Body, Call, Other, SourceFile, Span, Traversal

ROLE: Final = "aws_iam_role"
PROFILE: Final = "aws_iam_instance_profile"
POLICY_DOCUMENT: Final = "aws_iam_policy_document"
_NAME_ATTRIBUTES: Final = ("name", "id", "unique_id")
_UNKNOWN: Final = "?"  # a Ref to "?<expression>": a value decided at apply time (no resource has this ID)
_LOCAL_DEPTH: Final = 8
_TYPES: Final = {ROLE: cfn.IAM_ROLE_TYPE, PROFILE: cfn.INSTANCE_PROFILE_TYPE}


class Place(NamedTuple):
    path: str
    span: Span
    text: str | None = None  # at a site: the expression as written (a reference, a call...); None: a literal


class Translation(NamedTuple):
    template: dict[str, Any]
    places: dict[tuple[str, Path], Place]  # (address, path below the resource) -> where it was written
    texts: dict[str, str]  # canonical JSON of a translated value -> the Terraform text it came from
    resources: dict[str, tuple[str, Block]]  # address -> (file, block)
    roles_counted: frozenset[str]  # roles with count or for_each (one profile each would need the same)
    data: dict[str, tuple[str, Block]]  # data.<type>.<name> -> (file, block)
    locals: dict[str, Any]  # each local's value as written

    def place(self, address: str, path: Path) -> Place | None:
        """Where the value at `path` of a resource was written: the nearest enclosing place recorded."""
        for cut in range(len(path), -1, -1):
            found = self.places.get((address, tuple(path[:cut])))
            if found is not None:
                return found
        return None


def _expression_text(value: Any) -> str | None:
    text = getattr(value, "text", None)  # a Traversal, Call or Other keeps its text; a literal has none
    return text.strip() if isinstance(text, str) else None


def unknown(text: str) -> dict[str, str]:
    return {cfn.REF: _UNKNOWN + text}


def awscc_type(resource_type: str) -> str:
    """The awscc provider's name for a CloudFormation type: the service in lower case, the resource in
    snake case (AWS::AutoScaling::LaunchConfiguration -> awscc_autoscaling_launch_configuration)."""
    _, service, kind = resource_type.split("::")
    return f"awscc_{service.lower()}_{snake(kind)}"


def snake(name: str) -> str:
    """CloudFormation's property name as the awscc provider spells it: CustomIAMInstanceProfile ->
    custom_iam_instance_profile, Ec2InstanceProfileArn -> ec2_instance_profile_arn."""
    out: list[str] = []
    for position, char in enumerate(name):
        before = name[position - 1] if position else ""
        after = name[position + 1] if position + 1 < len(name) else ""
        if char.isupper() and position and (before.islower() or before.isdigit() or after.islower()):
            out.append("_")
        out.append(char.lower())
    return "".join(out)


_NATIVE: Final = {attribute.resource_type: site for site in SITES for attribute in site.terraform}
_AWSCC: Final = {awscc_type(site.resource_type): site for site in SITES}


def site_attributes(resource_type: str) -> list[tuple[Site, TerraformAttribute | None]]:
    """The sites a Terraform resource type has: (row, its AWS provider attribute; None for awscc)."""
    if resource_type.startswith("awscc_"):
        return [(site, None) for site in SITES if awscc_type(site.resource_type) == resource_type]
    return [(site, attr) for site in SITES for attr in site.terraform if attr.resource_type == resource_type]


def is_site_type(resource_type: str) -> bool:
    return resource_type in _NATIVE or resource_type in _AWSCC


class _Module:
    def __init__(self, files: Iterable[SourceFile]) -> None:
        self.template: dict[str, Any] = {cfn.RESOURCES: {}}
        self.places: dict[tuple[str, Path], Place] = {}
        self.texts: dict[str, str] = {}
        self.resources: dict[str, tuple[str, Block]] = {}
        self.data: dict[str, tuple[str, Block]] = {}
        self.locals: dict[str, Any] = {}
        self.counted: set[str] = set()
        for source in files:
            for block in source.body.blocks:
                if block.type == "resource" and len(block.labels) == 2:
                    self.resources[block.address or ".".join(block.labels)] = (source.path, block)
                elif block.type == "data" and len(block.labels) == 2:
                    self.data[block.address or "data." + ".".join(block.labels)] = (source.path, block)
                elif block.type == "locals":
                    self.locals.update({k: a.value for k, a in block.body.attributes.items()})

    def run(self) -> Translation:
        out = self.template[cfn.RESOURCES]
        for address, (_, block) in self.data.items():
            if block.labels[0] == ROLE:
                # A role of the account: its name and trust are IAM's (--ask-iam), never guessed here.
                out[address] = {cfn.TYPE: cfn.IAM_ROLE_TYPE, cfn.PROPERTIES: {}}
            elif block.labels[0] == PROFILE:
                out[address] = {cfn.TYPE: cfn.INSTANCE_PROFILE_TYPE, cfn.PROPERTIES: {}}
        # Every role and profile first: a site may name one written further down, or in another file.
        for address, (_, block) in self.resources.items():
            if block.labels[0] in _TYPES:
                out[address] = {cfn.TYPE: _TYPES[block.labels[0]], cfn.PROPERTIES: {}}
        for address, (path, block) in self.resources.items():
            kind = block.labels[0]
            self.places[(address, ())] = Place(path, block.span)
            if kind == ROLE:
                out[address] = self._role(address, path, block.body)
                if {"count", "for_each"} & block.body.attributes.keys():
                    self.counted.add(address)
            elif kind == PROFILE:
                out[address] = self._profile(address, path, block.body)
            elif kind.startswith("awscc_") and kind in _AWSCC:
                out[address] = self._awscc(address, path, block.body, _AWSCC[kind])
            elif kind in _NATIVE:
                out[address] = self._native(address, path, block.body, kind)
        return Translation(
            self.template,
            self.places,
            self.texts,
            self.resources,
            frozenset(self.counted),
            self.data,
            self.locals,
        )

    # -- values ---------------------------------------------------------------------------------------

    def value(self, value: Any, depth: int = 0) -> Any:
        """A Terraform value as the core reads a CloudFormation one."""
        if isinstance(value, Traversal):
            return self._reference(value, depth)
        if isinstance(value, (Call, Other)):
            return unknown(value.text)
        if isinstance(value, dict):
            return {key: self.value(item, depth) for key, item in value.items()}
        if isinstance(value, list):
            return [self.value(item, depth) for item in value]
        return value

    def _reference(self, reference: Traversal, depth: int) -> Any:
        parts = reference.parts
        if parts[0] == "local" and len(parts) == 2 and parts[1] in self.locals and depth < _LOCAL_DEPTH:
            local = self.locals[parts[1]]
            if isinstance(local, Traversal):  # a plain reference: the local is that value
                translated = self.value(local, depth + 1)
                self.texts.setdefault(canonical(translated), reference.text)
                return translated
            return unknown(reference.text)
        address, attribute = self._address(parts)
        kind = self.template[cfn.RESOURCES].get(address, {}).get(cfn.TYPE)
        if kind in (cfn.IAM_ROLE_TYPE, cfn.INSTANCE_PROFILE_TYPE) and attribute in (*_NAME_ATTRIBUTES, "arn"):
            # unique_id is the role's ID (AROA...): no profile either, the same mistake as its name.
            named: Any = cfn.get_att(address, cfn.ARN_ATTRIBUTE) if attribute == "arn" else cfn.ref(address)
            self.texts.setdefault(canonical(named), reference.text)
            return named
        return unknown(reference.text)

    def _address(self, parts: tuple[str, ...]) -> tuple[str, str | None]:
        # A plan's configuration reference carries its module path (module.web.aws_iam_role.this.name):
        # a plan's resources are at such addresses. In a .tf file module.web.x is an output: no resource.
        module: tuple[str, ...] = ()
        while len(parts) > 2 and parts[0] == "module":
            module, parts = (*module, *parts[:2]), parts[2:]
        width = 3 if parts[0] == "data" and len(parts) >= 3 else 2
        if len(parts) >= width:
            return ".".join((*module, *parts[:width])), parts[width] if len(parts) > width else None
        return ".".join((*module, parts[0])), None

    def literal(self, value: Any) -> Any:
        """A value with Terraform references in it kept as unknowns, for a policy document."""
        if isinstance(value, (Traversal, Call, Other)):
            return unknown(value.text)
        if isinstance(value, dict):
            return {key: self.literal(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.literal(item) for item in value]
        return value

    # -- roles and profiles ---------------------------------------------------------------------------

    def _role(self, address: str, path: str, body: Body) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        attributes = body.attributes
        if "name" in attributes and isinstance(attributes["name"].value, str):
            properties[cfn.ROLE_NAME] = attributes["name"].value
            self.places[(address, (cfn.PROPERTIES, cfn.ROLE_NAME))] = Place(path, attributes["name"].span)
        if "path" in attributes and isinstance(attributes["path"].value, str):
            properties["Path"] = attributes["path"].value
        trust = attributes.get("assume_role_policy")
        if trust is not None:
            properties["AssumeRolePolicyDocument"] = self._trust(trust.value)
            self.places[(address, (cfn.PROPERTIES, "AssumeRolePolicyDocument"))] = Place(path, trust.span)
        else:
            properties["AssumeRolePolicyDocument"] = unknown("assume_role_policy")
        return {cfn.TYPE: cfn.IAM_ROLE_TYPE, cfn.PROPERTIES: properties}

    def _trust(self, value: Any) -> Any:
        if isinstance(value, Call) and value.name == "jsonencode" and len(value.arguments) == 1:
            return self.literal(value.arguments[0])
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return unknown(value)
        if isinstance(value, Traversal) and value.parts[:2] == ("data", POLICY_DOCUMENT):
            document = self.data.get(".".join(value.parts[:3]))
            if document is not None and value.parts[3:] == ("json",):
                return self._policy_document(document[1].body)
        return self.value(value)

    def _policy_document(self, body: Body) -> Any:
        """An aws_iam_policy_document's statements, where every part of them is literal."""
        if {"source_policy_documents", "override_policy_documents"} & body.attributes.keys():
            return unknown("aws_iam_policy_document")
        statements = []
        for block in body.blocks_named("statement"):
            attributes = block.body.attributes
            if {"not_actions", "not_principals"} & attributes.keys() or block.body.blocks_named(
                "not_principals"
            ):
                return unknown("aws_iam_policy_document")
            statement: dict[str, Any] = {
                "Effect": self.literal(attributes["effect"].value) if "effect" in attributes else "Allow",
                "Action": self.literal(attributes["actions"].value) if "actions" in attributes else [],
            }
            principals: dict[str, Any] = {}
            for principal in block.body.blocks_named("principals"):
                kind = principal.body.attributes.get("type")
                identifiers = principal.body.attributes.get("identifiers")
                if kind is None or identifiers is None or not isinstance(kind.value, str):
                    return unknown("aws_iam_policy_document")
                principals[kind.value] = self.literal(identifiers.value)
            if principals:
                statement["Principal"] = principals
            statements.append(statement)
        return {"Statement": statements}

    def _profile(self, address: str, path: str, body: Body) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        attributes = body.attributes
        if "name" in attributes and isinstance(attributes["name"].value, str):
            properties[cfn.INSTANCE_PROFILE_NAME] = attributes["name"].value
            self.places[(address, (cfn.PROPERTIES, cfn.INSTANCE_PROFILE_NAME))] = Place(
                path, attributes["name"].span
            )
        elif "name" in attributes:
            properties[cfn.INSTANCE_PROFILE_NAME] = self.value(attributes["name"].value)
        if "role" in attributes:
            properties[cfn.ROLES] = [self.value(attributes["role"].value)]
            self.places[(address, (cfn.PROPERTIES, cfn.ROLES))] = Place(path, attributes["role"].span)
        return {cfn.TYPE: cfn.INSTANCE_PROFILE_TYPE, cfn.PROPERTIES: properties}

    # -- sites ----------------------------------------------------------------------------------------

    def _native(self, address: str, path: str, body: Body, kind: str) -> dict[str, Any]:
        site_type = _NATIVE[kind].resource_type
        properties: dict[str, Any] = {}
        for site, attribute in site_attributes(kind):
            assert attribute is not None
            for indexes, holder in _holders(body, attribute.blocks):
                if attribute.option_setting:
                    self._settings(address, path, holder, site, properties)
                    continue
                found = holder.attributes.get(attribute.attribute)
                if found is None:
                    continue
                steps = _container(site, indexes)
                value = self._accepted(self.value(found.value), site, attribute)
                at: Path = (*steps, site.profile_property)
                written = _expression_text(found.value)
                if attribute.key is not None:
                    value = {**_get(properties, at[1:], {}), attribute.key: value}
                    self.places[(address, (*at, attribute.key))] = Place(path, found.span, written)
                _put(properties, at[1:], value)
                self.places.setdefault((address, at), Place(path, found.span, written))
        return {cfn.TYPE: site_type, cfn.PROPERTIES: properties}

    def _accepted(self, value: Any, site: Site, attribute: TerraformAttribute) -> Any:
        """A profile's ARN where the provider takes it but CloudFormation's property does not (EMR):
        read as the form the property takes, so that it is no finding."""
        accepts = attribute.accepts or site.accepts
        if ProfileForm.ARN in accepts and ProfileForm.ARN not in site.accepts:
            if isinstance(value, dict) and cfn.GET_ATT in value:
                target = value[cfn.GET_ATT][0]
                if self.template[cfn.RESOURCES].get(target, {}).get(cfn.TYPE) == cfn.INSTANCE_PROFILE_TYPE:
                    return cfn.ref(target)
            if isinstance(value, str) and value.startswith("arn:") and ":instance-profile/" in value:
                return value.rsplit("/", 1)[-1]
        return value

    def _settings(
        self, address: str, path: str, holder: Body, site: Site, properties: dict[str, Any]
    ) -> None:
        attributes = holder.attributes
        namespace, option, value = (attributes.get(key) for key in ("namespace", "name", "value"))
        if namespace is None or option is None or value is None:
            return
        settings = properties.setdefault(site.container[-1], [])
        entry = {"Namespace": self.value(namespace.value), "OptionName": self.value(option.value)}
        settings.append({**entry, "Value": self.value(value.value)})
        self.places[(address, (cfn.PROPERTIES, site.container[-1], len(settings) - 1))] = Place(
            path, value.span, _expression_text(value.value)
        )

    def _awscc(self, address: str, path: str, body: Body, site: Site) -> dict[str, Any]:
        names = {
            snake(name): name
            for row in SITES
            if row.resource_type == site.resource_type
            for name in (
                *row.container,
                row.profile_property,
                "Arn",
                "Name",
                "Namespace",
                "OptionName",
                "Value",
            )
            if name != EACH
        }
        properties: dict[str, Any] = {}
        for key, attribute in body.attributes.items():
            camel = names.get(key, key)
            properties[camel] = _renamed(self.value(attribute.value), names)
            self.places[(address, (cfn.PROPERTIES, camel))] = Place(path, attribute.span)
        return {cfn.TYPE: site.resource_type, cfn.PROPERTIES: properties}


def _renamed(value: Any, names: Mapping[str, str]) -> Any:
    if isinstance(value, dict) and not cfn.is_intrinsic(value):
        return {names.get(key, key): _renamed(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [_renamed(item, names) for item in value]
    return value


def _holders(
    body: Body, blocks: tuple[str, ...], indexes: tuple[int, ...] = ()
) -> Iterator[tuple[tuple[int, ...], Body]]:
    """Each body reached by the nested blocks (or object attributes, as .tf.json writes them), with the
    position of each repeated block on the way."""
    if not blocks:
        yield indexes, body
        return
    first, rest = blocks[0], blocks[1:]
    inner = list(body.blocks_named(first))
    if not inner and first in body.attributes:
        written = body.attributes[first]
        items = written.value if isinstance(written.value, list) else [written.value]
        from profile_expand.terraform.hcl import Attribute

        inner = [
            Block(
                first, (), Body({k: Attribute(k, v, written.span) for k, v in item.items()}, ()), written.span
            )
            for item in items
            if isinstance(item, dict)
        ]
    for position, block in enumerate(inner):
        yield from _holders(block.body, rest, (*indexes, position))


def _container(site: Site, indexes: tuple[int, ...]) -> Path:
    """The site's container path, each EACH given the position of the repeated block it stands for."""
    out: list[str | int] = []
    repeated = iter(indexes[-site.container.count(EACH) :] if site.container.count(EACH) else ())
    for step in site.container:
        out.append(next(repeated, 0) if step == EACH else step)
    return tuple(out)


def _get(mapping: Any, path: Path, default: Any) -> Any:
    for step in path:
        try:
            mapping = mapping[step]
        except (KeyError, IndexError, TypeError):
            return default
    return mapping


def _put(mapping: dict[str, Any], path: Path, value: Any) -> None:
    here: Any = mapping
    for step, following in itertools.pairwise(path):
        if isinstance(step, int):
            while len(here) <= step:
                here.append([] if isinstance(following, int) else {})
            here = here[step]
        else:
            here = here.setdefault(step, [] if isinstance(following, int) else {})
    last = path[-1]
    if isinstance(last, int):
        while len(here) <= last:
            here.append(None)
    here[last] = value


def translate(files: Iterable[SourceFile]) -> Translation:
    """One module (the .tf files of one folder, judged together) as a template."""
    return _Module(files).run()
