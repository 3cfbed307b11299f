package roadmap

import (
	"context"
	"slices"

	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/resource"
)

// Policy declares who may call each RPC; see package auth. Admins pass every rule.
//
// Releases are edited by holders of roadmap.edit. Items are edited by them or
// by the lead of the item's owner team, read from the database at check time
// (for a create: the team the new item names). Any person may vote on items
// and proposals they are eligible for; status updates come from editors, the
// owner team's lead, or the item's owner people. Proposals are started by
// editors and team leads and run by editors or their creator.
func (s *Server) Policy() auth.Policy {
	edit := auth.Permission("roadmap.edit")
	itemLead := auth.LeadOf(func(ctx context.Context, r interface{ GetName() string }) (string, error) {
		return s.ownerTeam(ctx, r.GetName())
	})
	itemEditors := edit.Or("the owner team's lead", itemLead)
	return auth.Policy{
		roadmapv1.RoadmapService_GetRelease_FullMethodName:          auth.Public(),
		roadmapv1.RoadmapService_ListReleases_FullMethodName:        auth.Public(),
		roadmapv1.RoadmapService_GetReleaseChangelog_FullMethodName: auth.Public(),
		roadmapv1.RoadmapService_CreateRelease_FullMethodName:       edit,
		roadmapv1.RoadmapService_UpdateRelease_FullMethodName:       edit,
		roadmapv1.RoadmapService_DeleteRelease_FullMethodName:       edit,

		roadmapv1.RoadmapService_GetItem_FullMethodName:   auth.Public(),
		roadmapv1.RoadmapService_ListItems_FullMethodName: auth.Public(),
		roadmapv1.RoadmapService_CreateItem_FullMethodName: edit.Or("the lead of the team the item names",
			auth.LeadOf(func(_ context.Context, r *roadmapv1.CreateItemRequest) (string, error) {
				return r.GetItem().GetOwnerTeam(), nil
			})),
		roadmapv1.RoadmapService_UpdateItem_FullMethodName: edit.Or("the owner team's lead",
			auth.LeadOf(func(ctx context.Context, r *roadmapv1.UpdateItemRequest) (string, error) {
				return s.ownerTeam(ctx, r.GetItem().GetName())
			})),
		roadmapv1.RoadmapService_DeleteItem_FullMethodName:     itemEditors,
		roadmapv1.RoadmapService_VoteItem_FullMethodName:       auth.Person(),
		roadmapv1.RoadmapService_UnvoteItem_FullMethodName:     auth.Person(),
		roadmapv1.RoadmapService_ListItemVoters_FullMethodName: auth.Public(),

		roadmapv1.RoadmapService_GetItemUpdate_FullMethodName:   auth.Public(),
		roadmapv1.RoadmapService_ListItemUpdates_FullMethodName: auth.Public(),
		roadmapv1.RoadmapService_CreateItemUpdate_FullMethodName: edit.
			Or("the owner team's lead", auth.LeadOf(func(ctx context.Context, r *roadmapv1.CreateItemUpdateRequest) (string, error) {
				return s.ownerTeam(ctx, r.GetParent())
			})).
			Or("the item's owner people", func(ctx context.Context, p *auth.Principal, req any) (bool, error) {
				r, ok := req.(*roadmapv1.CreateItemUpdateRequest)
				if !ok || p.GetPerson() == "" {
					return false, nil
				}
				o, err := s.q.GetItemOwners(ctx, s.db, resource.ID(items, r.GetParent()))
				if err != nil {
					return false, nil // a missing item is reported as NOT_FOUND to those who may write
				}
				return slices.Contains(o.OwnerPeople, p.GetPerson()), nil
			}),

		roadmapv1.RoadmapService_GetProposal_FullMethodName:    auth.Public(),
		roadmapv1.RoadmapService_ListProposals_FullMethodName:  auth.Public(),
		roadmapv1.RoadmapService_CreateProposal_FullMethodName: edit.Or("team leads", auth.AnyLeadCheck),
		roadmapv1.RoadmapService_UpdateProposal_FullMethodName: edit.Or("the proposal's creator",
			creatorOf(s, func(r *roadmapv1.UpdateProposalRequest) string { return r.GetProposal().GetName() })),
		roadmapv1.RoadmapService_DeleteProposal_FullMethodName: edit.Or("the proposal's creator",
			creatorOf(s, func(r *roadmapv1.DeleteProposalRequest) string { return r.GetName() })),
		roadmapv1.RoadmapService_OpenProposal_FullMethodName: edit.Or("the proposal's creator",
			creatorOf(s, func(r *roadmapv1.OpenProposalRequest) string { return r.GetName() })),
		roadmapv1.RoadmapService_CloseProposal_FullMethodName: edit.Or("the proposal's creator",
			creatorOf(s, func(r *roadmapv1.CloseProposalRequest) string { return r.GetName() })),
		roadmapv1.RoadmapService_CastVote_FullMethodName:  auth.Admin().Or("people eligible to vote on the proposal", s.eligible),
		roadmapv1.RoadmapService_GetVote_FullMethodName:   auth.Public(),
		roadmapv1.RoadmapService_ListVotes_FullMethodName: auth.Public(),

		roadmapv1.RoadmapService_GetRoadmap_FullMethodName: auth.Public(),
	}
}

// ownerTeam reads an item's owner team; a missing item has none.
func (s *Server) ownerTeam(ctx context.Context, name string) (string, error) {
	o, err := s.q.GetItemOwners(ctx, s.db, resource.ID(items, name))
	if isNoRows(err) {
		return "", nil
	}
	return o.OwnerTeam, err
}

// creatorOf passes when the caller wrote the proposal the request names.
func creatorOf[R any](s *Server, name func(R) string) auth.Check {
	return func(ctx context.Context, p *auth.Principal, req any) (bool, error) {
		r, ok := req.(R)
		if !ok || p.GetPerson() == "" {
			return false, nil
		}
		c, err := s.q.GetProposalCreator(ctx, s.db, resource.ID(proposals, name(r)))
		if isNoRows(err) {
			return false, nil
		}
		return err == nil && c == p.GetPerson(), err
	}
}

// eligible passes people who may vote on the proposal: anyone, or members of
// its eligible team as membership told us when it authenticated the caller.
func (s *Server) eligible(ctx context.Context, p *auth.Principal, req any) (bool, error) {
	r, ok := req.(*roadmapv1.CastVoteRequest)
	if !ok || p.GetPerson() == "" {
		return false, nil
	}
	pr, err := s.q.GetProposal(ctx, s.db, resource.ID(proposals, r.GetProposal()))
	if isNoRows(err) {
		return true, nil // the handler reports NOT_FOUND
	}
	if err != nil {
		return false, err
	}
	return pr.EligibleTeam == "" || slices.Contains(p.GetTeams(), pr.EligibleTeam), nil
}
