package roadmap

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
	"github.com/guildhall/guildhall/internal/activity"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/convert"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/fieldmask"
	"github.com/guildhall/guildhall/internal/lifecycle"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/roadmap/store"
)

const proposals = "proposals"

// Reasons of refused proposal operations.
const (
	ReasonProposalNotDraft = typev1.ErrorReason_PROPOSAL_NOT_DRAFT
	ReasonProposalNotOpen  = typev1.ErrorReason_PROPOSAL_NOT_OPEN
	ReasonVotingClosed     = typev1.ErrorReason_VOTING_CLOSED
	ReasonCloseTimeNeeded  = typev1.ErrorReason_CLOSE_TIME_REQUIRED
)

// consentOptions are the fixed choices of a CONSENT proposal.
var consentOptions = []string{"agree", "abstain", "disagree", "block"}

func method(s string) roadmapv1.Proposal_Method {
	return roadmapv1.Proposal_Method(pgenum.Number(roadmapv1.Proposal_METHOD_UNSPECIFIED.Descriptor(), s))
}

// proposalState is what a proposal row means at a moment: the state its
// readers see, and what follows from it for the tally.
type proposalState struct {
	// Effective is the state a reader sees: an open proposal whose close
	// time has passed is CLOSED, whether or not anyone has frozen it yet.
	Effective roadmapv1.Proposal_State
	// NeedsFreeze: the row is still open though voting has closed; whoever
	// next holds its lock freezes the tally (see freeze).
	NeedsFreeze bool
	// LiveTally: the view shows a tally counted from the votes now, as the
	// proposal is open and its tally is not hidden until close.
	LiveTally bool
	// HiddenTally: the votes are secret from everyone but each voter until
	// the proposal closes.
	HiddenTally bool
}

// stateOf is p's state at now.
func stateOf(p store.Proposal, now time.Time) proposalState {
	st := proposalState{Effective: roadmapv1.Proposal_STATE_OPEN}
	switch {
	case p.State == "draft":
		st.Effective = roadmapv1.Proposal_STATE_DRAFT
	case p.State == "closed":
		st.Effective = roadmapv1.Proposal_STATE_CLOSED
	case p.CloseTime != nil && !now.Before(*p.CloseTime):
		st.Effective, st.NeedsFreeze = roadmapv1.Proposal_STATE_CLOSED, true
	}
	st.LiveTally = st.Effective == roadmapv1.Proposal_STATE_OPEN && !p.HideTallyUntilClose
	st.HiddenTally = p.HideTallyUntilClose && st.Effective != roadmapv1.Proposal_STATE_CLOSED
	return st
}

// proposalMoves are the proposal's moves: opened once, closed once (by
// CloseProposal, or by its close time and the first read after it).
var proposalMoves = lifecycle.New("proposal", map[roadmapv1.Proposal_State][]roadmapv1.Proposal_State{
	roadmapv1.Proposal_STATE_DRAFT: {roadmapv1.Proposal_STATE_OPEN},
	roadmapv1.Proposal_STATE_OPEN:  {roadmapv1.Proposal_STATE_CLOSED},
})

// proposalFromRow renders a row without its tally.
func proposalFromRow(p store.Proposal, now time.Time) *roadmapv1.Proposal {
	return &roadmapv1.Proposal{
		Name:                resource.Name(proposals, p.ID),
		Question:            p.Question,
		Background:          p.Background,
		Options:             p.Options,
		Method:              method(p.Method),
		EligibleTeam:        p.EligibleTeam,
		QuorumVotes:         p.QuorumVotes,
		QuorumShare:         p.QuorumShare,
		OpenTime:            convert.Timestamp(p.OpenTime),
		CloseTime:           convert.Timestamp(p.CloseTime),
		LinkedItems:         p.LinkedItems,
		LinkedReleases:      p.LinkedReleases,
		Outcome:             p.Outcome,
		ReviewDate:          convert.FormatDate(p.ReviewDate),
		HideTallyUntilClose: p.HideTallyUntilClose,
		State:               stateOf(p, now).Effective,
		EligibleCount:       p.EligibleCount,
		Creator:             p.Creator,
		CreateTime:          timestamppb.New(p.CreateTime),
		UpdateTime:          timestamppb.New(p.UpdateTime),
		Etag:                resource.Etag(p.Version),
	}
}

