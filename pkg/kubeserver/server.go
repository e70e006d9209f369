// Package kubeserver runs a real etcd and kube-apiserver on loopback for tests, admitting as EKS
// does, and applies Kubernetes objects to it with server-side apply: the server's own built-in
// validation, CRD schemas and CEL rules, Pod Security admission and field ownership, which no
// schema check outside the server reproduces.
//
// The binaries come from the module in .ci/kube-apiserver (build.sh), pinned at the clusters'
// Kubernetes version; the package itself only starts processes and speaks HTTP, so it links no
// Kubernetes library.
package kubeserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// EKSAdmissionPlugins are the admission controllers EKS enables on every platform version of
// Kubernetes 1.32 to 1.35, in the order its documentation lists them ("View Amazon EKS platform
// versions for each Kubernetes version",
// https://docs.aws.amazon.com/eks/latest/userguide/platform-versions.html; the page lists no
// 1.36 yet, and 1.32 to 1.35 are identical). The server keeps its own default-on plugins too
// (ValidatingAdmissionPolicy among them, which EKS serves though the page omits it): every one
// of those only admits less, never more.
var EKSAdmissionPlugins = []string{
	"NodeRestriction", "ExtendedResourceToleration", "NamespaceLifecycle", "LimitRanger",
	"ServiceAccount", "TaintNodesByCondition", "PodSecurity", "Priority", "DefaultTolerationSeconds",
	"DefaultStorageClass", "StorageObjectInUseProtection", "PersistentVolumeClaimResize",
	"RuntimeClass", "CertificateApproval", "CertificateSigning", "CertificateSubjectRestriction",
	"DefaultIngressClass", "MutatingAdmissionWebhook", "ValidatingAdmissionWebhook", "ResourceQuota",
}

// Binaries are the two servers' executables.
type Binaries struct{ Etcd, APIServer string }

// FindBinaries looks for etcd and kube-apiserver in dir.
func FindBinaries(dir string) (Binaries, error) {
	b := Binaries{Etcd: filepath.Join(dir, "etcd"), APIServer: filepath.Join(dir, "kube-apiserver")}
	for _, p := range []string{b.Etcd, b.APIServer} {
		if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return b, fmt.Errorf("no executable %s", p)
		}
	}
	return b, nil
}

// Options configure Start.
type Options struct {
	Binaries Binaries
	// Dir is a scratch directory for etcd's data, the certificates and the logs.
	Dir string
	// ServiceCIDR is the Service IP range; EKS assigns 10.100.0.0/16 or 172.20.0.0/16 unless told.
	ServiceCIDR string
	// Timeout bounds the start of both servers (default two minutes).
	Timeout time.Duration
}

// proc is one server process; done closes when it has exited.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Server is a running etcd and kube-apiserver.
type Server struct {
	URL    string
	token  string
	client *http.Client
	procs  []*proc
	logs   []string

	mu        sync.Mutex
	discovery map[string][]apiResource // by apiVersion
}

