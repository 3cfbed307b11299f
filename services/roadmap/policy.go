package roadmap

import (
	"context"
	"slices"

	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/fieldmask"
	"github.com/guildhall/guildhall/internal/resource"
)

// Policy declares who may call each RPC; see package auth. Admins pass every rule.
//
// Releases are edited by holders of roadmap.edit. Items are edited by them or
// by the lead of the item's owner team, read from the database at check time
// (for a create: the team the new item names); a lead moves an item to
// another team only if they lead that team too. Any person may vote on items
// and proposals they are eligible for; status updates come from editors, the
// owner team's lead, or the item's owner people. Proposals are started by
// editors, and by team leads for a vote of their own team (eligible_team);
// they are run by editors or their creator, who as a lead keeps the vote to a
// team they lead.
func (s *Server) Policy() auth.Policy {
	edit := auth.Permission("roadmap.edit")
	return auth.Policy{
		roadmapv1.RoadmapService_GetRelease_FullMethodName:          auth.Public(),
		roadmapv1.RoadmapService_ListReleases_FullMethodName:        auth.Public(),
		roadmapv1.RoadmapService_GetReleaseChangelog_FullMethodName: auth.Public(),
		roadmapv1.RoadmapService_CreateRelease_FullMethodName:       edit,
		roadmapv1.RoadmapService_UpdateRelease_FullMethodName:       edit,
		roadmapv1.RoadmapService_TransitionRelease_FullMethodName:   edit,
		roadmapv1.RoadmapService_DeleteRelease_FullMethodName:       edit,

		roadmapv1.RoadmapService_GetItem_FullMethodName:   auth.Public(),
		roadmapv1.RoadmapService_ListItems_FullMethodName: auth.Public(),
		roadmapv1.RoadmapService_CreateItem_FullMethodName: edit.Or("the lead of the team the item names",
			auth.LeadOf(func(_ context.Context, r *roadmapv1.CreateItemRequest) (string, error) {
				return r.GetItem().GetOwnerTeam(), nil
			})),
		roadmapv1.RoadmapService_UpdateItem_FullMethodName: edit.Or("the owner team's lead (moving it to another team: a lead of that team too)",
			func(ctx context.Context, p *auth.Principal, req any) (bool, error) {
				r, ok := req.(*roadmapv1.UpdateItemRequest)
				if !ok || (fieldmask.Touches(r.GetItem(), r.GetUpdateMask(), "owner_team") && !auth.IsLeadOf(p, r.GetItem().GetOwnerTeam())) {
					return false, nil
				}
				return itemOwner(s, func(r *roadmapv1.UpdateItemRequest) string { return r.GetItem().GetName() }, false)(ctx, p, req)
			}),
		roadmapv1.RoadmapService_DeleteItem_FullMethodName: edit.Or("the owner team's lead",
			itemOwner(s, func(r *roadmapv1.DeleteItemRequest) string { return r.GetName() }, false)),
		roadmapv1.RoadmapService_VoteItem_FullMethodName:       auth.Person(),
		roadmapv1.RoadmapService_UnvoteItem_FullMethodName:     auth.Person(),
		roadmapv1.RoadmapService_ListItemVoters_FullMethodName: auth.Public(),

		roadmapv1.RoadmapService_GetItemUpdate_FullMethodName:   auth.Public(),
		roadmapv1.RoadmapService_ListItemUpdates_FullMethodName: auth.Public(),
		roadmapv1.RoadmapService_CreateItemUpdate_FullMethodName: edit.Or("the owner team's lead or the item's owner people",
			itemOwner(s, func(r *roadmapv1.CreateItemUpdateRequest) string { return r.GetParent() }, true)),

		roadmapv1.RoadmapService_GetProposal_FullMethodName:   auth.Public(),
		roadmapv1.RoadmapService_ListProposals_FullMethodName: auth.Public(),
		roadmapv1.RoadmapService_CreateProposal_FullMethodName: edit.Or("the lead of the proposal's eligible team",
			auth.LeadOf(func(_ context.Context, r *roadmapv1.CreateProposalRequest) (string, error) {
				return r.GetProposal().GetEligibleTeam(), nil
			})),
		roadmapv1.RoadmapService_UpdateProposal_FullMethodName: edit.Or("the proposal's creator (changing eligible_team: to a team they lead)",
			func(ctx context.Context, p *auth.Principal, req any) (bool, error) {
				r, ok := req.(*roadmapv1.UpdateProposalRequest)
				if !ok || (fieldmask.Touches(r.GetProposal(), r.GetUpdateMask(), "eligible_team") && !auth.IsLeadOf(p, r.GetProposal().GetEligibleTeam())) {
					return false, nil
				}
				return creatorOf(s, func(r *roadmapv1.UpdateProposalRequest) string { return r.GetProposal().GetName() })(ctx, p, req)
			}),
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

// itemOwner passes the lead of the owner team of the item the request names
// and, with people, the item's owner people: one read of its owners. A
// missing item has no owners (those who may write are told NOT_FOUND).
func itemOwner[R any](s *Server, name func(R) string, people bool) auth.Check {
	return func(ctx context.Context, p *auth.Principal, req any) (bool, error) {
		r, ok := req.(R)
		if !ok || p.GetPerson() == "" {
			return false, nil
		}
		o, err := s.q.GetItemOwners(ctx, s.db, resource.ID(items, name(r)))
		if isNoRows(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return auth.IsLeadOf(p, o.OwnerTeam) || (people && slices.Contains(o.OwnerPeople, p.GetPerson())), nil
	}
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
	team, err := s.q.GetProposalEligibleTeam(ctx, s.db, resource.ID(proposals, r.GetProposal()))
	if isNoRows(err) {
		return true, nil // the handler reports NOT_FOUND
	}
	if err != nil {
		return false, err
	}
	return team == "" || slices.Contains(p.GetTeams(), team), nil
}
