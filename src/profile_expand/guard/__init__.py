"""The CloudFormation Lambda Hook: a pure judge over the core, its AWS edge and its handler."""
