"""The one table of sites: every place CloudFormation expects an EC2 instance profile.

The core, the cfn-lint rules, the schema override and the README's table are all derived from SITES.
Adding a resource type is one row here plus one golden case (tests/golden/input/site_<slug>.yaml).
"""

# Annotations are evaluated, not postponed (no `from __future__ import annotations`): a NamedTuple
# compiles each string annotation into a ForwardRef, which doubles its cost at cold start.

from collections.abc import Iterator, Mapping
from enum import Enum
from typing import Any, Final, NamedTuple

from profile_expand.core import cfn

# A container path segment meaning "each item of this list".
EACH: Final = "*"


class ProfileForm(Enum):
    """How a property refers to an instance profile."""

    NAME = "name"  # {"Ref": Profile}
    ARN = "arn"  # {"Fn::GetAtt": [Profile, "Arn"]}
    ARN_OBJECT = "{Arn}"  # {"Arn": {"Fn::GetAtt": [Profile, "Arn"]}}
    NAME_OBJECT = "{Name}"  # {"Name": {"Ref": Profile}}

    @property
    def key(self) -> str:
        """What the form names the profile by, as profile option Form spells it: Name or Arn."""
        return "Name" if self in (ProfileForm.NAME, ProfileForm.NAME_OBJECT) else "Arn"

    def reference(self, profile_id: str) -> dict[str, Any]:
        """How a property in this form names the template's instance profile `profile_id`."""
        if self is ProfileForm.NAME:
            return cfn.ref(profile_id)
        if self is ProfileForm.ARN:
            return cfn.get_att(profile_id, cfn.ARN_ATTRIBUTE)
        if self is ProfileForm.NAME_OBJECT:
            return {"Name": cfn.ref(profile_id)}
        return {"Arn": cfn.get_att(profile_id, cfn.ARN_ATTRIBUTE)}

    def shown(self, profile_id: str) -> str:
        """How a message writes this form's reference in YAML short form (an object's: its inner one)."""
        if self in (ProfileForm.ARN, ProfileForm.ARN_OBJECT):
            return f"!GetAtt {profile_id}.Arn"
        return f"!Ref {profile_id}"


class SiteKind(Enum):
    PROPERTY = "property"  # IamRole is a key beside the profile property
    OPTION_SETTING = "option-setting"  # Elastic Beanstalk: an OptionSettings entry named IamRole


class RoleNameRule(NamedTuple):
    """A service's rule for the role inside the profile: a name prefix, or else one of these paths."""

    name_prefixes: tuple[str, ...]
    paths: tuple[str, ...] = ()

    def describe(self) -> str:
        names = " or ".join(self.name_prefixes)
        paths = " or ".join(self.paths)
        return f"a name starting with {names}" + (f" or the path {paths}" if paths else "")


class WhenPolicy(NamedTuple):
    """A rule that holds only when a related role of the resource carries a given AWS managed policy.

    ECS Managed Instances: the AWS-managed infrastructure policy passes only roles named ecsInstanceRole*
    (its iam:PassRole is scoped to role/ecsInstanceRole*). `role_property` is the path, below the
    resource, of that infrastructure role's ARN.
    """

    policy_name: str
    role_property: tuple[str, ...]


class TerraformAttribute(NamedTuple):
    """Where a Terraform resource of the AWS provider writes the profile of a site: nested blocks (or
    object attributes) from the resource down, then the attribute. The awscc provider's resources follow
    CloudFormation's own names (terraform/sites.py derives them from the row)."""

    resource_type: str
    blocks: tuple[str, ...]
    attribute: str
    # At a site that takes {Arn}/{Name}: which of the two this attribute is.
    key: str | None = None
    # The forms the provider's attribute takes, where they differ from the CloudFormation property's.
    accepts: tuple[ProfileForm, ...] | None = None
    # Elastic Beanstalk: a `setting` block whose `name` is the option.
    option_setting: bool = False
    # Where hashicorp/terraform-provider-aws shows the form the attribute takes: the acceptance test
    # (internal/service/...) and what it writes there; "" where no one was read (docs/terraform.md).
    shown_by: str = ""


