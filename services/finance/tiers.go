package finance

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/finance/store"
)

const tiers = "tiers"

func tierFromRow(r store.Tier) *financev1.Tier {
	return &financev1.Tier{Name: resource.Name(tiers, r.ID), DisplayName: r.DisplayName, Description: r.Description,
		Amount: mon(r.CurrencyCode, r.Amount), Interval: interval(r.Interval), CreateTime: timestamppb.New(r.CreateTime),
		UpdateTime: timestamppb.New(r.UpdateTime), Etag: resource.Etag(r.Version)}
}

// scanTier converts a tier row, passing its error on.
func scanTier(r store.Tier, err error) (*financev1.Tier, error) {
	if err != nil {
		return nil, err
	}
	return tierFromRow(r), nil
}

// CreateTier adds a tier under a chosen id.
func (s *Server) CreateTier(ctx context.Context, req *financev1.CreateTierRequest) (*financev1.Tier, error) {
	t := req.GetTier()
	if err := resource.Required("tier", map[string]bool{"display_name": t.GetDisplayName() != "", "amount": t.GetAmount() != nil,
		"interval": t.GetInterval() != financev1.Interval_INTERVAL_UNSPECIFIED}); err != nil {
		return nil, err
	}
	if err := checkAmount("tier.amount", t.GetAmount(), false); err != nil {
		return nil, err
	}
	return resource.Create(ctx, s.db, resource.Name(tiers, req.GetTierId()), req.GetRequestId(), "CreateTier", req, func(tx pgx.Tx) (*financev1.Tier, error) {
		if err := s.acted(ctx, tx); err != nil {
			return nil, err
		}
		return scanTier(s.q.CreateTier(ctx, tx, store.CreateTierParams{ID: req.GetTierId(), DisplayName: t.GetDisplayName(), Description: t.GetDescription(),
			CurrencyCode: t.GetAmount().GetCurrencyCode(), Amount: t.GetAmount().GetMinorUnits(), Interval: pgenum.Text(t.GetInterval()), CreateTime: s.now()}))
	})
}

// GetTier implements AIP-131.
func (s *Server) GetTier(ctx context.Context, req *financev1.GetTierRequest) (*financev1.Tier, error) {
	t, err := scanTier(s.q.GetTier(ctx, s.db, resource.ID(tiers, req.GetName())))
	return t, resource.NotFoundIfNoRows(err, req.GetName())
}

// ListTiers lists tiers by id.
func (s *Server) ListTiers(ctx context.Context, req *financev1.ListTiersRequest) (*financev1.ListTiersResponse, error) {
	resp := &financev1.ListTiersResponse{}
	var err error
	resp.Tiers, resp.NextPageToken, err = pagination.ListUUID(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(tiers),
		func(after string, limit int32) ([]store.Tier, error) {
			return s.q.ListTiers(ctx, s.db, store.ListTiersParams{After: after, PageSize: limit})
		},
		func(r store.Tier) string { return r.ID }, tierFromRow)
	return resp, err
}

// tierFields are the fields UpdateTier may change. The interval and the
// amount's currency are fixed: subscriptions name their tier but carry their
// own amount and interval, agreed against the tier's at sign-up, so changing
// either would leave them filed under a tier that no longer describes them.
// The amount is only the suggested one and applies to new subscriptions.
var tierFields = []string{"display_name", "description", "amount"}

// UpdateTier implements AIP-134 with an etag check.
func (s *Server) UpdateTier(ctx context.Context, req *financev1.UpdateTierRequest) (*financev1.Tier, error) {
	id := resource.ID(tiers, req.GetTier().GetName())
	var currency string
	return resource.Update(ctx, s.db, req.GetTier(), req.GetUpdateMask(), tierFields,
		func(tx pgx.Tx) (*financev1.Tier, error) {
			if err := s.acted(ctx, tx); err != nil {
				return nil, err
			}
			row, err := s.q.GetTierForUpdate(ctx, tx, id)
			currency = row.CurrencyCode
			return scanTier(row, err)
		},
		func(t *financev1.Tier) error {
			if err := resource.Required("tier", map[string]bool{"display_name": t.GetDisplayName() != "", "amount": t.GetAmount() != nil}); err != nil {
				return err
			}
			if err := checkAmount("tier.amount", t.GetAmount(), false); err != nil {
				return err
			}
			return inCurrency("tier.amount", t.GetAmount(), currency, "the tier's currency is fixed: ")
		},
		func(tx pgx.Tx, t *financev1.Tier) (*financev1.Tier, error) {
			return scanTier(s.q.UpdateTier(ctx, tx, store.UpdateTierParams{ID: id, DisplayName: t.GetDisplayName(),
				Description: t.GetDescription(), Amount: t.GetAmount().GetMinorUnits(), Now: s.now()}))
		})
}

// DeleteTier implements AIP-135. A tier that subscriptions (even cancelled
// ones) refer to stays, so their history keeps its meaning; the tier row is
// locked first, so a subscription cannot be added to it meanwhile.
func (s *Server) DeleteTier(ctx context.Context, req *financev1.DeleteTierRequest) (*emptypb.Empty, error) {
	id := resource.ID(tiers, req.GetName())
	inUse := apierr.FailedPrecondition(typev1.ErrorReason_TIER_IN_USE, req.GetName()+" has subscriptions; it cannot be deleted")
	err := resource.Delete(ctx, s.db, req.GetName(), req.GetEtag(),
		func(tx pgx.Tx) (*financev1.Tier, error) {
			if err := s.acted(ctx, tx); err != nil {
				return nil, err
			}
			return scanTier(s.q.GetTierForUpdate(ctx, tx, id))
		},
		func(tx pgx.Tx) error {
			n, err := s.q.TierSubscriptions(ctx, tx, pgtype.Text{String: id, Valid: true})
			if err != nil {
				return err
			}
			if n > 0 {
				return inUse
			}
			return s.q.DeleteTier(ctx, tx, id)
		})
	if resource.IsForeignKeyViolation(err) {
		return nil, inUse
	}
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}