// Start runs etcd and kube-apiserver on free loopback ports and waits until the API server is
// ready. The caller must Stop it.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.ServiceCIDR == "" {
		o.ServiceCIDR = "172.20.0.0/16"
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	pki, err := writePKI(o.Dir)
	if err != nil {
		return nil, err
	}
	s := &Server{token: pki.token, discovery: map[string][]apiResource{}}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()

	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdClient := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	etcdPeer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	if err := s.spawn(o.Dir, "etcd", o.Binaries.Etcd,
		"--name=test", "--data-dir="+filepath.Join(o.Dir, "etcd"),
		"--listen-client-urls="+etcdClient, "--advertise-client-urls="+etcdClient,
		"--listen-peer-urls="+etcdPeer, "--initial-advertise-peer-urls="+etcdPeer,
		"--initial-cluster=test="+etcdPeer, "--log-level=warn",
		// A test's data is thrown away: fsync only slows it down.
		"--unsafe-no-fsync",
	); err != nil {
		return nil, err
	}
	if err := waitFor(ctx, func() error { return etcdHealthy(ctx, etcdClient) }); err != nil {
		return nil, fmt.Errorf("etcd did not become healthy: %w%s", err, s.logTail())
	}

	s.URL = fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	if err := s.spawn(o.Dir, "kube-apiserver", o.Binaries.APIServer,
		"--etcd-servers="+etcdClient,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", ports[2]),
		"--tls-cert-file="+pki.serverCert, "--tls-private-key-file="+pki.serverKey,
		"--client-ca-file="+pki.caCert,
		"--token-auth-file="+pki.tokenFile, "--anonymous-auth=false",
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins="+strings.Join(EKSAdmissionPlugins, ","),
		// EKS runs privileged containers (its default eks.privileged policy allowed them before
		// Pod Security admission; Pod Security Standards now decide per namespace).
		"--allow-privileged=true",
		"--service-cluster-ip-range="+o.ServiceCIDR,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+pki.saKey, "--service-account-signing-key-file="+pki.saKey,
		"--api-audiences=https://kubernetes.default.svc",
		"--profiling=false", "--v=1",
	); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(pki.caCert)
	if err != nil {
		return nil, err
	}
	pool.AppendCertsFromPEM(caPEM)
	s.client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	if err := waitFor(ctx, func() error {
		_, err := s.do(ctx, http.MethodGet, "/readyz", "", nil)
		return err
	}); err != nil {
		return nil, fmt.Errorf("kube-apiserver did not become ready: %w%s", err, s.logTail())
	}
	ok = true
	return s, nil
}

// spawn starts one server with its output in <dir>/<name>.log.
func (s *Server) spawn(dir, name, bin string, args ...string) error {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group, so a stop reaches nothing else.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); _ = f.Close(); close(p.done) }()
	s.procs = append(s.procs, p)
	s.logs = append(s.logs, logPath)
	return nil
}

// Stop ends the API server, then etcd, and waits for both.
func (s *Server) Stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
	s.procs = nil
}

// logTail is the end of each server's log, for an error that needs it.
func (s *Server) logTail() string {
	var b strings.Builder
	for _, p := range s.logs {
		data, _ := os.ReadFile(p)
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		fmt.Fprintf(&b, "\n--- %s ---\n%s", filepath.Base(p), data)
	}
	return b.String()
}

// Version is the server's gitVersion (/version).
func (s *Server) Version(ctx context.Context) (string, error) {
	body, err := s.do(ctx, http.MethodGet, "/version", "", nil)
	if err != nil {
		return "", err
	}
	var v struct {
		GitVersion string `json:"gitVersion"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return "", err
	}
	return v.GitVersion, nil
}

// StatusError is the API server's refusal of a request: its HTTP code and its message.
type StatusError struct {
	Code    int
	Reason  string
	Message string
}

func (e *StatusError) Error() string { return fmt.Sprintf("%d %s: %s", e.Code, e.Reason, e.Message) }

// do sends one authenticated request; a non-2xx answer is a *StatusError.
func (s *Server) do(ctx context.Context, method, path, contentType string, body []byte) ([]byte, error) {
	out, _, err := s.doWarn(ctx, method, path, contentType, body)
	return out, err
}

func (s *Server) doWarn(ctx context.Context, method, path, contentType string, body []byte) ([]byte, []string, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, r)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	warnings := parseWarnings(resp.Header.Values("Warning"))
	if resp.StatusCode/100 != 2 {
		se := &StatusError{Code: resp.StatusCode, Message: strings.TrimSpace(string(data))}
		var st struct{ Reason, Message string }
		if json.Unmarshal(data, &st) == nil && st.Message != "" {
			se.Reason, se.Message = st.Reason, st.Message
		}
		return nil, warnings, se
	}
	return data, warnings, nil
}

// parseWarnings reads RFC 7234 Warning headers as the API server writes them: 299 - "text".
func parseWarnings(values []string) []string {
	var out []string
	for _, v := range values {
		if _, text, ok := strings.Cut(v, `"`); ok {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(text), `"`))
		}
	}
	return out
}

func etcdHealthy(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	var h struct{ Health string }
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return err
	}
	if h.Health != "true" {
		return fmt.Errorf("etcd health %q", h.Health)
	}
	return nil
}

// waitFor retries f until it succeeds or ctx ends, and returns f's last error then.
func waitFor(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// freePorts finds n loopback ports nothing listens on.
func freePorts(n int) ([]int, error) {
	var out []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}