// tally counts votes. CONSENT passes with the quorum, more agree than
// disagree and no block; the other methods pass with the quorum and a single
// option ahead of all others.
func tally(p store.Proposal, votes [][]string) *roadmapv1.Tally {
	counts := map[string]int32{}
	for _, v := range votes {
		for _, c := range v {
			counts[c]++
		}
	}
	t := &roadmapv1.Tally{TotalVotes: int32(len(votes))}
	for _, o := range p.Options {
		t.Counts = append(t.Counts, &roadmapv1.OptionCount{Option: o, Count: counts[o]})
	}
	t.QuorumRequired = p.QuorumVotes
	if share := int32(math.Ceil(p.QuorumShare * float64(p.EligibleCount))); share > t.QuorumRequired {
		t.QuorumRequired = share
	}
	t.QuorumMet = t.TotalVotes >= t.QuorumRequired
	switch {
	case method(p.Method) == roadmapv1.Proposal_METHOD_CONSENT:
		switch {
		case counts["block"] > 0:
			t.Result = fmt.Sprintf("blocked (%d block)", counts["block"])
		case !t.QuorumMet:
			t.Result = "quorum not met"
		case counts["agree"] > counts["disagree"]:
			t.Passed, t.Result = true, "passed"
		default:
			t.Result = "not passed"
		}
	case t.TotalVotes == 0:
		t.Result = "no votes"
	case !t.QuorumMet:
		t.Result = "quorum not met"
	default:
		var best int32
		var winners []string
		for _, c := range t.Counts {
			switch {
			case c.Count > best:
				best, winners = c.Count, []string{c.Option}
			case c.Count == best:
				winners = append(winners, c.Option)
			}
		}
		if len(winners) == 1 {
			t.Passed, t.Result = true, winners[0]
		} else {
			t.Result = "tie: " + strings.Join(winners, ", ")
		}
	}
	return t
}

// view renders p with the tally its readers may see: the frozen one once
// closed, the live one while open (unless hidden until close), none in draft.
func (s *Server) view(ctx context.Context, db store.DBTX, p store.Proposal, now time.Time) (*roadmapv1.Proposal, error) {
	var votes [][]string
	if stateOf(p, now).LiveTally {
		var err error
		if votes, err = s.q.ProposalChoices(ctx, db, p.ID); err != nil {
			return nil, err
		}
	}
	return viewOf(p, now, votes)
}

// viewOf is p as a caller sees it now, given its votes when its tally is live.
func viewOf(p store.Proposal, now time.Time, votes [][]string) (*roadmapv1.Proposal, error) {
	out := proposalFromRow(p, now)
	switch {
	case p.State == "closed" && p.FrozenTally != nil:
		t := &roadmapv1.Tally{}
		if err := proto.Unmarshal(p.FrozenTally, t); err != nil {
			return nil, err
		}
		out.Tally = t
	case stateOf(p, now).LiveTally:
		out.Tally = tally(p, votes)
	}
	return out, nil
}

// freeze closes p for good, inside tx (which holds p's row lock): the tally
// is computed once and stored, so later reads and late votes cannot move it.
func (s *Server) freeze(ctx context.Context, tx pgx.Tx, p store.Proposal, closeAt time.Time) (store.Proposal, error) {
	votes, err := s.q.ProposalChoices(ctx, tx, p.ID)
	if err != nil {
		return p, err
	}
	t := tally(p, votes)
	t.Frozen = true
	b, err := proto.Marshal(t)
	if err != nil {
		return p, err
	}
	return s.q.CloseProposal(ctx, tx, store.CloseProposalParams{ID: p.ID, CloseTime: &closeAt, FrozenTally: b})
}

// load reads a proposal as of now; one found past its close time is frozen
// first, under its row lock, the first time anyone reads it so.
func (s *Server) load(ctx context.Context, id, name string) (store.Proposal, time.Time, error) {
	now := s.now()
	p, err := s.q.GetProposal(ctx, s.db, id)
	if err != nil {
		return p, now, resource.NotFoundIfNoRows(err, name)
	}
	if !stateOf(p, now).NeedsFreeze {
		return p, now, nil
	}
	err = database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		p, err = s.q.GetProposalForUpdate(ctx, tx, id)
		if err != nil || !stateOf(p, now).NeedsFreeze {
			return err
		}
		p, err = s.closeOnTime(ctx, tx, p)
		return err
	})
	return p, now, err
}

