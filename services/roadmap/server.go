// Package roadmap is the roadmap service: releases, roadmap items with their
// status timeline, and community decisions. It owns the "roadmap" schema and
// must not import the other services.
package roadmap

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/activity"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/job"
	"github.com/guildhall/guildhall/internal/memberref"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/roadmap/store"
)

const releases = "releases"

// Options is what the roadmap service is built from.
type Options struct {
	DB  *pgxpool.Pool
	Log *zap.Logger
	Now func() time.Time
	// Membership checks people and teams and receives activity reports.
	Membership membershipv1.MembershipServiceClient
	// StaleAfter is how long an IN_PROGRESS item may go without a status update.
	StaleAfter time.Duration
}

// Server implements roadmapv1.RoadmapServiceServer.
type Server struct {
	roadmapv1.UnimplementedRoadmapServiceServer
	db   *pgxpool.Pool
	q    *store.Queries
	log  *zap.Logger
	opts Options
	// members checks the people and teams requests name.
	members *memberref.Checker
}

// NewServer returns the roadmap service.
func NewServer(o Options) (*Server, error) {
	return &Server{db: o.DB, q: store.New(), log: o.Log, opts: o, members: memberref.New(o.Membership)}, nil
}

// Register implements app.Part.
func (s *Server) Register(r grpc.ServiceRegistrar) {
	roadmapv1.RegisterRoadmapServiceServer(r, s)
}

// GetRelease implements AIP-131.
func (s *Server) GetRelease(ctx context.Context, req *roadmapv1.GetReleaseRequest) (*roadmapv1.Release, error) {
	row, err := s.q.GetRelease(ctx, s.db, resource.ID(releases, req.GetName()))
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	return s.withHistory(ctx, s.db, releaseFromRow(row))
}

// ListReleases implements AIP-132 with keyset pagination by id.
func (s *Server) ListReleases(ctx context.Context, req *roadmapv1.ListReleasesRequest) (*roadmapv1.ListReleasesResponse, error) {
	page, err := pagination.Start(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(releases))
	if err != nil {
		return nil, err
	}
	rows, err := s.q.ListReleases(ctx, s.db, store.ListReleasesParams{After: page.After(), PageSize: page.Limit()})
	if err != nil {
		return nil, err
	}
	resp := &roadmapv1.ListReleasesResponse{}
	rows, resp.NextPageToken = pagination.Finish(page, rows, func(r store.Release) string { return r.ID })
	ids := make([]string, len(rows))
	for i, row := range rows {
		ids[i] = row.ID
		resp.Releases = append(resp.Releases, releaseFromRow(row))
	}
	progress, err := s.q.ReleasesProgress(ctx, s.db, ids)
	if err != nil {
		return nil, err
	}
	byID := map[string]store.ReleasesProgressRow{}
	for _, p := range progress {
		byID[p.ReleaseID] = p
	}
	for i, r := range resp.Releases {
		setProgress(r, byID[ids[i]].ItemCount, byID[ids[i]].DoneCount)
	}
	return resp, nil
}

// CreateRelease implements AIP-133 with a client-chosen id and request_id.
func (s *Server) CreateRelease(ctx context.Context, req *roadmapv1.CreateReleaseRequest) (*roadmapv1.Release, error) {
	r := req.GetRelease()
	if r.GetState() == roadmapv1.Release_STATE_UNSPECIFIED {
		r.State = roadmapv1.Release_STATE_PLANNED
	}
	params, err := releaseParams(r)
	if err != nil {
		return nil, err
	}
	name := resource.Name(releases, req.GetReleaseId())
	return resource.Create(ctx, s.db, name, req.GetRequestId(), "CreateRelease", req, func(tx pgx.Tx) (*roadmapv1.Release, error) {
		row, err := s.q.CreateRelease(ctx, tx, store.CreateReleaseParams{
			ID: req.GetReleaseId(), DisplayName: params.DisplayName, Description: params.Description,
			BasePlatform: params.BasePlatform, State: pgenum.Text(r.GetState()), TargetDate: params.TargetDate,
			ReleaseDate: params.ReleaseDate, Notes: params.Notes,
		})
		if err != nil {
			return nil, err
		}
		if err := s.q.InsertReleaseTransition(ctx, tx, store.InsertReleaseTransitionParams{
			ReleaseID: row.ID, FromState: "", ToState: row.State, Actor: actor(ctx), Time: s.now(), Note: "created",
		}); err != nil {
			return nil, err
		}
		if err := s.acted(ctx, tx); err != nil {
			return nil, err
		}
		return s.withHistory(ctx, tx, releaseFromRow(row))
	})
}

