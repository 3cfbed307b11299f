package roadmap

import (
	"context"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/convert"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/lifecycle"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/roadmap/store"
)

const releases = "releases"

// ReasonReleaseHasItems refuses deleting a release that items still name.
const ReasonReleaseHasItems = typev1.ErrorReason_RELEASE_HAS_ITEMS

// releaseHistory keeps every release's moves (TransitionRelease) and its
// creation, with who and when.
var releaseHistory = lifecycle.History{Collection: releases, Table: "release_transitions", Key: "release_id"}

// releaseMoves are the legal release state changes. A release may go back
// from IN_DEVELOPMENT to PLANNED (scope rethought), a planned release may be
// abandoned (END_OF_LIFE), and a RELEASED one may reach END_OF_LIFE without a
// maintenance phase; nothing leaves END_OF_LIFE and nothing skips being released.
var releaseMoves = lifecycle.New("release", map[roadmapv1.Release_State][]roadmapv1.Release_State{
	roadmapv1.Release_STATE_PLANNED:        {roadmapv1.Release_STATE_IN_DEVELOPMENT, roadmapv1.Release_STATE_END_OF_LIFE},
	roadmapv1.Release_STATE_IN_DEVELOPMENT: {roadmapv1.Release_STATE_PLANNED, roadmapv1.Release_STATE_RELEASED},
	roadmapv1.Release_STATE_RELEASED:       {roadmapv1.Release_STATE_MAINTAINED, roadmapv1.Release_STATE_END_OF_LIFE},
	roadmapv1.Release_STATE_MAINTAINED:     {roadmapv1.Release_STATE_END_OF_LIFE},
})

func releaseState(s string) roadmapv1.Release_State {
	return roadmapv1.Release_State(pgenum.Number(roadmapv1.Release_STATE_UNSPECIFIED.Descriptor(), s))
}

// setProgress fills a release's computed progress.
func setProgress(r *roadmapv1.Release, items, done int32) {
	r.ItemCount, r.DoneCount, r.Progress = items, done, 0
	if items > 0 {
		r.Progress = float64(done) / float64(items)
	}
}

// withProgress adds the release's progress, computed from its items.
func (s *Server) withProgress(ctx context.Context, db store.DBTX, r *roadmapv1.Release) (*roadmapv1.Release, error) {
	p, err := s.q.ReleasesProgress(ctx, db, []string{resource.ID(releases, r.GetName())})
	if err != nil {
		return nil, err
	}
	setProgress(r, 0, 0)
	for _, row := range p {
		setProgress(r, row.ItemCount, row.DoneCount)
	}
	return r, nil
}

// GetReleaseChangelog returns the items done in a release.
func (s *Server) GetReleaseChangelog(ctx context.Context, req *roadmapv1.GetReleaseChangelogRequest) (*roadmapv1.ReleaseChangelog, error) {
	rel, err := s.GetRelease(ctx, &roadmapv1.GetReleaseRequest{Name: req.GetName()})
	if err != nil {
		return nil, err
	}
	rows, err := s.q.ReleaseChangelog(ctx, s.db, convert.Text(resource.ID(releases, req.GetName())))
	if err != nil {
		return nil, err
	}
	out := &roadmapv1.ReleaseChangelog{Release: rel}
	now := s.now()
	for _, row := range rows {
		out.Items = append(out.Items, s.itemFromRow(row, now))
	}
	return out, nil
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
		if err := lifecycle.Created(ctx, tx, releaseHistory, row.ID, releaseState(row.State), s.now(), "created"); err != nil {
			return nil, err
		}
		created := releaseFromRow(row)
		if err := s.emit(ctx, tx, events.ReleaseCreated, created.GetName(),
			&roadmapv1.Release{Name: created.GetName(), State: created.GetState()}); err != nil {
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
// (actor, time, note) in the same transaction; asking for the state it is
// in changes nothing.
func (s *Server) TransitionRelease(ctx context.Context, req *roadmapv1.TransitionReleaseRequest) (*roadmapv1.Release, error) {
	id := resource.ID(releases, req.GetName())
	type move = lifecycle.Move[roadmapv1.Release_State]
	var out *roadmapv1.Release
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		row, _, err := lifecycle.Transition(ctx, tx, lifecycle.Spec[roadmapv1.Release_State, store.Release]{
			Machine: releaseMoves, Name: req.GetName(), To: req.GetState(), Etag: req.GetEtag(), Note: req.GetNote(), Now: s.now(), Stay: true,
			Lock: func(tx pgx.Tx) (store.Release, error) { return s.q.GetReleaseForUpdate(ctx, tx, id) },
			Of: func(r store.Release) (roadmapv1.Release_State, string) {
				return releaseState(r.State), resource.Etag(r.Version)
			},
			Apply: func(tx pgx.Tx, _ store.Release, m move) (store.Release, error) {
				return s.q.SetReleaseState(ctx, tx, store.SetReleaseStateParams{ID: id, State: pgenum.Text(m.To)})
			},
			Record: lifecycle.Record[roadmapv1.Release_State](ctx, releaseHistory, id),
			After:  s.transitioned,
		})
		if err != nil {
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
	return r, lifecycle.Fill(ctx, db, releaseHistory, r)
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
	target, err := convert.ParseDate("release.target_date", r.GetTargetDate())
	if err != nil {
		return store.UpdateReleaseParams{}, err
	}
	released, err := convert.ParseDate("release.release_date", r.GetReleaseDate())
	if err != nil {
		return store.UpdateReleaseParams{}, err
	}
	return store.UpdateReleaseParams{
		DisplayName: r.GetDisplayName(), Description: r.GetDescription(), BasePlatform: r.GetBasePlatform(),
		TargetDate: target, ReleaseDate: released, Notes: r.GetNotes(),
	}, nil
}

func releaseFromRow(r store.Release) *roadmapv1.Release {
	return &roadmapv1.Release{
		Name:         resource.Name(releases, r.ID),
		DisplayName:  r.DisplayName,
		Description:  r.Description,
		BasePlatform: r.BasePlatform,
		State:        releaseState(r.State),
		TargetDate:   convert.FormatDate(r.TargetDate),
		ReleaseDate:  convert.FormatDate(r.ReleaseDate),
		Notes:        r.Notes,
		CreateTime:   timestamppb.New(r.CreateTime),
		UpdateTime:   timestamppb.New(r.UpdateTime),
		Etag:         resource.Etag(r.Version),
	}
}
