package config

import (
	"fmt"
	"net/url"
	"strings"
)

// MediaConfig is the `media` section: the media, proxies, thumbnails and access-logs buckets.
type MediaConfig struct {
	// ForceDestroy lets `pulumi destroy` empty and delete the buckets, and the backup vaults
	// (in both regions) and the media replica with them: an ephemeral stack's explicit choice
	// (dev, staging). prod rejects it.
	ForceDestroy bool `json:"forceDestroy"`
	// CORSOrigins are the https origins of the web app that uploads to the media bucket from
	// browsers with presigned URLs, e.g. https://app.cinegit.io. Default: none (no CORS).
	CORSOrigins []string `json:"corsOrigins"`
	// TransferAcceleration serves uploads of originals through S3 Transfer Acceleration (the
	// mediaUploadEndpoint output is the accelerate endpoint then). Default false.
	TransferAcceleration bool `json:"transferAcceleration"`
	// AbortIncompleteUploadDays aborts multipart uploads left unfinished, in every bucket
	// (1-7, default 7): their parts are billed but never become objects.
	AbortIncompleteUploadDays int `json:"abortIncompleteUploadDays"`
	// NoncurrentVersionExpirationDays deletes overwritten or deleted versions of media after
	// this many days (default 30).
	NoncurrentVersionExpirationDays int `json:"noncurrentVersionExpirationDays"`
	// OriginalsPrefix is the key prefix of original camera files in the media bucket, which
	// OriginalsTransitions apply to (default "originals/"; other project media stays in STANDARD).
	OriginalsPrefix string `json:"originalsPrefix"`
	// OriginalsTransitions move originals to cheaper storage classes as they age, in order of
	// increasing days and ever colder classes. Default: STANDARD_IA at 30 days, GLACIER_IR at 90.
	OriginalsTransitions []StorageTransition `json:"originalsTransitions"`
	// DerivedNoncurrentVersionExpirationDays deletes overwritten proxies and thumbnails after
	// this many days (default 7; at most NoncurrentVersionExpirationDays: they can be regenerated).
	DerivedNoncurrentVersionExpirationDays int `json:"derivedNoncurrentVersionExpirationDays"`
	// ProxiesOneZoneIADays moves proxies to ONEZONE_IA after this many days (at least 30;
	// default 30; 0 keeps them in STANDARD). One zone suffices for regenerable data.
	ProxiesOneZoneIADays *int `json:"proxiesOneZoneIaDays"`
	// LogsExpirationDays deletes S3 access logs after this many days (default 90).
	LogsExpirationDays int `json:"logsExpirationDays"`
}

// StorageTransition moves objects to StorageClass Days days after they were created.
type StorageTransition struct {
	Days         int    `json:"days"`
	StorageClass string `json:"storageClass"`
}

// StorageClasses are the lifecycle transition targets, warmest first: a transition may only
// move objects further down this list.
var StorageClasses = []string{"STANDARD_IA", "INTELLIGENT_TIERING", "ONEZONE_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"}

// infrequentAccess classes take objects at least 30 days old, and keep them 30 days before
// the next transition (S3 rejects lifecycle rules that do otherwise).
var infrequentAccess = map[string]bool{"STANDARD_IA": true, "ONEZONE_IA": true}

func (c *MediaConfig) applyDefaults(env Env) {
	if c.AbortIncompleteUploadDays == 0 {
		c.AbortIncompleteUploadDays = 7
	}
	if c.NoncurrentVersionExpirationDays == 0 {
		c.NoncurrentVersionExpirationDays = 30
	}
	if c.OriginalsPrefix == "" {
		c.OriginalsPrefix = "originals/"
	}
	if c.OriginalsTransitions == nil {
		c.OriginalsTransitions = []StorageTransition{{Days: 30, StorageClass: "STANDARD_IA"}, {Days: 90, StorageClass: "GLACIER_IR"}}
	}
	if c.DerivedNoncurrentVersionExpirationDays == 0 {
		c.DerivedNoncurrentVersionExpirationDays = 7
	}
	if c.ProxiesOneZoneIADays == nil {
		days := 30
		c.ProxiesOneZoneIADays = &days
	}
	if c.LogsExpirationDays == 0 {
		c.LogsExpirationDays = 90
	}
}

