package config

import (
	"regexp"
	"strings"
	"time"
)

// OffHoursConfig is the `offHours` section: outside working hours the stack's node groups go
// to zero and its database stops, and in the morning both come back. Meant for dev.
type OffHoursConfig struct {
	// Enabled turns the schedules on. Default false.
	Enabled bool `json:"enabled"`
	// TimeZone is the IANA time zone the times are in (daylight saving included). Default UTC.
	TimeZone string `json:"timeZone"`
	// StopAt is when the stack stops on working days, hh:mm. Default 20:00.
	StopAt string `json:"stopAt"`
	// StartAt is when it starts again on working days, hh:mm, before StopAt. Default 07:00.
	StartAt string `json:"startAt"`
	// WorkingDays are the days it starts on, as cron day-of-week names. Default MON-FRI: it
	// stops on Friday evening and starts on Monday morning.
	WorkingDays string `json:"workingDays"`
}

var (
	clockTime   = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])$`)
	cronWeekday = regexp.MustCompile(`^(MON|TUE|WED|THU|FRI|SAT|SUN)(-(MON|TUE|WED|THU|FRI|SAT|SUN))?(,(MON|TUE|WED|THU|FRI|SAT|SUN)(-(MON|TUE|WED|THU|FRI|SAT|SUN))?)*$`)
)

func (c *OffHoursConfig) applyDefaults(Env) {
	if c.TimeZone == "" {
		c.TimeZone = "UTC"
	}
	if c.StopAt == "" {
		c.StopAt = "20:00"
	}
	if c.StartAt == "" {
		c.StartAt = "07:00"
	}
	if c.WorkingDays == "" {
		c.WorkingDays = "MON-FRI"
	}
}

func (c *OffHoursConfig) validate(p *problems, env Env) {
	if _, err := time.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "Local" {
		p.add("offHours.timeZone", c.TimeZone, "an IANA time zone, e.g. UTC or Europe/Berlin")
	}
	start, stop := clockTime.MatchString(c.StartAt), clockTime.MatchString(c.StopAt)
	if !start {
		p.add("offHours.startAt", c.StartAt, "a time of day hh:mm, e.g. 07:00")
	}
	if !stop {
		p.add("offHours.stopAt", c.StopAt, "a time of day hh:mm, e.g. 20:00")
	}
	if start && stop && c.StartAt >= c.StopAt {
		p.add("offHours.stopAt", c.StopAt, "later in the day than offHours.startAt (%s)", c.StartAt)
	}
	if !cronWeekday.MatchString(c.WorkingDays) || !forwardRanges(c.WorkingDays) {
		p.add("offHours.workingDays", c.WorkingDays, "cron day-of-week names, ranges or lists, e.g. MON-FRI; ranges run forward from SUN to SAT (Auto Scaling numbers the days 0-6 from Sunday)")
	}
	// Stopping production is never a cost saving worth its outage.
	if c.Enabled && env.Rules.RequireHA {
		p.add("offHours.enabled", c.Enabled, "false for stack %q (it must stay up)", env.Stack)
	}
}

var weekday = map[string]int{"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}

// forwardRanges holds when every range of days runs forward in Auto Scaling's numbering.
func forwardRanges(days string) bool {
	for _, part := range strings.Split(days, ",") {
		if from, to, ok := strings.Cut(part, "-"); ok && weekday[to] < weekday[from] {
			return false
		}
	}
	return true
}

// LongestStop is the longest time the stack is stopped in a week: from a working day's stop to
// the next working day's start (Friday evening to Monday morning for MON-FRI).
func (c OffHoursConfig) LongestStop() time.Duration {
	days := [7]bool{}
	for _, part := range strings.Split(c.WorkingDays, ",") {
		from, to, ok := strings.Cut(part, "-")
		if !ok {
			to = from
		}
		for d := weekday[from]; d <= weekday[to]; d++ {
			days[d] = true
		}
	}
	startH, startM := Clock(c.StartAt)
	stopH, stopM := Clock(c.StopAt)
	day := time.Duration(24) * time.Hour
	start := time.Duration(startH)*time.Hour + time.Duration(startM)*time.Minute
	stop := time.Duration(stopH)*time.Hour + time.Duration(stopM)*time.Minute
	var longest time.Duration
	for d := 0; d < 7; d++ {
		if !days[d] {
			continue
		}
		next := 1
		for !days[(d+next)%7] {
			next++
		}
		if gap := time.Duration(next)*day - stop + start; gap > longest {
			longest = gap
		}
	}
	return longest
}

// validateOffHoursBackups: a database stopped for the weekend still needs restore points from
// before it; continuous backup (point-in-time restore) keeps database.backupRetentionDays, which
// must outlast the longest stop, or Monday's window starts after Friday's last write.
func validateOffHoursBackups(p *problems, o OffHoursConfig, b BackupConfig, d DatabaseConfig) {
	if !o.Enabled || !b.Continuous() {
		return
	}
	if stop := o.LongestStop(); time.Duration(d.BackupRetentionDays)*24*time.Hour <= stop+24*time.Hour {
		p.add("database.backupRetentionDays", d.BackupRetentionDays, "more than a day beyond the longest off-hours stop (%.0f hours, %s to %s on %s): continuous backup keeps this many days",
			stop.Hours(), o.StopAt, o.StartAt, o.WorkingDays)
	}
}

// Clock splits a validated hh:mm into hour and minute.
func Clock(hhmm string) (hour, minute int) {
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		return 0, 0
	}
	return t.Hour(), t.Minute()
}