class Site(NamedTuple):
    """One place a resource type takes an instance profile.

    container: keys from the resource down to the mapping that holds the profile property
    (EACH steps into every item of a list); IamRole is written in that same mapping.
    """

    slug: str
    resource_type: str
    container: tuple[str, ...]
    profile_property: str
    writes: ProfileForm
    accepts: tuple[ProfileForm, ...]
    kind: SiteKind = SiteKind.PROPERTY
    # A name every instance profile used here must start with (the service checks it).
    profile_name_prefix: str | None = None
    # Elastic Beanstalk option settings: the namespace of the entry.
    option_namespace: str | None = None
    doc_url: str = ""
    # The service was shut down: templates still parse, but CloudFormation can no longer create it.
    retired_on: str | None = None
    # The role inside the profile must be named (or pathed) so; applied to inline roles, checked otherwise.
    role_name_rule: RoleNameRule | None = None
    role_name_rule_when: WhenPolicy | None = None
    # The AWS provider's attributes that mirror this property (docs/terraform.md shows them).
    terraform: tuple[TerraformAttribute, ...] = ()

    @property
    def takes_object(self) -> bool:
        """The property takes a mapping ({Arn: ...} or {Name: ...}) rather than a plain name or ARN."""
        return any(form in (ProfileForm.ARN_OBJECT, ProfileForm.NAME_OBJECT) for form in self.accepts)

    def form_named(self, key: str | None) -> ProfileForm | None:
        """The accepted form that names the profile by `key` ("Name" or "Arn"): {Name} where the property
        takes an object, else the plain name; None for the form the site writes, or a form it refuses."""
        if key is None:
            return self.writes
        # No site accepts both the plain and the object form of one key: the key decides.
        return next((form for form in self.accepts if form.key == key), None)

    @property
    def property_path(self) -> str:
        """Human path of the profile property, e.g. Properties.LaunchTemplateData.IamInstanceProfile."""
        parts = [("[]" if part == EACH else part) for part in self.container]
        text = ".".join(parts).replace(".[]", "[]")
        return f"{text}.{self.profile_property}"


_DOCS: Final = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
_NAME_OR_ARN: Final = (ProfileForm.NAME, ProfileForm.ARN)
_OBJECT: Final = (ProfileForm.ARN_OBJECT, ProfileForm.NAME_OBJECT)
_PROPS: Final = ("Properties",)
_TF: Final = TerraformAttribute
_PROVIDER_TESTS: Final = "internal/service/"
_EC2_INSTANCES: Final = "ec2/ec2_instances_data_source_test.go: `aws_iam_instance_profile.test.name`"
_EC2_SPOT: Final = "ec2/ec2_spot_instance_request_test.go: `aws_iam_instance_profile.test.name`"
_ASG_LC: Final = "autoscaling/launch_configuration_test.go: `aws_iam_instance_profile.test.name`"
_OPSWORKS: Final = "opsworks/stack_test.go: `aws_iam_instance_profile.test.arn`"
_OPSWORKS_LAYERS: Final = (
    "custom",
    "ecs_cluster",
    "ganglia",
    "haproxy",
    "java_app",
    "memcached",
    "mysql",
    "nodejs_app",
    "php_app",
    "rails_app",
    "static_web",
)

