"""The `profile-expand` command line: expand, lint, event, migrate, cfnlintrc, rollout; file and YAML I/O."""
