package finance

import (
	"context"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/money"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/finance/store"
)

const accounts = "accounts"

// GetAccount implements AIP-131.
func (s *Server) GetAccount(ctx context.Context, req *financev1.GetAccountRequest) (*financev1.Account, error) {
	row, err := s.q.GetAccount(ctx, s.db, resource.ID(accounts, req.GetName()))
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	if row.HiddenUntil != nil && row.HiddenUntil.After(s.visibleAt(ctx)) {
		return nil, apierr.NotFound(req.GetName()) // created for a PRIVATE gift (defaults.go)
	}
	a := accountFromRow(row)
	return a, s.fillBalances(ctx, a)
}

// ListAccounts implements AIP-132 with keyset pagination by id.
func (s *Server) ListAccounts(ctx context.Context, req *financev1.ListAccountsRequest) (*financev1.ListAccountsResponse, error) {
	resp := &financev1.ListAccountsResponse{}
	var err error
	resp.Accounts, resp.NextPageToken, err = pagination.List(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(accounts),
		func(after string, limit int32) ([]store.Account, error) {
			return s.q.ListAccounts(ctx, s.db, store.ListAccountsParams{After: after, PageSize: limit, VisibleAt: s.visibleAt(ctx)})
		},
		func(r store.Account) string { return r.ID }, accountFromRow)
	if err != nil {
		return nil, err
	}
	return resp, s.fillBalances(ctx, resp.Accounts...)
}

// CreateAccount implements AIP-133 with a client-chosen id and request_id.
func (s *Server) CreateAccount(ctx context.Context, req *financev1.CreateAccountRequest) (*financev1.Account, error) {
	a := req.GetAccount()
	if err := resource.Required("account", map[string]bool{
		"display_name":  a.GetDisplayName() != "",
		"type":          a.GetType() != financev1.Account_TYPE_UNSPECIFIED,
		"currency_code": a.GetCurrencyCode() != "",
	}); err != nil {
		return nil, err
	}
	if err := money.CheckCurrency("account.currency_code", a.GetCurrencyCode()); err != nil {
		return nil, err
	}
	name := resource.Name(accounts, req.GetAccountId())
	return resource.Create(ctx, s.db, name, req.GetRequestId(), "CreateAccount", req, func(tx pgx.Tx) (*financev1.Account, error) {
		if err := s.acted(ctx, tx); err != nil {
			return nil, err
		}
		row, err := s.q.CreateAccount(ctx, tx, store.CreateAccountParams{
			ID: req.GetAccountId(), DisplayName: a.GetDisplayName(), Description: a.GetDescription(),
			Type: pgenum.Text(a.GetType()), CurrencyCode: a.GetCurrencyCode(), Earmarked: a.GetEarmarked(),
		})
		return accountFromRow(row), err
	})
}

// accountFields are the fields UpdateAccount may change; type and currency
// are fixed once postings may refer to the account.
var accountFields = []string{"display_name", "description", "earmarked"}

// UpdateAccount implements AIP-134 with an etag check.
func (s *Server) UpdateAccount(ctx context.Context, req *financev1.UpdateAccountRequest) (*financev1.Account, error) {
	id := resource.ID(accounts, req.GetAccount().GetName())
	return resource.Update(ctx, s.db, req.GetAccount(), req.GetUpdateMask(), accountFields,
		func(tx pgx.Tx) (*financev1.Account, error) {
			if err := s.acted(ctx, tx); err != nil {
				return nil, err
			}
			row, err := s.q.GetAccountForUpdate(ctx, tx, id)
			return accountFromRow(row), err
		},
		func(a *financev1.Account) error {
			return resource.Required("account", map[string]bool{"display_name": a.GetDisplayName() != ""})
		},
		func(tx pgx.Tx, a *financev1.Account) (*financev1.Account, error) {
			row, err := s.q.UpdateAccount(ctx, tx, store.UpdateAccountParams{
				ID: id, DisplayName: a.GetDisplayName(), Description: a.GetDescription(), Earmarked: a.GetEarmarked(),
			})
			return accountFromRow(row), err
		})
}

// DeleteAccount implements AIP-135.
func (s *Server) DeleteAccount(ctx context.Context, req *financev1.DeleteAccountRequest) (*emptypb.Empty, error) {
	id := resource.ID(accounts, req.GetName())
	err := resource.Delete(ctx, s.db, req.GetName(), req.GetEtag(),
		func(tx pgx.Tx) (*financev1.Account, error) {
			if err := s.acted(ctx, tx); err != nil {
				return nil, err
			}
			row, err := s.q.GetAccountForUpdate(ctx, tx, id)
			return accountFromRow(row), err
		},
		func(tx pgx.Tx) error { return s.q.DeleteAccount(ctx, tx, id) })
	s.accounts.Delete(id)
	if resource.IsForeignKeyViolation(err) {
		return nil, apierr.FailedPrecondition(typev1.ErrorReason_ACCOUNT_IN_USE, req.GetName()+" has postings or is referenced; it cannot be deleted")
	}
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func accountFromRow(r store.Account) *financev1.Account {
	return &financev1.Account{
		Name:         resource.Name(accounts, r.ID),
		DisplayName:  r.DisplayName,
		Description:  r.Description,
		Type:         financev1.Account_Type(pgenum.Number(financev1.Account_TYPE_UNSPECIFIED.Descriptor(), r.Type)),
		CurrencyCode: r.CurrencyCode,
		Balance:      mon(r.CurrencyCode, 0),
		Earmarked:    r.Earmarked,
		CreateTime:   timestamppb.New(r.CreateTime),
		UpdateTime:   timestamppb.New(r.UpdateTime),
		Etag:         resource.Etag(r.Version),
	}
}

// fillBalances sets each account's balance, as ctx's caller may see it, from
// its balance slots: a few rows per account, however long the ledger.
func (s *Server) fillBalances(ctx context.Context, as ...*financev1.Account) error {
	if len(as) == 0 {
		return nil
	}
	ids := make([]string, len(as))
	by := map[string]*financev1.Account{}
	for i, a := range as {
		ids[i] = resource.ID(accounts, a.Name)
		by[ids[i]] = a
	}
	rows, err := s.q.AccountBalances(ctx, s.db, ids)
	if err != nil {
		return err
	}
	// Entries hidden from the caller (view.go) are left out.
	h, err := s.hidden(ctx, s.db)
	if err != nil {
		return err
	}
	for _, r := range rows {
		by[r.AccountID].Balance.MinorUnits = money.SatSub(r.Balance, h.account(r.AccountID))
	}
	return nil
}
