// Package dns is a stack's public DNS: a Route 53 hosted zone for the stack's domain (delegated
// from the apex, which lives elsewhere), optionally signed with DNSSEC, and ACM certificates
// validated through it.
package dns

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/acm"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/kmskey"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// Args configure the zone.
type Args struct {
	Env stackenv.Env
	// Domain is the zone's name, e.g. dev.cinegit.io.
	Domain string
	// DNSSEC signs the zone. Its key-signing key is backed by a KMS key that Route 53 requires
	// in us-east-1, made through EdgeProvider.
	DNSSEC bool
	// Delegated says the parent domain delegates to this zone's name servers. ACM validates
	// through public DNS, so certificates are issued only once it does: until then the zone
	// stands alone and Status says what is missing.
	Delegated bool
	// RegionalCertificate issues a certificate in the stack's region for Domain and *.Domain:
	// the one the load balancers of CineGit's services present.
	RegionalCertificate bool
	// EdgeCertificateNames, when not empty, issues a certificate in us-east-1 for these names
	// (the first is the certificate's domain name): the one CloudFront presents.
	EdgeCertificateNames []string
	// EdgeProvider is an AWS provider for us-east-1; needed for DNSSEC and the edge certificate.
	EdgeProvider pulumi.ProviderResource
	// Protect keeps the zone (and so its name servers, which the parent delegates to).
	Protect bool
	// DelegationSetID is a reusable delegation set the zone takes its name servers from (made
	// once per account by bootstrap/): a zone created again after a destroy gets the same four
	// name servers, so the parent's NS records stay valid. "" lets Route 53 pick new ones.
	DelegationSetID string
	// KeySigningKeyArn is a KMS key in us-east-1 that the key-signing key uses (made once per
	// account by bootstrap/, with kmskey.Route53DNSSECStatements): the same key gives the same DS
	// record, so the parent's DS stays valid across a recreate. "" makes one with the zone.
	KeySigningKeyArn string
}

// Zone is the DNS component.
type Zone struct {
	pulumi.ResourceState

	// Domain is the zone's name.
	Domain string
	// ZoneID is the hosted zone's id.
	ZoneID pulumi.StringOutput `pulumi:"zoneId"`
	// NameServers are what the parent zone's NS record for Domain must list.
	NameServers pulumi.StringArrayOutput `pulumi:"nameServers"`
	// DSRecord is the DS record the parent zone must publish once DNSSEC signs the zone; "" without DNSSEC.
	DSRecord pulumi.StringOutput `pulumi:"dsRecord"`
	// CertificateArn is the issued regional certificate; "" when none was asked for.
	CertificateArn pulumi.StringOutput `pulumi:"certificateArn"`
	// EdgeCertificateArn is the issued us-east-1 certificate; "" when none was asked for.
	EdgeCertificateArn pulumi.StringOutput `pulumi:"edgeCertificateArn"`
	// Status is "ready", or what the parent domain must do before certificates can be issued.
	Status pulumi.StringOutput `pulumi:"status"`
}

// EdgeRegion is where Route 53 wants DNSSEC's KMS key and CloudFront its certificates.
const EdgeRegion = kmskey.DNSSECRegion

var domainName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

