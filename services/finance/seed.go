package finance

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
	"github.com/guildhall/guildhall/internal/actas"
)

// seedNS derives the seed's fixed request ids, so running it again replays
// instead of duplicating.
var seedNS = uuid.MustParse("6f1d3c1e-5b7a-4e2b-9a53-2f6d8e0c1a77")

func seedID(key string) string { return uuid.NewSHA1(seedNS, []byte(key)).String() }

// The people of the SME books, as the text has them: Shad Lords runs the
// site and pays its hosting ("just about meets his hosting costs"), and is
// paid back from donations through expenses he submits; Tony Keane of
// Finance & Legal records the gifts and approves; Greg Zartman pays.
const (
	siteRunner = "people/slords"
	treasurer  = "people/tkeane"
	payer      = "people/gzartman"
)

// The item the development money pays for: the move to CentOS 6, v9.
// v9Work is the title of the v9 item (of v9Release) the goal pays for.
const (
	v9Work    = "Move the base to CentOS 6"
	v9Release = "releases/v9"
)

// SeedSME adds the SME Server community's books: a chart of accounts in USD,
// the twelve months before the current one of modest donations ("a couple
// of hundred dollars a month") against monthly hosting paid back to the
// person who runs the site, and a "development money" goal for Charlie and
// Shad's work on v9. It runs after the membership and roadmap seeds. conn
// must carry an admin token (actas.Admin, to act as the people above).
// Re-running is safe: each record has a request id derived from what it is
// (and its month), or is found again by its reference. An account of the
// chart that exists with another type or currency stops the seed with an
// error saying so, rather than books that cannot balance.
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
		if status.Code(err) == codes.AlreadyExists {
			have, gerr := c.GetAccount(ctx, &financev1.GetAccountRequest{Name: "accounts/" + a.id})
			if gerr != nil {
				return fmt.Errorf("account %s: %w", a.id, gerr)
			}
			if have.GetCurrencyCode() != "USD" || have.GetType() != a.typ {
				return fmt.Errorf("accounts/%s exists as a %s %s account; the SME books need a USD %s account of that id: seed an empty database, or rename that account",
					a.id, have.GetCurrencyCode(), have.GetType(), a.typ)
			}
			err = nil
		}
		if err != nil {
			return fmt.Errorf("account %s: %w", a.id, err)
		}
	}
	if err := seedGoal(ctx, conn, usd(500000)); err != nil {
		return err
	}
	treasurerConn, err := actas.As(ctx, conn, treasurer)
	if err != nil {
		return err
	}
	recorded, err := seededDonations(ctx, c)
	if err != nil {
		return err
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
	if err := seedOpeningBalance(ctx, c, first, usd); err != nil {
		return err
	}
	for m := 0; m < 12; m++ {
		month := first.AddDate(0, m, 0)
		key := month.Format("2006-01")
		for i, g := range gifts {
			ref := fmt.Sprintf("SEED-%s-%d", key, i)
			if recorded[ref] {
				continue
			}
			_, err := financev1.NewFinanceServiceClient(treasurerConn).CreateDonation(ctx, &financev1.CreateDonationRequest{RequestId: seedID(fmt.Sprintf("donation/%s/%d", key, i)),
				Donation: &financev1.Donation{Amount: usd(g.cents), DonorName: g.who, Visibility: g.vis, Channel: g.channel, Goal: g.goal,
					ExternalReference: ref, ReceiveTime: timestamppb.New(month.AddDate(0, 0, 3+7*i))}})
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
		if err := seedHosting(ctx, conn, key, month, usd(15000)); err != nil {
			return fmt.Errorf("hosting %s: %w", key, err)
		}
	}
	return nil
}

// Opening balances, in cents: what the community held when its books
// start. The text names no figure, so modest ones: $1,000 in the bank and
// $200 in PayPal, enough that a year of hosting (paid from PayPal, topped up
// from the bank) never takes an asset account below zero.
const (
	openingBank   = 100000
	openingPayPal = 20000
)

// seedOpeningBalance records the books' opening balances at first, from the
// equity account, once: an equity account that already holds a balance
// means an earlier run (or the treasurer) opened the books.
func seedOpeningBalance(ctx context.Context, c financev1.FinanceServiceClient, first time.Time, usd func(int64) *typev1.Money) error {
	eq, err := c.GetAccount(ctx, &financev1.GetAccountRequest{Name: "accounts/equity"})
	if err != nil {
		return fmt.Errorf("opening balance: %w", err)
	}
	if eq.GetBalance().GetMinorUnits() != 0 {
		return nil
	}
	_, err = c.CreateTransaction(ctx, &financev1.CreateTransactionRequest{RequestId: seedID("opening-balance"),
		Transaction: &financev1.Transaction{Description: "Opening balances", EffectiveTime: timestamppb.New(first),
			Postings: []*financev1.Posting{
				{Account: "accounts/bank", Amount: usd(openingBank)},
				{Account: "accounts/paypal", Amount: usd(openingPayPal)},
				{Account: "accounts/equity", Amount: usd(-(openingBank + openingPayPal))},
			}}})
	if err != nil {
		return fmt.Errorf("opening balance: %w", err)
	}
	return nil
}

// seedGoal sets up the development-money goal: what it pays for, and the
// v9 work it pays for as its roadmap item.
func seedGoal(ctx context.Context, conn grpc.ClientConnInterface, target *typev1.Money) error {
	c := financev1.NewFinanceServiceClient(conn)
	item, err := findItem(ctx, actas.On(conn, "roadmap"), v9Release, v9Work)
	if err != nil {
		return fmt.Errorf("goal: the v9 work: %w", err)
	}
	want := &financev1.Goal{
		DisplayName: "Development money",
		Description: "Development money for Charlie and Shad: paid developer time to get SME Server v9, the move to CentOS 6, out of the door.",
		Target:      target, Period: financev1.Goal_PERIOD_ONE_OFF, Priority: 1, FundAccount: "accounts/development-fund", RoadmapItem: item,
	}
	_, err = c.CreateGoal(ctx, &financev1.CreateGoalRequest{GoalId: "development-money", RequestId: seedID("goal/development-money"), Goal: want})
	if status.Code(err) != codes.AlreadyExists {
		if err != nil {
			return fmt.Errorf("goal: %w", err)
		}
		return nil
	}
	// A goal from an earlier seed: make sure it says what it pays for.
	have, err := c.GetGoal(ctx, &financev1.GetGoalRequest{Name: "goals/development-money"})
	if err != nil {
		return fmt.Errorf("goal: %w", err)
	}
	if have.GetDescription() == want.GetDescription() && have.GetRoadmapItem() == want.GetRoadmapItem() {
		return nil
	}
	want.Name = have.GetName()
	if _, err := c.UpdateGoal(ctx, &financev1.UpdateGoalRequest{Goal: want,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description", "roadmap_item"}}}); err != nil {
		return fmt.Errorf("goal: %w", err)
	}
	return nil
}

// findItem returns the name of the roadmap item of release titled title.
func findItem(ctx context.Context, conn grpc.ClientConnInterface, release, title string) (string, error) {
	c := roadmapv1.NewRoadmapServiceClient(conn)
	for token := ""; ; {
		resp, err := c.ListItems(ctx, &roadmapv1.ListItemsRequest{Release: release, PageSize: 1000, PageToken: token})
		if err != nil {
			return "", err
		}
		for _, it := range resp.GetItems() {
			if it.GetTitle() == title {
				return it.GetName(), nil
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			return "", fmt.Errorf("no roadmap item %q: seed the roadmap first", title)
		}
	}
}

// seededDonations returns the external references of the donations a
// previous run recorded, whoever recorded them.
func seededDonations(ctx context.Context, c financev1.FinanceServiceClient) (map[string]bool, error) {
	out := map[string]bool{}
	for token := ""; ; {
		resp, err := c.ListDonations(ctx, &financev1.ListDonationsRequest{PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list donations: %w", err)
		}
		for _, d := range resp.GetDonations() {
			out[d.GetExternalReference()] = true
		}
		if token = resp.GetNextPageToken(); token == "" {
			return out, nil
		}
	}
}

// seedHosting is one month's hosting: the site runner submits the bill, the
// treasurer approves it and the payer pays it from PayPal late in the month.
// A re-run picks the expense up at whatever state it reached.
func seedHosting(ctx context.Context, conn grpc.ClientConnInterface, key string, month time.Time, amount *typev1.Money) error {
	as := func(person string) (financev1.FinanceServiceClient, error) {
		cc, err := actas.As(ctx, conn, person)
		return financev1.NewFinanceServiceClient(cc), err
	}
	runner, err := as(siteRunner)
	if err != nil {
		return err
	}
	e, err := runner.CreateExpense(ctx, &financev1.CreateExpenseRequest{RequestId: seedID("hosting-expense/" + key), Expense: &financev1.Expense{
		Payee: siteRunner, Category: "accounts/hosting", Amount: amount,
		Description:      "Hosting for the website, forums and wiki, " + key + ", paid to the hoster and claimed back",
		InvoiceReference: "HOSTING-" + key,
	}})
	if err != nil {
		return err
	}
	// A replayed create answers as it first did; read where it stands now.
	if e, err = financev1.NewFinanceServiceClient(conn).GetExpense(ctx, &financev1.GetExpenseRequest{Name: e.GetName()}); err != nil {
		return err
	}
	if e.GetState() == financev1.Expense_STATE_SUBMITTED {
		approver, err := as(treasurer)
		if err != nil {
			return err
		}
		if e, err = approver.ApproveExpense(ctx, &financev1.ApproveExpenseRequest{Name: e.GetName()}); err != nil {
			return err
		}
	}
	if e.GetState() == financev1.Expense_STATE_APPROVED {
		p, err := as(payer)
		if err != nil {
			return err
		}
		if e, err = p.PayExpense(ctx, &financev1.PayExpenseRequest{Name: e.GetName(), PaymentAccount: "accounts/paypal",
			PayTime: timestamppb.New(month.AddDate(0, 0, 27)), RequestId: seedID("hosting-payment/" + key)}); err != nil {
			return err
		}
	}
	if e.GetState() != financev1.Expense_STATE_PAID {
		return fmt.Errorf("%s is %s, not PAID", e.GetName(), e.GetState())
	}
	return nil
}
