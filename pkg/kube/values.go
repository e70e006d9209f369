// Package kube creates the Kubernetes objects of CineGit's platform add-ons the same way
// everywhere: Helm releases pinned to an exact chart version from an https repository, installed
// atomically, with values built from typed Go structs; labelled namespaces; and custom resources
// whose specs are typed structs too.
package kube

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

var inputType = reflect.TypeOf((*pulumi.Input)(nil)).Elem()

// Values converts a typed values struct into Helm values (or a custom resource's spec). Field
// names come from json tags; nil pointers, nil maps, nil slices and omitempty zero values are
// left out, so a chart's own default applies. A field holding a pulumi.Input (a role ARN being
// created, a bucket name) is passed through as is: the release then depends on that resource,
// and the rest of the values stay known in previews.
func Values(v any) (pulumi.Map, error) {
	in, err := toInput(reflect.ValueOf(v), "values")
	if err != nil {
		return nil, err
	}
	m, ok := in.(pulumi.Map)
	if !ok {
		return nil, fmt.Errorf("values: %T is not a struct or map", v)
	}
	return m, nil
}

// toInput converts one value; a nil result means "leave out".
func toInput(v reflect.Value, path string) (pulumi.Input, error) {
	if !v.IsValid() {
		return nil, nil
	}
	if v.Type().Implements(inputType) {
		if (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer || v.Kind() == reflect.Map || v.Kind() == reflect.Slice) && v.IsNil() {
			return nil, nil
		}
		return v.Interface().(pulumi.Input), nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, nil
		}
		return toInput(v.Elem(), path)
	case reflect.Struct:
		return structInput(v, path)
	case reflect.Map:
		if v.IsNil() {
			return nil, nil
		}
		if v.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("%s: map keys must be strings", path)
		}
		out := pulumi.Map{}
		iter := v.MapRange()
		for iter.Next() {
			key := iter.Key().String()
			in, err := toInput(iter.Value(), path+"."+key)
			if err != nil {
				return nil, err
			}
			if in != nil {
				out[key] = in
			}
		}
		return out, nil
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil, nil
		}
		out := make(pulumi.Array, 0, v.Len())
		for i := 0; i < v.Len(); i++ {
			in, err := toInput(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			if in == nil {
				return nil, fmt.Errorf("%s[%d]: list elements cannot be empty", path, i)
			}
			out = append(out, in)
		}
		return out, nil
	case reflect.String:
		return pulumi.String(v.String()), nil
	case reflect.Bool:
		return pulumi.Bool(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return pulumi.Int(int(v.Int())), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return pulumi.Int(int(v.Uint())), nil
	case reflect.Float32, reflect.Float64:
		return pulumi.Float64(v.Float()), nil
	}
	return nil, fmt.Errorf("%s: unsupported kind %s", path, v.Kind())
}

func structInput(v reflect.Value, path string) (pulumi.Input, error) {
	out := pulumi.Map{}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		// An embedded struct without a name of its own contributes its fields, as in JSON.
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			inner, err := structInput(v.Field(i), path)
			if err != nil {
				return nil, err
			}
			for k, in := range inner.(pulumi.Map) {
				out[k] = in
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fv := v.Field(i)
		if strings.Contains(opts, "omitempty") && fv.IsZero() {
			continue
		}
		in, err := toInput(fv, path+"."+name)
		if err != nil {
			return nil, err
		}
		if in != nil {
			out[name] = in
		}
	}
	return out, nil
}

// Resources are a container's requests and limits, the shape every chart's `resources` takes.
type Resources struct {
	Requests Quantities `json:"requests"`
	Limits   Quantities `json:"limits"`
}

// Quantities are CPU ("500m") and memory ("512Mi").
type Quantities struct {
	CPU    string `json:"cpu"`
	Memory string `json:"memory"`
}

// NewResources is requests and limits in one call.
func NewResources(cpuRequest, memoryRequest, cpuLimit, memoryLimit string) Resources {
	return Resources{Requests: Quantities{cpuRequest, memoryRequest}, Limits: Quantities{cpuLimit, memoryLimit}}
}

// Enabled is the {enabled: bool} switch most charts use for optional parts.
type Enabled struct {
	Enabled bool `json:"enabled"`
}

// Service sets a chart service's type; CineGit's are always ClusterIP.
type Service struct {
	Type string `json:"type"`
}

// ClusterIP is the only service type CineGit's releases use: nothing is exposed outside the
// cluster by a chart (the policy pack denies LoadBalancer and NodePort in values).
var ClusterIP = Service{Type: "ClusterIP"}

// ServiceAccount is a chart's service account, named so that an IRSA role can trust it.
type ServiceAccount struct {
	Create      bool                          `json:"create"`
	Name        string                        `json:"name"`
	Annotations map[string]pulumi.StringInput `json:"annotations,omitempty"`
}

// IRSAServiceAccount is a created service account that assumes roleArn through IRSA.
func IRSAServiceAccount(name string, roleArn pulumi.StringInput) ServiceAccount {
	return ServiceAccount{Create: true, Name: name, Annotations: map[string]pulumi.StringInput{"eks.amazonaws.com/role-arn": roleArn}}
}

// EnvVar is a container environment variable read from a key of a Secret, in the API's shape
// (what charts' extraEnv lists take).
type EnvVar struct {
	Name      string       `json:"name"`
	ValueFrom EnvVarSource `json:"valueFrom"`
}

// EnvVarSource is where an environment variable's value comes from (what charts' envValueFrom
// maps take, by variable name).
type EnvVarSource struct {
	SecretKeyRef SecretKeyRef `json:"secretKeyRef"`
}

// SecretKeyRef is one key of a Secret in the pod's namespace.
type SecretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// SecretEnv is the variable name set from key of the Secret secret.
func SecretEnv(name, secret, key string) EnvVar {
	return EnvVar{Name: name, ValueFrom: EnvVarSource{SecretKeyRef: SecretKeyRef{Name: secret, Key: key}}}
}
