package finance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/finance/store"
)

// Default accounts. Money that arrives or leaves without a named account
// goes to a default for its purpose: deposits by channel (accounts/paypal,
// accounts/bank, accounts/cash), payments from accounts/bank, income to
// accounts/donations, accounts/subscriptions, accounts/sponsorship or
// accounts/advertising. Every default is per currency: the base account when
// it is kept in the money's currency, otherwise `{base}-{currency}`, e.g.
// accounts/donations-eur.
//
// An income account for a new currency is created on first use: it is only
// a heading of the books. An asset account stands for a real place money
// sits, so it is never invented: without one in the currency the write is
// refused with a violation on the field that names the account, saying
// which account to name or create.

// defaultAccount is a default's base id, account type and whether a
// per-currency account is created when missing.
type defaultAccount struct {
	base   string
	typ    string // income, asset
	create bool
}

func incomeDefault(base string) defaultAccount {
	return defaultAccount{base: base, typ: "income", create: true}
}
func assetDefault(base string) defaultAccount { return defaultAccount{base: base, typ: "asset"} }

// perCurrency is the id of d's account for cur.
func (d defaultAccount) perCurrency(cur string) string { return d.base + "-" + strings.ToLower(cur) }

// errNoDefault is resolve's answer when d has no account in the currency.
var errNoDefault = errors.New("no default account in the currency")

// resolve returns the id of d's account for cur (see above), or
// errNoDefault. Answers are cached: an account's type and currency never
// change, and one with postings cannot be deleted (ledgerError clears the
// cache when one without was).
//
// For a PRIVATE gift (private), an account created is hidden from the public
// until the end of the month (migration 00010), so that its appearance does
// not tell a gift in its currency arrived; otherwise a hidden one is revealed.
func (s *Server) resolve(ctx context.Context, d defaultAccount, cur string, private bool) (string, error) {
	key := d.base + "/" + cur
	if id, ok := s.defaults.Load(key); ok {
		return id.(string), s.reveal(ctx, id.(string), private)
	}
	fits := func(id string) (bool, error) {
		a, err := s.q.GetAccount(ctx, s.db, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return false, nil
		}
		return err == nil && strings.TrimSpace(a.CurrencyCode) == cur && a.Type == d.typ, err
	}
	for _, id := range []string{d.base, d.perCurrency(cur)} {
		ok, err := fits(id)
		if err != nil {
			return "", err
		}
		if ok {
			s.defaults.Store(key, id)
			return id, s.reveal(ctx, id, private)
		}
	}
	if !d.create {
		return "", errNoDefault
	}
	id := d.perCurrency(cur)
	title := strings.ToUpper(d.base[:1]) + d.base[1:]
	p := store.EnsureAccountParams{ID: id, DisplayName: fmt.Sprintf("%s (%s)", title, cur),
		Description: fmt.Sprintf("Income in %s that names no account; created by the first such entry.", cur), Type: d.typ, CurrencyCode: cur,
		CreateTime: s.now()}
	if private {
		p.HiddenUntil = hiddenUntil(s.now())
		y, m, _ := s.now().Date()
		p.CreateTime = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	}
	if err := s.q.EnsureAccount(ctx, s.db, p); err != nil {
		return "", err
	}
	// A concurrent first use may have created it, or someone may hold the
	// id for another kind of account.
	if ok, err := fits(id); err != nil || !ok {
		if err == nil {
			err = errNoDefault
		}
		return "", err
	}
	s.defaults.Store(key, id)
	return id, s.reveal(ctx, id, private)
}

// reveal makes a hidden account public once a public entry uses it.
// Accounts never become hidden again, so each is revealed once per process.
func (s *Server) reveal(ctx context.Context, id string, private bool) error {
	if _, done := s.revealed.Load(id); private || done {
		return nil
	}
	if err := s.q.RevealAccount(ctx, s.db, id); err != nil {
		return err
	}
	s.revealed.Store(id, true)
	return nil
}

// resolveOn is resolve with errNoDefault as a violation on field, the
// request field where the caller can name the account instead (what names
// "the default for PAYPAL gifts"), saying what to do.
func (s *Server) resolveOn(ctx context.Context, d defaultAccount, cur, field, what string, private bool) (string, error) {
	id, err := s.resolve(ctx, d, cur, private)
	if errors.Is(err, errNoDefault) {
		if d.create {
			return "", apierr.InvalidField(field, fmt.Sprintf("%s go to accounts/%s or accounts/%s, and neither is a %s %s account; an administrator must free accounts/%s",
				what, d.base, d.perCurrency(cur), cur, d.typ, d.perCurrency(cur)))
		}
		return "", apierr.InvalidField(field, fmt.Sprintf("%s default to accounts/%s, which is not a %s %s account; name a %s %s account here, or create accounts/%s to be the %s default",
			what, d.base, cur, d.typ, cur, d.typ, d.perCurrency(cur), cur))
	}
	return id, err
}

// paymentAccounts returns the deposit account (the one sent, or accounts/bank
// for cur) and the income account (incomeBase for cur) of a payment whose
// request names the deposit in deposit_account and the payer in name.
func (s *Server) paymentAccounts(ctx context.Context, sent, incomeBase, cur, what string) (deposit, income string, err error) {
	deposit = resource.ID(accounts, sent)
	if deposit == "" {
		if deposit, err = s.resolveOn(ctx, assetDefault("bank"), cur, "deposit_account", what, false); err != nil {
			return "", "", err
		}
	}
	if err := s.checkLines(ctx, s.db, []line{{account: deposit, currency: cur, field: "deposit_account"}}); err != nil {
		return "", "", err
	}
	income, err = s.resolveOn(ctx, incomeDefault(incomeBase), cur, "name", what, false)
	return deposit, income, err
}
