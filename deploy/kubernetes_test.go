package deploy_test

// The Kubernetes manifests are checked the way the compose file is: every
// document is decoded strictly into the Kubernetes API types (an unknown or
// misspelt field fails), then compared with what the binary really reads,
// runs and serves.

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/config"
)

const k8sDir = "kubernetes"

// grpcNames are the gRPC services each part registers; readiness probes
// must ask for these names, which is what the services report per database.
var grpcNames = map[string]string{
	"membership": membershipv1.MembershipService_ServiceDesc.ServiceName,
	"roadmap":    roadmapv1.RoadmapService_ServiceDesc.ServiceName,
	"finance":    financev1.FinanceService_ServiceDesc.ServiceName,
}

// parts are the long-running roles, each a Deployment of `serve <part>`.
var parts = []string{"membership", "roadmap", "finance", "gateway"}

// gatewayPaths are the probe paths the gateway serves (gateway.New).
var gatewayPaths = []string{"/healthz", "/readyz"}

// secretKeys are the keys of the "guildhall" Secret the README tells
// operators to create.
var secretKeys = []string{"internal-token", "membership-database-url", "roadmap-database-url", "finance-database-url", "events-database-url"}

type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors,omitempty"`
	} `json:"labels"`
	Resources []string `json:"resources"`
	Images    []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
}

// manifests is every object of the kustomization, decoded strictly.
type manifests struct {
	kust          kustomization
	deployments   map[string]*appsv1.Deployment
	services      map[string]*corev1.Service
	pdbs          []*policyv1.PodDisruptionBudget
	hpas          []*autoscalingv2.HorizontalPodAutoscaler
	jobs          []*batchv1.Job
	configMaps    map[string]*corev1.ConfigMap
	policies      []*networkingv1.NetworkPolicy
	namespaces    []*corev1.Namespace
	documentsRead int
}

func strict(t *testing.T, where string, doc []byte, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, into); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
}

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{}}
	raw, err := os.ReadFile(filepath.Join(k8sDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	strict(t, "kustomization.yaml", raw, &m.kust)
	if m.kust.Kind != "Kustomization" || m.kust.APIVersion != "kustomize.config.k8s.io/v1beta1" {
		t.Fatalf("kustomization.yaml is %s %s", m.kust.APIVersion, m.kust.Kind)
	}
	files, _ := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	var onDisk []string
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" {
			onDisk = append(onDisk, b)
		}
	}
	listed := slices.Sorted(slices.Values(m.kust.Resources))
	if !slices.Equal(listed, onDisk) {
		t.Fatalf("kustomization.yaml resources %v; the directory holds %v: list every manifest, and only those", listed, onDisk)
	}
	for _, file := range m.kust.Resources {
		data, err := os.ReadFile(filepath.Join(k8sDir, file))
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range splitYAML(data) {
			where := fmt.Sprintf("%s document %d", file, i+1)
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			want := map[string]string{
				"Deployment": "apps/v1", "Service": "v1", "PodDisruptionBudget": "policy/v1",
				"HorizontalPodAutoscaler": "autoscaling/v2", "Job": "batch/v1", "ConfigMap": "v1",
				"NetworkPolicy": "networking.k8s.io/v1", "Namespace": "v1",
			}[tm.Kind]
			if want == "" || tm.APIVersion != want {
				t.Fatalf("%s: %s %s is not a kind this test knows (or the wrong apiVersion, want %s)", where, tm.APIVersion, tm.Kind, want)
			}
			m.documentsRead++
			switch tm.Kind {
			case "Deployment":
				var o appsv1.Deployment
				strict(t, where, doc, &o)
				m.deployments[o.Name] = &o
			case "Service":
				var o corev1.Service
				strict(t, where, doc, &o)
				m.services[o.Name] = &o
			case "PodDisruptionBudget":
				var o policyv1.PodDisruptionBudget
				strict(t, where, doc, &o)
				m.pdbs = append(m.pdbs, &o)
			case "HorizontalPodAutoscaler":
				var o autoscalingv2.HorizontalPodAutoscaler
				strict(t, where, doc, &o)
				m.hpas = append(m.hpas, &o)
			case "Job":
				var o batchv1.Job
				strict(t, where, doc, &o)
				m.jobs = append(m.jobs, &o)
			case "ConfigMap":
				var o corev1.ConfigMap
				strict(t, where, doc, &o)
				m.configMaps[o.Name] = &o
			case "NetworkPolicy":
				var o networkingv1.NetworkPolicy
				strict(t, where, doc, &o)
				m.policies = append(m.policies, &o)
			case "Namespace":
				var o corev1.Namespace
				strict(t, where, doc, &o)
				m.namespaces = append(m.namespaces, &o)
			}
		}
	}
	return m
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

