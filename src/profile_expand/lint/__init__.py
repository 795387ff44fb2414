"""What cfn-lint loads: the rules (E9xxx/W9xxx), their support, the override spec and the Transform chain."""
