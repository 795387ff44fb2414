"""The pure core: the sites table, the model of a template and the passes collect, plan, check, render."""
