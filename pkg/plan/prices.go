package plan

// HoursPerMonth is the month AWS's pricing calculator uses: 730 hours.
const HoursPerMonth = 730

// PriceTable is the on-demand list prices of one region, in USD, as of Date. Prices change:
// update the table (and its date) from the sources when they do.
type PriceTable struct {
	Region  string
	Date    string
	Sources []string

	EKSClusterHour          float64            // standard support
	EC2Hour                 map[string]float64 // Linux on-demand, per instance type
	NATGatewayHour          float64
	PublicIPv4Hour          float64            // every public IPv4 address, in use or not
	InterfaceEndpointAZHour float64            // per endpoint per AZ
	RDSHour                 map[string]float64 // PostgreSQL single-AZ; multi-AZ (one standby) bills twice
	RDSGp3GBMonth           float64            // single-AZ; multi-AZ bills twice
	ElastiCacheHour         map[string]float64 // Redis OSS node
	EBSGp3GBMonth           float64
	KMSKeyMonth             float64
	SecretMonth             float64
	WAFWebACLMonth          float64
	WAFRuleMonth            float64 // a rule or a managed rule group (the baseline groups carry no subscription)
	AlarmMonth              float64 // standard-resolution metric alarm

	// Usage are the prices of what bills by use, listed beside the floor.
	Usage []UsagePrice
}

// UsagePrice is a price per unit of use.
type UsagePrice struct {
	Item  string  `json:"item"`
	Price float64 `json:"price"`
	Unit  string  `json:"unit"`
}

// priceTables are the regions CineGit's stacks use (all three stack files say us-east-1).
var priceTables = map[string]PriceTable{
	"us-east-1": {
		Region: "us-east-1",
		Date:   "2026-12-01",
		Sources: []string{
			"https://aws.amazon.com/eks/pricing/",
			"https://aws.amazon.com/ec2/pricing/on-demand/",
			"https://aws.amazon.com/vpc/pricing/ (NAT gateway, public IPv4 address)",
			"https://aws.amazon.com/privatelink/pricing/",
			"https://aws.amazon.com/rds/postgresql/pricing/",
			"https://aws.amazon.com/elasticache/pricing/",
			"https://aws.amazon.com/ebs/pricing/",
			"https://aws.amazon.com/kms/pricing/",
			"https://aws.amazon.com/secrets-manager/pricing/",
			"https://aws.amazon.com/waf/pricing/",
			"https://aws.amazon.com/cloudwatch/pricing/",
			"https://aws.amazon.com/s3/pricing/, /cloudfront/pricing/, /lambda/pricing/, /efs/pricing/, /sqs/pricing/, /ecr/pricing/",
		},
		EKSClusterHour: 0.10,
		EC2Hour: map[string]float64{
			"m7i.large": 0.1008, "m7i.xlarge": 0.2016, "m7i.2xlarge": 0.4032,
			"m7g.large": 0.0816, "m7g.xlarge": 0.1632, "m7g.2xlarge": 0.3264,
			"c7i.2xlarge": 0.357, "c7i.4xlarge": 0.714,
			"c7a.2xlarge": 0.41056, "c6i.2xlarge": 0.34,
			"c7g.2xlarge": 0.289, "c7g.4xlarge": 0.578,
			// GPU (NVENC) types: the same on-demand page; Karpenter v1.14.1 carries the same
			// figures (pkg/providers/pricing/zz_generated.pricing_aws.go, us-east-1).
			"g6.xlarge": 0.8048, "g5.xlarge": 1.006,
		},
		NATGatewayHour:          0.045,
		PublicIPv4Hour:          0.005,
		InterfaceEndpointAZHour: 0.01,
		RDSHour: map[string]float64{
			"db.t4g.micro": 0.016, "db.t4g.small": 0.032, "db.t4g.medium": 0.065,
			"db.m7g.large": 0.168, "db.r7g.large": 0.239, "db.r7g.xlarge": 0.478,
		},
		RDSGp3GBMonth: 0.115,
		ElastiCacheHour: map[string]float64{
			"cache.t4g.micro": 0.016, "cache.t4g.small": 0.032, "cache.t4g.medium": 0.065,
			"cache.m7g.large": 0.158, "cache.r7g.large": 0.219, "cache.r7g.xlarge": 0.437,
		},
		EBSGp3GBMonth:  0.08,
		KMSKeyMonth:    1,
		SecretMonth:    0.40,
		WAFWebACLMonth: 5,
		WAFRuleMonth:   1,
		AlarmMonth:     0.10,
		Usage: []UsagePrice{
			{"NAT gateway data processed", 0.045, "GB"},
			{"interface endpoint data processed", 0.01, "GB"},
			{"EC2 nodes Karpenter launches (media, GPU and services' pools)", 0, "on-demand or Spot price per instance-hour while they run (Spot typically 30-70% below)"},
			{"S3 Standard storage", 0.023, "GB-month"},
			{"S3 Standard-IA storage", 0.0125, "GB-month"},
			{"S3 Glacier Instant Retrieval storage", 0.004, "GB-month"},
			{"S3 PUT/COPY/POST/LIST requests", 0.005, "1,000 requests"},
			{"CloudFront data transfer out (first 10 TB, North America/Europe)", 0.085, "GB"},
			{"CloudFront HTTPS requests", 0.01, "10,000 requests"},
			{"WAF requests", 0.60, "1 million requests"},
			{"Lambda compute", 0.0000166667, "GB-second"},
			{"Lambda requests", 0.20, "1 million requests"},
			{"SQS requests", 0.40, "1 million requests"},
			{"EFS Standard storage", 0.30, "GB-month"},
			{"EFS Infrequent Access storage", 0.016, "GB-month"},
			{"ECR storage", 0.10, "GB-month"},
			{"CloudWatch Logs ingestion", 0.50, "GB"},
			{"CloudWatch Logs storage", 0.03, "GB-month"},
			{"RDS backup storage beyond the database's size", 0.095, "GB-month"},
			{"RDS storage autoscaling above allocated storage", 0.115, "GB-month (single-AZ; twice multi-AZ)"},
			{"ElastiCache backup storage beyond one free snapshot", 0.085, "GB-month"},
			{"KMS requests", 0.03, "10,000 requests"},
			{"Secrets Manager API calls", 0.05, "10,000 calls"},
			{"data transfer between AZs", 0.01, "GB each way"},
		},
	},
}