// closeOnTime freezes p, an OPEN proposal past its close time, inside tx
// (which holds its row lock), and announces it closed (ProposalClosed) in
// the same transaction. Whoever first holds the lock after the close time
// (a reader, a late voter or the roadmap.proposals job) does it; the row is
// then 'closed', so it happens once.
func (s *Server) closeOnTime(ctx context.Context, tx pgx.Tx, p store.Proposal) (store.Proposal, error) {
	p, err := s.freeze(ctx, tx, p, *p.CloseTime)
	if err != nil {
		return p, err
	}
	name := resource.Name(proposals, p.ID)
	return p, s.emit(ctx, tx, events.ProposalClosed, name,
		events.TransitionData(name, roadmapv1.Proposal_STATE_OPEN.String(), roadmapv1.Proposal_STATE_CLOSED.String()))
}

// GetProposal implements AIP-131.
func (s *Server) GetProposal(ctx context.Context, req *roadmapv1.GetProposalRequest) (*roadmapv1.Proposal, error) {
	p, now, err := s.load(ctx, resource.ID(proposals, req.GetName()), req.GetName())
	if err != nil {
		return nil, err
	}
	return s.view(ctx, s.db, p, now)
}

// ListProposals implements AIP-132, newest first; with review_due_by, the
// proposals to review by that date, soonest review first.
func (s *Server) ListProposals(ctx context.Context, req *roadmapv1.ListProposalsRequest) (*roadmapv1.ListProposalsResponse, error) {
	resp := &roadmapv1.ListProposalsResponse{}
	var rows []store.Proposal
	if due := req.GetReviewDueBy(); due != "" {
		dueBy, err := convert.ParseDate("review_due_by", due)
		if err != nil {
			return nil, err
		}
		page, err := pagination.StartKeys(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(proposals, "review", due), 2)
		if err != nil {
			return nil, err
		}
		params := store.ListProposalsDueForReviewParams{DueBy: pgtype.Date{Time: *dueBy, Valid: true}, PageSize: page.Limit()}
		if after := page.AfterKeys(); after != nil {
			d, err := convert.ParseDate("page_token", after[0])
			if err != nil {
				return nil, pagination.BadToken()
			}
			params.AfterDate, params.AfterID = d, after[1]
		}
		if rows, err = s.q.ListProposalsDueForReview(ctx, s.db, params); err != nil {
			return nil, err
		}
		rows, resp.NextPageToken = pagination.FinishKeys(page, rows, func(r store.Proposal) []string {
			return []string{convert.FormatDate(r.ReviewDate), r.ID}
		})
	} else {
		page, err := pagination.Start(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(proposals))
		if err != nil {
			return nil, err
		}
		if rows, err = s.q.ListProposals(ctx, s.db, store.ListProposalsParams{Before: convert.Text(page.After()), PageSize: page.Limit()}); err != nil {
			return nil, err
		}
		rows, resp.NextPageToken = pagination.Finish(page, rows, func(r store.Proposal) string { return r.ID })
	}
	// Freeze what closed since it was last read, then count every live
	// tally of the page from one query.
	now := s.now()
	var live []string
	var err error
	for i, row := range rows {
		if stateOf(row, now).NeedsFreeze {
			if rows[i], _, err = s.load(ctx, row.ID, resource.Name(proposals, row.ID)); err != nil {
				return nil, err
			}
		}
		if stateOf(rows[i], now).LiveTally {
			live = append(live, row.ID)
		}
	}
	votes := map[string][][]string{}
	if len(live) > 0 {
		choices, err := s.q.ProposalsChoices(ctx, s.db, live)
		if err != nil {
			return nil, err
		}
		for _, c := range choices {
			votes[c.ProposalID] = append(votes[c.ProposalID], c.Choices)
		}
	}
	for _, row := range rows {
		v, err := viewOf(row, now, votes[row.ID])
		if err != nil {
			return nil, err
		}
		resp.Proposals = append(resp.Proposals, v)
	}
	return resp, nil
}