func splitYAML(data []byte) [][]byte {
	var out [][]byte
	for _, d := range docSep.Split(string(data), -1) {
		if len(bytes.TrimSpace(stripComments([]byte(d)))) > 0 {
			out = append(out, []byte(d))
		}
	}
	return out
}

func stripComments(b []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			out = append(out, l...)
			out = append(out, '\n')
		}
	}
	return out
}

// env is a container's environment as the binary sees it: envFrom ConfigMaps
// first, then env entries (which win). Secret references read as "secret:<key>".
func (m *manifests) env(t *testing.T, where string, c corev1.Container) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			t.Errorf("%s: envFrom other than a ConfigMap", where)
			continue
		}
		cm, ok := m.configMaps[ef.ConfigMapRef.Name]
		if !ok {
			t.Errorf("%s: envFrom ConfigMap %q is not in the kustomization", where, ef.ConfigMapRef.Name)
			continue
		}
		for k, v := range cm.Data {
			out[k] = v
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			out[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			if ref.Name != "guildhall" || !slices.Contains(secretKeys, ref.Key) {
				t.Errorf("%s: %s reads Secret %s key %q; the documented Secret is guildhall with keys %v", where, e.Name, ref.Name, ref.Key, secretKeys)
			}
			out[e.Name] = "secret:" + ref.Key
		default:
			t.Errorf("%s: %s takes its value from something other than a Secret", where, e.Name)
		}
	}
	return out
}

// pods are every pod template: the Deployments' and the Jobs'.
func (m *manifests) pods() map[string]*corev1.PodTemplateSpec {
	out := map[string]*corev1.PodTemplateSpec{}
	for n, d := range m.deployments {
		out["Deployment "+n] = &d.Spec.Template
	}
	for _, j := range m.jobs {
		out["Job "+j.Name] = &j.Spec.Template
	}
	return out
}

func TestKubernetesManifestsDecodeStrictly(t *testing.T) {
	m := loadManifests(t)
	if m.documentsRead == 0 {
		t.Fatal("no manifests")
	}
	for _, p := range parts {
		if _, ok := m.deployments[p]; !ok {
			t.Errorf("no Deployment %q", p)
		}
		if _, ok := m.services[p]; !ok {
			t.Errorf("no Service %q", p)
		}
	}
	if len(m.jobs) == 0 {
		t.Error("no migration Job")
	}
	if len(m.kust.Images) != 1 || m.kust.Images[0].Name == "" {
		t.Errorf("kustomization images = %+v; want one entry naming the image every container uses", m.kust.Images)
	}
}

func TestKubernetesContainersRunTheBinary(t *testing.T) {
	m := loadManifests(t)
	image := m.kust.Images[0].Name
	for where, pod := range m.pods() {
		for _, c := range pod.Spec.Containers {
			where := where + " container " + c.Name
			if c.Image != image {
				t.Errorf("%s: image %q; want %q, which kustomization.yaml's images rewrites", where, c.Image, image)
			}
			if len(c.Command) > 0 {
				t.Errorf("%s: command %q overrides the image's entrypoint %s; give args only", where, c.Command, binPath)
			}
			if sub := subcommand(c.Args); !isKnownCommand(sub) {
				t.Errorf("%s: runs `guildhall %s`, not one of `guildhall commands`: %s", where, strings.Join(sub, " "), commandList())
			}
			for k := range m.env(t, where, c) {
				if !strings.HasPrefix(k, "GUILDHALL_") {
					if !otelVars[k] {
						t.Errorf("%s sets %s; guildhall reads only GUILDHALL_* and the standard OTEL_* variables", where, k)
					}
					continue
				}
				if !knownEnv[k] {
					t.Errorf("%s sets %s, which `guildhall env` does not list", where, k)
				}
			}
		}
	}
	for _, p := range parts {
		d := m.deployments[p]
		if d == nil {
			continue
		}
		if args := d.Spec.Template.Spec.Containers[0].Args; !slices.Equal(args, []string{"serve", p}) {
			t.Errorf("Deployment %s runs %q; want [serve %s]", p, args, p)
		}
	}
	for _, j := range m.jobs {
		if args := j.Spec.Template.Spec.Containers[0].Args; len(args) == 0 || args[0] != "migrate" {
			t.Errorf("Job %s runs %q; want migrate", j.Name, args)
		}
		if rp := j.Spec.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyOnFailure && rp != corev1.RestartPolicyNever {
			t.Errorf("Job %s restartPolicy %q", j.Name, rp)
		}
	}
}

