package fieldmask_test

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
	"github.com/guildhall/guildhall/internal/fieldmask"
)

func TestApply(t *testing.T) {
	updatable := []string{"display_name", "description", "amount"}
	cur := func() *financev1.Tier {
		return &financev1.Tier{Name: "tiers/t", DisplayName: "Old", Description: "keep", Etag: "1",
			Amount: &typev1.Money{CurrencyCode: "USD", MinorUnits: 500}}
	}
	patch := &financev1.Tier{Name: "tiers/t", DisplayName: "New", Etag: "1", Amount: &typev1.Money{CurrencyCode: "USD", MinorUnits: 700}}

	cases := []struct {
		name    string
		paths   []string
		want    func(*financev1.Tier) bool
		wantErr bool
	}{
		{"empty mask takes the set fields", nil, func(g *financev1.Tier) bool {
			return g.DisplayName == "New" && g.Description == "keep" && g.Amount.MinorUnits == 700
		}, false},
		{"named field only", []string{"display_name"}, func(g *financev1.Tier) bool {
			return g.DisplayName == "New" && g.Amount.MinorUnits == 500
		}, false},
		{"named but unset clears", []string{"description"}, func(g *financev1.Tier) bool { return g.Description == "" }, false},
		{"name and etag are not changes", []string{"name", "etag", "display_name"}, func(g *financev1.Tier) bool {
			return g.DisplayName == "New"
		}, false},
		{"paths inside a message mean the whole field", []string{"amount.currency_code", "amount.minor_units"}, func(g *financev1.Tier) bool {
			return g.Amount.MinorUnits == 700 && g.Amount.CurrencyCode == "USD" && g.DisplayName == "Old"
		}, false},
		{"star takes every updatable field", []string{"*"}, func(g *financev1.Tier) bool {
			return g.DisplayName == "New" && g.Description == ""
		}, false},
		{"output-only field refused", []string{"create_time"}, nil, true},
		{"unknown field refused", []string{"colour"}, nil, true},
		{"nested path of a scalar refused", []string{"display_name.x"}, nil, true},
		{"star mixed with paths refused", []string{"*", "display_name"}, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := cur()
			var mask *fieldmaskpb.FieldMask
			if c.paths != nil {
				mask = &fieldmaskpb.FieldMask{Paths: c.paths}
			}
			_, err := fieldmask.Apply(got, patch, mask, updatable)
			if (err != nil) != c.wantErr {
				t.Fatalf("err %v, want error %v", err, c.wantErr)
			}
			if err == nil && !c.want(got) {
				t.Fatalf("result %v", got)
			}
		})
	}
}

func TestTouchesAgreesWithApply(t *testing.T) {
	updatable := []string{"display_name", "description", "amount"}
	patch := &financev1.Tier{Name: "tiers/t", DisplayName: "New"}
	for _, c := range []struct {
		name  string
		paths []string
	}{
		{"empty mask", nil},
		{"named", []string{"description"}},
		{"other field named", []string{"display_name"}},
		{"star", []string{"*"}},
		{"path inside a message", []string{"amount.minor_units"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var mask *fieldmaskpb.FieldMask
			if c.paths != nil {
				mask = &fieldmaskpb.FieldMask{Paths: c.paths}
			}
			applied, err := fieldmask.Apply(&financev1.Tier{Description: "old", Amount: &typev1.Money{CurrencyCode: "USD", MinorUnits: 1}}, patch, mask, updatable)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range updatable {
				if got, want := fieldmask.Touches(patch, mask, f), slices.Contains(applied, f); got != want {
					t.Errorf("Touches(%s) = %v; Apply changed it: %v", f, got, want)
				}
			}
		})
	}
}
