package cinegit

import rego.v1

# METADATA
# title: Log groups have a retention period
# description: >-
#   CloudWatch log groups set retentionInDays to a positive number of days: without it logs are
#   kept (and billed) forever. Retention periods come from the stack configuration.
deny_log_group_retention contains msg if {
	input.__type == "aws:cloudwatch/logGroup:LogGroup"
	not positive(object.get(input, "retentionInDays", 0))
	not excepted(input, "deny_log_group_retention")
	msg := sprintf("%s: retentionInDays is not set: logs would never expire", [describe(input)])
}

# positive holds for a number above zero.
positive(x) if {
	is_number(x)
	x > 0
}
