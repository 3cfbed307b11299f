package roadmap

import (
	"context"
	"fmt"
	"slices"
	"strings"

	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/roadmap/store"
)

// ErrorInfo reasons of refused release and item changes.
const (
	ReasonIllegalTransition = typev1.ErrorReason_ILLEGAL_TRANSITION
	ReasonReleaseHasItems   = typev1.ErrorReason_RELEASE_HAS_ITEMS
)

// releaseMoves are the legal release state changes. A release may go back
// from IN_DEVELOPMENT to PLANNED (scope rethought), a planned release may be
// abandoned (END_OF_LIFE), and a RELEASED one may reach END_OF_LIFE without a
// maintenance phase; nothing leaves END_OF_LIFE and nothing skips being released.
var releaseMoves = map[roadmapv1.Release_State][]roadmapv1.Release_State{
	roadmapv1.Release_STATE_PLANNED:        {roadmapv1.Release_STATE_IN_DEVELOPMENT, roadmapv1.Release_STATE_END_OF_LIFE},
	roadmapv1.Release_STATE_IN_DEVELOPMENT: {roadmapv1.Release_STATE_PLANNED, roadmapv1.Release_STATE_RELEASED},
	roadmapv1.Release_STATE_RELEASED:       {roadmapv1.Release_STATE_MAINTAINED, roadmapv1.Release_STATE_END_OF_LIFE},
	roadmapv1.Release_STATE_MAINTAINED:     {roadmapv1.Release_STATE_END_OF_LIFE},
}

// checkReleaseTransition allows staying put and the moves of releaseMoves.
func checkReleaseTransition(from, to roadmapv1.Release_State) error {
	return checkMove("release", from, to, releaseMoves[from])
}

// checkMove refuses from → to unless to is from or listed in allowed, saying
// what would have been allowed.
func checkMove[E interface {
	comparable
	String() string
}](what string, from, to E, allowed []E) error {
	if from == to || slices.Contains(allowed, to) {
		return nil
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = a.String()
	}
	next := "none: it is final"
	if len(names) > 0 {
		next = strings.Join(names, ", ")
	}
	e := apierr.FailedPrecondition(ReasonIllegalTransition,
		fmt.Sprintf("a %s cannot move from %s to %s; from %s it may move to %s", what, from, to, from, next))
	e.Metadata = map[string]string{"from": from.String(), "to": to.String()}
	return e
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
	rows, err := s.q.ReleaseChangelog(ctx, s.db, textOf(resource.ID(releases, req.GetName())))
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
