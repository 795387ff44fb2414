"""The Transform chain for author tools: apply the transforms listed before ProfileExpand, as CloudFormation will.

AWS::LanguageExtensions runs through cfn-lint's implementation, AWS::Serverless-2016-10-31 through
aws-sam-translator. The core never imports this module; the CLI does.
"""

from __future__ import annotations

import copy
import functools
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from cfnlint.template.transforms import _language_extensions as cfnlint_le  # type: ignore[import-untyped]

from profile_expand.core import cfn
from profile_expand.core.cfn import to_plain
from profile_expand.core.errors import ChainError, ChainProblem, missing_extra

LANGUAGE_EXTENSIONS: Final = cfn.LANGUAGE_EXTENSIONS
SERVERLESS: Final = cfn.SERVERLESS
APPLICABLE: Final = (LANGUAGE_EXTENSIONS, SERVERLESS)
DEFAULT_REGION: Final = "us-east-1"
# Where a local CodeUri/DefinitionUri is shown to live; `sam package` uploads the real artifact.
LOCAL_ARTIFACT_BUCKET: Final = "local-artifact"

# SAM resource type -> the properties that take an artifact location (S3 URI) at deploy time.
_ARTIFACT_PROPERTIES: Final[dict[str, tuple[str, ...]]] = {
    "AWS::Serverless::Function": ("CodeUri",),
    "AWS::Serverless::LayerVersion": ("ContentUri",),
    "AWS::Serverless::Api": ("DefinitionUri",),
    "AWS::Serverless::HttpApi": ("DefinitionUri",),
    "AWS::Serverless::StateMachine": ("DefinitionUri",),
    # A mapping here is an application of the Serverless Application Repository: SAM would ask SAR for it.
    "AWS::Serverless::Application": ("Location",),
}


@dataclass
class Chain:
    """The template as ProfileExpand will receive it, and what happened on the way."""

    template: Any
    applied: list[str] = field(default_factory=list)
    # Transforms after ProfileExpand: CloudFormation runs them on the expanded template.
    left: list[str] = field(default_factory=list)
    # Transforms before ProfileExpand with no local implementation: the preview goes without them.
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    has_profile_expand: bool = True


# Read in one place (cfn.py), shared with the core; kept under these names for the chain's callers.
transform_items = cfn.transform_items
transform_names = cfn.transform_names


def without_transform(
    template: Mapping[str, Any], macro_name: str = cfn.TRANSFORM_NAME, listed: list[Any] | None = None
) -> dict[str, Any]:
    """A copy of the template whose Transform lists `listed` (default: its own) less the macro.

    The key goes when nothing is left. Other transforms stay as written (parameters included), for
    CloudFormation (or cfn-lint) to see.
    """
    items = transform_items(template) if listed is None else listed
    kept = [item for item in items if cfn.transform_name(item) != macro_name]
    result: dict[str, Any] = {}
    for key, value in template.items():
        if key != cfn.TRANSFORM:
            result[key] = value
        elif kept:
            result[key] = kept if len(kept) > 1 else kept[0]
    return result


def apply_chain(template: Any, region: str = DEFAULT_REGION, macro_name: str = cfn.TRANSFORM_NAME) -> Chain:
    """Apply the transforms that come before ProfileExpand; leave the template untouched otherwise.

    macro_name: the name ProfileExpand is deployed under (its MacroName), as templates list it.
    The input is not modified. When something was applied, the result's Transform starts at
    ProfileExpand (the part CloudFormation has still to run).
    """
    items = transform_items(template)
    names = [cfn.transform_name(item) for item in items]
    if macro_name not in names:
        return Chain(template, left=names, has_profile_expand=False)
    position = names.index(macro_name)
    before, after = names[:position], names[position + 1 :]
    chain = Chain(template, left=after)
    if not before:
        return chain
    current = template
    skipped: list[Any] = []  # as written: a transform with parameters keeps them
    for name, item in zip(before, items, strict=False):
        if name == LANGUAGE_EXTENSIONS:
            current = _language_extensions(current, region, chain)
        elif name == SERVERLESS:
            current = _serverless(current, region, chain)
        else:
            chain.skipped.append(name)
            skipped.append(item)
            continue
        chain.applied.append(name)
    # Keep the type of the original mapping (cfn-lint's nodes carry positions) but a fresh Transform.
    result = copy.copy(current)
    result[cfn.TRANSFORM] = [*skipped, *items[position:]]
    if cfn.TRANSFORM not in current:
        # SAM drops the Transform key; put it back where templates keep it, before Resources.
        result = _with_key_first(result, cfn.TRANSFORM)
    chain.template = result
    return chain


def _with_key_first(mapping: Any, key: str) -> Any:
    reordered = copy.copy(mapping)
    reordered.clear()
    preamble = ("AWSTemplateFormatVersion", "Description")
    for name in preamble:
        if name in mapping:
            reordered[name] = mapping[name]
    reordered[key] = mapping[key]
    for name, value in mapping.items():
        if name not in reordered:
            reordered[name] = value
    return reordered


