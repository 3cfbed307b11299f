package roadmap

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
	"github.com/guildhall/guildhall/internal/activity"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/convert"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/fieldmask"
	"github.com/guildhall/guildhall/internal/lifecycle"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/roadmap/store"
)

const items = "items"

// DefaultStaleAfter applies when Options.StaleAfter is zero.
const DefaultStaleAfter = 30 * 24 * time.Hour

// ReasonItemClosedForVoting refuses a vote on a DONE or DECLINED item.
const ReasonItemClosedForVoting = typev1.ErrorReason_ITEM_CLOSED_FOR_VOTING

// Activity kinds reported to membership.
const (
	KindItemVote     = "roadmap.item_vote"
	KindStatusUpdate = "roadmap.status_update"
	KindProposalVote = "roadmap.proposal_vote"
)

// itemMoves are the legal item state changes; see the State enum's comment.
var itemMoves = lifecycle.New("item", map[roadmapv1.Item_State][]roadmapv1.Item_State{
	roadmapv1.Item_STATE_PROPOSED:    {roadmapv1.Item_STATE_PLANNED, roadmapv1.Item_STATE_IN_PROGRESS, roadmapv1.Item_STATE_DEFERRED, roadmapv1.Item_STATE_DECLINED},
	roadmapv1.Item_STATE_PLANNED:     {roadmapv1.Item_STATE_PROPOSED, roadmapv1.Item_STATE_IN_PROGRESS, roadmapv1.Item_STATE_DEFERRED, roadmapv1.Item_STATE_DECLINED},
	roadmapv1.Item_STATE_IN_PROGRESS: {roadmapv1.Item_STATE_PLANNED, roadmapv1.Item_STATE_DONE, roadmapv1.Item_STATE_DEFERRED},
	roadmapv1.Item_STATE_DONE:        {roadmapv1.Item_STATE_IN_PROGRESS},
	roadmapv1.Item_STATE_DEFERRED:    {roadmapv1.Item_STATE_PROPOSED, roadmapv1.Item_STATE_PLANNED},
	roadmapv1.Item_STATE_DECLINED:    {roadmapv1.Item_STATE_PROPOSED},
})

// acted reports the caller's write as activity to membership, inside the
// write's transaction (see activity.Caller).
func (s *Server) acted(ctx context.Context, tx pgx.Tx) error {
	return activity.Caller(ctx, tx, "roadmap", s.now())
}

// now is the service clock; everything time-dependent reads it.
func (s *Server) now() time.Time { return s.opts.Now.Now() }

func (s *Server) staleAfter() time.Duration {
	if s.opts.StaleAfter > 0 {
		return s.opts.StaleAfter
	}
	return DefaultStaleAfter
}

func itemState(s string) roadmapv1.Item_State {
	return roadmapv1.Item_State(pgenum.Number(roadmapv1.Item_STATE_UNSPECIFIED.Descriptor(), s))
}

// isStale is evaluated at read time against the service clock, so no
// scheduler is needed and tests move it with the clock.
func (s *Server) isStale(state string, lastUpdate, now time.Time) bool {
	return state == "in_progress" && !now.Before(lastUpdate.Add(s.staleAfter()))
}

func (s *Server) itemFromRow(r store.Item, now time.Time) *roadmapv1.Item {
	it := &roadmapv1.Item{
		Name:           resource.Name(items, r.ID),
		Title:          r.Title,
		Description:    r.Description,
		State:          itemState(r.State),
		Priority:       r.Priority,
		OwnerTeam:      r.OwnerTeam,
		OwnerPeople:    r.OwnerPeople,
		Tags:           r.Tags,
		VoteCount:      r.VoteCount,
		LastUpdateTime: timestamppb.New(r.LastUpdateTime),
		Stale:          s.isStale(r.State, r.LastUpdateTime, now),
		CreateTime:     timestamppb.New(r.CreateTime),
		UpdateTime:     timestamppb.New(r.UpdateTime),
		Etag:           resource.Etag(r.Version),
		DonePercent:    donePercent(itemState(r.State)),
	}
	if r.ReleaseID.Valid {
		it.Release = resource.Name(releases, r.ReleaseID.String)
	}
	return it
}

