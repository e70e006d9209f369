package config

import (
	"encoding/json"
	"regexp"
	"strings"
	"unicode/utf8"
)

// regions are the AWS commercial regions CineGit may deploy to.
var regions = []string{
	"af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
	"ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
	"ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
	"eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1",
	"me-south-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
}

var accountID = regexp.MustCompile(`^[0-9]{12}$`)

// validateAccount reads aws:allowedAccountIds, which must name exactly the one account the
// stack deploys to: an account per stack, and a deploy with another account's credentials fails
// in the provider's configuration, before any change.
func validateAccount(p *problems, raw string) string {
	var ids []string
	if raw == "" || json.Unmarshal([]byte(raw), &ids) != nil || len(ids) != 1 || !accountID.MatchString(ids[0]) {
		if raw == "" {
			raw = `""`
		}
		p.items = append(p.items, Problem{Key: AccountsKey, Value: raw,
			Allowed: "a list of exactly one 12-digit AWS account ID, the stack's own account (see docs/bootstrap.md)"})
		return ""
	}
	return ids[0]
}

func validateRegion(p *problems, region string) {
	if region == "" {
		p.items = append(p.items, Problem{Key: RegionKey, Value: `""`, Allowed: "required; one of " + strings.Join(regions, ", ")})
		return
	}
	for _, r := range regions {
		if r == region {
			return
		}
	}
	p.items = append(p.items, Problem{Key: RegionKey, Value: render(region), Allowed: "one of " + strings.Join(regions, ", ")})
}

// reservedTags are set by the program itself on every resource.
var reservedTags = map[string]bool{"project": true, "environment": true, "managed-by": true}

var tagChars = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// validateTags applies AWS's tag rules: keys 1-128 characters, values up to 256, a limited
// character set, no aws: prefix.
func validateTags(p *problems, tags map[string]string) {
	for k, v := range tags {
		key := "tags." + k
		switch {
		case k == "" || utf8.RuneCountInString(k) > 128:
			p.add(key, k, "tag keys have 1 to 128 characters")
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			p.add(key, k, "tag keys may not start with aws: (reserved by AWS)")
		case reservedTags[k]:
			p.add(key, k, "set by the program itself (project, environment, managed-by); choose another key")
		case !tagChars.MatchString(k):
			p.add(key, k, "tag keys use letters, digits, spaces and _ . : / = + - @ only")
		}
		switch {
		case utf8.RuneCountInString(v) > 256:
			p.add(key, v, "tag values have at most 256 characters")
		case !tagChars.MatchString(v):
			p.add(key, v, "tag values use letters, digits, spaces and _ . : / = + - @ only")
		}
	}
}
