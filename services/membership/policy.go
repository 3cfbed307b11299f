package membership

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/fieldmask"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/membership/store"
)

// Permissions granted through teams (Team.permissions) that membership reads.
const (
	// PermReportActivity lets a token report activity done outside Guildhall
	// (ReportActivity), and nothing else; grant it through a team of bridges.
	PermReportActivity = "activity.report"
	// PermCoordinateVolunteers is volunteer coordination: every offer with its
	// contact, every funnel move, and creating the people offers become.
	PermCoordinateVolunteers = "volunteers.coordinate"
	// PermReadPrivate reads people's private fields (email) and looks people
	// up by email.
	PermReadPrivate = "people.read_private"
)

// Policy declares who may call each RPC; see package auth. Admins pass every
// rule. A lead's powers are those of their own team and what it owns: its
// members, positions, packages (Package.team) and the offers matched to its
// positions; leading some team grants nothing elsewhere. Handlers do no
// permission checks of their own; they only redact what a caller may not see
// (Person.email and Volunteer.contact, see privacy.go) and hide offers.
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
	coordinator := auth.Permission(PermCoordinateVolunteers)
	coordinatorOrLead := coordinator.Or("team leads", auth.AnyLeadCheck)
	// Anyone with a token, a guest's OpenID Connect identity included:
	// offers made under it are theirs to follow.
	offerReader := coordinatorOrLead.Or("any other signed-in caller (a person, or a guest under their OpenID Connect identity), "+
		"for their own offers; to them any other offer is NOT_FOUND", auth.SignedInCheck)
	ownOffers := coordinatorOrLead.Or("any other signed-in caller (a person, or a guest under their OpenID Connect identity), "+
		"who sees only their own offers", auth.SignedInCheck)

	return auth.Policy{
		membershipv1.MembershipService_GetPerson_FullMethodName:  auth.Public(),
		membershipv1.MembershipService_ListPeople_FullMethodName: auth.Public(),
		// Handles are public; emails are private.
		membershipv1.MembershipService_FindPeople_FullMethodName: auth.Admin().Or("anyone, by handle",
			func(_ context.Context, _ *auth.Principal, req any) (bool, error) {
				r, ok := req.(*membershipv1.FindPeopleRequest)
				return ok && r.GetEmail() == "", nil
			}).Or("holders of "+PermReadPrivate+", by email", auth.HasCheck(PermReadPrivate)),
		// People are not a team's: leading a team does not create them.
		membershipv1.MembershipService_CreatePerson_FullMethodName: auth.Admin().Or("holders of "+PermCoordinateVolunteers+" (not as admin)",
			func(ctx context.Context, p *auth.Principal, req any) (bool, error) {
				r, ok := req.(*membershipv1.CreatePersonRequest)
				return ok && auth.Has(p, PermCoordinateVolunteers) && !r.GetPerson().GetAdmin(), nil
			}),
		// Only admins may grant or withdraw admin. Only admins change an
		// email: sign-in links go to it and a first OpenID Connect sign-in
		// links by it, so whoever could change it could take over an account.
		membershipv1.MembershipService_UpdatePerson_FullMethodName: auth.Admin().Or("the person themself (not the admin flag, nor the email)",
			func(ctx context.Context, p *auth.Principal, req any) (bool, error) {
				r, ok := req.(*membershipv1.UpdatePersonRequest)
				if !ok || p.GetPerson() == "" || p.GetPerson() != r.GetPerson().GetName() ||
					fieldmask.Touches(r.GetPerson(), r.GetUpdateMask(), "admin") {
					return false, nil
				}
				return s.keepsEmail(ctx, r)
			}),
		membershipv1.MembershipService_DeletePerson_FullMethodName: auth.Admin(),
		// What mail someone gets is theirs to see and set; an opt-out link
		// carries its own signed token and works without signing in.
		membershipv1.MembershipService_GetNotificationSettings_FullMethodName: auth.Admin().Or("the person themself",
			auth.Self(func(r *membershipv1.GetNotificationSettingsRequest) string { return settingsOwner(r.GetName()) })),
		membershipv1.MembershipService_UpdateNotificationSettings_FullMethodName: auth.Admin().Or("the person themself",
			auth.Self(func(r *membershipv1.UpdateNotificationSettingsRequest) string {
				return settingsOwner(r.GetNotificationSettings().GetName())
			})),
		membershipv1.MembershipService_UnsubscribeNotifications_FullMethodName: auth.Public(),
		// Emails and contacts, for the notifier.
		membershipv1.MembershipService_GetMailRecipient_FullMethodName: auth.Service(),
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
		// Anyone signed in may ask, but only leads, coordinators, admins and
		// the offer's owner see an offer: to anyone else it is NOT_FOUND
		// (volunteers.go), hiding that it exists. The contact goes only to
		// coordinators, admins, the leads of the team the offer is matched
		// to (privacy.go) and the owner.
		membershipv1.MembershipService_GetVolunteer_FullMethodName:        offerReader,
		membershipv1.MembershipService_ListVolunteers_FullMethodName:      ownOffers,
		membershipv1.MembershipService_TransitionVolunteer_FullMethodName: coordinator.Or("the lead of the team the offer is matched to", s.leadOfMatchedTeam),
		membershipv1.MembershipService_SuggestPositions_FullMethodName:    coordinatorOrLead,
		// The funnel's figures are counts only, and public: the
		// transparency report shows them to everyone.
		membershipv1.MembershipService_GetVolunteerStats_FullMethodName: auth.Public(),

		// A package belongs to its team: its maintainers and that team's
		// leads manage it.
		membershipv1.MembershipService_GetPackage_FullMethodName:   auth.Public(),
		membershipv1.MembershipService_ListPackages_FullMethodName: auth.Public(),
		membershipv1.MembershipService_CreatePackage_FullMethodName: auth.Admin().Or("the lead of the team the package names",
			auth.LeadOf(func(_ context.Context, r *membershipv1.CreatePackageRequest) (string, error) {
				return r.GetPackage().GetTeam(), nil
			})),
		membershipv1.MembershipService_UpdatePackage_FullMethodName: auth.Admin().Or("the package's maintainers and its team's leads; to move it to another team, a lead of that team too",
			func(ctx context.Context, p *auth.Principal, req any) (bool, error) {
				r, ok := req.(*membershipv1.UpdatePackageRequest)
				if !ok {
					return false, nil
				}
				if fieldmask.Touches(r.GetPackage(), r.GetUpdateMask(), "team") && !auth.IsLeadOf(p, r.GetPackage().GetTeam()) {
					return false, nil
				}
				return s.managesPackage(ctx, p, r.GetPackage().GetName())
			}),
		// A maintainer may step down; the package's team leads may record it for them.
		membershipv1.MembershipService_OrphanPackage_FullMethodName: auth.Admin().Or("the maintainer stepping down",
			func(ctx context.Context, p *auth.Principal, req any) (bool, error) {
				r, ok := req.(*membershipv1.OrphanPackageRequest)
				return ok && p.GetPerson() != "" && (r.GetMaintainer() == "" || r.GetMaintainer() == p.GetPerson()), nil
			}).Or("the package's team's leads", auth.LeadOf(func(ctx context.Context, r *membershipv1.OrphanPackageRequest) (string, error) {
			return s.packageTeam(ctx, r.GetName())
		})),
		membershipv1.MembershipService_AdoptPackage_FullMethodName: auth.Person(),
		membershipv1.MembershipService_ApproveAdoption_FullMethodName: auth.Admin().Or("the package's maintainers and its team's leads",
			packageManager(s, func(r *membershipv1.ApproveAdoptionRequest) string { return r.GetName() })),
		membershipv1.MembershipService_TransitionPackage_FullMethodName: auth.Admin().Or("the package's maintainers and its team's leads",
			packageManager(s, func(r *membershipv1.TransitionPackageRequest) string { return r.GetName() })),

		membershipv1.MembershipService_CreateToken_FullMethodName: auth.Admin().Or("the person themself", selfParent),
		membershipv1.MembershipService_ListTokens_FullMethodName:  auth.Admin().Or("the person themself", selfParent),
		membershipv1.MembershipService_RevokeToken_FullMethodName: auth.Admin().Or("the person themself",
			auth.Self(func(r *membershipv1.RevokeTokenRequest) string { return tokenOwner(r.GetName()) })),
		// Signing in is for people without a token yet; the answers reveal
		// nothing, and both are rate-limited (signin.go, the auth throttle).
		membershipv1.MembershipService_RequestSignIn_FullMethodName:  auth.Public(),
		membershipv1.MembershipService_CompleteSignIn_FullMethodName: auth.Public(),
		membershipv1.MembershipService_RenewToken_FullMethodName: auth.Admin().Or("the person themself",
			auth.Self(func(r *membershipv1.RenewTokenRequest) string { return tokenOwner(r.GetName()) })),
		// Linking an identity lets its tokens act as the person: only admins
		// vouch for that (the first sign-in with a verified email links by
		// itself). A person sees and removes their own links.
		membershipv1.MembershipService_CreateIdentity_FullMethodName: auth.Admin(),
		membershipv1.MembershipService_ListIdentities_FullMethodName: auth.Admin().Or("the person themself", selfParent),
		membershipv1.MembershipService_DeleteIdentity_FullMethodName: auth.Admin().Or("the person themself",
			auth.Self(func(r *membershipv1.DeleteIdentityRequest) string { return tokenOwner(r.GetName()) })),
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

// packageManager passes the maintainers of the package the request names and
// the leads of the team it belongs to.
func packageManager[R any](s *Server, name func(R) string) auth.Check {
	return func(ctx context.Context, p *auth.Principal, req any) (bool, error) {
		r, ok := req.(R)
		if !ok {
			return false, nil
		}
		return s.managesPackage(ctx, p, name(r))
	}
}

// managesPackage reports whether p maintains pkg or leads its team. A
// missing package is managed by nobody (admins are told NOT_FOUND).
func (s *Server) managesPackage(ctx context.Context, p *auth.Principal, pkg string) (bool, error) {
	if p.GetPerson() == "" {
		return false, nil
	}
	team, err := s.packageTeam(ctx, pkg)
	if err != nil || auth.IsLeadOf(p, team) {
		return err == nil, err
	}
	return s.isMaintainer(ctx, pkg, p.GetPerson())
}

// packageTeam returns the team (teams/{team}) pkg belongs to, "" if none or
// if the package does not exist.
func (s *Server) packageTeam(ctx context.Context, pkg string) (string, error) {
	id, err := s.q.GetPackageTeam(ctx, s.db, resource.ID(packages, pkg))
	if errors.Is(err, pgx.ErrNoRows) || id == "" {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return resource.Name(teams, id), nil
}

// leadOfMatchedTeam passes the leads of the team owning the position an
// offer is matched to (from MATCHED on). A move to MATCHED is the
// coordinators': leads do not pick offers that are not yet theirs.
func (s *Server) leadOfMatchedTeam(ctx context.Context, p *auth.Principal, req any) (bool, error) {
	r, ok := req.(*membershipv1.TransitionVolunteerRequest)
	if !ok || !auth.IsAnyLead(p) {
		return false, nil
	}
	team, err := s.volunteerTeam(ctx, r.GetName())
	return err == nil && auth.IsLeadOf(p, team), err
}

// volunteerTeam returns the team (teams/{team}) of the position an offer is
// matched to, "" if none or if the offer does not exist.
func (s *Server) volunteerTeam(ctx context.Context, name string) (string, error) {
	v, err := s.q.GetVolunteer(ctx, s.db, resource.ID(volunteers, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return teamOf(v.Position), nil
}

// isMaintainer reports whether person (people/{id}) maintains pkg.
func (s *Server) isMaintainer(ctx context.Context, pkg, person string) (bool, error) {
	return s.q.IsMaintainer(ctx, s.db, store.IsMaintainerParams{
		PackageID: resource.ID("packages", pkg), PersonID: resource.ID(people, person),
	})
}

// keepsEmail reports whether a person's update of their own profile leaves
// their email as stored: it may send the email back unchanged (a
// read-modify-write), but not change it.
func (s *Server) keepsEmail(ctx context.Context, r *membershipv1.UpdatePersonRequest) (bool, error) {
	if !fieldmask.Touches(r.GetPerson(), r.GetUpdateMask(), "email") {
		return true, nil
	}
	cur, err := s.q.GetPerson(ctx, s.db, resource.ID(people, r.GetPerson().GetName()))
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil // only an admin is told NOT_FOUND
	}
	return err == nil && cur.Email == r.GetPerson().GetEmail(), err
}

// tokenOwner returns people/{person} of people/{person}/tokens/{token}.
func tokenOwner(name string) string {
	parts := strings.SplitN(name, "/", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "/" + parts[1]
}

// settingsOwner returns the person (`people/{person}`) of
// `people/{person}/notificationSettings`.
func settingsOwner(name string) string { return strings.TrimSuffix(name, settingsSuffix) }
