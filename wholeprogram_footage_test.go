package main

import (
	"math"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/plan"
)

// TestWhatAFilmCosts: plan --cost prices CineGit's own work on each stack (pkg/plan/footage.go):
// an hour of 4K ingested (prod's with Transfer Acceleration), kept a year by the media bucket's
// lifecycle, transcoded on Lambda, on the media nodes on demand and on Spot, and with NVENC; a
// TB delivered; a GB through NAT; and 100 hours a month as a scenario whose lines add up. Every
// assumption names its source.
func TestWhatAFilmCosts(t *testing.T) {
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			c, err := plan.Cost(runWithImage(t, stack, false))
			if err != nil {
				t.Fatal(err)
			}
			f := c.Footage
			if f == nil {
				t.Fatal("no footage model")
			}
			rates := map[string]float64{}
			for _, r := range f.Rates {
				rates[strings.SplitN(r.Item, " (", 2)[0]] = r.Price
			}
			for _, want := range []string{
				"an hour of 4K footage ingested, its first month", "an hour of footage transcoded on Lambda",
				"an hour of footage transcoded on a media node, on demand", "the same on Spot",
				"an hour of footage transcoded with NVENC", "a TB of review playback through CloudFront", "a GB through a NAT gateway",
			} {
				if rates[want] <= 0 {
					t.Errorf("no price for %q: %v", want, rates)
				}
			}
			// Prod accelerates uploads: $0.04 a GB of its 318 GB an hour.
			accelerated := rates["an hour of 4K footage ingested, its first month"] - 7.314 - 0.1018 - 0.2111
			if math.Abs(accelerated-map[bool]float64{true: 12.72, false: 0}[stack == "prod"]) > 0.01 {
				t.Errorf("acceleration in the ingest price: %.4f", accelerated)
			}
			if rates["the same on Spot"] >= rates["an hour of footage transcoded on a media node, on demand"] {
				t.Errorf("Spot is not cheaper: %v", rates)
			}
			sum := 0.0
			for _, l := range f.Scenario.Lines {
				sum += l.Price
			}
			if f.Scenario.Hours != 100 || len(f.Scenario.Lines) != 5 || math.Abs(sum-f.Scenario.Monthly) > 0.01 {
				t.Errorf("scenario %+v", f.Scenario)
			}
			for _, a := range f.Assumptions {
				if a.Source == "" || a.Value <= 0 {
					t.Errorf("assumption %+v without a source or value", a)
				}
			}
		})
	}
}
