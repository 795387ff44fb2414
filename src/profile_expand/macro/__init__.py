"""The CloudFormation macro's Lambda handler: the core plus this adapter is the macro's bundle."""