func TestKubernetesDatabases(t *testing.T) {
	m := loadManifests(t)
	dsnKey := func(svc string) string { return "GUILDHALL_" + strings.ToUpper(svc) + "_DATABASE_URL" }
	for _, svc := range grpcServices {
		d := m.deployments[svc]
		if d == nil {
			continue
		}
		env := m.env(t, svc, d.Spec.Template.Spec.Containers[0])
		if env[dsnKey(svc)] != "secret:"+svc+"-database-url" {
			t.Errorf("Deployment %s: %s = %q; want it from the Secret's %s-database-url", svc, dsnKey(svc), env[dsnKey(svc)], svc)
		}
		if _, ok := env["GUILDHALL_DATABASE_URL"]; ok {
			t.Errorf("Deployment %s sets GUILDHALL_DATABASE_URL; give it only %s", svc, dsnKey(svc))
		}
		for _, other := range grpcServices {
			if _, ok := env[dsnKey(other)]; ok && other != svc {
				t.Errorf("Deployment %s sets %s: services must not reach each other's databases", svc, dsnKey(other))
			}
		}
		if env["GUILDHALL_INTERNAL_TOKEN"] != "secret:internal-token" {
			t.Errorf("Deployment %s: GUILDHALL_INTERNAL_TOKEN must come from the Secret (serve refuses to start without it)", svc)
		}
	}
	if gw := m.deployments["gateway"]; gw != nil {
		for k := range m.env(t, "gateway", gw.Spec.Template.Spec.Containers[0]) {
			if strings.HasSuffix(k, "DATABASE_URL") {
				t.Errorf("the gateway sets %s; it has no database", k)
			}
		}
	}
	for _, j := range m.jobs {
		env := m.env(t, j.Name, j.Spec.Template.Spec.Containers[0])
		for _, svc := range grpcServices {
			if env[dsnKey(svc)] != "secret:"+svc+"-database-url" {
				t.Errorf("Job %s does not set %s from the Secret, so it would migrate %s in the fallback database", j.Name, dsnKey(svc), svc)
			}
		}
	}
	readme, err := os.ReadFile(filepath.Join(k8sDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range secretKeys {
		if !strings.Contains(string(readme), "--from-literal="+k+"=") {
			t.Errorf("README.md's secret command does not create key %s", k)
		}
	}
}

// portOf resolves a probe or Service target port against a container.
func portOf(c corev1.Container, p intstr.IntOrString) (int32, bool) {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

func namedPort(c corev1.Container, name string) int32 {
	p, _ := portOf(c, intstr.FromString(name))
	return p
}

func addrPort(t *testing.T, where, addr string) int32 {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	n, err2 := strconv.Atoi(port)
	if err != nil || err2 != nil {
		t.Errorf("%s: address %q has no port", where, addr)
	}
	return int32(n)
}

func TestKubernetesPortsAndProbesAgree(t *testing.T) {
	m := loadManifests(t)
	for _, p := range parts {
		d := m.deployments[p]
		if d == nil {
			continue
		}
		c := d.Spec.Template.Spec.Containers[0]
		env := m.env(t, p, c)
		listen, portName := "GUILDHALL_HTTP_ADDR", "http"
		if p != "gateway" {
			listen, portName = "GUILDHALL_"+strings.ToUpper(p)+"_ADDR", "grpc"
		}
		want := namedPort(c, portName)
		if want == 0 {
			t.Errorf("Deployment %s has no container port named %q", p, portName)
			continue
		}
		if got := addrPort(t, p+" "+listen, env[listen]); got != want {
			t.Errorf("Deployment %s listens on %s=%q but its %s port is %d", p, listen, env[listen], portName, want)
		}
		if metrics := env["GUILDHALL_METRICS_ADDR"]; metrics == "" || addrPort(t, p+" metrics", metrics) != namedPort(c, "metrics") {
			t.Errorf("Deployment %s: GUILDHALL_METRICS_ADDR=%q does not match its metrics port %d", p, metrics, namedPort(c, "metrics"))
		}

		probes := map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe}
		for kind, pr := range probes {
			if pr == nil {
				if kind != "startup" {
					t.Errorf("Deployment %s has no %s probe", p, kind)
				}
				continue
			}
			switch {
			case pr.GRPC != nil:
				if p == "gateway" {
					t.Errorf("the gateway's %s probe is gRPC; it serves HTTP", kind)
				}
				if pr.GRPC.Port != want {
					t.Errorf("Deployment %s %s probe checks gRPC port %d; the server listens on %d", p, kind, pr.GRPC.Port, want)
				}
				svc := ""
				if pr.GRPC.Service != nil {
					svc = *pr.GRPC.Service
				}
				if kind == "readiness" && svc != grpcNames[p] {
					t.Errorf("Deployment %s readiness asks health for %q; want %q, which goes NOT_SERVING with its database", p, svc, grpcNames[p])
				}
				if kind != "readiness" && svc != "" {
					t.Errorf("Deployment %s %s probe asks for %q; want the server as a whole (\"\")", p, kind, svc)
				}
			case pr.HTTPGet != nil:
				if got, ok := portOf(c, pr.HTTPGet.Port); !ok || got != want {
					t.Errorf("Deployment %s %s probe hits port %s, not the server's %d", p, kind, pr.HTTPGet.Port.String(), want)
				}
				if !slices.Contains(gatewayPaths, pr.HTTPGet.Path) || p != "gateway" {
					t.Errorf("Deployment %s %s probe GETs %s; only the gateway serves %v", p, kind, pr.HTTPGet.Path, gatewayPaths)
				}
			default:
				t.Errorf("Deployment %s %s probe is neither gRPC nor HTTP (the image has no shell for exec)", p, kind)
			}
		}

		// The Service reaches the listener.
		if s := m.services[p]; s != nil {
			for _, sp := range s.Spec.Ports {
				if got, ok := portOf(c, sp.TargetPort); !ok || got != want {
					t.Errorf("Service %s port %s targets %s, not the server's port %d", p, sp.Name, sp.TargetPort.String(), want)
				}
			}
		}
	}

	// Every *_TARGET names a part's Service and a port of it that reaches the listener.
	for where, pod := range m.pods() {
		for _, c := range pod.Spec.Containers {
			for k, v := range m.env(t, where, c) {
				svc, ok := strings.CutSuffix(strings.TrimPrefix(k, "GUILDHALL_"), "_TARGET")
				if !ok {
					continue
				}
				svc = strings.ToLower(svc)
				host, port, err := net.SplitHostPort(strings.TrimPrefix(v, "dns:///"))
				if err != nil {
					t.Errorf("%s: %s=%q is not host:port", where, k, v)
					continue
				}
				s, d := m.services[host], m.deployments[svc]
				if host != svc || s == nil || d == nil {
					t.Errorf("%s: %s=%q; want the %s Service", where, k, v, svc)
					continue
				}
				found := false
				for _, sp := range s.Spec.Ports {
					if strconv.Itoa(int(sp.Port)) == port {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: %s=%q but Service %s has no port %s", where, k, v, host, port)
				}
			}
		}
	}
}

func TestKubernetesSelectorsMatchPods(t *testing.T) {
	m := loadManifests(t)
	podLabels := func(name string) labels.Set {
		if d := m.deployments[name]; d != nil {
			return d.Spec.Template.Labels
		}
		return nil
	}
	for n, d := range m.deployments {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("Deployment %s selector does not match its own pods", n)
		}
		for o, other := range m.deployments {
			if o != n && sel.Matches(labels.Set(other.Spec.Template.Labels)) {
				t.Errorf("Deployment %s selector also matches %s's pods", n, o)
			}
		}
	}
	for n, s := range m.services {
		if !labels.SelectorFromSet(s.Spec.Selector).Matches(podLabels(n)) || len(s.Spec.Selector) == 0 {
			t.Errorf("Service %s selector %v does not match Deployment %s's pods", n, s.Spec.Selector, n)
		}
	}
	covered := map[string]bool{}
	for _, pdb := range m.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		for n, d := range m.deployments {
			if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				covered[n] = true
				if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() >= int(*d.Spec.Replicas) {
					t.Errorf("PodDisruptionBudget %s lets no pod of %s (%d replicas) be evicted: a drain would hang", pdb.Name, n, *d.Spec.Replicas)
				}
			}
		}
	}
	for _, p := range parts {
		if !covered[p] {
			t.Errorf("no PodDisruptionBudget covers %s", p)
		}
		if d := m.deployments[p]; d != nil && (d.Spec.Replicas == nil || *d.Spec.Replicas < 2) {
			t.Errorf("Deployment %s runs fewer than 2 replicas", p)
		}
	}
}