func (c *MediaConfig) validate(p *problems, env Env) {
	// Only prod's data must outlive a destroy: an ephemeral stack's file chooses (docs/destroy.md).
	if c.ForceDestroy && env.Rules.RequirePulumiProtect {
		p.add("media.forceDestroy", c.ForceDestroy, "false for stack %q: its buckets must survive a destroy", env.Stack)
	}
	validateHTTPSOrigins(p, "media.corsOrigins", c.CORSOrigins)
	if c.AbortIncompleteUploadDays < 1 || c.AbortIncompleteUploadDays > 7 {
		p.add("media.abortIncompleteUploadDays", c.AbortIncompleteUploadDays, "1 to 7 days")
	}
	if c.NoncurrentVersionExpirationDays < 1 {
		p.add("media.noncurrentVersionExpirationDays", c.NoncurrentVersionExpirationDays, "a positive number of days")
	}
	switch d := c.DerivedNoncurrentVersionExpirationDays; {
	case d < 1:
		p.add("media.derivedNoncurrentVersionExpirationDays", d, "a positive number of days")
	case d > c.NoncurrentVersionExpirationDays && c.NoncurrentVersionExpirationDays >= 1:
		p.add("media.derivedNoncurrentVersionExpirationDays", d,
			"at most media.noncurrentVersionExpirationDays (%d): proxies and thumbnails can be regenerated, so old versions are kept no longer than originals'", c.NoncurrentVersionExpirationDays)
	}
	if strings.HasPrefix(c.OriginalsPrefix, "/") || !strings.HasSuffix(c.OriginalsPrefix, "/") || len(c.OriginalsPrefix) > 1024 {
		p.add("media.originalsPrefix", c.OriginalsPrefix, "a key prefix ending in a slash and not starting with one, e.g. \"originals/\"")
	}
	validateStorageTransitions(p, "media.originalsTransitions", c.OriginalsTransitions)
	if d := *c.ProxiesOneZoneIADays; d != 0 && d < 30 {
		p.add("media.proxiesOneZoneIaDays", d, "0 (keep proxies in STANDARD) or at least 30 days (S3's minimum age for ONEZONE_IA)")
	}
	if c.LogsExpirationDays < 1 {
		p.add("media.logsExpirationDays", c.LogsExpirationDays, "a positive number of days")
	}
}

// validateStorageTransitions checks what S3 checks when it accepts a lifecycle rule, so that a bad
// schedule fails at preview instead of halfway through an update.
func validateStorageTransitions(p *problems, key string, ts []StorageTransition) {
	rank := map[string]int{}
	for i, s := range StorageClasses {
		rank[s] = i
	}
	for i, t := range ts {
		k := fmt.Sprintf("%s[%d]", key, i)
		r, known := rank[t.StorageClass]
		if !known {
			p.add(k+".storageClass", t.StorageClass, "one of %s", strings.Join(StorageClasses, ", "))
			continue
		}
		if t.Days < 1 {
			p.add(k+".days", t.Days, "a positive number of days")
			continue
		}
		if infrequentAccess[t.StorageClass] && t.Days < 30 {
			p.add(k+".days", t.Days, "at least 30 days for %s (S3's minimum age for infrequent-access classes)", t.StorageClass)
		}
		if i == 0 {
			continue
		}
		prev := ts[i-1]
		if pr, ok := rank[prev.StorageClass]; ok && r <= pr {
			p.add(k+".storageClass", t.StorageClass, "a colder class than %s (transitions go in the order %s)", prev.StorageClass, strings.Join(StorageClasses, ", "))
		}
		switch {
		case t.Days <= prev.Days:
			p.add(k+".days", t.Days, "more days than the previous transition (%d)", prev.Days)
		case infrequentAccess[prev.StorageClass] && t.Days < prev.Days+30:
			p.add(k+".days", t.Days, "at least %d: objects stay 30 days in %s before moving on", prev.Days+30, prev.StorageClass)
		}
	}
}

// validateHTTPSOrigins checks browser origins: https, a host, nothing after it. A trailing slash or
// path never matches the Origin header a browser sends, so it is an error, not a style issue.
// One leading "*." wildcard label is allowed (S3 and CloudFront accept it).
func validateHTTPSOrigins(p *problems, key string, origins []string) {
	seen := map[string]bool{}
	for i, o := range origins {
		k := fmt.Sprintf("%s[%d]", key, i)
		u, err := url.Parse(o)
		host := ""
		if err == nil {
			host = strings.TrimPrefix(u.Hostname(), "*.")
		}
		switch {
		case err != nil || u.Scheme != "https" || host == "" || strings.Contains(host, "*"):
			p.add(k, o, "an https origin such as https://app.cinegit.io (scheme https, a host name, optionally a port or one leading *. label)")
		case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#"):
			p.add(k, o, "an origin only: scheme, host and optional port, no path, trailing slash, query or credentials")
		case seen[strings.ToLower(o)]:
			p.add(k, o, "each origin once (duplicate)")
		}
		seen[strings.ToLower(o)] = true
	}
}