// New creates the zone.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Zone, error) {
	if !domainName.MatchString(args.Domain) {
		return nil, fmt.Errorf("dns %s: domain %q is not a lowercase fully qualified domain name", name, args.Domain)
	}
	for _, n := range args.EdgeCertificateNames {
		if n != args.Domain && !strings.HasSuffix(n, "."+args.Domain) {
			return nil, fmt.Errorf("dns %s: %q is not in the zone %s, so it cannot be validated there", name, n, args.Domain)
		}
	}
	if (args.DNSSEC || len(args.EdgeCertificateNames) > 0) && args.EdgeProvider == nil {
		return nil, fmt.Errorf("dns %s: DNSSEC and the edge certificate need the us-east-1 provider", name)
	}
	z := &Zone{Domain: args.Domain}
	if err := ctx.RegisterComponentResource("cinegit:dns:Zone", name, z, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(z)
	env := args.Env

	var delegationSet pulumi.StringPtrInput
	if args.DelegationSetID != "" {
		delegationSet = pulumi.String(args.DelegationSetID)
	}
	zone, err := route53.NewZone(ctx, name, &route53.ZoneArgs{
		Name:            pulumi.String(args.Domain),
		Comment:         pulumi.String("CineGit " + env.Naming.Stack + ": delegated from the parent domain (see the nameServers output)"),
		DelegationSetId: delegationSet,
		Tags:            env.Tags.Named(args.Domain).Map(),
	}, parent, pulumi.Protect(args.Protect))
	if err != nil {
		return nil, err
	}
	z.ZoneID, z.NameServers = zone.ZoneId, zone.NameServers
	none := pulumi.String("").ToStringOutput()
	z.DSRecord, z.CertificateArn, z.EdgeCertificateArn = none, none, none

	if args.DNSSEC {
		ds, err := sign(ctx, name, args, zone, parent)
		if err != nil {
			return nil, err
		}
		z.DSRecord = ds
	}
	z.Status = pulumi.String("ready").ToStringOutput()
	if !args.Delegated {
		z.Status = zone.NameServers.ApplyT(func(ns []string) string {
			return fmt.Sprintf("pending: delegate %s from its parent domain to %s (NS), then set cinegit:dns.delegated to true; "+
				"certificates are issued after that (ACM validates through public DNS)", args.Domain, strings.Join(ns, ", "))
		}).(pulumi.StringOutput)
		args.RegionalCertificate, args.EdgeCertificateNames = false, nil
	}
	if args.RegionalCertificate {
		cert, err := NewCertificate(ctx, name, CertificateArgs{
			Env: env, ZoneID: zone.ZoneId, DomainName: args.Domain, AlternativeNames: []string{"*." + args.Domain},
		}, parent)
		if err != nil {
			return nil, err
		}
		z.CertificateArn = cert.Arn
	}
	if names := args.EdgeCertificateNames; len(names) > 0 {
		cert, err := NewCertificate(ctx, name+"-edge", CertificateArgs{
			Env: env, ZoneID: zone.ZoneId, DomainName: names[0], AlternativeNames: names[1:],
		}, parent, pulumi.Provider(args.EdgeProvider))
		if err != nil {
			return nil, err
		}
		z.EdgeCertificateArn = cert.Arn
	}

	if err := ctx.RegisterResourceOutputs(z, pulumi.Map{
		"zoneId":             z.ZoneID,
		"nameServers":        z.NameServers,
		"dsRecord":           z.DSRecord,
		"certificateArn":     z.CertificateArn,
		"edgeCertificateArn": z.EdgeCertificateArn,
		"status":             z.Status,
	}); err != nil {
		return nil, err
	}
	return z, nil
}