func TestKubernetesPodsAreLockedDown(t *testing.T) {
	m := loadManifests(t)
	for where, pod := range m.pods() {
		ps := pod.Spec.SecurityContext
		if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.RunAsUser == nil || *ps.RunAsUser == 0 {
			t.Errorf("%s: pod must set runAsNonRoot and a non-zero runAsUser", where)
		}
		if ps == nil || ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: pod must use the RuntimeDefault seccomp profile (restricted Pod Security Standard)", where)
		}
		if pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken {
			t.Errorf("%s: Guildhall never calls the Kubernetes API; do not mount a service account token", where)
		}
		for _, c := range pod.Spec.Containers {
			sc := c.SecurityContext
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				t.Errorf("%s container %s: want allowPrivilegeEscalation false, readOnlyRootFilesystem true, capabilities drop ALL", where, c.Name)
			}
			req, lim := c.Resources.Requests, c.Resources.Limits
			if req.Cpu().IsZero() || req.Memory().IsZero() || lim.Memory().IsZero() {
				t.Errorf("%s container %s: want cpu and memory requests and a memory limit, got %v / %v", where, c.Name, req, lim)
			}
		}
	}
	// The drain must finish before the kubelet's SIGKILL.
	for n, d := range m.deployments {
		c := d.Spec.Template.Spec.Containers[0]
		grace, err := config.ParseDuration(m.env(t, n, c)["GUILDHALL_SHUTDOWN_GRACE"])
		if err != nil {
			t.Errorf("Deployment %s: GUILDHALL_SHUTDOWN_GRACE: %v", n, err)
			continue
		}
		var pre time.Duration
		if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
			pre = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
		}
		tg := d.Spec.Template.Spec.TerminationGracePeriodSeconds
		if tg == nil || time.Duration(*tg)*time.Second <= grace+pre {
			t.Errorf("Deployment %s: terminationGracePeriodSeconds %v is not above preStop %v + GUILDHALL_SHUTDOWN_GRACE %v", n, tg, pre, grace)
		}
	}
	for _, ns := range m.namespaces {
		if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
			t.Errorf("Namespace %s does not enforce the restricted Pod Security Standard", ns.Name)
		}
	}
}