// itemParams checks a whole item and converts it for storage.
func itemParams(it *roadmapv1.Item) (store.UpdateItemParams, error) {
	if err := resource.Required("item", map[string]bool{
		"title": it.GetTitle() != "",
		"state": it.GetState() != roadmapv1.Item_STATE_UNSPECIFIED,
	}); err != nil {
		return store.UpdateItemParams{}, err
	}
	return store.UpdateItemParams{
		Title: it.GetTitle(), Description: it.GetDescription(),
		ReleaseID: convert.Text(resource.ID(releases, it.GetRelease())), State: pgenum.Text(it.GetState()),
		Priority: it.GetPriority(), OwnerTeam: it.GetOwnerTeam(),
		OwnerPeople: convert.NonNil(it.GetOwnerPeople()), Tags: convert.NonNil(it.GetTags()),
	}, nil
}

// noSuchRelease turns a foreign-key violation on release_id into a field error.
func noSuchRelease(err error, field, release string) error {
	if resource.IsForeignKeyViolation(err) {
		return apierr.InvalidField(field, "no such release: "+release)
	}
	return err
}

// checkOwners asks membership about the owners an item names.
func (s *Server) checkOwners(ctx context.Context, it *roadmapv1.Item, team, people bool) error {
	if team {
		if err := s.checkTeam(ctx, "item.owner_team", it.GetOwnerTeam()); err != nil {
			return err
		}
	}
	if people {
		return s.members.People(ctx, "item.owner_people", it.GetOwnerPeople())
	}
	return nil
}

// GetItem implements AIP-131.
func (s *Server) GetItem(ctx context.Context, req *roadmapv1.GetItemRequest) (*roadmapv1.Item, error) {
	row, err := s.q.GetItem(ctx, s.db, resource.ID(items, req.GetName()))
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	it := s.itemFromRow(row, s.now())
	s.withFigures(ctx, it)
	return it, nil
}

// CreateItem implements AIP-133 with a server id and request_id.
func (s *Server) CreateItem(ctx context.Context, req *roadmapv1.CreateItemRequest) (*roadmapv1.Item, error) {
	it := req.GetItem()
	if it.GetState() == roadmapv1.Item_STATE_UNSPECIFIED {
		it.State = roadmapv1.Item_STATE_PROPOSED
	}
	p, err := itemParams(it)
	if err != nil {
		return nil, err
	}
	if err := s.checkOwners(ctx, it, true, true); err != nil {
		return nil, err
	}
	id := resource.NewID()
	now := s.now()
	out, err := resource.Create(ctx, s.db, resource.Name(items, id), req.GetRequestId(), "CreateItem", req, func(tx pgx.Tx) (*roadmapv1.Item, error) {
		row, err := s.q.CreateItem(ctx, tx, store.CreateItemParams{
			ID: id, Title: p.Title, Description: p.Description, ReleaseID: p.ReleaseID, State: p.State,
			Priority: p.Priority, OwnerTeam: p.OwnerTeam, OwnerPeople: p.OwnerPeople, Tags: p.Tags, LastUpdateTime: now,
		})
		if err != nil {
			return nil, noSuchRelease(err, "item.release", it.GetRelease())
		}
		created := s.itemFromRow(row, now)
		if err := s.emit(ctx, tx, events.ItemCreated, created.GetName(), &roadmapv1.Item{Name: created.GetName(),
			State: created.GetState(), OwnerTeam: created.GetOwnerTeam(), Release: created.GetRelease()}); err != nil {
			return nil, err
		}
		return created, s.acted(ctx, tx)
	})
	return out, err
}

// itemFields are the fields UpdateItem may change. State is not one of them:
// it moves only through a status update, on the record (AIP-216).
var itemFields = []string{"title", "description", "release", "priority", "owner_team", "owner_people", "tags"}

// UpdateItem implements AIP-134.
func (s *Server) UpdateItem(ctx context.Context, req *roadmapv1.UpdateItemRequest) (*roadmapv1.Item, error) {
	patch := req.GetItem()
	// Ask membership before the transaction, so no row lock waits on the network.
	if err := s.checkOwners(ctx, patch,
		fieldmask.Touches(patch, req.GetUpdateMask(), "owner_team"),
		fieldmask.Touches(patch, req.GetUpdateMask(), "owner_people")); err != nil {
		return nil, err
	}
	id := resource.ID(items, patch.GetName())
	now := s.now()
	return resource.Update(ctx, s.db, patch, req.GetUpdateMask(), itemFields,
		func(tx pgx.Tx) (*roadmapv1.Item, error) {
			row, err := s.q.GetItemForUpdate(ctx, tx, id)
			return s.itemFromRow(row, now), err
		},
		func(it *roadmapv1.Item) error {
			_, err := itemParams(it)
			return err
		},
		func(tx pgx.Tx, it *roadmapv1.Item) (*roadmapv1.Item, error) {
			p, _ := itemParams(it)
			p.ID = id
			row, err := s.q.UpdateItem(ctx, tx, p)
			if err != nil {
				return nil, noSuchRelease(err, "item.release", it.GetRelease())
			}
			return s.itemFromRow(row, now), s.acted(ctx, tx)
		})
}