// proposalParams checks a whole proposal and converts it for storage.
func proposalParams(p *roadmapv1.Proposal) (store.UpdateProposalParams, error) {
	if err := resource.Required("proposal", map[string]bool{
		"question": p.GetQuestion() != "",
		"method":   p.GetMethod() != roadmapv1.Proposal_METHOD_UNSPECIFIED,
	}); err != nil {
		return store.UpdateProposalParams{}, err
	}
	options := p.GetOptions()
	if p.GetMethod() == roadmapv1.Proposal_METHOD_CONSENT {
		if len(options) > 0 && !slices.Equal(options, consentOptions) {
			return store.UpdateProposalParams{}, apierr.InvalidField("proposal.options",
				"a CONSENT proposal's options are agree, abstain, disagree, block; leave them empty")
		}
		options = consentOptions
	} else if len(options) < 2 {
		return store.UpdateProposalParams{}, apierr.InvalidField("proposal.options", "at least two options are needed")
	}
	if o, c := p.GetOpenTime(), p.GetCloseTime(); o != nil && c != nil && !c.AsTime().After(o.AsTime()) {
		return store.UpdateProposalParams{}, apierr.InvalidField("proposal.close_time", "must be after open_time")
	}
	review, err := convert.ParseDate("proposal.review_date", p.GetReviewDate())
	if err != nil {
		return store.UpdateProposalParams{}, err
	}
	return store.UpdateProposalParams{
		Question: p.GetQuestion(), Background: p.GetBackground(), Options: options,
		Method: pgenum.Text(p.GetMethod()), EligibleTeam: p.GetEligibleTeam(), QuorumVotes: p.GetQuorumVotes(),
		QuorumShare: p.GetQuorumShare(), OpenTime: convert.Time(p.GetOpenTime()), CloseTime: convert.Time(p.GetCloseTime()),
		LinkedItems: convert.NonNil(p.GetLinkedItems()), LinkedReleases: convert.NonNil(p.GetLinkedReleases()),
		Outcome: p.GetOutcome(), ReviewDate: review, HideTallyUntilClose: p.GetHideTallyUntilClose(),
	}, nil
}

// checkLinks fails unless every linked item and release exists.
func (s *Server) checkLinks(ctx context.Context, db store.DBTX, p *roadmapv1.Proposal) error {
	check := func(field, collection string, names []string, existing func(context.Context, store.DBTX, []string) ([]string, error)) error {
		if len(names) == 0 {
			return nil
		}
		ids := make([]string, len(names))
		for i, n := range names {
			ids[i] = resource.ID(collection, n)
		}
		found, err := existing(ctx, db, ids)
		if err != nil {
			return err
		}
		var bad []apierr.FieldViolation
		for i, id := range ids {
			if !slices.Contains(found, id) {
				bad = append(bad, apierr.FieldViolation{Field: indexed(field, i), Description: "no such " + collection[:len(collection)-1] + ": " + names[i]})
			}
		}
		if len(bad) > 0 {
			return apierr.Invalid(bad...)
		}
		return nil
	}
	if err := check("proposal.linked_items", items, p.GetLinkedItems(), s.q.ExistingItems); err != nil {
		return err
	}
	return check("proposal.linked_releases", releases, p.GetLinkedReleases(), s.q.ExistingReleases)
}

// CreateProposal adds a DRAFT proposal.
func (s *Server) CreateProposal(ctx context.Context, req *roadmapv1.CreateProposalRequest) (*roadmapv1.Proposal, error) {
	in := req.GetProposal()
	p, err := proposalParams(in)
	if err != nil {
		return nil, err
	}
	if err := s.checkTeam(ctx, "proposal.eligible_team", in.GetEligibleTeam()); err != nil {
		return nil, err
	}
	id := resource.NewID()
	now := s.now()
	return resource.Create(ctx, s.db, resource.Name(proposals, id), req.GetRequestId(), "CreateProposal", req, func(tx pgx.Tx) (*roadmapv1.Proposal, error) {
		if err := s.checkLinks(ctx, tx, in); err != nil {
			return nil, err
		}
		row, err := s.q.CreateProposal(ctx, tx, store.CreateProposalParams{
			ID: id, Question: p.Question, Background: p.Background, Options: p.Options, Method: p.Method,
			EligibleTeam: p.EligibleTeam, QuorumVotes: p.QuorumVotes, QuorumShare: p.QuorumShare,
			OpenTime: p.OpenTime, CloseTime: p.CloseTime, LinkedItems: p.LinkedItems, LinkedReleases: p.LinkedReleases,
			Outcome: p.Outcome, ReviewDate: p.ReviewDate, HideTallyUntilClose: p.HideTallyUntilClose,
			Creator: auth.From(ctx).GetPerson(),
		})
		if err != nil {
			return nil, err
		}
		return proposalFromRow(row, now), s.acted(ctx, tx)
	})
}