// releaseFields are the fields UpdateRelease may change. State is not one of
// them: it moves only through TransitionRelease, on the record (AIP-216).
var releaseFields = []string{"display_name", "description", "base_platform", "target_date", "release_date", "notes"}

// UpdateRelease implements AIP-134 with an etag check.
func (s *Server) UpdateRelease(ctx context.Context, req *roadmapv1.UpdateReleaseRequest) (*roadmapv1.Release, error) {
	id := resource.ID(releases, req.GetRelease().GetName())
	return resource.Update(ctx, s.db, req.GetRelease(), req.GetUpdateMask(), releaseFields,
		func(tx pgx.Tx) (*roadmapv1.Release, error) {
			row, err := s.q.GetReleaseForUpdate(ctx, tx, id)
			return releaseFromRow(row), err
		},
		func(r *roadmapv1.Release) error {
			_, err := releaseParams(r)
			return err
		},
		func(tx pgx.Tx, r *roadmapv1.Release) (*roadmapv1.Release, error) {
			p, _ := releaseParams(r)
			p.ID = id
			row, err := s.q.UpdateRelease(ctx, tx, p)
			if err != nil {
				return nil, err
			}
			if err := s.acted(ctx, tx); err != nil {
				return nil, err
			}
			return s.withHistory(ctx, tx, releaseFromRow(row))
		})
}

// TransitionRelease moves a release one legal step and records the move
// (actor, time, note) in the same transaction.
func (s *Server) TransitionRelease(ctx context.Context, req *roadmapv1.TransitionReleaseRequest) (*roadmapv1.Release, error) {
	id := resource.ID(releases, req.GetName())
	var out *roadmapv1.Release
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		row, err := s.q.GetReleaseForUpdate(ctx, tx, id)
		if err != nil {
			return resource.NotFoundIfNoRows(err, req.GetName())
		}
		cur := releaseFromRow(row)
		if err := resource.CheckEtag(cur, req.GetEtag()); err != nil {
			return err
		}
		if cur.GetState() == req.GetState() {
			out, err = s.withHistory(ctx, tx, cur)
			return err
		}
		if err := checkReleaseTransition(cur.GetState(), req.GetState()); err != nil {
			return err
		}
		if row, err = s.q.SetReleaseState(ctx, tx, store.SetReleaseStateParams{ID: id, State: pgenum.Text(req.GetState())}); err != nil {
			return err
		}
		if err := s.q.InsertReleaseTransition(ctx, tx, store.InsertReleaseTransitionParams{
			ReleaseID: id, FromState: pgenum.Text(cur.GetState()), ToState: row.State,
			Actor: actor(ctx), Time: s.now(), Note: req.GetNote(),
		}); err != nil {
			return err
		}
		if err := s.acted(ctx, tx); err != nil {
			return err
		}
		out, err = s.withHistory(ctx, tx, releaseFromRow(row))
		return err
	})
	return out, err
}

