package config

import (
	"regexp"
	"strconv"
)

// Backup, snapshot and maintenance windows of the data stores (RDS and ElastiCache). Both
// services take a daily window as "hh24:mi-hh24:mi" and a weekly one as
// "ddd:hh24:mi-ddd:hh24:mi", in UTC, and both refuse a daily window that overlaps the weekly one.

const (
	minutesPerDay  = 24 * 60
	minutesPerWeek = 7 * minutesPerDay
)

var (
	dailyWindow  = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$`)
	weeklyWindow = regexp.MustCompile(`^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):([0-5][0-9])-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):([0-5][0-9])$`)
	weekdays     = map[string]int{"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
)

// window is a time range in minutes from its origin (midnight for daily windows, Monday
// midnight for weekly ones); end may pass the origin's period when the window wraps.
type window struct {
	start, end int
}

func (w window) length() int { return w.end - w.start }

// parseDaily reads "hh24:mi-hh24:mi"; a window ending before it starts runs past midnight.
func parseDaily(s string) (window, bool) {
	m := dailyWindow.FindStringSubmatch(s)
	if m == nil {
		return window{}, false
	}
	start, end := hm(m[1], m[2]), hm(m[3], m[4])
	if end <= start {
		end += minutesPerDay
	}
	return window{start, end}, true
}

// parseWeekly reads "ddd:hh24:mi-ddd:hh24:mi"; a window ending before it starts runs past
// Sunday midnight.
func parseWeekly(s string) (window, bool) {
	m := weeklyWindow.FindStringSubmatch(s)
	if m == nil {
		return window{}, false
	}
	start := weekdays[m[1]]*minutesPerDay + hm(m[2], m[3])
	end := weekdays[m[4]]*minutesPerDay + hm(m[5], m[6])
	if end <= start {
		end += minutesPerWeek
	}
	return window{start, end}, true
}

func hm(h, m string) int {
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	return hh*60 + mm
}

// overlaps reports whether a daily window, repeated every day, meets a weekly window.
func overlaps(daily, weekly window) bool {
	for day := -1; day <= 7; day++ { // -1 and 7 catch wrap-around at either end of the week
		d := window{daily.start + day*minutesPerDay, daily.end + day*minutesPerDay}
		for _, shift := range []int{-minutesPerWeek, 0, minutesPerWeek} {
			w := window{weekly.start + shift, weekly.end + shift}
			if d.start < w.end && w.start < d.end {
				return true
			}
		}
	}
	return false
}

// validateWindows checks a daily window (backups, snapshots) and a weekly maintenance window:
// well-formed, within the service's length limits, and not overlapping.
func validateWindows(p *problems, dailyKey, daily, weeklyKey, weekly string, minMinutes int) {
	d, dok := parseDaily(daily)
	switch {
	case !dok:
		p.add(dailyKey, daily, "a daily UTC window hh24:mi-hh24:mi, e.g. 03:00-04:00")
	case d.length() < minMinutes:
		p.add(dailyKey, daily, "a window of at least %d minutes", minMinutes)
	}
	w, wok := parseWeekly(weekly)
	switch {
	case !wok:
		p.add(weeklyKey, weekly, "a weekly UTC window ddd:hh24:mi-ddd:hh24:mi with lowercase days, e.g. sun:05:00-sun:06:00")
	case w.length() < minMinutes || w.length() > minutesPerDay:
		p.add(weeklyKey, weekly, "a window of %d minutes to 24 hours", minMinutes)
	}
	if dok && wok && overlaps(d, w) {
		p.add(weeklyKey, weekly, "a window that does not overlap %s (%s): AWS rejects overlapping windows", p.ns+":"+dailyKey, daily)
	}
}