var (
	proposalFields = []string{"question", "background", "options", "method", "eligible_team", "quorum_votes",
		"quorum_share", "open_time", "close_time", "linked_items", "linked_releases", "outcome", "review_date",
		"hide_tally_until_close"}
)

// UpdateProposal implements AIP-134: every field while DRAFT, then only the
// outcome and review date, so nobody moves the goalposts during a vote.
func (s *Server) UpdateProposal(ctx context.Context, req *roadmapv1.UpdateProposalRequest) (*roadmapv1.Proposal, error) {
	patch := req.GetProposal()
	if fieldmask.Touches(patch, req.GetUpdateMask(), "eligible_team") {
		if err := s.checkTeam(ctx, "proposal.eligible_team", patch.GetEligibleTeam()); err != nil {
			return nil, err
		}
	}
	id := resource.ID(proposals, patch.GetName())
	now := s.now()
	var before *roadmapv1.Proposal
	var row store.Proposal
	out, err := resource.Update(ctx, s.db, patch, req.GetUpdateMask(), proposalFields,
		func(tx pgx.Tx) (*roadmapv1.Proposal, error) {
			var err error
			row, err = s.q.GetProposalForUpdate(ctx, tx, id)
			before = proposalFromRow(row, now)
			return proposalFromRow(row, now), err
		},
		func(p *roadmapv1.Proposal) error {
			if before.GetState() != roadmapv1.Proposal_STATE_DRAFT {
				a, b := proto.Clone(before).(*roadmapv1.Proposal), proto.Clone(p).(*roadmapv1.Proposal)
				a.Outcome, b.Outcome, a.ReviewDate, b.ReviewDate = "", "", "", ""
				if !proto.Equal(a, b) {
					return apierr.FailedPrecondition(ReasonProposalNotDraft,
						"the proposal is "+before.GetState().String()+": only outcome and review_date may change")
				}
			}
			_, err := proposalParams(p)
			return err
		},
		func(tx pgx.Tx, p *roadmapv1.Proposal) (*roadmapv1.Proposal, error) {
			if err := s.checkLinks(ctx, tx, p); err != nil {
				return nil, err
			}
			params, _ := proposalParams(p)
			params.ID = id
			// The stored close time of a frozen proposal is kept as it was.
			if row.State != "draft" {
				params.OpenTime, params.CloseTime = row.OpenTime, row.CloseTime
			}
			r, err := s.q.UpdateProposal(ctx, tx, params)
			if err != nil {
				return nil, err
			}
			if err := s.acted(ctx, tx); err != nil {
				return nil, err
			}
			return s.view(ctx, tx, r, now)
		})
	return out, err
}

// DeleteProposal removes a DRAFT proposal; decisions taken stay on record.
func (s *Server) DeleteProposal(ctx context.Context, req *roadmapv1.DeleteProposalRequest) (*emptypb.Empty, error) {
	id := resource.ID(proposals, req.GetName())
	now := s.now()
	err := resource.Delete(ctx, s.db, req.GetName(), req.GetEtag(),
		func(tx pgx.Tx) (*roadmapv1.Proposal, error) {
			row, err := s.q.GetProposalForUpdate(ctx, tx, id)
			if err == nil && row.State != "draft" {
				return nil, apierr.FailedPrecondition(ReasonProposalNotDraft, "only a DRAFT proposal may be deleted")
			}
			return proposalFromRow(row, now), err
		},
		func(tx pgx.Tx) error {
			if err := s.q.DeleteProposal(ctx, tx, id); err != nil {
				return err
			}
			return s.acted(ctx, tx)
		})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// OpenProposal moves DRAFT → OPEN. The eligible voters are counted now (over
// gRPC, before the transaction), and that count is the base of a share quorum.
func (s *Server) OpenProposal(ctx context.Context, req *roadmapv1.OpenProposalRequest) (*roadmapv1.Proposal, error) {
	id := resource.ID(proposals, req.GetName())
	cur, err := s.q.GetProposal(ctx, s.db, id)
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	eligible, err := s.countEligible(ctx, cur.EligibleTeam)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out *roadmapv1.Proposal
	err = database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		p, _, err := lifecycle.Transition(ctx, tx, s.proposalMove(ctx, id, req.GetName(), req.GetEtag(), roadmapv1.Proposal_STATE_OPEN, now,
			func(tx pgx.Tx, p store.Proposal) (store.Proposal, error) {
				if p.EligibleTeam != cur.EligibleTeam {
					return p, apierr.EtagMismatch(req.GetName())
				}
				open := now
				if p.OpenTime != nil && p.OpenTime.After(now) {
					open = *p.OpenTime
				}
				if p.CloseTime == nil || !p.CloseTime.After(open) {
					return p, apierr.FailedPrecondition(ReasonCloseTimeNeeded, "set a close_time after the open time before opening the proposal")
				}
				return s.q.OpenProposal(ctx, tx, store.OpenProposalParams{ID: id, OpenTime: &open, EligibleCount: eligible})
			}))
		if err != nil {
			return err
		}
		out, err = s.view(ctx, tx, p, now)
		return err
	})
	return out, err
}