// withHistory fills a release's progress and state history.
func (s *Server) withHistory(ctx context.Context, db store.DBTX, r *roadmapv1.Release) (*roadmapv1.Release, error) {
	r, err := s.withProgress(ctx, db, r)
	if err != nil {
		return nil, err
	}
	rows, err := s.q.ReleaseTransitions(ctx, db, resource.ID(releases, r.GetName()))
	if err != nil {
		return nil, err
	}
	state := func(s string) roadmapv1.Release_State {
		return roadmapv1.Release_State(pgenum.Number(roadmapv1.Release_STATE_UNSPECIFIED.Descriptor(), s))
	}
	for _, t := range rows {
		r.History = append(r.History, &roadmapv1.ReleaseTransition{
			FromState: state(t.FromState), ToState: state(t.ToState), Actor: t.Actor, Time: timestamppb.New(t.Time), Note: t.Note,
		})
	}
	return r, nil
}

// actor names the caller for the record: the person, or the calling service.
func actor(ctx context.Context) string {
	p := auth.From(ctx)
	if p.GetPerson() != "" {
		return p.GetPerson()
	}
	if p.GetService() != "" {
		return "services/" + p.GetService()
	}
	return ""
}

// DeleteRelease implements AIP-135.
func (s *Server) DeleteRelease(ctx context.Context, req *roadmapv1.DeleteReleaseRequest) (*emptypb.Empty, error) {
	id := resource.ID(releases, req.GetName())
	err := resource.Delete(ctx, s.db, req.GetName(), req.GetEtag(),
		func(tx pgx.Tx) (*roadmapv1.Release, error) {
			row, err := s.q.GetReleaseForUpdate(ctx, tx, id)
			return releaseFromRow(row), err
		},
		func(tx pgx.Tx) error {
			if err := s.q.DeleteRelease(ctx, tx, id); err != nil {
				return err
			}
			return s.acted(ctx, tx)
		})
	if resource.IsForeignKeyViolation(err) {
		return nil, apierr.FailedPrecondition(ReasonReleaseHasItems,
			req.GetName()+" still has items: move them to another release or the backlog first")
	}
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// releaseParams checks a whole release and converts it for storage.
func releaseParams(r *roadmapv1.Release) (store.UpdateReleaseParams, error) {
	if err := resource.Required("release", map[string]bool{
		"display_name": r.GetDisplayName() != "",
		"state":        r.GetState() != roadmapv1.Release_STATE_UNSPECIFIED,
	}); err != nil {
		return store.UpdateReleaseParams{}, err
	}
	target, err := parseDate("release.target_date", r.GetTargetDate())
	if err != nil {
		return store.UpdateReleaseParams{}, err
	}
	released, err := parseDate("release.release_date", r.GetReleaseDate())
	if err != nil {
		return store.UpdateReleaseParams{}, err
	}
	return store.UpdateReleaseParams{
		DisplayName: r.GetDisplayName(), Description: r.GetDescription(), BasePlatform: r.GetBasePlatform(),
		TargetDate: target, ReleaseDate: released, Notes: r.GetNotes(),
	}, nil
}

const dateLayout = "2006-01-02"

func parseDate(field, s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return nil, apierr.InvalidField(field, "not a calendar date (YYYY-MM-DD): "+s)
	}
	return &t, nil
}

func formatDate(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(dateLayout)
}

func releaseFromRow(r store.Release) *roadmapv1.Release {
	return &roadmapv1.Release{
		Name:         resource.Name(releases, r.ID),
		DisplayName:  r.DisplayName,
		Description:  r.Description,
		BasePlatform: r.BasePlatform,
		State:        roadmapv1.Release_State(pgenum.Number(roadmapv1.Release_STATE_UNSPECIFIED.Descriptor(), r.State)),
		TargetDate:   formatDate(r.TargetDate),
		ReleaseDate:  formatDate(r.ReleaseDate),
		Notes:        r.Notes,
		CreateTime:   timestamppb.New(r.CreateTime),
		UpdateTime:   timestamppb.New(r.UpdateTime),
		Etag:         resource.Etag(r.Version),
	}
}

// Jobs implements service.Part: delivering the activity outbox to membership.
func (s *Server) Jobs() []job.Job {
	return activity.Jobs(config.Roadmap, s.db, s.opts.Membership)
}
