package finance

import (
	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	"github.com/guildhall/guildhall/internal/auth"
)

// Policy declares who may call each RPC; see package auth. Admins pass every rule.
func (s *Server) Policy() auth.Policy {
	record := auth.Permission("finance.record")
	return auth.Policy{
		financev1.FinanceService_GetAccount_FullMethodName:    auth.Public(),
		financev1.FinanceService_ListAccounts_FullMethodName:  auth.Public(),
		financev1.FinanceService_CreateAccount_FullMethodName: record,
		financev1.FinanceService_UpdateAccount_FullMethodName: record,
		financev1.FinanceService_DeleteAccount_FullMethodName: record,
	}
}