@dataclass
class _CfnView:
    """The three attributes cfn-lint's language-extensions transform reads from its Template."""

    template: Any
    regions: list[str]
    filename: str | None = None


class _RecordingRandom(random.Random):
    """Seeded stand-in for the random module: cfn-lint invents names for collections it cannot resolve."""

    def __init__(self) -> None:
        super().__init__(0)
        self.used = False

    def choices(self, *args: Any, **kwargs: Any) -> Any:
        self.used = True
        return super().choices(*args, **kwargs)


def _language_extensions(template: Any, region: str, chain: Chain) -> Any:
    recorder = _RecordingRandom()
    module: Any = cfnlint_le
    original_random = module.random
    # Deterministic output, and a way to know the preview had to make values up.
    module.random = recorder
    try:
        matches, result = module.language_extension(_CfnView(template, [region]))
    finally:
        module.random = original_random
    if matches:
        raise ChainError(
            LANGUAGE_EXTENSIONS,
            [
                ChainProblem(str(match.message), position=(int(match.linenumber), int(match.columnnumber)))
                for match in matches
            ],
        )
    unresolved = sorted(_intrinsics_in(result) & _NOT_RESOLVED_BY_CFN_LINT)
    if unresolved:
        chain.notes.append(
            f"{LANGUAGE_EXTENSIONS}: {', '.join(unresolved)} left as written in the preview; "
            "CloudFormation resolves them"
        )
    guessed = sorted(_collections_without_values(template))
    if guessed:
        chain.notes.append(
            f"{LANGUAGE_EXTENSIONS}: {', '.join(guessed)} loops over a parameter with no Default; "
            "the preview names the generated resources after placeholder values"
        )
    elif recorder.used:
        chain.notes.append(
            f"{LANGUAGE_EXTENSIONS}: an Fn::ForEach collection could not be resolved from the template "
            "alone (a parameter without a Default?); the preview uses made-up values for it"
        )
    return result


def _collections_without_values(template: Any) -> Iterator[str]:
    """Fn::ForEach loops whose collection refers to a parameter the template gives no value to."""
    parameters = template.get(cfn.PARAMETERS) if isinstance(template, Mapping) else None
    parameters = parameters if isinstance(parameters, Mapping) else {}
    stack = [template]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        if not isinstance(item, Mapping):
            continue
        for key, value in item.items():
            stack.append(value)
            if not (isinstance(key, str) and key.startswith(cfn.FOR_EACH_PREFIX)):
                continue
            if not (isinstance(value, list) and len(value) == 3):
                continue
            collection = value[1]
            refs = collection if isinstance(collection, list) else [collection]
            for ref in refs:
                target = ref.get(cfn.REF) if isinstance(ref, Mapping) else None
                parameter = parameters.get(target) if isinstance(target, str) else None
                if isinstance(parameter, Mapping) and not (
                    parameter.get("Default") or parameter.get("AllowedValues")
                ):
                    yield str(key)
                    break


# Language-extension functions cfn-lint's implementation carries through instead of resolving.
_NOT_RESOLVED_BY_CFN_LINT: Final = frozenset({"Fn::Length", "Fn::ToJsonString"})


def _intrinsics_in(value: Any) -> set[str]:
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            found.update(key for key in item if isinstance(key, str) and key.startswith("Fn::"))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _serverless(template: Any, region: str, chain: Chain) -> Any:
    translated, notes = translate_serverless(template, region)
    chain.notes.extend(notes)
    return translated


def translate_serverless(template: Any, region: str = DEFAULT_REGION) -> tuple[dict[str, Any], list[str]]:
    """SAM's translation of the template, as CloudFormation will run it, with no AWS call; and notes.

    Local artifacts and Serverless Application Repository locations become placeholder S3 URIs (what
    `sam package` and CloudFormation put there), as cfn-lint did before it stopped translating. SAM reads
    plain data (its messages name a value's type); resources it passes through unchanged are given back
    as the template's own, so that positions in the file still reach them. Raises ChainError.
    """
    # Imported here: aws-sam-translator (and boto3 with it) is only needed for SAM templates. Its translator
    # module imports boto3, so a missing boto3 is said here too, and where neither is installed the message
    # names aws-sam-translator, the package to install.
    try:
        from samtranslator.metrics.metrics import (  # type: ignore[import-untyped]
            DummyMetricsPublisher,
            Metrics,
        )
        from samtranslator.model.exceptions import (  # type: ignore[import-untyped]
            InvalidDocumentException,
        )
        from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
        from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]
    except ImportError as error:
        raise ChainError(
            SERVERLESS,
            [
                ChainProblem(
                    "the macro receives SAM's translation of this template, and translating it needs "
                    + missing_extra(error, "sam")
                )
            ],
        ) from error

    sam_template = to_plain(template)
    notes = list(_replace_local_artifacts(sam_template))
    # SAM counts what it does; published to nowhere, or it warns of "unpublished metrics" on exit.
    metrics = Metrics("ServerlessTransform", DummyMetricsPublisher())
    translator = Translator(
        managed_policy_map={},
        sam_parser=Parser(),
        boto_session=_session(region),
        metrics=metrics,
    )
    try:
        translated: dict[str, Any] = translator.translate(sam_template=sam_template, parameter_values={})
    except InvalidDocumentException as error:
        raise ChainError(SERVERLESS, list(_sam_messages(error))) from error
    finally:
        metrics.publish()
    return _with_source_nodes(_stable_conditions(translated, template), template), notes