SITES: Final[tuple[Site, ...]] = (
    Site(
        slug="ec2_instance",
        resource_type="AWS::EC2::Instance",
        container=_PROPS,
        profile_property="IamInstanceProfile",
        writes=ProfileForm.NAME,
        accepts=(ProfileForm.NAME,),
        doc_url=_DOCS + "aws-resource-ec2-instance.html",
        terraform=(
            _TF("aws_instance", (), "iam_instance_profile", shown_by=_PROVIDER_TESTS + _EC2_INSTANCES),
            _TF(
                "aws_spot_instance_request", (), "iam_instance_profile", shown_by=_PROVIDER_TESTS + _EC2_SPOT
            ),
        ),
    ),
    Site(
        slug="ec2_launch_template",
        resource_type="AWS::EC2::LaunchTemplate",
        container=("Properties", "LaunchTemplateData"),
        profile_property="IamInstanceProfile",
        writes=ProfileForm.ARN_OBJECT,
        accepts=_OBJECT,
        doc_url=_DOCS + "aws-properties-ec2-launchtemplate-iaminstanceprofile.html",
        terraform=(
            _TF("aws_launch_template", ("iam_instance_profile",), "arn", key="Arn"),
            _TF("aws_launch_template", ("iam_instance_profile",), "name", key="Name"),
        ),
    ),
    Site(
        slug="autoscaling_launch_configuration",
        resource_type="AWS::AutoScaling::LaunchConfiguration",
        container=_PROPS,
        profile_property="IamInstanceProfile",
        writes=ProfileForm.NAME,
        accepts=_NAME_OR_ARN,
        doc_url=_DOCS + "aws-resource-autoscaling-launchconfiguration.html",
        terraform=(
            _TF("aws_launch_configuration", (), "iam_instance_profile", shown_by=_PROVIDER_TESTS + _ASG_LC),
        ),
    ),
    Site(
        slug="ec2_spot_fleet",
        resource_type="AWS::EC2::SpotFleet",
        container=("Properties", "SpotFleetRequestConfigData", "LaunchSpecifications", EACH),
        profile_property="IamInstanceProfile",
        writes=ProfileForm.ARN_OBJECT,
        accepts=(ProfileForm.ARN_OBJECT,),
        doc_url=_DOCS + "aws-properties-ec2-spotfleet-iaminstanceprofilespecification.html",
        terraform=(
            _TF(
                "aws_spot_fleet_request",
                ("launch_specification",),
                "iam_instance_profile_arn",
                key="Arn",
                shown_by=_PROVIDER_TESTS
                + "ec2/ec2_spot_fleet_request_test.go: `aws_iam_instance_profile.test-iam-instance-profile1.arn`",
            ),
            _TF("aws_spot_fleet_request", ("launch_specification",), "iam_instance_profile", key="Name"),
        ),
    ),
    Site(
        slug="ec2_ec2_fleet",
        resource_type="AWS::EC2::EC2Fleet",
        container=("Properties", "LaunchTemplateConfigs", EACH, "Overrides", EACH),
        profile_property="IamInstanceProfile",
        writes=ProfileForm.ARN_OBJECT,
        accepts=_OBJECT,
        doc_url=_DOCS + "aws-properties-ec2-ec2fleet-fleetlaunchtemplateoverridesrequest.html",
    ),
    Site(
        slug="batch_compute_environment",
        resource_type="AWS::Batch::ComputeEnvironment",
        container=("Properties", "ComputeResources"),
        profile_property="InstanceRole",
        writes=ProfileForm.ARN,
        accepts=_NAME_OR_ARN,
        doc_url=_DOCS + "aws-properties-batch-computeenvironment-computeresources.html",
        terraform=(
            _TF(
                "aws_batch_compute_environment",
                ("compute_resources",),
                "instance_role",
                shown_by=_PROVIDER_TESTS
                + "batch/compute_environment_test.go: `aws_iam_instance_profile.ecs_instance.arn`",
            ),
        ),
    ),
    Site(
        slug="batch_managed_instances",
        resource_type="AWS::Batch::ComputeEnvironment",
        container=("Properties", "ComputeResources", "ManagedInstancesProvider", "InstanceLaunchTemplate"),
        profile_property="Ec2InstanceProfileArn",
        writes=ProfileForm.ARN,
        accepts=(ProfileForm.ARN,),
        doc_url=_DOCS + "aws-resource-batch-computeenvironment.html",
    ),
    Site(
        slug="emr_cluster",
        resource_type="AWS::EMR::Cluster",
        container=_PROPS,
        profile_property="JobFlowRole",
        writes=ProfileForm.NAME,
        accepts=(ProfileForm.NAME,),
        doc_url=_DOCS + "aws-resource-emr-cluster.html",
        terraform=(
            # The provider's docs and acceptance tests write the profile's ARN here; EMR takes both.
            _TF(
                "aws_emr_cluster",
                ("ec2_attributes",),
                "instance_profile",
                accepts=_NAME_OR_ARN,
                shown_by=_PROVIDER_TESTS
                + "emr/cluster_test.go: `aws_iam_instance_profile.emr_instance_profile.arn`, "
                'and the name `"EMR_EC2_DefaultRole"`',
            ),
        ),
    ),
    Site(
        slug="imagebuilder_infrastructure_configuration",
        resource_type="AWS::ImageBuilder::InfrastructureConfiguration",
        container=_PROPS,
        profile_property="InstanceProfileName",
        writes=ProfileForm.NAME,
        accepts=(ProfileForm.NAME,),
        doc_url=_DOCS + "aws-resource-imagebuilder-infrastructureconfiguration.html",
        terraform=(
            _TF(
                "aws_imagebuilder_infrastructure_configuration",
                (),
                "instance_profile_name",
                shown_by=_PROVIDER_TESTS
                + "imagebuilder/infrastructure_configuration_test.go: `aws_iam_instance_profile.test.name`",
            ),
        ),
    ),
    Site(
        slug="ecs_capacity_provider",
        resource_type="AWS::ECS::CapacityProvider",
        container=("Properties", "ManagedInstancesProvider", "InstanceLaunchTemplate"),
        profile_property="Ec2InstanceProfileArn",
        writes=ProfileForm.ARN,
        accepts=(ProfileForm.ARN,),
        doc_url=_DOCS + "aws-properties-ecs-capacityprovider-instancelaunchtemplate.html",
        role_name_rule=RoleNameRule(name_prefixes=("ecsInstanceRole",)),
        role_name_rule_when=WhenPolicy(
            policy_name="AmazonECSInfrastructureRolePolicyForManagedInstances",
            role_property=("Properties", "ManagedInstancesProvider", "InfrastructureRoleArn"),
        ),
        terraform=(
            _TF(
                "aws_ecs_capacity_provider",
                ("managed_instances_provider", "instance_launch_template"),
                "ec2_instance_profile_arn",
                shown_by=_PROVIDER_TESTS
                + "ecs/capacity_provider_test.go: `aws_iam_instance_profile.test.arn`",
            ),
        ),
    ),
    Site(
        slug="pcs_compute_node_group",
        resource_type="AWS::PCS::ComputeNodeGroup",
        container=_PROPS,
        profile_property="IamInstanceProfileArn",
        writes=ProfileForm.ARN,
        accepts=(ProfileForm.ARN,),
        doc_url=_DOCS + "aws-resource-pcs-computenodegroup.html",
        role_name_rule=RoleNameRule(name_prefixes=("AWSPCS",), paths=("/aws-pcs/",)),
        terraform=(_TF("aws_pcs_compute_node_group", (), "iam_instance_profile_arn"),),
    ),
    Site(
        slug="rds_custom_db_instance",
        resource_type="AWS::RDS::DBInstance",
        container=_PROPS,
        profile_property="CustomIAMInstanceProfile",
        writes=ProfileForm.NAME,
        accepts=(ProfileForm.NAME,),
        profile_name_prefix="AWSRDSCustom",
        doc_url=_DOCS + "aws-resource-rds-dbinstance.html",
        role_name_rule=RoleNameRule(name_prefixes=("AWSRDSCustom",)),
        terraform=(
            _TF(
                "aws_db_instance",
                (),
                "custom_iam_instance_profile",
                shown_by="no acceptance test sets it; the provider's website/docs/r/db_instance.html.markdown "
                'writes the name `"AWSRDSCustomInstanceProfile"`',
            ),
        ),
    ),
    Site(
        slug="workspaces_instance",
        resource_type="AWS::WorkspacesInstances::WorkspaceInstance",
        container=("Properties", "ManagedInstance"),
        profile_property="IamInstanceProfile",
        writes=ProfileForm.ARN_OBJECT,
        accepts=_OBJECT,
        doc_url=_DOCS + "aws-resource-workspacesinstances-workspaceinstance.html",
    ),
    Site(
        slug="opsworks_stack",
        resource_type="AWS::OpsWorks::Stack",
        container=_PROPS,
        profile_property="DefaultInstanceProfileArn",
        writes=ProfileForm.ARN,
        accepts=(ProfileForm.ARN,),
        doc_url=_DOCS + "aws-resource-opsworks-stack.html",
        retired_on="2024-05-01",
        terraform=(
            _TF(
                "aws_opsworks_stack", (), "default_instance_profile_arn", shown_by=_PROVIDER_TESTS + _OPSWORKS
            ),
        ),
    ),
    Site(
        slug="opsworks_layer",
        resource_type="AWS::OpsWorks::Layer",
        container=_PROPS,
        profile_property="CustomInstanceProfileArn",
        writes=ProfileForm.ARN,
        accepts=(ProfileForm.ARN,),
        doc_url=_DOCS + "aws-resource-opsworks-layer.html",
        retired_on="2024-05-01",
        terraform=tuple(
            _TF(f"aws_opsworks_{layer}_layer", (), "custom_instance_profile_arn")
            for layer in _OPSWORKS_LAYERS
        ),
    ),
    Site(
        slug="elasticbeanstalk_environment",
        resource_type="AWS::ElasticBeanstalk::Environment",
        container=("Properties", "OptionSettings"),
        profile_property="IamInstanceProfile",
        writes=ProfileForm.NAME,
        accepts=_NAME_OR_ARN,
        kind=SiteKind.OPTION_SETTING,
        option_namespace="aws:autoscaling:launchconfiguration",
        doc_url=_DOCS + "aws-resource-elasticbeanstalk-environment.html",
        terraform=(
            _TF(
                "aws_elastic_beanstalk_environment",
                ("setting",),
                "value",
                option_setting=True,
                shown_by=_PROVIDER_TESTS
                + "elasticbeanstalk/environment_test.go: `aws_iam_instance_profile.test.name`",
            ),
        ),
    ),
    Site(
        slug="elasticbeanstalk_configuration_template",
        resource_type="AWS::ElasticBeanstalk::ConfigurationTemplate",
        container=("Properties", "OptionSettings"),
        profile_property="IamInstanceProfile",
        writes=ProfileForm.NAME,
        accepts=_NAME_OR_ARN,
        kind=SiteKind.OPTION_SETTING,
        option_namespace="aws:autoscaling:launchconfiguration",
        doc_url=_DOCS + "aws-resource-elasticbeanstalk-configurationtemplate.html",
        terraform=(
            _TF(
                "aws_elastic_beanstalk_configuration_template",
                ("setting",),
                "value",
                option_setting=True,
                shown_by=_PROVIDER_TESTS
                + "elasticbeanstalk/environment_test.go (its configuration template): "
                "`aws_iam_instance_profile.test.name`",
            ),
        ),
    ),
)


