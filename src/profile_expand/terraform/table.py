"""docs/terraform.md's table of sites, derived from the one sites table (a test keeps the page in step)."""

from __future__ import annotations

from profile_expand.core.sites import EACH, SITES, ProfileForm
from profile_expand.terraform.translate import awscc_type, snake

_FORMS = {
    ProfileForm.NAME: "name",
    ProfileForm.ARN: "ARN",
    ProfileForm.ARN_OBJECT: "ARN",
    ProfileForm.NAME_OBJECT: "name",
}


def terraform_sites_markdown() -> str:
    rows = [
        "| CloudFormation property | AWS provider attribute | Takes | Form shown by (terraform-provider-aws) "
        "| awscc provider |",
        "|---|---|---|---|---|",
    ]
    for site in SITES:
        prop = f"{site.resource_type} {site.property_path.removeprefix('Properties.')}"
        attributes = []
        for attribute in site.terraform:
            if attribute.option_setting:
                where = (
                    f'`{attribute.resource_type}` `setting {{ name = "{site.profile_property}" }}` `value`'
                )
            else:
                where = f"`{attribute.resource_type}` `{'.'.join((*attribute.blocks, attribute.attribute))}`"
            attributes.append(where)
        forms = []
        for attribute in site.terraform:
            if attribute.key is not None:
                forms.append(
                    f"{attribute.attribute}: profile {attribute.key.lower() if attribute.key == 'Name' else 'ARN'}"
                )
            else:
                accepted = attribute.accepts or site.accepts
                forms.append(" or ".join(dict.fromkeys(f"profile {_FORMS[f]}" for f in accepted)))
        path = ".".join(snake(step) if step != EACH else "[]" for step in site.container[1:]).replace(
            ".[]", "[]"
        )
        inner = f"{path}.{snake(site.profile_property)}" if path else snake(site.profile_property)
        if site.kind.value == "option-setting":
            inner = f'option_settings[] {{option_name = "{site.profile_property}"}}.value'
        awscc = "" if site.retired_on else f"`{awscc_type(site.resource_type)}` `{inner}`"
        shown = "<br>".join(
            f"{attribute.attribute}: {attribute.shown_by}" if len(site.terraform) > 1 else attribute.shown_by
            for attribute in site.terraform
            if attribute.shown_by
        )
        rows.append(
            f"| {prop} | {'<br>'.join(attributes) or '(none in the AWS provider)'} | "
            f"{'; '.join(dict.fromkeys(forms)) or '-'} | {shown or '-'} | {awscc} |"
        )
    return "\n".join(rows) + "\n"
