package wiring

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/cdn"
	"github.com/cinegit/infrastructure/pkg/cluster"
	"github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/config/configtest"
	"github.com/cinegit/infrastructure/pkg/database"
	"github.com/cinegit/infrastructure/pkg/dns"
	"github.com/cinegit/infrastructure/pkg/mediaprocessing"
	"github.com/cinegit/infrastructure/pkg/mediastore"
	"github.com/cinegit/infrastructure/pkg/network"
	"github.com/cinegit/infrastructure/pkg/secrets"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// standIns are the components whose outputs flow into other components' Args. They are made
// once: Args built twice from the same config must compare equal.
type standIns struct {
	net      *network.Network
	eks      *cluster.Cluster
	media    *mediastore.MediaStore
	edge     *cdn.CDN
	pipeline *mediaprocessing.MediaProcessing
	store    *secrets.Secrets
	provider *aws.Provider
	zone     *dns.Zone
	db       *database.Database
}

func newStandIns() standIns {
	arn := pulumi.String("arn:aws:sns:us-east-1:123456789012:alarms").ToStringOutput()
	return standIns{
		net: &network.Network{}, eks: &cluster.Cluster{}, media: &mediastore.MediaStore{}, edge: &cdn.CDN{},
		pipeline: &mediaprocessing.MediaProcessing{AlarmTopicArn: arn, KmsKeyArn: arn},
		store:    &secrets.Secrets{}, provider: &aws.Provider{},
		db:   &database.Database{},
		zone: &dns.Zone{ZoneID: arn, CertificateArn: arn, EdgeCertificateArn: arn},
	}
}

// allArgs is every component's Args as the Args methods build them from c. An error (a network
// layout that does not fit) is kept as a value, so a change that breaks the layout still counts
// as received.
func allArgs(c Config, s standIns) []any {
	env := envForArgs(c)
	netArgs, err := c.NetworkArgs(env, "cinegit-prod-eks", nil)
	return []any{
		netArgs, fmt.Sprint(err),
		c.ClusterArgs(env, "cinegit-prod-eks", s.net),
		c.DatabaseArgs(env, s.net, nil),
		c.CacheArgs(env, s.net, nil),
		c.MediaStoreArgs(env, s.provider),
		c.BackupArgs(env, s.db, s.media, s.provider),
		c.OffHoursArgs(env, s.eks, s.db),
		c.DNSArgs(env, s.provider),
		c.CertificateArn(s.zone),
		c.CDNArgs(env, s.provider, s.media, s.zone),
		c.MediaProcessingArgs(env, s.net, s.media, s.eks),
		c.SecretsArgs(env, s.eks, nil),
		c.ObservabilityArgs(env, s.eks, s.store, s.pipeline, s.edge),
		c.GitOpsArgs(env, s.eks, s.store, nil),
		c.ServicesArgs(env, s.eks, s.store, s.db, s.media, s.pipeline, nil),
		c.IngressArgs(env, s.eks, s.net, s.zone, s.media, s.store),
	}
}

func envForArgs(c Config) stackenv.Env {
	return stackenv.Env{AccountID: "123456789012", Partition: "aws", Region: c.Region}
}

