// Package transparency is the transparency report: one public, read-only
// view (guildhall.transparency.v1) joined from the roadmap, membership and
// finance services over gRPC. It has no database, migrations or seed of its
// own, so it is not a service.Descriptor: the gateway process serves it
// (package app wires it), next to the connections it already holds to every
// service and to the HTTP caching it needs. It must not import the services,
// only their APIs.
//
// Every part is asked anonymously (no token is forwarded), so the report
// holds exactly what an anonymous caller may read, and one assembled report
// serves every caller: it is reused for the configured TTL, and concurrent
// requests for a stale report wait on one assembly.
package transparency

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	transparencyv1 "github.com/guildhall/guildhall/gen/go/guildhall/transparency/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
)

// DefaultPartTimeout bounds the calls of one part when Options.PartTimeout is 0.
const DefaultPartTimeout = 3 * time.Second

// listCap is the most entries any list of the report holds; each part says
// how many there are in all.
const listCap = 100

// decidedWindow is how far back decisions reached are shown.
const decidedWindow = 90 * 24 * time.Hour

// pageSize is what the report asks for per page of every list.
const pageSize = 1000

// Options is what the report is built from.
type Options struct {
	// Connections to the three services; calls on them carry no token.
	Roadmap, Membership, Finance grpc.ClientConnInterface
	Log                          *zap.Logger
	// Now is the business clock (months, the 90-day window).
	Now func() time.Time
	// TTL is how long an assembled report is reused; 0 assembles one per call.
	TTL time.Duration
	// PartTimeout bounds each part's calls; 0 is DefaultPartTimeout.
	PartTimeout time.Duration
}

// Server implements transparencyv1.TransparencyServiceServer.
type Server struct {
	transparencyv1.UnimplementedTransparencyServiceServer
	o          Options
	roadmap    roadmapv1.RoadmapServiceClient
	membership membershipv1.MembershipServiceClient
	finance    financev1.FinanceServiceClient

	flight singleflight.Group
	mu     sync.Mutex
	cached *transparencyv1.TransparencyReport
	// cachedAt is wall-clock (monotonic) time: the TTL is about load, not
	// about the business clock, which tests move.
	cachedAt time.Time
}

