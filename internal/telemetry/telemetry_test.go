package telemetry_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/telemetry"
)

const account = `{"displayName":"Bank","type":"TYPE_ASSET","currencyCode":"USD"}`

// TestRESTCallSpanTree follows one REST call through every hop: the
// client's traceparent → the gateway's HTTP span → its gRPC client span →
// finance's server span → finance's SQL and its call to membership (to
// authenticate the caller) → membership's server span → membership's SQL.
// Every span is in the client's trace and hangs from its parent.
func TestRESTCallSpanTree(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	env := apptest.StartTraced(t, telemetry.WithProvider(tp))
	admin := env.WithToken(apptest.AdminToken)

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	const parentID = "00f067aa0ba902b7"
	res := admin.Do(t, http.MethodPost, "/v1/accounts?accountId=bank&requestId="+uuid.NewString(), account,
		"traceparent", "00-"+traceID+"-"+parentID+"-01")
	if res.Status != http.StatusOK {
		t.Fatalf("create account: %d %s", res.Status, res.Body)
	}
	if tr := res.Header.Get("Traceresponse"); !strings.HasPrefix(tr, "00-"+traceID+"-") {
		t.Errorf("traceresponse = %q; want the caller's trace %s", tr, traceID)
	}

	// Spans end asynchronously: the HTTP span after the response is written,
	// a server span when gRPC has finished the call, which may be after the
	// caller has its answer. Wait until the tree is whole, or give up.
	var mine tracetest.SpanStubs
	var byID map[trace.SpanID]tracetest.SpanStub
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mine = nil
		byID = map[trace.SpanID]tracetest.SpanStub{}
		for _, s := range exp.GetSpans() {
			if s.SpanContext.TraceID().String() == traceID {
				mine = append(mine, s)
				byID[s.SpanContext.SpanID()] = s
			}
		}
		whole := find(mine, trace.SpanKindServer, "POST /v1/accounts") != nil
		for _, s := range mine {
			if _, ok := byID[s.Parent.SpanID()]; !ok && s.Parent.SpanID().String() != parentID {
				whole = false
			}
		}
		if whole || time.Now().After(deadline) {
			break
		}
	}
	dump := func() string {
		var b strings.Builder
		for _, s := range mine {
			b.WriteString(s.SpanKind.String() + " " + s.Name + " " + s.SpanContext.SpanID().String() + " parent " + s.Parent.SpanID().String() + "\n")
		}
		return b.String()
	}

	root := find(mine, trace.SpanKindServer, "POST /v1/accounts")
	if root == nil {
		t.Fatalf("no HTTP server span named after the route in trace %s:\n%s", traceID, dump())
	}
	if root.Parent.SpanID().String() != parentID || !root.Parent.IsRemote() {
		t.Errorf("HTTP span's parent is %s; want the caller's span %s", root.Parent.SpanID(), parentID)
	}
	// Every other span hangs from a span of the trace: none is orphaned.
	for _, s := range mine {
		if s.SpanContext.SpanID() == root.SpanContext.SpanID() {
			continue
		}
		if _, ok := byID[s.Parent.SpanID()]; !ok {
			t.Errorf("span %q (%s) has parent %s, which is not in the trace", s.Name, s.SpanKind, s.Parent.SpanID())
		}
	}

	// The chain of hops, each the child of the previous.
	under := func(parent *tracetest.SpanStub, kind trace.SpanKind, name string) *tracetest.SpanStub {
		t.Helper()
		for i := range mine {
			s := &mine[i]
			if s.SpanKind == kind && s.Name == name && descends(byID, *s, parent.SpanContext.SpanID()) {
				return s
			}
		}
		t.Fatalf("no %s span %q under %q:\n%s", kind, name, parent.Name, dump())
		return nil
	}
	const create = "guildhall.finance.v1.FinanceService/CreateAccount"
	const authn = "guildhall.membership.v1.MembershipService/Authenticate"
	gwClient := under(root, trace.SpanKindClient, create)
	finance := under(gwClient, trace.SpanKindServer, create)
	if finance.Parent.SpanID() != gwClient.SpanContext.SpanID() {
		t.Errorf("finance's server span is not the direct child of the gateway's client span: traceparent was not carried over gRPC")
	}
	financeClient := under(finance, trace.SpanKindClient, authn)
	membership := under(financeClient, trace.SpanKindServer, authn)
	if membership.Parent.SpanID() != financeClient.SpanContext.SpanID() {
		t.Errorf("membership's server span is not the direct child of finance's client span")
	}
	for _, svc := range []*tracetest.SpanStub{finance, membership} {
		if !hasSQL(mine, byID, svc) {
			t.Errorf("no SQL span under %s (%s):\n%s", svc.Name, svc.SpanKind, dump())
		}
	}
}

func find(spans tracetest.SpanStubs, kind trace.SpanKind, name string) *tracetest.SpanStub {
	for i := range spans {
		if spans[i].SpanKind == kind && spans[i].Name == name {
			return &spans[i]
		}
	}
	return nil
}

// descends reports whether s is below the span ancestor.
func descends(byID map[trace.SpanID]tracetest.SpanStub, s tracetest.SpanStub, ancestor trace.SpanID) bool {
	for range 64 {
		if s.Parent.SpanID() == ancestor {
			return true
		}
		p, ok := byID[s.Parent.SpanID()]
		if !ok {
			return false
		}
		s = p
	}
	return false
}

// hasSQL reports whether a database span (one carrying a statement) sits under
// svc without another service's server span in between.
func hasSQL(spans tracetest.SpanStubs, byID map[trace.SpanID]tracetest.SpanStub, svc *tracetest.SpanStub) bool {
	for _, s := range spans {
		isSQL := false
		for _, a := range s.Attributes {
			if k := string(a.Key); k == "db.query.text" || k == "db.statement" {
				isSQL = true
			}
		}
		if !isSQL {
			continue
		}
		// Walk up to the nearest server span.
		p := s
		for range 64 {
			q, ok := byID[p.Parent.SpanID()]
			if !ok {
				break
			}
			if q.SpanKind == trace.SpanKindServer {
				if q.SpanContext.SpanID() == svc.SpanContext.SpanID() {
					return true
				}
				break
			}
			p = q
		}
	}
	return false
}
