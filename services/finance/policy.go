package finance

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/resource"
)

// Permissions granted through teams (Team.permissions) that finance reads.
const (
	// PermRecord records money and keeps the books.
	PermRecord = "finance.record"
	// PermApprove approves and rejects expenses.
	PermApprove = "finance.approve"
	// PermPay pays approved expenses.
	PermPay = "finance.pay"
	// readPrivate reads the journal and lifts donor privacy.
	readPrivate = "finance.read_private"
)

// Policy declares who may call each RPC; see package auth. Admins pass every rule.
//
// Public: the chart of accounts with balances, donations (redacted as each
// donor allowed), tiers, goals, budgets, sponsorships, reports and MRR; the
// public figures leave out the open month's PRIVATE gifts (view.go).
// The journal itself (entries, export) and the expense and subscription
// records name people and amounts, so they need finance.read_private or
// finance.record.
// Writes: finance.record records money and keeps the books; any person
// submits expenses; finance.approve approves and rejects; finance.pay pays;
// the submitter or finance.record cancels. Separation of duties (neither the
// submitter nor the payee approves or pays: SELF_APPROVAL, SELF_PAYMENT) is
// the handlers', since it depends on the stored expense.
func (s *Server) Policy() auth.Policy {
	record := auth.Permission(PermRecord)
	books := auth.Permission(readPrivate).Or("holders of "+PermRecord, auth.HasCheck(PermRecord))
	approve := auth.Permission(PermApprove)
	pay := auth.Permission(PermPay)
	public := auth.Public()
	submitter := record.Or("the submitter", func(ctx context.Context, p *auth.Principal, req any) (bool, error) {
		r, ok := req.(*financev1.CancelExpenseRequest)
		if !ok || p.GetPerson() == "" {
			return false, nil
		}
		who, err := s.q.GetExpenseSubmitter(ctx, s.db, resource.ID(expenses, r.GetName()))
		if errors.Is(err, pgx.ErrNoRows) {
			return false, nil // a missing expense has no submitter
		}
		return err == nil && who == p.GetPerson(), err
	})
	return auth.Policy{
		financev1.FinanceService_GetAccount_FullMethodName:    public,
		financev1.FinanceService_ListAccounts_FullMethodName:  public,
		financev1.FinanceService_CreateAccount_FullMethodName: record,
		financev1.FinanceService_UpdateAccount_FullMethodName: record,
		financev1.FinanceService_DeleteAccount_FullMethodName: record,

		financev1.FinanceService_GetTransaction_FullMethodName:     books,
		financev1.FinanceService_ListTransactions_FullMethodName:   books,
		financev1.FinanceService_ExportTransactions_FullMethodName: books,
		financev1.FinanceService_CreateTransaction_FullMethodName:  record,
		financev1.FinanceService_ReverseTransaction_FullMethodName: record,

		financev1.FinanceService_GetDonation_FullMethodName:    public,
		financev1.FinanceService_ListDonations_FullMethodName:  public,
		financev1.FinanceService_CreateDonation_FullMethodName: record,

		financev1.FinanceService_GetTier_FullMethodName:    public,
		financev1.FinanceService_ListTiers_FullMethodName:  public,
		financev1.FinanceService_CreateTier_FullMethodName: record,
		financev1.FinanceService_UpdateTier_FullMethodName: record,
		financev1.FinanceService_DeleteTier_FullMethodName: record,

		financev1.FinanceService_GetSubscription_FullMethodName:           books,
		financev1.FinanceService_ListSubscriptions_FullMethodName:         books,
		financev1.FinanceService_CreateSubscription_FullMethodName:        record,
		financev1.FinanceService_PauseSubscription_FullMethodName:         record,
		financev1.FinanceService_ResumeSubscription_FullMethodName:        record,
		financev1.FinanceService_CancelSubscription_FullMethodName:        record,
		financev1.FinanceService_RecordSubscriptionPayment_FullMethodName: record,
		financev1.FinanceService_GetRecurringRevenue_FullMethodName:       public,

		financev1.FinanceService_GetSponsorship_FullMethodName:           public,
		financev1.FinanceService_ListSponsorships_FullMethodName:         public,
		financev1.FinanceService_CreateSponsorship_FullMethodName:        record,
		financev1.FinanceService_UpdateSponsorship_FullMethodName:        record,
		financev1.FinanceService_RecordSponsorshipPayment_FullMethodName: record,
		financev1.FinanceService_EndSponsorship_FullMethodName:           record,

		financev1.FinanceService_GetExpense_FullMethodName:     books,
		financev1.FinanceService_ListExpenses_FullMethodName:   books,
		financev1.FinanceService_CreateExpense_FullMethodName:  auth.Person(),
		financev1.FinanceService_ApproveExpense_FullMethodName: approve,
		financev1.FinanceService_RejectExpense_FullMethodName:  approve,
		financev1.FinanceService_CancelExpense_FullMethodName:  submitter,
		financev1.FinanceService_PayExpense_FullMethodName:     pay,

		financev1.FinanceService_GetBudget_FullMethodName:    public,
		financev1.FinanceService_ListBudgets_FullMethodName:  public,
		financev1.FinanceService_CreateBudget_FullMethodName: record,
		financev1.FinanceService_UpdateBudget_FullMethodName: record,
		financev1.FinanceService_DeleteBudget_FullMethodName: record,

		financev1.FinanceService_GetGoal_FullMethodName:    public,
		financev1.FinanceService_ListGoals_FullMethodName:  public,
		financev1.FinanceService_CreateGoal_FullMethodName: record,
		financev1.FinanceService_UpdateGoal_FullMethodName: record,

		financev1.FinanceService_GetMonthlyReport_FullMethodName: public,
		financev1.FinanceService_GetReportRange_FullMethodName:   public,
	}
}