// DeleteItem implements AIP-135.
func (s *Server) DeleteItem(ctx context.Context, req *roadmapv1.DeleteItemRequest) (*emptypb.Empty, error) {
	id := resource.ID(items, req.GetName())
	now := s.now()
	err := resource.Delete(ctx, s.db, req.GetName(), req.GetEtag(),
		func(tx pgx.Tx) (*roadmapv1.Item, error) {
			row, err := s.q.GetItemForUpdate(ctx, tx, id)
			return s.itemFromRow(row, now), err
		},
		func(tx pgx.Tx) error {
			if err := s.q.DeleteItem(ctx, tx, id); err != nil {
				return err
			}
			return s.acted(ctx, tx)
		})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// VoteItem adds the caller's vote. The vote row's primary key makes a repeat
// a no-op (ON CONFLICT DO NOTHING), and vote_count moves in the same
// transaction only when a row was really added, so the count equals the rows.
func (s *Server) VoteItem(ctx context.Context, req *roadmapv1.VoteItemRequest) (*roadmapv1.Item, error) {
	return s.vote(ctx, req.GetName(), true)
}

// UnvoteItem removes the caller's vote, if any.
func (s *Server) UnvoteItem(ctx context.Context, req *roadmapv1.UnvoteItemRequest) (*roadmapv1.Item, error) {
	return s.vote(ctx, req.GetName(), false)
}

func (s *Server) vote(ctx context.Context, name string, add bool) (*roadmapv1.Item, error) {
	person := auth.From(ctx).GetPerson()
	if person == "" {
		return nil, apierr.PermissionDenied("only people vote")
	}
	id := resource.ID(items, name)
	now := s.now()
	var out *roadmapv1.Item
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var n int64
		var err error
		if add {
			n, err = s.q.AddItemVote(ctx, tx, store.AddItemVoteParams{ItemID: id, Person: person, CreateTime: now})
			if resource.IsForeignKeyViolation(err) {
				return apierr.NotFound(name)
			}
		} else {
			n, err = s.q.RemoveItemVote(ctx, tx, store.RemoveItemVoteParams{ItemID: id, Person: person})
		}
		if err != nil {
			return err
		}
		var row store.Item
		switch {
		case n == 0:
			row, err = s.q.GetItem(ctx, tx, id)
			if err == nil && add && closedForVoting(row.State) {
				return votingClosed(name, row.State) // a repeat, but say so
			}
		case add:
			row, err = s.q.CountVoteOnOpenItem(ctx, tx, id)
			if isNoRows(err) {
				// Finished (the vote row goes with the rolled-back transaction).
				if cur, gerr := s.q.GetItem(ctx, tx, id); gerr == nil && closedForVoting(cur.State) {
					return votingClosed(name, cur.State)
				}
			}
			if err == nil {
				err = activity.Record(ctx, tx, person, KindItemVote, now)
			}
		default:
			row, err = s.q.AdjustVoteCount(ctx, tx, store.AdjustVoteCountParams{ID: id, Delta: -1})
			if err == nil {
				err = s.acted(ctx, tx)
			}
		}
		if err != nil {
			return resource.NotFoundIfNoRows(err, name)
		}
		out = s.itemFromRow(row, now)
		return nil
	})
	return out, err
}

// closedForVoting reports a stored item state that takes no new votes.
func closedForVoting(state string) bool {
	st := itemState(state)
	return st == roadmapv1.Item_STATE_DONE || st == roadmapv1.Item_STATE_DECLINED
}

// votingClosed refuses a vote on a finished item, naming its state.
func votingClosed(name, state string) error {
	st := itemState(state)
	e := apierr.FailedPrecondition(ReasonItemClosedForVoting,
		name+" is "+st.String()+": voting is closed on finished and declined items")
	e.Metadata = map[string]string{"state": st.String()}
	return e
}