// CloseProposal ends voting now and freezes the result.
func (s *Server) CloseProposal(ctx context.Context, req *roadmapv1.CloseProposalRequest) (*roadmapv1.Proposal, error) {
	id := resource.ID(proposals, req.GetName())
	now := s.now()
	var out *roadmapv1.Proposal
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		p, _, err := lifecycle.Transition(ctx, tx, s.proposalMove(ctx, id, req.GetName(), req.GetEtag(), roadmapv1.Proposal_STATE_CLOSED, now,
			func(tx pgx.Tx, p store.Proposal) (store.Proposal, error) { return s.freeze(ctx, tx, p, now) }))
		if err != nil {
			return err
		}
		out, err = s.view(ctx, tx, p, now)
		return err
	})
	return out, err
}

// proposalMove is the transition of proposal id to state to at now, made by
// apply. Refusals keep the proposal's own reasons (PROPOSAL_NOT_DRAFT,
// PROPOSAL_NOT_OPEN).
func (s *Server) proposalMove(ctx context.Context, id, name, etag string, to roadmapv1.Proposal_State, now time.Time,
	apply func(pgx.Tx, store.Proposal) (store.Proposal, error)) lifecycle.Spec[roadmapv1.Proposal_State, store.Proposal] {
	return lifecycle.Spec[roadmapv1.Proposal_State, store.Proposal]{
		Machine: proposalMoves, Name: name, To: to, Etag: etag, Now: now,
		Lock: func(tx pgx.Tx) (store.Proposal, error) { return s.q.GetProposalForUpdate(ctx, tx, id) },
		Of: func(p store.Proposal) (roadmapv1.Proposal_State, string) {
			return stateOf(p, now).Effective, resource.Etag(p.Version)
		},
		Refuse: func(from, to roadmapv1.Proposal_State) error {
			if to == roadmapv1.Proposal_STATE_OPEN {
				return apierr.FailedPrecondition(ReasonProposalNotDraft, "only a DRAFT proposal can be opened; it is "+from.String())
			}
			return apierr.FailedPrecondition(ReasonProposalNotOpen, "only an OPEN proposal can be closed; it is "+from.String())
		},
		Apply: func(tx pgx.Tx, p store.Proposal, _ lifecycle.Move[roadmapv1.Proposal_State]) (store.Proposal, error) {
			return apply(tx, p)
		},
		After: s.transitioned,
	}
}

func voteName(proposalID, person string) string {
	return resource.Name(proposals, proposalID) + "/votes/" + strings.TrimPrefix(person, "people/")
}

func voteFromRow(v store.ProposalVote) *roadmapv1.Vote {
	return &roadmapv1.Vote{
		Name: voteName(v.ProposalID, v.Person), Choices: v.Choices, Reason: v.Reason,
		CreateTime: timestamppb.New(v.CreateTime), UpdateTime: timestamppb.New(v.UpdateTime),
	}
}

// checkChoices fails unless choices fit the proposal's method and options.
func checkChoices(p store.Proposal, choices []string) error {
	for i, c := range choices {
		if !slices.Contains(p.Options, c) {
			return apierr.InvalidField(indexed("choices", i), fmt.Sprintf("%q is not an option; options: %s", c, strings.Join(p.Options, ", ")))
		}
	}
	if method(p.Method) != roadmapv1.Proposal_METHOD_APPROVAL && len(choices) != 1 {
		return apierr.InvalidField("choices", "choose exactly one option")
	}
	return nil
}