@functools.cache
def _session(region: str) -> Any:
    """One boto3 session per region and run (making one costs more than translating a small template).

    Only its region is read (for AWS::Region and the partition); it never calls AWS.
    """
    import boto3

    return boto3.session.Session(region_name=region)


def _stable_conditions(translated: dict[str, Any], source: Any) -> dict[str, Any]:
    """SAM's combined conditions with their terms in name order, not in the order of a Python set.

    SAM builds a shared usage plan's or a deployment preference's Fn::Or from a set, so the same input
    gave a different text under another PYTHONHASHSEED. Fn::Or and Fn::And do not depend on the order.
    """
    conditions = translated.get(cfn.CONDITIONS)
    written = source.get(cfn.CONDITIONS) if isinstance(source, Mapping) else None
    written = written if isinstance(written, Mapping) else {}
    if not isinstance(conditions, dict):
        return translated
    for name, condition in conditions.items():
        if name in written or not (isinstance(condition, dict) and len(condition) == 1):
            continue
        ((function, terms),) = condition.items()
        named = isinstance(terms, list) and all(
            isinstance(term, dict) and list(term) == [cfn.CONDITION] and isinstance(term[cfn.CONDITION], str)
            for term in terms
        )
        if function in (cfn.FN_OR, cfn.FN_AND) and named:
            conditions[name] = {function: sorted(terms, key=lambda term: str(term[cfn.CONDITION]))}
    return translated


def _with_source_nodes(translated: dict[str, Any], source: Any) -> dict[str, Any]:
    """The translation, with each resource SAM left as written replaced by the source's own node."""
    resources = translated.get(cfn.RESOURCES)
    originals = source.get(cfn.RESOURCES) if isinstance(source, Mapping) else None
    if not isinstance(resources, dict) or not isinstance(originals, Mapping):
        return translated
    for logical_id, resource in resources.items():
        original = originals.get(logical_id)
        if original is not None and to_plain(original) == resource:
            resources[logical_id] = original
    return translated


def _sam_messages(error: Any) -> Iterator[ChainProblem]:
    for cause in getattr(error, "causes", []) or [error]:
        # SAM keeps the resource's logical ID only in a private attribute (a list when several).
        logical_id = getattr(cause, "_logical_id", None)
        if isinstance(logical_id, list) and logical_id:
            logical_id = logical_id[0]
        path: tuple[str | int, ...] = (cfn.RESOURCES, logical_id) if isinstance(logical_id, str) else ()
        yield ChainProblem(str(getattr(cause, "message", cause)), path=path)


def _replace_local_artifacts(template: Any) -> Iterator[str]:
    """Point local artifact paths at placeholder S3 URIs, as `sam validate` does, and say so."""
    resources = template.get(cfn.RESOURCES) if isinstance(template, Mapping) else None
    if not isinstance(resources, Mapping):
        return
    for logical_id, resource in resources.items():
        if not isinstance(resource, Mapping):
            continue
        properties = resource.get(cfn.PROPERTIES)
        names = _ARTIFACT_PROPERTIES.get(str(resource.get(cfn.TYPE)), ())
        if not names or not isinstance(properties, dict):
            continue
        for name in names:
            value = properties.get(name)
            if name == "CodeUri" and value is None and not _has_other_code(properties):
                value = "."  # SAM CLI's default: the template's own folder
            if name == "Location" and isinstance(value, Mapping):
                application = value.get("ApplicationId")
                key = str(application).rsplit("/", 1)[-1] if isinstance(application, str) else logical_id
                uri = f"https://{LOCAL_ARTIFACT_BUCKET}.s3.amazonaws.com/serverlessrepo/{key}.yaml"
                properties[name] = uri
                yield (
                    f"{logical_id}.{name} (a Serverless Application Repository application) is shown as "
                    f"{uri}: the preview does not ask AWS for the application's template"
                )
            elif isinstance(value, str) and not value.startswith(("s3://", "https://")):
                key = value.strip("./") or "."
                uri = f"s3://{LOCAL_ARTIFACT_BUCKET}/{key}"
                properties[name] = uri
                yield f"{logical_id}.{name} {value!r} is shown as {uri} (sam package uploads it)"


def _has_other_code(properties: Mapping[str, Any]) -> bool:
    return any(key in properties for key in ("InlineCode", "ImageUri", "PackageType"))