func TestKubernetesAutoscaling(t *testing.T) {
	m := loadManifests(t)
	scaled := map[string]bool{}
	for _, h := range m.hpas {
		ref := h.Spec.ScaleTargetRef
		d := m.deployments[ref.Name]
		if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || d == nil {
			t.Errorf("HPA %s targets %s %s %s, not a Deployment here", h.Name, ref.APIVersion, ref.Kind, ref.Name)
			continue
		}
		scaled[ref.Name] = true
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
			t.Errorf("HPA %s: min %v max %d; want at least 2 and max ≥ min", h.Name, h.Spec.MinReplicas, h.Spec.MaxReplicas)
		}
		for _, mt := range h.Spec.Metrics {
			if mt.Resource != nil && mt.Resource.Target.Type == autoscalingv2.UtilizationMetricType {
				c := d.Spec.Template.Spec.Containers[0]
				if _, ok := c.Resources.Requests[mt.Resource.Name]; !ok {
					t.Errorf("HPA %s scales on %s utilisation, but %s requests no %s", h.Name, mt.Resource.Name, d.Name, mt.Resource.Name)
				}
			}
		}
	}
	for _, want := range []string{"gateway", "finance"} {
		if !scaled[want] {
			t.Errorf("no HPA scales %s", want)
		}
	}
}

// admitted lists the NetworkPolicy ingress rules that let traffic reach port
// (a container port) of pod; isolated is false if no policy selects the pod.
func admitted(m *manifests, pod labels.Set, c corev1.Container, port int32) (rules []networkingv1.NetworkPolicyIngressRule, isolated bool) {
	for _, np := range m.policies {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil || !sel.Matches(pod) || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
			continue
		}
		isolated = true
		for _, r := range np.Spec.Ingress {
			ok := len(r.Ports) == 0
			for _, p := range r.Ports {
				if p.Port == nil {
					ok = true
				} else if got, found := portOf(c, *p.Port); found && got == port {
					ok = true
				}
			}
			if ok {
				rules = append(rules, r)
			}
		}
	}
	return rules, isolated
}

