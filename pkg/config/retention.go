package config

import (
	"fmt"
	"strings"
)

// logRetentionDays are the values CloudWatch Logs accepts for a log group's retention.
var logRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

func validRetention(days int) bool {
	for _, d := range logRetentionDays {
		if d == days {
			return true
		}
	}
	return false
}

func retentionList() string {
	s := make([]string, len(logRetentionDays))
	for i, d := range logRetentionDays {
		s[i] = fmt.Sprint(d)
	}
	return strings.Join(s, ", ")
}