// New returns the report's server.
func New(o Options) *Server {
	if o.PartTimeout <= 0 {
		o.PartTimeout = DefaultPartTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	return &Server{o: o,
		roadmap:    roadmapv1.NewRoadmapServiceClient(o.Roadmap),
		membership: membershipv1.NewMembershipServiceClient(o.Membership),
		finance:    financev1.NewFinanceServiceClient(o.Finance),
	}
}

// GetTransparencyReport answers the cached report while it is fresh, else
// assembles one (shared with every concurrent caller). The answer is shared:
// callers must not change it.
func (s *Server) GetTransparencyReport(ctx context.Context, _ *transparencyv1.GetTransparencyReportRequest) (*transparencyv1.TransparencyReport, error) {
	if r := s.fresh(); r != nil {
		return r, nil
	}
	ch := s.flight.DoChan("report", func() (any, error) {
		// The assembly outlives a caller that gives up (others wait on it),
		// and carries nothing of the caller's: no token, no metadata, so
		// every service sees an anonymous reader whoever asked first.
		r, err := s.assemble(context.Background())
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.cached, s.cachedAt = r, time.Now()
		s.mu.Unlock()
		return r, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*transparencyv1.TransparencyReport), nil
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

func (s *Server) fresh() *transparencyv1.TransparencyReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached != nil && time.Since(s.cachedAt) < s.o.TTL {
		return s.cached
	}
	return nil
}

// assemble asks for every part at once, each under its own deadline. A part
// that fails is marked unavailable; if every part failed the report is
// UNAVAILABLE, so an outage is a 503 and not an empty page.
func (s *Server) assemble(ctx context.Context) (*transparencyv1.TransparencyReport, error) {
	now := s.o.Now().UTC()
	r := &transparencyv1.TransparencyReport{}
	parts := []struct {
		name string
		run  func(context.Context) error
	}{
		{"roadmap", func(ctx context.Context) (err error) { r.Roadmap, err = s.roadmapPart(ctx); return }},
		{"decisions", func(ctx context.Context) (err error) { r.Decisions, err = s.decisionsPart(ctx, now); return }},
		{"money", func(ctx context.Context) (err error) { r.Money, err = s.moneyPart(ctx, now); return }},
		{"roster", func(ctx context.Context) (err error) { r.Roster, err = s.rosterPart(ctx); return }},
		{"vacancies", func(ctx context.Context) (err error) { r.Vacancies, err = s.vacanciesPart(ctx); return }},
		{"volunteers", func(ctx context.Context) (err error) { r.Volunteers, err = s.volunteersPart(ctx); return }},
		{"packages", func(ctx context.Context) (err error) { r.Packages, err = s.packagesPart(ctx); return }},
	}
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, s.o.PartTimeout)
			defer cancel()
			errs[i] = p.run(pctx)
		})
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if err == nil {
			continue
		}
		failed++
		// An outage or a slow service is expected; anything else is a bug
		// in how the report asks, and is logged as one.
		log := s.o.Log.Warn
		if c := status.Code(err); c != codes.Unavailable && c != codes.DeadlineExceeded && c != codes.Canceled {
			log = s.o.Log.Error
		}
		log("transparency report part unavailable", zap.String("part", parts[i].name), zap.Error(err))
	}
	if failed == len(parts) {
		return nil, apierr.Unavailable("the transparency report cannot be assembled now: no service answered")
	}
	unavailable := &transparencyv1.TransparencyReport{
		Roadmap:    &transparencyv1.RoadmapPart{},
		Decisions:  &transparencyv1.DecisionsPart{},
		Money:      &transparencyv1.MoneyPart{},
		Roster:     &transparencyv1.RosterPart{},
		Vacancies:  &transparencyv1.VacanciesPart{},
		Volunteers: &transparencyv1.VolunteersPart{},
		Packages:   &transparencyv1.PackagesPart{},
	}
	const up, down = transparencyv1.Availability_AVAILABILITY_AVAILABLE, transparencyv1.Availability_AVAILABILITY_UNAVAILABLE
	mark := func(ok bool) transparencyv1.Availability {
		if ok {
			return up
		}
		return down
	}
	// A failed part is empty apart from its marker: nothing half-read shows.
	if errs[0] != nil {
		r.Roadmap = unavailable.Roadmap
	}
	if errs[1] != nil {
		r.Decisions = unavailable.Decisions
	}
	if errs[2] != nil {
		r.Money = unavailable.Money
	}
	if errs[3] != nil {
		r.Roster = unavailable.Roster
	}
	if errs[4] != nil {
		r.Vacancies = unavailable.Vacancies
	}
	if errs[5] != nil {
		r.Volunteers = unavailable.Volunteers
	}
	if errs[6] != nil {
		r.Packages = unavailable.Packages
	}
	r.Roadmap.Availability = mark(errs[0] == nil)
	r.Decisions.Availability = mark(errs[1] == nil)
	r.Money.Availability = mark(errs[2] == nil)
	r.Roster.Availability = mark(errs[3] == nil)
	r.Vacancies.Availability = mark(errs[4] == nil)
	r.Volunteers.Availability = mark(errs[5] == nil)
	r.Packages.Availability = mark(errs[6] == nil)
	return r, nil
}

// Policy declares who may read the report: anyone. The gateway serves it in
// process, so no interceptor enforces the rule; it is declared for the
// access table and the OpenAPI document, and the report needs none, as it
// reads the services anonymously.
func (s *Server) Policy() auth.Policy {
	return auth.Policy{transparencyv1.TransparencyService_GetTransparencyReport_FullMethodName: auth.Public()}
}
