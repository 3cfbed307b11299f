package roadmap

import (
	"context"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/activity"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/convert"
	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/lifecycle"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/roadmap/store"
)

func updateFromRow(r store.ItemUpdate) *roadmapv1.ItemUpdate {
	return &roadmapv1.ItemUpdate{
		Name:          resource.Name(items, r.ItemID) + "/updates/" + r.ID,
		Text:          r.Text,
		Author:        r.Author,
		CreateTime:    timestamppb.New(r.CreateTime),
		NewState:      itemState(r.NewState),
		PreviousState: itemState(r.PreviousState),
	}
}

// GetItemUpdate implements AIP-131.
func (s *Server) GetItemUpdate(ctx context.Context, req *roadmapv1.GetItemUpdateRequest) (*roadmapv1.ItemUpdate, error) {
	item, id := resource.SplitChild(req.GetName())
	row, err := s.q.GetItemUpdate(ctx, s.db, store.GetItemUpdateParams{ItemID: item, ID: id})
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	return updateFromRow(row), nil
}

// ListItemUpdates lists an item's timeline, newest first (ids are UUIDv7).
func (s *Server) ListItemUpdates(ctx context.Context, req *roadmapv1.ListItemUpdatesRequest) (*roadmapv1.ListItemUpdatesResponse, error) {
	item := resource.ID(items, req.GetParent())
	page, err := pagination.Start(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint("updates", item))
	if err != nil {
		return nil, err
	}
	if _, err := s.q.GetItem(ctx, s.db, item); err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetParent())
	}
	rows, err := s.q.ListItemUpdates(ctx, s.db, store.ListItemUpdatesParams{ItemID: item, Before: convert.Text(page.After()), PageSize: page.Limit()})
	if err != nil {
		return nil, err
	}
	resp := &roadmapv1.ListItemUpdatesResponse{}
	resp.ItemUpdates, resp.NextPageToken = pagination.FinishAs(page, rows, func(r store.ItemUpdate) string { return r.ID }, updateFromRow)
	return resp, nil
}

// CreateItemUpdate appends to an item's timeline. A state change is the
// item's move (lifecycle.Transition: under the item's row lock, checked
// against itemMoves), in the same transaction; the item's last_update_time
// (and so its stale flag) follows the update.
func (s *Server) CreateItemUpdate(ctx context.Context, req *roadmapv1.CreateItemUpdateRequest) (*roadmapv1.ItemUpdate, error) {
	u := req.GetItemUpdate()
	if err := resource.Required("item_update", map[string]bool{"text": u.GetText() != ""}); err != nil {
		return nil, err
	}
	author := auth.From(ctx).GetPerson()
	if author == "" {
		return nil, apierr.PermissionDenied("status updates are written by people")
	}
	item := resource.ID(items, req.GetParent())
	id := resource.NewID()
	now := s.now()
	name := req.GetParent() + "/updates/" + id
	return resource.Create(ctx, s.db, name, req.GetRequestId(), "CreateItemUpdate", req, func(tx pgx.Tx) (*roadmapv1.ItemUpdate, error) {
		// Without a new state the item stays where it is (Stay): the update
		// is on the record all the same.
		cur, m, err := lifecycle.Transition(ctx, tx, lifecycle.Spec[roadmapv1.Item_State, store.Item]{
			Machine: itemMoves, Name: req.GetParent(), Now: now, Stay: true,
			Lock: func(tx pgx.Tx) (store.Item, error) { return s.q.GetItemForUpdate(ctx, tx, item) },
			Of:   func(r store.Item) (roadmapv1.Item_State, string) { return itemState(r.State), resource.Etag(r.Version) },
			Target: func(_ pgx.Tx, r store.Item) (roadmapv1.Item_State, error) {
				if u.GetNewState() == roadmapv1.Item_STATE_UNSPECIFIED {
					return itemState(r.State), nil
				}
				return u.GetNewState(), nil
			},
			Apply: func(tx pgx.Tx, r store.Item, m lifecycle.Move[roadmapv1.Item_State]) (store.Item, error) {
				return s.q.SetItemStatus(ctx, tx, store.SetItemStatusParams{ID: item, State: pgenum.Text(m.To), LastUpdateTime: m.Time})
			},
			// The item's history is its timeline: the update below records
			// the move (author, time, previous and new state).
			After: s.itemMoved,
		})
		if err != nil {
			return nil, err
		}
		from := itemState(cur.State)
		if m.Name != "" {
			from = m.From
		} else if cur, err = s.q.SetItemStatus(ctx, tx, store.SetItemStatusParams{ID: item, State: cur.State, LastUpdateTime: now}); err != nil {
			return nil, err
		}
		newState := ""
		if u.GetNewState() != roadmapv1.Item_STATE_UNSPECIFIED {
			newState = pgenum.Text(u.GetNewState())
		}
		row, err := s.q.CreateItemUpdate(ctx, tx, store.CreateItemUpdateParams{
			ID: id, ItemID: item, Text: u.GetText(), Author: author, NewState: newState,
			PreviousState: pgenum.Text(from), CreateTime: now,
		})
		if err != nil {
			return nil, err
		}
		if err := activity.Record(ctx, tx, author, KindStatusUpdate, now); err != nil {
			return nil, err
		}
		out := updateFromRow(row)
		return out, s.emit(ctx, tx, events.ItemStatusUpdated, req.GetParent(), &roadmapv1.ItemUpdate{Name: out.GetName(),
			Author: out.GetAuthor(), NewState: out.GetNewState()})
	})
}

// itemMoved announces an item's move (the lifecycle hook of a status
// update): its new state and its owners, who follow it.
func (s *Server) itemMoved(ctx context.Context, tx pgx.Tx, c lifecycle.Change) error {
	it, err := s.q.GetItem(ctx, tx, resource.ID(items, c.Name))
	if err != nil {
		return err
	}
	return s.emit(ctx, tx, events.ItemStateChanged, c.Name, &roadmapv1.Item{Name: c.Name, State: itemState(it.State),
		OwnerTeam: it.OwnerTeam, OwnerPeople: it.OwnerPeople})
}
