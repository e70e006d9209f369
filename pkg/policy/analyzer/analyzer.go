// Package analyzer serves CineGit's policy pack to the Pulumi engine as an analyzer plugin
// (pulumi-analyzer-policy-cinegit, built from policy/analyzer), so that `pulumi preview` and
// `pulumi up --policy-pack policy` evaluate exactly what the offline plan evaluates: pkg/policy
// over the Rego modules in policy/, each resource policy with the resource's type, URN, name,
// options, provider and properties, each stack policy over the whole stack.
//
// The engine runs "pulumi-analyzer-policy-<runtime>" for a pack whose PulumiPolicy.yaml names a
// runtime that has no language plugin (sdk/go/common/resource/plugin/analyzer_plugin.go,
// NewPolicyAnalyzer), with the engine's address and the pack's directory as arguments, and
// reads the port the plugin serves on from its first line of output.
package analyzer

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	pbempty "google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"github.com/cinegit/infrastructure/pkg/policy"
)

// PackName is the pack's name, as the Rego package names it.
const PackName = "cinegit"

// Server is the analyzer.
type Server struct {
	pulumirpc.UnimplementedAnalyzerServer
	version string
	rules   map[string]policy.Rule
}

// NewServer loads the pack's rules; version is the pack's version (PulumiPolicy.yaml).
func NewServer(version string) (*Server, error) {
	rules, err := policy.Rules()
	if err != nil {
		return nil, err
	}
	s := &Server{version: version, rules: map[string]policy.Rule{}}
	for _, r := range rules {
		s.rules[r.Name] = r
	}
	return s, nil
}

// Analyze evaluates the resource policies on one resource (its inputs, before the update).
func (s *Server) Analyze(ctx context.Context, req *pulumirpc.AnalyzeRequest) (*pulumirpc.AnalyzeResponse, error) {
	r, err := toPolicy(req.GetUrn(), req.GetType(), req.GetName(), req.GetProperties(), req.GetOptions().GetProtect(),
		req.GetOptions().GetParent(), req.GetProvider().GetUrn(), nil, nil)
	if err != nil {
		return nil, err
	}
	return s.evaluate(ctx, []policy.Resource{r}, false)
}

// AnalyzeStack evaluates the stack policies on every resource of the stack.
func (s *Server) AnalyzeStack(ctx context.Context, req *pulumirpc.AnalyzeStackRequest) (*pulumirpc.AnalyzeResponse, error) {
	var rs []policy.Resource
	for _, res := range req.GetResources() {
		deps := map[string][]string{}
		for k, v := range res.GetPropertyDependencies() {
			deps[k] = v.GetUrns()
		}
		r, err := toPolicy(res.GetUrn(), res.GetType(), res.GetName(), res.GetProperties(), res.GetOptions().GetProtect(),
			res.GetParent(), res.GetProvider().GetUrn(), res.GetDependencies(), deps)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return s.evaluate(ctx, rs, true)
}

// toPolicy is one resource as pkg/policy takes it: the engine's properties (secrets in
// plaintext, unknowns as policy.Unknown, as the offline plan gives them).
func toPolicy(urn, typ, name string, props *structpb.Struct, protect bool, parent, provider string,
	deps []string, propDeps map[string][]string,
) (policy.Resource, error) {
	pm, err := plugin.UnmarshalProperties(props, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true})
	if err != nil {
		return policy.Resource{}, fmt.Errorf("%s: properties: %w", urn, err)
	}
	if provider != "" {
		// pkg/policy takes a provider reference, "<urn>::<id>"; the engine sends the URN.
		provider += "::id"
	}
	return policy.Resource{
		URN: urn, Type: typ, Name: name, Props: policy.Props(pm),
		Options: policy.Options{Protect: protect, Parent: parent, Provider: provider, Dependencies: deps, PropertyDependencies: propDeps},
	}, nil
}

// evaluate runs the pack and returns the findings of the resource policies (stack false) or of
// the stack policies (stack true). A finding an exception waives is reported as advisory,
// with the exception's reason, so that a preview shows every waiver.
func (s *Server) evaluate(ctx context.Context, rs []policy.Resource, stack bool) (*pulumirpc.AnalyzeResponse, error) {
	rep, err := policy.Evaluate(ctx, rs)
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.AnalyzeResponse{}
	for _, f := range rep.Findings {
		if s.rules[f.Rule].Stack != stack {
			continue
		}
		d := &pulumirpc.AnalyzeDiagnostic{
			PolicyName: f.Rule, PolicyPackName: PackName, PolicyPackVersion: s.version,
			Description: s.rules[f.Rule].Description, Message: f.Message, Urn: f.URN,
			EnforcementLevel: level(f.Severity),
		}
		if f.Excepted {
			d.EnforcementLevel = pulumirpc.EnforcementLevel_ADVISORY
			d.Message = fmt.Sprintf("waived by its exception (%s): %s", f.Reason, f.Message)
		}
		resp.Diagnostics = append(resp.Diagnostics, d)
	}
	return resp, nil
}

func level(s policy.Severity) pulumirpc.EnforcementLevel {
	if s == policy.Mandatory {
		return pulumirpc.EnforcementLevel_MANDATORY
	}
	return pulumirpc.EnforcementLevel_ADVISORY
}

// GetAnalyzerInfo lists the pack's policies with their enforcement levels.
func (s *Server) GetAnalyzerInfo(context.Context, *pbempty.Empty) (*pulumirpc.AnalyzerInfo, error) {
	info := &pulumirpc.AnalyzerInfo{
		Name: PackName, DisplayName: "CineGit infrastructure policies", Version: s.version,
		Description: "Required tags, encryption at rest, exposure, IAM least privilege and data protection (policy/*.rego)",
	}
	for _, n := range slices.Sorted(maps.Keys(s.rules)) {
		r := s.rules[n]
		typ := pulumirpc.PolicyType_POLICY_TYPE_RESOURCE
		if r.Stack {
			typ = pulumirpc.PolicyType_POLICY_TYPE_STACK
		}
		info.Policies = append(info.Policies, &pulumirpc.PolicyInfo{
			Name: r.Name, DisplayName: r.Title, Description: strings.TrimSpace(r.Description),
			EnforcementLevel: level(r.Severity), PolicyType: typ,
		})
	}
	return info, nil
}

// GetPluginInfo returns the pack's version.
func (s *Server) GetPluginInfo(context.Context, *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: s.version}, nil
}

// Configure accepts the engine's policy configuration; the pack has none to take.
func (s *Server) Configure(context.Context, *pulumirpc.ConfigureAnalyzerRequest) (*pbempty.Empty, error) {
	return &pbempty.Empty{}, nil
}

// Handshake accepts the engine's address; the analyzer never calls back.
func (s *Server) Handshake(context.Context, *pulumirpc.AnalyzerHandshakeRequest) (*pulumirpc.AnalyzerHandshakeResponse, error) {
	return &pulumirpc.AnalyzerHandshakeResponse{}, nil
}

// ConfigureStack accepts the stack being analyzed; the rules read what they need from the
// resources (the environment tag, say).
func (s *Server) ConfigureStack(context.Context, *pulumirpc.AnalyzerStackConfigureRequest) (*pulumirpc.AnalyzerStackConfigureResponse, error) {
	return &pulumirpc.AnalyzerStackConfigureResponse{}, nil
}

// Cancel has nothing to stop: an evaluation is short and holds nothing.
func (s *Server) Cancel(context.Context, *pbempty.Empty) (*pbempty.Empty, error) {
	return &pbempty.Empty{}, nil
}