def containers(
    node: object, steps: tuple[str, ...], path: tuple[str | int, ...] = (), *, through_fn_if: bool = False
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every (path, value) reached from `node` by a site's container steps (EACH: every list item).

    With through_fn_if, a Fn::If met on the way is followed into both branches (either may deploy),
    at most cfn.MAX_IF_DEPTH deep: a deeper Fn::If is yielded as the container (the caller reports it).
    Depth first, in the order written; iterative, so that a deep path costs no chain of generators.
    """
    # (value, how many steps taken, its path, how many Fn::If around it)
    pending: list[tuple[Any, int, tuple[str | int, ...], int]] = [(node, 0, path, 0)]
    while pending:
        value, taken, here, depth = pending.pop()
        # Down one way without the stack while there is one way to go (a step, or the first branch of an
        # Fn::If): the stack holds only what waits, the other branches and list items.
        while True:
            # type() first: the Mapping ABC's check is a measurable share of a 500-site template's time.
            mapping = type(value) is dict or isinstance(value, Mapping)
            if through_fn_if and mapping and len(value) == 1 and cfn.FN_IF in value:
                branches = value[cfn.FN_IF]
                if not (isinstance(branches, list) and len(branches) == 3):
                    break
                if depth >= cfn.MAX_IF_DEPTH:
                    yield here, value
                    break
                # A branch of AWS::NoValue holds no container (a common way to write "none here").
                if branches[2] != cfn.NO_VALUE_REF:
                    pending.append((branches[2], taken, (*here, cfn.FN_IF, 2), depth + 1))
                if branches[1] == cfn.NO_VALUE_REF:
                    break
                value, here, depth = branches[1], (*here, cfn.FN_IF, 1), depth + 1
                continue
            if taken == len(steps):
                yield here, value
                break
            step = steps[taken]
            if step == EACH:
                if isinstance(value, list):
                    for position in range(len(value) - 1, -1, -1):
                        pending.append((value[position], taken + 1, (*here, position), depth))
                break
            if not (mapping and step in value):
                break
            value, taken, here = value[step], taken + 1, (*here, step)


def sites_for(resource_type: str) -> tuple[Site, ...]:
    """The sites of one resource type (a type may have several, e.g. Batch), in table order."""
    return _BY_TYPE.get(resource_type, ())


_BY_TYPE: Final[dict[str, tuple[Site, ...]]] = {}
for _site in SITES:
    _BY_TYPE[_site.resource_type] = (*_BY_TYPE.get(_site.resource_type, ()), _site)