// ListItemVoters lists an item's voters by person.
func (s *Server) ListItemVoters(ctx context.Context, req *roadmapv1.ListItemVotersRequest) (*roadmapv1.ListItemVotersResponse, error) {
	id := resource.ID(items, req.GetName())
	page, err := pagination.Start(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint("voters", id))
	if err != nil {
		return nil, err
	}
	if _, err := s.q.GetItem(ctx, s.db, id); err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	rows, err := s.q.ListItemVoters(ctx, s.db, store.ListItemVotersParams{ItemID: id, After: page.After(), PageSize: page.Limit()})
	if err != nil {
		return nil, err
	}
	resp := &roadmapv1.ListItemVotersResponse{}
	rows, resp.NextPageToken = pagination.Finish(page, rows, func(r store.ListItemVotersRow) string { return r.Person })
	for _, r := range rows {
		resp.Voters = append(resp.Voters, &roadmapv1.ItemVoter{Person: r.Person, CreateTime: timestamppb.New(r.CreateTime)})
	}
	return resp, nil
}

// itemOrders maps order_by to the sort column; every order is descending on
// its key, then ascending on id, so the keyset (key, id) is unique.
var itemOrders = map[string]string{
	"":                      "vote_count",
	"vote_count desc":       "vote_count",
	"priority desc":         "priority",
	"last_update_time desc": "last_update_time",
}

// ListItems filters and sorts items with keyset pagination: the token holds
// the last row's sort key and id, so every page is an index range scan.
func (s *Server) ListItems(ctx context.Context, req *roadmapv1.ListItemsRequest) (*roadmapv1.ListItemsResponse, error) {
	col := itemOrders[req.GetOrderBy()]
	staleFilter := ""
	if req.Stale != nil {
		staleFilter = strconv.FormatBool(req.GetStale())
	}
	fp := pagination.Fingerprint(items, req.GetRelease(), req.GetState().String(), req.GetOwnerTeam(), req.GetTag(), staleFilter, col)
	page, err := pagination.StartKeys(req.GetPageToken(), req.GetPageSize(), fp, 2)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	switch r := req.GetRelease(); {
	case r == "-":
		where = append(where, "release_id IS NULL")
	case r != "":
		where = append(where, "release_id = "+arg(resource.ID(releases, r)))
	}
	if st := req.GetState(); st != roadmapv1.Item_STATE_UNSPECIFIED {
		where = append(where, "state = "+arg(pgenum.Text(st)))
	}
	if t := req.GetOwnerTeam(); t != "" {
		where = append(where, "owner_team = "+arg(t))
	}
	if t := req.GetTag(); t != "" {
		where = append(where, "tags @> ARRAY["+arg(t)+"]::text[]")
	}
	if req.Stale != nil {
		cond := "(state = 'in_progress' AND last_update_time <= " + arg(now.Add(-s.staleAfter())) + ")"
		if !req.GetStale() {
			cond = "NOT " + cond
		}
		where = append(where, cond)
	}
	if after := page.AfterKeys(); after != nil {
		var key any
		if col == "last_update_time" {
			us, err := strconv.ParseInt(after[0], 10, 64)
			if err != nil {
				return nil, pagination.BadToken()
			}
			key = time.UnixMicro(us).UTC()
		} else {
			n, err := strconv.ParseInt(after[0], 10, 32)
			if err != nil {
				return nil, pagination.BadToken()
			}
			key = int32(n)
		}
		k, i := arg(key), arg(after[1])
		where = append(where, "("+col+" < "+k+" OR ("+col+" = "+k+" AND id > "+i+"))")
	}
	q := "SELECT * FROM items"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY " + col + " DESC, id LIMIT " + arg(page.Limit())
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[store.Item])
	if err != nil {
		return nil, err
	}
	resp := &roadmapv1.ListItemsResponse{}
	list, resp.NextPageToken = pagination.FinishKeys(page, list, func(last store.Item) []string {
		switch col {
		case "last_update_time":
			return []string{strconv.FormatInt(last.LastUpdateTime.UnixMicro(), 10), last.ID}
		case "priority":
			return []string{strconv.Itoa(int(last.Priority)), last.ID}
		}
		return []string{strconv.Itoa(int(last.VoteCount)), last.ID}
	})
	for _, r := range list {
		resp.Items = append(resp.Items, s.itemFromRow(r, now))
	}
	s.withFigures(ctx, resp.Items...)
	return resp, nil
}

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