func TestKubernetesNetworkPolicy(t *testing.T) {
	m := loadManifests(t)
	guildhallPod := func(peer networkingv1.NetworkPolicyPeer) bool {
		if peer.IPBlock != nil || peer.NamespaceSelector != nil || peer.PodSelector == nil {
			return false
		}
		sel, err := metav1.LabelSelectorAsSelector(peer.PodSelector)
		if err != nil || sel.Empty() {
			return false
		}
		// It admits the gateway, and nothing that is not labelled Guildhall.
		gw := m.deployments["gateway"]
		return gw != nil && sel.Matches(labels.Set(gw.Spec.Template.Labels)) &&
			!sel.Matches(labels.Set{"app.kubernetes.io/name": "other", "app.kubernetes.io/component": "gateway"})
	}
	for _, p := range parts {
		d := m.deployments[p]
		if d == nil {
			continue
		}
		c := d.Spec.Template.Spec.Containers[0]
		pod := labels.Set(d.Spec.Template.Labels)
		for _, cp := range c.Ports {
			rules, isolated := admitted(m, pod, c, cp.ContainerPort)
			if !isolated {
				t.Errorf("no NetworkPolicy selects %s's pods: every port is open", p)
				break
			}
			fromAnywhere := false
			for _, r := range rules {
				if len(r.From) == 0 {
					fromAnywhere = true
				}
				for _, peer := range r.From {
					if peer.IPBlock != nil && (peer.IPBlock.CIDR == "0.0.0.0/0" || peer.IPBlock.CIDR == "::/0") {
						fromAnywhere = true
					}
				}
			}
			switch {
			case p == "gateway" && cp.Name == "http":
				if !fromAnywhere {
					t.Errorf("the gateway's http port is not reachable from outside")
				}
			case cp.Name == "grpc":
				if fromAnywhere || len(rules) == 0 {
					t.Errorf("%s's gRPC port: from anywhere %v, rules %d; want it open to Guildhall's pods only", p, fromAnywhere, len(rules))
				}
				for _, r := range rules {
					for _, peer := range r.From {
						if !guildhallPod(peer) {
							t.Errorf("%s's gRPC port admits %+v, which is not (only) Guildhall's pods", p, peer)
						}
					}
				}
			default:
				if fromAnywhere {
					t.Errorf("%s's %s port is open to anyone; only the gateway's http port may be", p, cp.Name)
				}
			}
		}
	}
}

// TestKubernetesKustomizeBuild renders the kustomization the way
// `kubectl apply -k` does, when kubectl is installed, and decodes every
// rendered object strictly: the image is rewritten and everything lands in
// the namespace.
func TestKubernetesKustomizeBuild(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed; the manifests are still checked file by file")
	}
	m := loadManifests(t)
	out, err := exec.Command(kubectl, "kustomize", k8sDir).Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v", k8sDir, err)
	}
	img := m.kust.Images[0]
	wantImage := img.NewName + ":" + img.NewTag
	objects := 0
	for i, doc := range splitYAML(out) {
		where := fmt.Sprintf("rendered document %d", i+1)
		var obj struct {
			metav1.TypeMeta   `json:",inline"`
			metav1.ObjectMeta `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		objects++
		if obj.Kind != "Namespace" && obj.Namespace != m.kust.Namespace {
			t.Errorf("%s %s is in namespace %q; want %q", obj.Kind, obj.Name, obj.Namespace, m.kust.Namespace)
		}
		var pod *corev1.PodTemplateSpec
		switch obj.Kind {
		case "Deployment":
			var d appsv1.Deployment
			strict(t, where, doc, &d)
			pod = &d.Spec.Template
		case "Job":
			var j batchv1.Job
			strict(t, where, doc, &j)
			pod = &j.Spec.Template
		}
		if pod != nil {
			for _, c := range pod.Spec.Containers {
				if c.Image != wantImage {
					t.Errorf("%s %s container %s runs image %q; want %q from kustomization.yaml", obj.Kind, obj.Name, c.Name, c.Image, wantImage)
				}
			}
		}
	}
	if objects != m.documentsRead {
		t.Errorf("kustomize rendered %d objects from %d documents", objects, m.documentsRead)
	}
}
