package membership

import (
	"context"
	"strings"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/fieldmask"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/membership/store"
)

// PermReportActivity lets a token report activity done outside Guildhall
// (ReportActivity), and nothing else; grant it through a team of bridges.
const PermReportActivity = "activity.report"

// Policy declares who may call each RPC; see package auth. Admins pass every
// rule. Handlers do no permission checks of their own; they only redact what
// a caller may not see (Person.email, see privacy.go).
func (s *Server) Policy() auth.Policy {
	selfParent := auth.Self(func(r interface{ GetParent() string }) string { return r.GetParent() })
	// leadOf passes leads of the team named in (or above) the request's name.
	leadOfName := auth.LeadOf(func(_ context.Context, r interface{ GetName() string }) (string, error) {
		return teamOf(r.GetName()), nil
	})
	leadOfParent := auth.LeadOf(func(_ context.Context, r interface{ GetParent() string }) (string, error) {
		return teamOf(r.GetParent()), nil
	})
	teamLead := func(doc string, c auth.Check) auth.Rule { return auth.Admin().Or(doc, c) }

	return auth.Policy{
		membershipv1.MembershipService_GetPerson_FullMethodName:  auth.Public(),
		membershipv1.MembershipService_ListPeople_FullMethodName: auth.Public(),
		membershipv1.MembershipService_CreatePerson_FullMethodName: auth.Admin().Or("team leads (not as admin)",
			func(ctx context.Context, p *auth.Principal, req any) (bool, error) {
				r, ok := req.(*membershipv1.CreatePersonRequest)
				return ok && auth.IsAnyLead(p) && !r.GetPerson().GetAdmin(), nil
			}),
		// Only admins may grant or withdraw admin.
		membershipv1.MembershipService_UpdatePerson_FullMethodName: auth.Admin().Or("the person themself (not the admin flag)",
			func(_ context.Context, p *auth.Principal, req any) (bool, error) {
				r, ok := req.(*membershipv1.UpdatePersonRequest)
				return ok && p.GetPerson() != "" && p.GetPerson() == r.GetPerson().GetName() &&
					!fieldmask.Touches(r.GetPerson(), r.GetUpdateMask(), "admin"), nil
			}),
		membershipv1.MembershipService_DeletePerson_FullMethodName: auth.Admin(),
		// Drift says who is fading away: for the people who organise, not the public.
		membershipv1.MembershipService_ListDriftEvents_FullMethodName: auth.AnyLead(),

		membershipv1.MembershipService_GetTeam_FullMethodName:    auth.Public(),
		membershipv1.MembershipService_ListTeams_FullMethodName:  auth.Public(),
		membershipv1.MembershipService_CreateTeam_FullMethodName: auth.Admin(),
		// Permissions are power across services and a parent can carry roles
		// upward, so leads may change only the name and charter.
		membershipv1.MembershipService_UpdateTeam_FullMethodName: auth.Admin().Or("the team's lead (display_name and charter only)",
			func(ctx context.Context, p *auth.Principal, req any) (bool, error) {
				r, ok := req.(*membershipv1.UpdateTeamRequest)
				if !ok || !auth.IsLeadOf(p, r.GetTeam().GetName()) {
					return false, nil
				}
				return !fieldmask.Touches(r.GetTeam(), r.GetUpdateMask(), "permissions") &&
					!fieldmask.Touches(r.GetTeam(), r.GetUpdateMask(), "parent"), nil
			}),
		membershipv1.MembershipService_DeleteTeam_FullMethodName: auth.Admin(),

		membershipv1.MembershipService_ListTeamMembers_FullMethodName:  auth.Public(),
		membershipv1.MembershipService_CreateTeamMember_FullMethodName: teamLead("the team's lead", leadOfParent),
		membershipv1.MembershipService_UpdateTeamMember_FullMethodName: teamLead("the team's lead",
			auth.LeadOf(func(_ context.Context, r *membershipv1.UpdateTeamMemberRequest) (string, error) {
				return teamOf(r.GetTeamMember().GetName()), nil
			})),
		membershipv1.MembershipService_DeleteTeamMember_FullMethodName: teamLead("the team's lead", leadOfName),

		membershipv1.MembershipService_GetPosition_FullMethodName:    auth.Public(),
		membershipv1.MembershipService_ListPositions_FullMethodName:  auth.Public(),
		membershipv1.MembershipService_CreatePosition_FullMethodName: teamLead("the team's lead", leadOfParent),
		membershipv1.MembershipService_UpdatePosition_FullMethodName: teamLead("the team's lead",
			auth.LeadOf(func(_ context.Context, r *membershipv1.UpdatePositionRequest) (string, error) {
				return teamOf(r.GetPosition().GetName()), nil
			})),
		membershipv1.MembershipService_FillPosition_FullMethodName: teamLead("the team's lead", leadOfName),

		// Anyone may offer help; the answer reveals nothing (volunteers.go).
		membershipv1.MembershipService_OfferHelp_FullMethodName: auth.Public(),
		// Any person may ask, but only leads and admins see an offer: to
		// anyone else it is NOT_FOUND (volunteers.go), hiding that it exists.
		membershipv1.MembershipService_GetVolunteer_FullMethodName:        auth.Person(),
		membershipv1.MembershipService_ListVolunteers_FullMethodName:      auth.AnyLead(),
		membershipv1.MembershipService_TransitionVolunteer_FullMethodName: auth.AnyLead(),
		membershipv1.MembershipService_SuggestPositions_FullMethodName:    auth.AnyLead(),
		membershipv1.MembershipService_GetVolunteerStats_FullMethodName:   auth.AnyLead(),

		membershipv1.MembershipService_GetPackage_FullMethodName:    auth.Public(),
		membershipv1.MembershipService_ListPackages_FullMethodName:  auth.Public(),
		membershipv1.MembershipService_CreatePackage_FullMethodName: auth.AnyLead(),
		membershipv1.MembershipService_UpdatePackage_FullMethodName: auth.AnyLead().Or("the package's maintainers",
			func(ctx context.Context, p *auth.Principal, req any) (bool, error) {
				r, ok := req.(*membershipv1.UpdatePackageRequest)
				if !ok || p.GetPerson() == "" {
					return false, nil
				}
				return s.isMaintainer(ctx, r.GetPackage().GetName(), p.GetPerson())
			}),
		// A maintainer may step down; a lead or admin may record it for them.
		membershipv1.MembershipService_OrphanPackage_FullMethodName: auth.AnyLead().Or("the maintainer stepping down",
			func(ctx context.Context, p *auth.Principal, req any) (bool, error) {
				r, ok := req.(*membershipv1.OrphanPackageRequest)
				return ok && p.GetPerson() != "" && (r.GetMaintainer() == "" || r.GetMaintainer() == p.GetPerson()), nil
			}),
		membershipv1.MembershipService_AdoptPackage_FullMethodName:    auth.Person(),
		membershipv1.MembershipService_ApproveAdoption_FullMethodName: auth.AnyLead(),

		membershipv1.MembershipService_CreateToken_FullMethodName: auth.Admin().Or("the person themself", selfParent),
		membershipv1.MembershipService_ListTokens_FullMethodName:  auth.Admin().Or("the person themself", selfParent),
		membershipv1.MembershipService_RevokeToken_FullMethodName: auth.Admin().Or("the person themself",
			auth.Self(func(r *membershipv1.RevokeTokenRequest) string { return tokenOwner(r.GetName()) })),
		// Authenticate takes the secret in its body; anyone may ask whether a secret is valid.
		membershipv1.MembershipService_Authenticate_FullMethodName: auth.Public(),
		membershipv1.MembershipService_GetCaller_FullMethodName:    auth.Public(),
		// Bridges from forums, IRC, mailing lists, wikis and repositories hold
		// only this narrow permission.
		membershipv1.MembershipService_ReportActivity_FullMethodName: auth.Service().Or("holders of "+PermReportActivity,
			func(_ context.Context, p *auth.Principal, _ any) (bool, error) {
				return auth.Has(p, PermReportActivity), nil
			}),
	}
}

// isMaintainer reports whether person (people/{id}) maintains pkg.
func (s *Server) isMaintainer(ctx context.Context, pkg, person string) (bool, error) {
	return s.q.IsMaintainer(ctx, s.db, store.IsMaintainerParams{
		PackageID: resource.ID("packages", pkg), PersonID: resource.ID(people, person),
	})
}

// tokenOwner returns people/{person} of people/{person}/tokens/{token}.
func tokenOwner(name string) string {
	parts := strings.SplitN(name, "/", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "/" + parts[1]
}
