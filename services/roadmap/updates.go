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
	rows, resp.NextPageToken = pagination.Finish(page, rows, func(r store.ItemUpdate) string { return r.ID })
	for _, r := range rows {
		resp.ItemUpdates = append(resp.ItemUpdates, updateFromRow(r))
	}
	return resp, nil
}

// CreateItemUpdate appends to an item's timeline. A state change moves the
// item in the same transaction, under the item's row lock, after the same
// transition check as UpdateItem; the item's last_update_time (and so its
// stale flag) follows the update.
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
		cur, err := s.q.GetItemForUpdate(ctx, tx, item)
		if err != nil {
			return nil, resource.NotFoundIfNoRows(err, req.GetParent())
		}
		from := itemState(cur.State)
		to := from
		newState := ""
		if u.GetNewState() != roadmapv1.Item_STATE_UNSPECIFIED {
			to = u.GetNewState()
			if err := checkItemTransition(from, to); err != nil {
				return nil, err
			}
			newState = pgenum.Text(to)
		}
		row, err := s.q.CreateItemUpdate(ctx, tx, store.CreateItemUpdateParams{
			ID: id, ItemID: item, Text: u.GetText(), Author: author, NewState: newState,
			PreviousState: cur.State, CreateTime: now,
		})
		if err != nil {
			return nil, err
		}
		if _, err := s.q.SetItemStatus(ctx, tx, store.SetItemStatusParams{ID: item, State: pgenum.Text(to), LastUpdateTime: now}); err != nil {
			return nil, err
		}
		if err := activity.Record(ctx, tx, author, KindStatusUpdate, now); err != nil {
			return nil, err
		}
		out := updateFromRow(row)
		itemName := resource.Name(items, item)
		if err := s.emit(ctx, tx, events.ItemStatusUpdated, itemName, &roadmapv1.ItemUpdate{Name: out.GetName(),
			Author: out.GetAuthor(), NewState: out.GetNewState()}); err != nil {
			return nil, err
		}
		if to != from {
			moved := s.itemFromRow(cur, now)
			if err := s.emit(ctx, tx, events.ItemStateChanged, itemName, &roadmapv1.Item{Name: itemName, State: to,
				OwnerTeam: moved.GetOwnerTeam(), OwnerPeople: moved.GetOwnerPeople()}); err != nil {
				return nil, err
			}
		}
		return out, nil
	})
}
