package app

import (
	"context"
	"flag"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/pgtest"
	"github.com/guildhall/guildhall/internal/service"
)

// withoutRule is a built service whose policy forgot one method.
type withoutRule struct {
	service.Part
	method string
}

func (p withoutRule) Policy() auth.Policy {
	pol := p.Part.Policy()
	delete(pol, p.method)
	return pol
}

// A registered method without an access rule stops start-up, naming the
// method; the same service with its full policy starts.
func TestMethodWithoutRuleStopsStartUp(t *testing.T) {
	var schemas []pgtest.Schema
	for _, s := range Services() {
		schemas = append(schemas, pgtest.Schema{Name: s.Name, Migrations: s.Migrations, Lines: Lines()})
	}
	url := pgtest.New(t, schemas)
	env := map[string]string{"GUILDHALL_DATABASE_URL": url, "GUILDHALL_INTERNAL_TOKEN": "gh_internal-test-token"}
	cfg, err := config.Bind(flag.NewFlagSet("test", flag.ContinueOnError), func(k string) (string, bool) { v, ok := env[k]; return v, ok }, "console")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Complete(); err != nil {
		t.Fatal(err)
	}
	const forgotten = "/" + "guildhall.finance.v1.FinanceService" + "/" + "ApproveExpense"
	if financev1.FinanceService_ServiceDesc.ServiceName != "guildhall.finance.v1.FinanceService" {
		t.Fatal("the finance service was renamed; update this test")
	}

	start := func(drop string) error {
		a := New(cfg, zaptest.NewLogger(t), time.Now)
		for i, d := range a.services {
			if d.Name != config.Finance || drop == "" {
				continue
			}
			build := d.Build
			a.services[i].Build = func(deps service.Deps) (service.Part, error) {
				p, err := build(deps)
				return withoutRule{Part: p, method: drop}, err
			}
		}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer lis.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		err = a.WithServices(ctx, lis, []string{config.Finance}, lis.Addr().String())
		for i := len(a.closers) - 1; i >= 0; i-- {
			a.closers[i]()
		}
		return err
	}

	err = start(forgotten)
	if err == nil || !strings.Contains(err.Error(), forgotten) {
		t.Fatalf("start-up with no rule for %s: %v, want an error naming it", forgotten, err)
	}
	if err := start(""); err != nil {
		t.Fatalf("start-up with the full policy: %v", err)
	}
}