// sign turns on DNSSEC signing with a key-signing key backed by a customer managed key: an
// asymmetric ECC_NIST_P256 key in us-east-1 whose policy lets Route 53's DNSSEC service use it
// for hosted zones of this account only, as AWS documents it
// (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-configuring-dnssec-cmk-requirements.html).
func sign(ctx *pulumi.Context, name string, args Args, zone *route53.Zone, parent pulumi.ResourceOption) (pulumi.StringOutput, error) {
	keyArn := pulumi.String(args.KeySigningKeyArn).ToStringOutput()
	if args.KeySigningKeyArn == "" {
		edge := args.Env
		edge.Region = EdgeRegion
		key, err := kmskey.New(ctx, name+"-dnssec", kmskey.Args{
			Env:         edge,
			Description: "CineGit " + edge.Naming.Stack + " DNSSEC key-signing key for " + args.Domain,
			Alias:       edge.Naming.Name("dnssec"),
			Signing:     true,
			Statements:  kmskey.Route53DNSSECStatements(edge.AccountID, edge.Partition),
		}, parent, pulumi.Provider(args.EdgeProvider), pulumi.Protect(args.Protect))
		if err != nil {
			return pulumi.StringOutput{}, err
		}
		keyArn = key.Arn()
	}
	ksk, err := route53.NewKeySigningKey(ctx, name, &route53.KeySigningKeyArgs{
		HostedZoneId:            zone.ZoneId,
		KeyManagementServiceArn: keyArn,
		// 3-128 letters, digits and underscores, unique in the zone.
		Name:   pulumi.String("cinegit_" + args.Env.Naming.Stack + "_ksk"),
		Status: pulumi.String("ACTIVE"),
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	// The KSK's zone id (not the zone's) orders signing after the KSK exists.
	if _, err := route53.NewHostedZoneDnsSec(ctx, name, &route53.HostedZoneDnsSecArgs{
		HostedZoneId:  ksk.HostedZoneId,
		SigningStatus: pulumi.String("SIGNING"),
	}, parent); err != nil {
		return pulumi.StringOutput{}, err
	}
	return ksk.DsRecord, nil
}

// CertificateArgs describe one certificate.
type CertificateArgs struct {
	Env stackenv.Env
	// ZoneID is the hosted zone the validation records go in; it must be authoritative for
	// every name on the certificate.
	ZoneID pulumi.StringInput
	// DomainName and AlternativeNames are the names the certificate covers, e.g. dev.cinegit.io
	// and *.dev.cinegit.io.
	DomainName       string
	AlternativeNames []string
}

// Certificate is an ACM certificate issued through DNS validation.
type Certificate struct {
	pulumi.ResourceState

	// Arn is the certificate's ARN once ACM has issued it, so that whatever uses it (CloudFront,
	// a load balancer listener) waits for the certificate to be valid.
	Arn pulumi.StringOutput `pulumi:"arn"`
}

// NewCertificate requests a certificate in the region of the provider in opts (us-east-1 for
// CloudFront) and validates it with records in the zone. ACM renews a DNS-validated certificate
// by itself for as long as the records stay
// (https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html).
func NewCertificate(ctx *pulumi.Context, name string, args CertificateArgs, opts ...pulumi.ResourceOption) (*Certificate, error) {
	for _, n := range append([]string{args.DomainName}, args.AlternativeNames...) {
		if !domainName.MatchString(strings.TrimPrefix(n, "*.")) {
			return nil, fmt.Errorf("certificate %s: %q is not a lowercase fully qualified domain name", name, n)
		}
	}
	c := &Certificate{}
	if err := ctx.RegisterComponentResource("cinegit:dns:Certificate", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	cert, err := acm.NewCertificate(ctx, name, &acm.CertificateArgs{
		DomainName:              pulumi.String(args.DomainName),
		SubjectAlternativeNames: pulumi.ToStringArray(args.AlternativeNames),
		ValidationMethod:        pulumi.String("DNS"),
		Options: &acm.CertificateOptionsArgs{
			CertificateTransparencyLoggingPreference: pulumi.String("ENABLED"),
		},
		Tags: args.Env.Tags.Named(args.DomainName).Map(),
	}, parent)
	if err != nil {
		return nil, err
	}
	// One record per name without its wildcard: ACM asks for the same CNAME for a name and its
	// wildcard. The set of names is known from config, so the records are too, in previews as well.
	var fqdns pulumi.StringArray
	for i, base := range ValidationNames(args.DomainName, args.AlternativeNames) {
		option := cert.DomainValidationOptions.ApplyT(func(opts []acm.CertificateDomainValidationOption) acm.CertificateDomainValidationOption {
			for _, o := range opts {
				if o.DomainName != nil && strings.TrimPrefix(*o.DomainName, "*.") == base {
					return o
				}
			}
			return acm.CertificateDomainValidationOption{}
		}).(acm.CertificateDomainValidationOptionOutput)
		record, err := route53.NewRecord(ctx, fmt.Sprintf("%s-validation-%d", name, i), &route53.RecordArgs{
			ZoneId:  args.ZoneID,
			Name:    option.ResourceRecordName().Elem(),
			Type:    option.ResourceRecordType().Elem(),
			Records: pulumi.StringArray{option.ResourceRecordValue().Elem()},
			Ttl:     pulumi.Int(300),
			// Two certificates for the same name (regional and us-east-1) get the same record.
			AllowOverwrite: pulumi.Bool(true),
		}, parent)
		if err != nil {
			return nil, err
		}
		fqdns = append(fqdns, record.Fqdn)
	}
	validation, err := acm.NewCertificateValidation(ctx, name, &acm.CertificateValidationArgs{
		CertificateArn:        cert.Arn,
		ValidationRecordFqdns: fqdns,
	}, parent)
	if err != nil {
		return nil, err
	}
	c.Arn = validation.CertificateArn
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"arn": c.Arn}); err != nil {
		return nil, err
	}
	return c, nil
}

// ValidationNames are the names ACM validates for a certificate: each name without a leading
// wildcard, once, in order.
func ValidationNames(domain string, alternatives []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range append([]string{domain}, alternatives...) {
		base := strings.TrimPrefix(n, "*.")
		if !seen[base] {
			seen[base] = true
			out = append(out, base)
		}
	}
	return out
}
