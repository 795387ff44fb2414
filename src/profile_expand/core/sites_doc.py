"""The README's table of sites (docs/shorthand.md), rendered from the one sites table."""

from profile_expand.core.sites import SITES, SiteKind


def sites_markdown() -> str:
    """The README's table of sites, generated from SITES (a test keeps the README in step)."""
    rows = [
        "| Resource type | IamRole goes in | Property written | Form written (also accepted) | Naming rule |",
        "|---|---|---|---|---|",
    ]
    for site in SITES:
        where = site.property_path.rsplit(".", 1)[0]
        if site.kind is SiteKind.OPTION_SETTING:
            where += f" entry `{{Namespace: {site.option_namespace}, OptionName: IamRole, Value: <role>}}`"
        others = [form.value for form in site.accepts if form is not site.writes]
        form = f"{site.writes.value}" + (f" ({', '.join(others)})" if others else "")
        rules = []
        if site.profile_name_prefix:
            rules.append(f"profile name starts with `{site.profile_name_prefix}`")
        if site.role_name_rule:
            rule = site.role_name_rule.describe().replace("a name starting with ", "role name starts with ")
            when = (
                f" when the infrastructure role has `{site.role_name_rule_when.policy_name}`"
                if site.role_name_rule_when
                else ""
            )
            rules.append(rule + when)
        if site.retired_on:
            rules.append(f"service shut down {site.retired_on}")
        rows.append(
            f"| [{site.resource_type}]({site.doc_url}) | {where} | {site.profile_property} | {form} | {'; '.join(rules)} |"
        )
    return "\n".join(rows) + "\n"