// TestEveryConfigKeyReachesAComponent changes each leaf of the configuration in turn and
// checks that some component's Args changes with it: a key that validation accepts but no
// component receives would be silently ignored at deploy time.
func TestEveryConfigKeyReachesAComponent(t *testing.T) {
	// Keys consumed outside the Args methods, each with where it goes.
	elsewhere := map[string]string{
		"tags": "tags.Base: the providers' default tags and stackenv.Env",
		// The environment tag beside tags (tags.Base in main.go), and the StackRules validation
		// applies; names stay the stack's.
		"environment": "tags.Base in main.go and config.RulesFor",
		// Validation only: what the account's Lambda quota can give bounds reservedConcurrency
		// and maximumConcurrency; nothing is deployed from it.
		"mediaProcessing.accountConcurrencyQuota": "section_mediaprocessing.go validation",
		// The lookup of the runner VPC (main.go's deployRunnerPeer) reads it; its result reaches
		// the network as network.Args.Peer.
		"deployRunner.vpcName": "deployRunnerPeer in main.go",
		// main.go makes the secondary provider in it; Copy.Region and Replication.Region carry it
		// when copies or replication are on, which the defaults this test starts from are not.
		"backup.secondaryRegion": "the secondary provider in main.go",
	}
	// Enumerations whose consumer compares with one value: a changed spelling would read as the
	// other value, so the change is to the value that matters.
	alternatives := map[string]string{
		"network.natGateways": config.NatSingle,
	}
	parse := func(t *testing.T) Config {
		t.Helper()
		c, err := config.Parse("prod", configtest.ProdWith())
		if err != nil {
			t.Fatal(err)
		}
		return Config{Config: c}
	}
	stand := newStandIns()
	baseline := allArgs(parse(t), stand)
	if again := allArgs(parse(t), stand); !reflect.DeepEqual(baseline, again) {
		t.Fatal("the same configuration gives different Args: the comparison cannot work")
	}
	var leaves []string
	collectLeaves(reflect.TypeOf(config.Config{}), "", &leaves)
	if len(leaves) < 100 {
		t.Fatalf("only %d configuration leaves found: the walk is broken", len(leaves))
	}
	for _, key := range leaves {
		if _, ok := elsewhere[key]; ok {
			continue
		}
		t.Run(key, func(t *testing.T) {
			c := parse(t)
			field := fieldByKey(reflect.ValueOf(c.Config).Elem(), key)
			if alt, ok := alternatives[key]; ok {
				if field.String() == alt {
					t.Fatalf("%s is already %q in the baseline", key, alt)
				}
				field.SetString(alt)
			} else if !mutate(field) {
				t.Skipf("%s: no mutation for this kind of field", key)
			}
			if reflect.DeepEqual(baseline, allArgs(c, stand)) {
				t.Errorf("changing %s changes no component's Args: wire it in its section's Args method", key)
			}
		})
	}
}

// collectLeaves lists the JSON key paths of every field that is not itself a struct of settings.
func collectLeaves(typ reflect.Type, prefix string, out *[]string) {
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		name := configtest.JSONName(f)
		if name == "" || name == "-" {
			continue
		}
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			collectLeaves(ft, key, out)
			continue
		}
		*out = append(*out, key)
	}
}

// fieldByKey finds the field at a JSON key path, allocating nil struct pointers on the way.
func fieldByKey(v reflect.Value, key string) reflect.Value {
	for _, part := range splitKey(key) {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			if configtest.JSONName(t.Field(i)) == part {
				v = v.Field(i)
				break
			}
		}
	}
	return v
}

func splitKey(key string) []string {
	var parts []string
	start := 0
	for i := 0; i <= len(key); i++ {
		if i == len(key) || key[i] == '.' {
			parts = append(parts, key[start:i])
			start = i + 1
		}
	}
	return parts
}

// mutate changes v to a different value of its type; false when it cannot.
func mutate(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "-changed")
	case reflect.Int, reflect.Int64:
		v.SetInt(v.Int() + 7)
	case reflect.Float64:
		v.SetFloat(v.Float() + 7)
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Pointer:
		next := reflect.New(v.Type().Elem())
		if !v.IsNil() {
			next.Elem().Set(v.Elem())
		}
		if !mutate(next.Elem()) {
			return false
		}
		v.Set(next)
	case reflect.Slice:
		elem := reflect.New(v.Type().Elem()).Elem()
		if v.Len() > 0 {
			elem.Set(v.Index(0))
		}
		if elem.Kind() == reflect.Struct {
			mutate(elem.Field(0))
		} else {
			mutate(elem)
		}
		v.Set(reflect.Append(reflect.AppendSlice(reflect.MakeSlice(v.Type(), 0, v.Len()+1), v), elem))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for _, k := range v.MapKeys() {
			m.SetMapIndex(k, v.MapIndex(k))
		}
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		mutate(k)
		mutate(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	default:
		return false
	}
	return true
}
