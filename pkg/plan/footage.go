package plan

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// What a film costs: beside the monthly floor, a usage model of CineGit's own work, priced from
// the stack's registered resources. Every quantity below is an assumption with its source; the
// transcode speeds are estimates that only real footage measures.

// FootageCost is a stack's usage model.
type FootageCost struct {
	Assumptions []FootageAssumption `json:"assumptions"`
	// Rates are the prices per unit of work: per hour of footage ingested or transcoded, per
	// TB delivered, per GB through NAT.
	Rates    []FootageRate   `json:"rates"`
	Scenario FootageScenario `json:"scenario"`
}

// FootageAssumption is one quantity the model takes as given.
type FootageAssumption struct {
	Item   string  `json:"item"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Source string  `json:"source"`
}

// FootageRate is one price per unit of work.
type FootageRate struct {
	Item  string  `json:"item"`
	Price float64 `json:"price"`
	Unit  string  `json:"unit"`
	Note  string  `json:"note,omitempty"`
}

// FootageScenario prices a month of work.
type FootageScenario struct {
	Hours   float64       `json:"hours"`
	Views   float64       `json:"views"`
	Lines   []FootageRate `json:"lines"`
	Monthly float64       `json:"monthly"`
}

// The model's quantities.
const (
	// Apple ProRes 422 HQ, 3840x2160 at 29.97 fps: 707 Mb/s, 318 GB an hour ("Apple ProRes",
	// white paper, target data rates), what 4K cameras and edit suites hand over.
	originalGBPerHour = 318.0
	// A 1080p H.264 review proxy at 10 Mb/s (4.5 GB an hour) and the same again in HLS
	// renditions; a 100 KB thumbnail every 2 seconds.
	proxyGBPerHour = 9.0
	thumbGBPerHour = 0.18
	// Browsers upload in 16 MiB parts (one PUT each; CreateMultipartUpload and Complete add 2).
	uploadPartMiB = 16.0
	// Streaming segments of 6 seconds at 10 Mb/s are 7.5 MB each.
	segmentMB = 7.5
	// Transcode speed, as hours of compute per hour of 4K footage (to a proxy and its HLS
	// renditions): an estimate for software x264 on 8 vCPUs, scaled by vCPUs; Lambda's 6
	// vCPUs at 10 GB about two hours; NVENC on one GPU about a quarter hour. Measure on real
	// footage before trusting them.
	computeHoursPer8VCPU   = 1.0
	lambdaComputeHours     = 2.0
	gpuComputeHours        = 0.25
	spotDiscount           = 0.65 // Spot prices run 60-70% below on-demand (EC2 Spot pricing history)
	gpuInstance            = "g6.xlarge"
	gpuHour                = 0.8048 // https://aws.amazon.com/ec2/pricing/on-demand/ (g6.xlarge, us-east-1)
	accelerationPerGB      = 0.04   // https://aws.amazon.com/s3/pricing/ (Transfer Acceleration, US, EU, Japan)
	scenarioHours          = 100.0
	scenarioViewsPerHour   = 10.0
	monthsOfStorageInModel = 12
)

// storageClassGBMonth are S3's storage prices per class, us-east-1
// (https://aws.amazon.com/s3/pricing/).
var storageClassGBMonth = map[string]float64{
	"STANDARD": 0.023, "STANDARD_IA": 0.0125, "ONEZONE_IA": 0.01, "GLACIER_IR": 0.004, "GLACIER": 0.0036, "DEEP_ARCHIVE": 0.00099,
	"INTELLIGENT_TIERING": 0.023,
}

// usagePrice finds a price of the table's usage list by its item's start.
func usagePrice(t PriceTable, item string) float64 {
	for _, u := range t.Usage {
		if strings.HasPrefix(u.Item, item) {
			return u.Price
		}
	}
	return 0
}

// Footage prices the model for a stack.
func Footage(r *harness.Result, t PriceTable) (*FootageCost, error) {
	f := &FootageCost{Assumptions: []FootageAssumption{
		{"4K originals (ProRes 422 HQ, 3840x2160, 29.97 fps)", originalGBPerHour, "GB per hour", "Apple ProRes white paper, target data rates: 707 Mb/s"},
		{"proxies and HLS renditions (1080p H.264, 10 Mb/s each)", proxyGBPerHour, "GB per hour", "CineGit's proxy profile"},
		{"thumbnails (100 KB every 2 s)", thumbGBPerHour, "GB per hour", "CineGit's thumbnail profile"},
		{"browser upload part size", uploadPartMiB, "MiB", "the upload client's multipart setting"},
		{"streaming segment (6 s at 10 Mb/s)", segmentMB, "MB", "CineGit's HLS profile"},
		{"transcode on 8 vCPUs (x264, 4K to proxy and renditions)", computeHoursPer8VCPU, "hours per hour of footage", "estimate: measure on real footage"},
		{"transcode on Lambda (10 GB, 6 vCPUs)", lambdaComputeHours, "hours per hour of footage", "estimate: measure on real footage"},
		{"transcode with NVENC on one GPU", gpuComputeHours, "hours per hour of footage", "estimate: measure on real footage"},
		{"Spot discount below on-demand", spotDiscount * 100, "%", "EC2 Spot pricing history (typically 60-70%)"},
		{"reviews per hour of footage (scenario)", scenarioViewsPerHour, "full plays", "assumption"},
	}}
	rate := func(item string, price float64, unit, note string) FootageRate {
		r := FootageRate{Item: item, Price: cents4(price), Unit: unit, Note: note}
		f.Rates = append(f.Rates, r)
		return r
	}

	// Ingest: the originals' first year in the media bucket, class by class as its lifecycle
	// moves them, the upload's requests, and acceleration where the stack has it.
	transitions := mediaTransitions(r)
	var storageYear float64
	for month := 0; month < monthsOfStorageInModel; month++ {
		class := "STANDARD"
		for _, tr := range transitions {
			if float64(month*30) >= tr.days {
				class = tr.class
			}
		}
		storageYear += originalGBPerHour * storageClassGBMonth[class]
	}
	puts := math.Ceil(originalGBPerHour*1024/uploadPartMiB) + 2
	putPrice := usagePrice(t, "S3 PUT") / 1000
	accelerated := len(r.ByType("aws:s3/bucketAccelerateConfigurationV2:BucketAccelerateConfigurationV2")) > 0
	acceleration := 0.0
	if accelerated {
		acceleration = originalGBPerHour * accelerationPerGB
	}
	derivedMonth := (proxyGBPerHour + thumbGBPerHour) * storageClassGBMonth["STANDARD"]
	ingestFirstMonth := originalGBPerHour*storageClassGBMonth["STANDARD"] + puts*putPrice + acceleration + derivedMonth
	rate("an hour of 4K footage ingested, its first month", ingestFirstMonth, "hour of footage",
		fmt.Sprintf("storage %s, %.0f PUTs, acceleration %s, proxies and thumbnails", money(originalGBPerHour*storageClassGBMonth["STANDARD"]), puts, money(acceleration)))
	rate("the same hour kept a year (originals by the lifecycle's classes, proxies and thumbnails)", storageYear+derivedMonth*monthsOfStorageInModel, "hour of footage",
		"classes: "+transitionsText(transitions))

	// Transcode: on Lambda where the stack has the function, on the media nodes on demand and
	// on Spot, and on a GPU node.
	var lambda float64
	for _, fn := range r.ByType("aws:lambda/function:Function") {
		mem, _ := fn.Input("memorySize").(float64)
		if mem == 0 {
			mem = 10240
		}
		lambda = lambdaComputeHours * 3600 * mem / 1024 * usagePrice(t, "Lambda compute")
	}
	if lambda > 0 {
		rate("an hour of footage transcoded on Lambda", lambda, "hour of footage", "")
	}
	var onDemand float64
	if media := r.Named(NodePoolType, "cluster-nodepool-media"); media != nil {
		typ := PoolInstanceType(media)
		hour, ok := t.EC2Hour[typ]
		vcpus, _ := instanceVCPUs(typ)
		if !ok || vcpus == 0 {
			return nil, fmt.Errorf("footage: no price or size for the media pool's %s", typ)
		}
		onDemand = hour * computeHoursPer8VCPU * 8 / vcpus
		rate("an hour of footage transcoded on a media node, on demand ("+typ+")", onDemand, "hour of footage", "Karpenter's media pool, its first family and size")
		spotNote := "the pool takes Spot first"
		if !slices.Contains(PoolRequirement(media, "karpenter.sh/capacity-type"), "spot") {
			spotNote = "for comparison: this stack's media pool is on-demand only"
		}
		rate("the same on Spot", onDemand*(1-spotDiscount), "hour of footage", spotNote)
	}
	gpuNote := "no GPU pool in this stack (cluster.karpenter.gpu)"
	if r.Named(NodePoolType, "cluster-nodepool-gpu") != nil {
		gpuNote = "the stack's GPU pool"
	}
	rate("an hour of footage transcoded with NVENC ("+gpuInstance+")", gpuHour*gpuComputeHours, "hour of footage", gpuNote)

	// Delivery and the NAT.
	perGB := usagePrice(t, "CloudFront data transfer")
	requests := 1024 * 1024 / segmentMB
	deliveryTB := 1024*perGB + requests*(usagePrice(t, "CloudFront HTTPS")/10000+usagePrice(t, "WAF requests")/1e6)
	rate("a TB of review playback through CloudFront", deliveryTB, "TB", fmt.Sprintf("%.0f segment requests, each through the WAF", requests))
	rate("a GB through a NAT gateway", usagePrice(t, "NAT gateway data"), "GB", "S3 never does: the gateway endpoint")

	// The scenario: 100 hours of 4K a month, each reviewed ten times, transcoded where the
	// stack transcodes (Lambda if it has the function, else the media nodes).
	transcode, where := lambda, "Lambda"
	if transcode == 0 {
		transcode, where = onDemand, "the media nodes"
	}
	sc := FootageScenario{Hours: scenarioHours, Views: scenarioViewsPerHour}
	line := func(item string, price float64) {
		sc.Lines = append(sc.Lines, FootageRate{Item: item, Price: cents4(price), Unit: "month"})
		sc.Monthly += price
	}
	line("originals, first month in S3 Standard", scenarioHours*originalGBPerHour*storageClassGBMonth["STANDARD"])
	line("upload requests and acceleration", scenarioHours*(puts*putPrice+acceleration))
	line("proxies and thumbnails", scenarioHours*derivedMonth)
	line("transcode on "+where, scenarioHours*transcode)
	line("review playback through CloudFront", scenarioHours*scenarioViewsPerHour*proxyGBPerHour/2/1024*deliveryTB)
	sc.Monthly = cents4(sc.Monthly)
	f.Scenario = sc
	return f, nil
}

type transition struct {
	days  float64
	class string
}

// mediaTransitions are the media bucket's lifecycle transitions for originals, by day.
func mediaTransitions(r *harness.Result) []transition {
	var out []transition
	for _, lc := range r.ByType("aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2") {
		if !strings.HasPrefix(lc.Name, "mediastore-media") {
			continue
		}
		for _, rule := range listInput(lc, "rules") {
			m, _ := rule.(map[string]any)
			for _, tr := range asAnySlice(m["transitions"]) {
				tm, _ := tr.(map[string]any)
				days, _ := tm["days"].(float64)
				class, _ := tm["storageClass"].(string)
				if class != "" {
					out = append(out, transition{days, class})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].days < out[j].days })
	return out
}

func asAnySlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func transitionsText(ts []transition) string {
	parts := []string{"STANDARD"}
	for _, t := range ts {
		parts = append(parts, fmt.Sprintf("%s after %.0f days", t.class, t.days))
	}
	return strings.Join(parts, ", ")
}

// cents4 rounds to a hundredth of a cent: small unit prices stay visible.
func cents4(f float64) float64 { return math.Round(f*10000) / 10000 }

// money is a dollar amount with cents.
func money(f float64) string { return fmt.Sprintf("$%.2f", f) }

// WriteFootage writes the model as text.
func WriteFootage(w io.Writer, f *FootageCost) {
	fmt.Fprintf(w, "\nWhat footage costs (a usage model beside the floor; quantities are assumptions, below):\n")
	for _, r := range f.Rates {
		note := ""
		if r.Note != "" {
			note = "  (" + r.Note + ")"
		}
		fmt.Fprintf(w, "  %-92s $%.2f per %s%s\n", r.Item, r.Price, r.Unit, note)
	}
	fmt.Fprintf(w, "Scenario: %.0f hours of 4K footage a month, each reviewed %.0f times: $%.2f a month\n", f.Scenario.Hours, f.Scenario.Views, f.Scenario.Monthly)
	for _, l := range f.Scenario.Lines {
		fmt.Fprintf(w, "  %-50s $%.2f\n", l.Item, l.Price)
	}
	fmt.Fprintf(w, "Assumptions:\n")
	for _, a := range f.Assumptions {
		fmt.Fprintf(w, "  %-62s %g %s (%s)\n", a.Item, a.Value, a.Unit, a.Source)
	}
}

// NodePoolType is a Karpenter NodePool's Pulumi type.
const NodePoolType = "kubernetes:karpenter.sh/v1:NodePool"

// PoolRequirement is the values of one of a NodePool's requirements (e.g.
// "karpenter.k8s.aws/instance-family"), nil when it has none.
func PoolRequirement(pool *harness.Resource, key string) []string {
	reqs, _ := pool.Input("spec.template.spec.requirements").([]any)
	for _, req := range reqs {
		m, _ := req.(map[string]any)
		if m["key"] != key {
			continue
		}
		var out []string
		vs, _ := m["values"].([]any)
		for _, v := range vs {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// PoolInstanceType is a pool's first family in its first size (c7i.2xlarge): the type the
// cost model prices it by.
func PoolInstanceType(pool *harness.Resource) string {
	fams, sizes := PoolRequirement(pool, "karpenter.k8s.aws/instance-family"), PoolRequirement(pool, "karpenter.k8s.aws/instance-size")
	if len(fams) == 0 || len(sizes) == 0 {
		return ""
	}
	return fams[0] + "." + sizes[0]
}
