package finance

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
)

// seedNS derives the seed's fixed request ids, so running it again replays
// instead of duplicating.
var seedNS = uuid.MustParse("6f1d3c1e-5b7a-4e2b-9a53-2f6d8e0c1a77")

func seedID(key string) string { return uuid.NewSHA1(seedNS, []byte(key)).String() }

// SeedSME adds the SME Server community's books: a chart of accounts in USD,
// the twelve months before the current one of modest donations ("a couple
// of hundred dollars a month") against monthly hosting costs, and a
// "development money" goal. conn must carry an admin token. Each record has
// a request id derived from what it is (and its month), so re-running is safe.
func SeedSME(ctx context.Context, conn grpc.ClientConnInterface) error {
	c := financev1.NewFinanceServiceClient(conn)
	usd := func(cents int64) *typev1.Money { return &typev1.Money{CurrencyCode: "USD", MinorUnits: cents} }
	chart := []struct {
		id, name string
		typ      financev1.Account_Type
		earmark  bool
	}{
		{"bank", "Bank account", financev1.Account_TYPE_ASSET, false},
		{"paypal", "PayPal balance", financev1.Account_TYPE_ASSET, false},
		{"cash", "Cash", financev1.Account_TYPE_ASSET, false},
		{"equity", "Opening balances", financev1.Account_TYPE_EQUITY, false},
		{"donations", "Donations", financev1.Account_TYPE_INCOME, false},
		{"subscriptions", "Subscriptions", financev1.Account_TYPE_INCOME, false},
		{"sponsorship", "Sponsorship", financev1.Account_TYPE_INCOME, false},
		{"advertising", "Advertising", financev1.Account_TYPE_INCOME, false},
		{"development-fund", "Development money (earmarked)", financev1.Account_TYPE_INCOME, true},
		{"hosting", "Hosting", financev1.Account_TYPE_EXPENSE, false},
		{"domains", "Domains and certificates", financev1.Account_TYPE_EXPENSE, false},
	}
	for _, a := range chart {
		_, err := c.CreateAccount(ctx, &financev1.CreateAccountRequest{AccountId: a.id, RequestId: seedID("account/" + a.id),
			Account: &financev1.Account{DisplayName: a.name, Type: a.typ, CurrencyCode: "USD", Earmarked: a.earmark}})
		if err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("account %s: %w", a.id, err)
		}
	}
	_, err := c.CreateGoal(ctx, &financev1.CreateGoalRequest{GoalId: "development-money", RequestId: seedID("goal/development-money"),
		Goal: &financev1.Goal{DisplayName: "Development money", Description: "Paid developer time for the next SME Server release",
			Target: usd(500000), Period: financev1.Goal_PERIOD_ONE_OFF, Priority: 1, FundAccount: "accounts/development-fund"}})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("goal: %w", err)
	}
	// Modest gifts, about $200 a month, and $150 of hosting.
	gifts := []struct {
		cents   int64
		who     string
		vis     financev1.Donation_Visibility
		channel financev1.Donation_Channel
		goal    string
	}{
		{5000, "A grateful admin", financev1.Donation_VISIBILITY_PUBLIC, financev1.Donation_CHANNEL_PAYPAL, ""},
		{2500, "Small business user", financev1.Donation_VISIBILITY_ANONYMOUS, financev1.Donation_CHANNEL_PAYPAL, ""},
		{10000, "Long-time supporter", financev1.Donation_VISIBILITY_PRIVATE, financev1.Donation_CHANNEL_BANK, ""},
		{2000, "Contrib maintainer", financev1.Donation_VISIBILITY_PUBLIC, financev1.Donation_CHANNEL_PAYPAL, "goals/development-money"},
	}
	now := time.Now().UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -12, 0)
	for m := 0; m < 12; m++ {
		month := first.AddDate(0, m, 0)
		key := month.Format("2006-01")
		for i, g := range gifts {
			_, err := c.CreateDonation(ctx, &financev1.CreateDonationRequest{RequestId: seedID(fmt.Sprintf("donation/%s/%d", key, i)),
				Donation: &financev1.Donation{Amount: usd(g.cents), DonorName: g.who, Visibility: g.vis, Channel: g.channel, Goal: g.goal,
					ExternalReference: fmt.Sprintf("SEED-%s-%d", key, i), ReceiveTime: timestamppb.New(month.AddDate(0, 0, 3+7*i))}})
			if err != nil {
				return fmt.Errorf("donation %s/%d: %w", key, i, err)
			}
		}
		// Most gifts arrive by PayPal but not all; hosting is paid from
		// PayPal, so the treasurer tops it up from the bank first.
		_, err := c.CreateTransaction(ctx, &financev1.CreateTransactionRequest{RequestId: seedID("topup/" + key),
			Transaction: &financev1.Transaction{Description: "Top up PayPal for hosting, " + key, EffectiveTime: timestamppb.New(month.AddDate(0, 0, 25)),
				Postings: []*financev1.Posting{
					{Account: "accounts/paypal", Amount: usd(6000)},
					{Account: "accounts/bank", Amount: usd(-6000)},
				}}})
		if err != nil {
			return fmt.Errorf("top-up %s: %w", key, err)
		}
		_, err = c.CreateTransaction(ctx, &financev1.CreateTransactionRequest{RequestId: seedID("hosting/" + key),
			Transaction: &financev1.Transaction{Description: "Hosting, " + key, EffectiveTime: timestamppb.New(month.AddDate(0, 0, 27)),
				Postings: []*financev1.Posting{
					{Account: "accounts/hosting", Amount: usd(15000)},
					{Account: "accounts/paypal", Amount: usd(-15000)},
				}}})
		if err != nil {
			return fmt.Errorf("hosting %s: %w", key, err)
		}
	}
	return nil
}
