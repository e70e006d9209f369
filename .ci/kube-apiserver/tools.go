//go:build tools

// Package kubeapiserver pins the kube-apiserver command for `go build
// k8s.io/kubernetes/cmd/kube-apiserver` run in this module.
package kubeapiserver

import _ "k8s.io/kubernetes/cmd/kube-apiserver/app"
