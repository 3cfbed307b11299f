package membership

import (
	"strings"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/auth"
)

// Policy declares who may call each RPC; see package auth. Admins pass every rule.
func (s *Server) Policy() auth.Policy {
	selfParent := auth.Self(func(r interface{ GetParent() string }) string { return r.GetParent() })
	return auth.Policy{
		membershipv1.MembershipService_GetPerson_FullMethodName:    auth.Public(),
		membershipv1.MembershipService_ListPeople_FullMethodName:   auth.Public(),
		membershipv1.MembershipService_CreatePerson_FullMethodName: auth.AnyLead(),
		membershipv1.MembershipService_UpdatePerson_FullMethodName: auth.Admin().Or("the person themself",
			auth.Self(func(r *membershipv1.UpdatePersonRequest) string { return r.GetPerson().GetName() })),
		membershipv1.MembershipService_DeletePerson_FullMethodName: auth.Admin(),

		membershipv1.MembershipService_CreateToken_FullMethodName: auth.Admin().Or("the person themself", selfParent),
		membershipv1.MembershipService_ListTokens_FullMethodName:  auth.Admin().Or("the person themself", selfParent),
		membershipv1.MembershipService_RevokeToken_FullMethodName: auth.Admin().Or("the person themself",
			auth.Self(func(r *membershipv1.RevokeTokenRequest) string { return tokenOwner(r.GetName()) })),
		// Authenticate takes the secret in its body; anyone may ask whether a secret is valid.
		membershipv1.MembershipService_Authenticate_FullMethodName:   auth.Public(),
		membershipv1.MembershipService_GetCaller_FullMethodName:      auth.Public(),
		membershipv1.MembershipService_ReportActivity_FullMethodName: auth.Service(),
	}
}

// tokenOwner returns people/{person} of people/{person}/tokens/{token}.
func tokenOwner(name string) string {
	parts := strings.SplitN(name, "/", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "/" + parts[1]
}