var errClosedNow = errors.New("closed")

// CastVote casts or changes the caller's vote. The proposal row is locked
// (SELECT … FOR UPDATE) and its close time checked inside the vote's
// transaction, so a vote racing the deadline either commits before the
// proposal is frozen or is refused; a freeze waits for the lock and counts
// every vote committed before it.
func (s *Server) CastVote(ctx context.Context, req *roadmapv1.CastVoteRequest) (*roadmapv1.Vote, error) {
	person := auth.From(ctx).GetPerson()
	if person == "" {
		return nil, apierr.PermissionDenied("only people vote")
	}
	id := resource.ID(proposals, req.GetProposal())
	now := s.now()
	var out *roadmapv1.Vote
	var closed bool
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		p, err := s.q.GetProposalForUpdate(ctx, tx, id)
		if err != nil {
			return resource.NotFoundIfNoRows(err, req.GetProposal())
		}
		st := stateOf(p, now)
		switch st.Effective {
		case roadmapv1.Proposal_STATE_DRAFT:
			return apierr.FailedPrecondition(ReasonProposalNotOpen, "the proposal is a DRAFT: voting has not opened")
		case roadmapv1.Proposal_STATE_CLOSED:
			closed = true
			if st.NeedsFreeze {
				// Commit the freeze we are in a position to make, then refuse.
				_, err := s.closeOnTime(ctx, tx, p)
				return err
			}
			return nil
		}
		if p.OpenTime != nil && now.Before(*p.OpenTime) {
			return apierr.FailedPrecondition(ReasonProposalNotOpen, "voting opens at "+p.OpenTime.UTC().Format(time.RFC3339))
		}
		if err := checkChoices(p, req.GetChoices()); err != nil {
			return err
		}
		v, err := s.q.UpsertProposalVote(ctx, tx, store.UpsertProposalVoteParams{
			ProposalID: id, Person: person, Choices: req.GetChoices(), Reason: req.GetReason(), CreateTime: now,
		})
		if err != nil {
			return err
		}
		out = voteFromRow(v)
		return activity.Record(ctx, tx, person, KindProposalVote, now)
	})
	if err == nil && closed {
		err = apierr.FailedPrecondition(ReasonVotingClosed, "voting on "+req.GetProposal()+" has closed; its result is frozen")
	}
	return out, err
}

// GetVote reads a vote; while the tally is hidden, only the voter sees it.
func (s *Server) GetVote(ctx context.Context, req *roadmapv1.GetVoteRequest) (*roadmapv1.Vote, error) {
	id, voter := resource.SplitChild(req.GetName())
	person := resource.Name("people", voter)
	p, now, err := s.load(ctx, id, resource.Name(proposals, id))
	if err != nil {
		return nil, err
	}
	if stateOf(p, now).HiddenTally && auth.From(ctx).GetPerson() != person {
		return nil, apierr.NotFound(req.GetName())
	}
	v, err := s.q.GetProposalVote(ctx, s.db, store.GetProposalVoteParams{ProposalID: id, Person: person})
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	return voteFromRow(v), nil
}

// ListVotes lists votes by person; while the tally is hidden, only the caller's own.
func (s *Server) ListVotes(ctx context.Context, req *roadmapv1.ListVotesRequest) (*roadmapv1.ListVotesResponse, error) {
	id := resource.ID(proposals, req.GetParent())
	page, err := pagination.Start(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint("votes", id))
	if err != nil {
		return nil, err
	}
	p, now, err := s.load(ctx, id, req.GetParent())
	if err != nil {
		return nil, err
	}
	params := store.ListProposalVotesParams{ProposalID: id, After: page.After(), PageSize: page.Limit()}
	if stateOf(p, now).HiddenTally {
		caller := auth.From(ctx).GetPerson()
		if caller == "" {
			return &roadmapv1.ListVotesResponse{}, nil
		}
		params.OnlyPerson = convert.Text(caller)
	}
	rows, err := s.q.ListProposalVotes(ctx, s.db, params)
	if err != nil {
		return nil, err
	}
	resp := &roadmapv1.ListVotesResponse{}
	resp.Votes, resp.NextPageToken = pagination.FinishAs(page, rows, func(r store.ProposalVote) string { return r.Person }, voteFromRow)
	return resp, nil
}

func indexed(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }
