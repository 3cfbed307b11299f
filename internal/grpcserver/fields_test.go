package grpcserver_test

import (
	"testing"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/grpcserver"
)

func TestHasFieldPath(t *testing.T) {
	donation := (&financev1.CreateDonationRequest{}).ProtoReflect().Descriptor()
	entry := (&financev1.CreateTransactionRequest{}).ProtoReflect().Descriptor()
	person := (&membershipv1.CreatePersonRequest{}).ProtoReflect().Descriptor()
	cases := []struct {
		name string
		ok   bool
	}{
		{"donation.amount.currency_code", true},
		{"donation.amount.currencyCode", true},
		{"donation.deposit_account", true},
		{"request_id", true},
		{"donation.income_account", false},
		{"donation.amount.currency_code.x", false},
		{"donation[0]", false},
		{"", false},
		{"goal", false},
	}
	for _, c := range cases {
		if got := grpcserver.HasFieldPath(donation, c.name); got != c.ok {
			t.Errorf("CreateDonationRequest %q: %v, want %v", c.name, got, c.ok)
		}
	}
	for path, ok := range map[string]bool{
		"transaction.postings[2].amount.minor_units": true,
		"transaction.postings":                       true,
		"transaction.postings[0][1]":                 false,
		"transaction.description[0]":                 false,
	} {
		if got := grpcserver.HasFieldPath(entry, path); got != ok {
			t.Errorf("CreateTransactionRequest %q: %v, want %v", path, got, ok)
		}
	}
	for path, ok := range map[string]bool{
		`person.handles["irc.net"]`: true,
		`person.handles`:            true,
		`person.skills[3]`:          true,
		`person.emails`:             false,
	} {
		if got := grpcserver.HasFieldPath(person, path); got != ok {
			t.Errorf("CreatePersonRequest %q: %v, want %v", path, got, ok)
		}
	}
}
