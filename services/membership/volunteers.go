package membership

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/types/known/timestamppb"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/clientip"
	"github.com/guildhall/guildhall/internal/convert"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/lifecycle"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/membership/store"
)

const volunteers = "volunteers"

// offerAck is all an offer's sender learns, whatever happened to it.
const offerAck = "Thank you for offering to help! A team lead will contact you soon to find you something to do."

// funnel is the way forward, one step at a time.
var funnel = []membershipv1.Volunteer_State{
	membershipv1.Volunteer_STATE_NEW, membershipv1.Volunteer_STATE_CONTACTED, membershipv1.Volunteer_STATE_MATCHED,
	membershipv1.Volunteer_STATE_ONBOARDING, membershipv1.Volunteer_STATE_ACTIVE,
}

// volunteerHistory keeps every offer's moves, with who and when.
var volunteerHistory = lifecycle.History{Collection: volunteers, Table: "volunteer_transitions", Key: "volunteer_id"}

// volunteerMoves are the legal moves of an offer: one step forward through
// the funnel, and any open offer may be declined or withdrawn; ACTIVE,
// DECLINED and WITHDRAWN are final.
var volunteerMoves = func() lifecycle.Machine[membershipv1.Volunteer_State] {
	moves := map[membershipv1.Volunteer_State][]membershipv1.Volunteer_State{}
	for i, st := range funnel[:len(funnel)-1] {
		moves[st] = []membershipv1.Volunteer_State{funnel[i+1], membershipv1.Volunteer_STATE_DECLINED, membershipv1.Volunteer_STATE_WITHDRAWN}
	}
	return lifecycle.New("volunteer", moves)
}()

// OfferHelp records an offer from anyone, token or not, rate-limited per
// client address. It answers only with an acknowledgement.
func (s *Server) OfferHelp(ctx context.Context, req *membershipv1.OfferHelpRequest) (*membershipv1.OfferHelpResponse, error) {
	if !s.offers.allow(clientAddr(ctx), s.now()) {
		return nil, apierr.RateLimited("too many offers from this address; please try again in a minute", time.Minute)
	}
	v := req.GetVolunteer()
	if err := resource.Required("volunteer", map[string]bool{
		"display_name": v.GetDisplayName() != "", "contact": v.GetContact() != "",
	}); err != nil {
		return nil, err
	}
	// A signed-in caller (a person, or a guest under their OpenID Connect
	// identity) can follow their offer's state later (ListVolunteers).
	p := auth.From(ctx)
	_, err := resource.InTx(ctx, s.db, req.GetRequestId(), "OfferHelp", req, func(tx pgx.Tx) (*membershipv1.OfferHelpResponse, error) {
		id := resource.NewID()
		if _, err := s.q.CreateVolunteer(ctx, tx, store.CreateVolunteerParams{
			ID: id, DisplayName: v.GetDisplayName(), Contact: v.GetContact(),
			Skills: convert.NonNil(v.GetSkills()), HoursPerMonth: v.GetHoursPerMonth(), Interests: v.GetInterests(), Now: s.now(),
			OfferedByPerson: resource.ID(people, p.GetPerson()), OfferedByIssuer: p.GetIssuer(), OfferedBySubject: p.GetSubject(),
		}); err != nil {
			return nil, err
		}
		name := resource.Name(volunteers, id)
		return &membershipv1.OfferHelpResponse{Message: offerAck}, s.emit(ctx, tx, events.VolunteerOffered, name,
			&membershipv1.Volunteer{Name: name, State: membershipv1.Volunteer_STATE_NEW}, volunteerAudience().With(p.GetPerson()))
	})
	if err != nil {
		return nil, err
	}
	return &membershipv1.OfferHelpResponse{Message: offerAck}, nil
}

// clientAddr is who sent the request, as internal/clientip decides it the
// same way for every protocol: forwarding headers count only from trusted
// proxies (GUILDHALL_TRUSTED_PROXIES) and the gateway.
func clientAddr(ctx context.Context) string {
	if a := clientip.From(ctx); a != "" {
		return a
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return clientip.FromAddr(p.Addr).String()
	}
	return ""
}

// rateLimiter is a token bucket per key: perMinute tokens, refilled evenly.
type rateLimiter struct {
	perMinute int64
	mu        sync.Mutex
	buckets   map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newRateLimiter(perMinute int64) *rateLimiter {
	return &rateLimiter{perMinute: perMinute, buckets: map[string]*bucket{}}
}

func (l *rateLimiter) allow(key string, now time.Time) bool {
	if l.perMinute <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	capacity := float64(l.perMinute)
	refill := func(b *bucket) {
		if d := now.Sub(b.at); d > 0 {
			b.tokens = math.Min(capacity, b.tokens+d.Minutes()*capacity)
			b.at = now
		}
	}
	if len(l.buckets) > 10000 { // forget full buckets so the map stays small
		for k, b := range l.buckets {
			if refill(b); b.tokens >= capacity {
				delete(l.buckets, k)
			}
		}
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: capacity, at: now}
		l.buckets[key] = b
	}
	refill(b)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// GetVolunteer reads an offer with its history. Offers are private to leads,
// coordinators and admins, and to their owner; to anyone else they do not
// exist (NOT_FOUND), as the rule for private resources says.
func (s *Server) GetVolunteer(ctx context.Context, req *membershipv1.GetVolunteerRequest) (*membershipv1.Volunteer, error) {
	id := resource.ID(volunteers, req.GetName())
	var rows []store.Volunteer
	var err error
	p := auth.From(ctx)
	if seesAllOffers(p) {
		var row store.Volunteer
		row, err = s.q.GetVolunteer(ctx, s.db, id)
		rows = []store.Volunteer{row}
	} else {
		rows, err = s.q.ListOwnVolunteers(ctx, s.db, ownOffers(p, id, "", "", 1))
		if err == nil && len(rows) == 0 {
			err = pgx.ErrNoRows
		}
	}
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	out, err := s.volunteersFromRows(ctx, s.db, rows)
	if err != nil {
		return nil, err
	}
	if !seesAllOffers(p) {
		return out[0], nil // their own, contact and all
	}
	redactContacts(ctx, out)
	return out[0], nil
}

// seesAllOffers: coordinators (and admins) and team leads see every offer;
// anyone else only their own.
func seesAllOffers(p *auth.Principal) bool {
	return auth.Has(p, PermCoordinateVolunteers) || auth.IsAnyLead(p)
}

// ownOffers are the parameters of ListOwnVolunteers for the caller p: their
// person, or their OpenID Connect identity (a guest's, or a person's own).
func ownOffers(p *auth.Principal, id, state, before string, limit int32) store.ListOwnVolunteersParams {
	return store.ListOwnVolunteersParams{
		Person: resource.ID(people, p.GetPerson()), Issuer: p.GetIssuer(), Subject: p.GetSubject(),
		ID: id, State: state, Before: before, PageSize: limit,
	}
}

// ListVolunteers lists offers newest first, optionally of one state: every
// offer for coordinators and leads, the caller's own for anyone else.
func (s *Server) ListVolunteers(ctx context.Context, req *membershipv1.ListVolunteersRequest) (*membershipv1.ListVolunteersResponse, error) {
	state := ""
	if req.GetState() != membershipv1.Volunteer_STATE_UNSPECIFIED {
		state = pgenum.Text(req.GetState())
	}
	p := auth.From(ctx)
	all := seesAllOffers(p) && !req.GetMine()
	// A page token is good only for the list it came from: all offers, or
	// one caller's own.
	scope := "all"
	if !all {
		scope = "own:" + p.GetPerson() + "|" + p.GetIssuer() + "|" + p.GetSubject()
	}
	page, err := pagination.Start(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(volunteers, state, scope))
	if err != nil {
		return nil, err
	}
	var rows []store.Volunteer
	if all {
		rows, err = s.q.ListVolunteers(ctx, s.db, store.ListVolunteersParams{State: state, Before: page.After(), PageSize: page.Limit()})
	} else {
		rows, err = s.q.ListOwnVolunteers(ctx, s.db, ownOffers(p, "", state, page.After(), page.Limit()))
	}
	if err != nil {
		return nil, err
	}
	resp := &membershipv1.ListVolunteersResponse{}
	rows, resp.NextPageToken = pagination.Finish(page, rows, func(r store.Volunteer) string { return r.ID })
	if resp.Volunteers, err = s.volunteersFromRows(ctx, s.db, rows); err != nil {
		return nil, err
	}
	if all {
		redactContacts(ctx, resp.Volunteers) // the owner's own list keeps its contacts
	}
	return resp, nil
}

// TransitionVolunteer moves an offer one legal step through the funnel and
// records who moved it and when.
func (s *Server) TransitionVolunteer(ctx context.Context, req *membershipv1.TransitionVolunteerRequest) (*membershipv1.Volunteer, error) {
	id := resource.ID(volunteers, req.GetName())
	to := req.GetState()
	if req.GetPosition() != "" && to != membershipv1.Volunteer_STATE_MATCHED {
		return nil, apierr.InvalidField("position", "a position is given only when moving to STATE_MATCHED")
	}
	if req.GetPerson() != "" && to != membershipv1.Volunteer_STATE_ACTIVE {
		return nil, apierr.InvalidField("person", "a person is given only when moving to STATE_ACTIVE")
	}
	if to == membershipv1.Volunteer_STATE_MATCHED && req.GetPosition() == "" {
		return nil, apierr.InvalidField("position", "required when moving to STATE_MATCHED: the position the volunteer is matched with")
	}
	if to == membershipv1.Volunteer_STATE_ACTIVE && req.GetPerson() == "" {
		return nil, apierr.InvalidField("person", "required when moving to STATE_ACTIVE: the person the volunteer now is")
	}
	type move = lifecycle.Move[membershipv1.Volunteer_State]
	var out *membershipv1.Volunteer
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		moved, _, err := lifecycle.Transition(ctx, tx, lifecycle.Spec[membershipv1.Volunteer_State, store.Volunteer]{
			Machine: volunteerMoves, Name: req.GetName(), To: to, Etag: req.GetEtag(), Note: req.GetNote(), Now: s.now(),
			Lock: func(tx pgx.Tx) (store.Volunteer, error) { return s.q.GetVolunteerForUpdate(ctx, tx, id) },
			Of: func(r store.Volunteer) (membershipv1.Volunteer_State, string) {
				return volunteerState(r.State), resource.Etag(r.Version)
			},
			Apply: func(tx pgx.Tx, row store.Volunteer, m move) (store.Volunteer, error) {
				params := store.MoveVolunteerParams{ID: id, State: pgenum.Text(m.To), Position: row.Position, PersonID: row.PersonID, Now: m.Time}
				switch m.To {
				case membershipv1.Volunteer_STATE_MATCHED:
					teamID, posID := resource.SplitChild(req.GetPosition())
					pos, err := s.q.GetPosition(ctx, tx, store.GetPositionParams{TeamID: teamID, ID: posID})
					if errors.Is(err, pgx.ErrNoRows) {
						return row, apierr.InvalidField("position", req.GetPosition()+" does not exist")
					} else if err != nil {
						return row, err
					}
					if pos.State != "open" {
						return row, apierr.FailedPrecondition(ReasonPositionNotOpen, req.GetPosition()+" is not open")
					}
					params.Position = req.GetPosition()
				case membershipv1.Volunteer_STATE_ACTIVE:
					personID := resource.ID(people, req.GetPerson())
					if _, err := s.q.GetPerson(ctx, tx, personID); errors.Is(err, pgx.ErrNoRows) {
						return row, apierr.InvalidField("person", req.GetPerson()+" does not exist")
					} else if err != nil {
						return row, err
					}
					params.PersonID = convert.Text(personID)
					// The matched position, if still open, is theirs now; if it was
					// filled or removed meanwhile, the offer is still ACTIVE.
					if teamID, posID := resource.SplitChild(row.Position); posID != "" {
						if _, err := s.fill(ctx, tx, teamID, posID, personID); err != nil && !apierr.HasReason(err, ReasonPositionNotOpen) && !apierr.HasReason(err, apierr.ReasonNotFound) {
							return row, err
						}
					}
				}
				return s.q.MoveVolunteer(ctx, tx, params)
			},
			Record: lifecycle.Record[membershipv1.Volunteer_State](ctx, volunteerHistory, id),
			After:  s.transitioned,
		})
		if err != nil {
			return err
		}
		vs, err := s.volunteersFromRows(ctx, tx, []store.Volunteer{moved})
		if err != nil {
			return err
		}
		redactContacts(ctx, vs) // a lead who declines an offer keeps no contact
		out = vs[0]
		return nil
	})
	return out, err
}

// SuggestPositions ranks open positions for an offer: mostly by how many of
// the skills a position wants the volunteer has, then by whether the
// volunteer's hours cover the position's.
func (s *Server) SuggestPositions(ctx context.Context, req *membershipv1.SuggestPositionsRequest) (*membershipv1.SuggestPositionsResponse, error) {
	v, err := s.q.GetVolunteer(ctx, s.db, resource.ID(volunteers, req.GetName()))
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	open, err := s.q.OpenPositions(ctx, s.db)
	if err != nil {
		return nil, err
	}
	has := map[string]bool{}
	for _, sk := range v.Skills {
		has[strings.ToLower(strings.TrimSpace(sk))] = true
	}
	resp := &membershipv1.SuggestPositionsResponse{}
	for _, p := range open {
		sug := &membershipv1.PositionSuggestion{Position: positionName(p.TeamID, p.ID), Title: p.Title, MatchingSkills: []string{}}
		for _, sk := range p.Skills {
			if has[strings.ToLower(strings.TrimSpace(sk))] {
				sug.MatchingSkills = append(sug.MatchingSkills, sk)
			}
		}
		skills := 0.5 // a position that asks for no particular skill suits anyone somewhat
		if len(p.Skills) > 0 {
			skills = float64(len(sug.MatchingSkills)) / float64(len(p.Skills))
		}
		hours := 0.5 // unknown on either side
		if p.HoursPerMonth > 0 && v.HoursPerMonth > 0 {
			hours = math.Min(1, float64(v.HoursPerMonth)/float64(p.HoursPerMonth))
		}
		sug.Score = math.Round((0.7*skills+0.3*hours)*1000) / 1000
		resp.Suggestions = append(resp.Suggestions, sug)
	}
	slices.SortStableFunc(resp.Suggestions, func(a, b *membershipv1.PositionSuggestion) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Position, b.Position))
	})
	n := int(req.GetPageSize())
	if n == 0 {
		n = 10
	}
	if len(resp.Suggestions) > n {
		resp.Suggestions = resp.Suggestions[:n]
	}
	return resp, nil
}

// GetVolunteerStats computes the funnel in SQL.
func (s *Server) GetVolunteerStats(ctx context.Context, _ *membershipv1.GetVolunteerStatsRequest) (*membershipv1.VolunteerStats, error) {
	counts, err := s.q.VolunteerCountsByState(ctx, s.db)
	if err != nil {
		return nil, err
	}
	f, err := s.q.VolunteerFunnel(ctx, s.db)
	if err != nil {
		return nil, err
	}
	out := &membershipv1.VolunteerStats{CountByState: map[string]int32{}, Total: f.Total, MedianDaysToActive: f.MedianDaysToActive}
	for st := range funnelStates() {
		out.CountByState[st.String()] = 0
	}
	for _, c := range counts {
		out.CountByState[volunteerState(c.State).String()] = c.N
	}
	if f.Total > 0 {
		out.ConversionRate = float64(f.Activated) / float64(f.Total)
	}
	return out, nil
}

func funnelStates() map[membershipv1.Volunteer_State]bool {
	out := map[membershipv1.Volunteer_State]bool{}
	for n := range membershipv1.Volunteer_State_name {
		if n != 0 {
			out[membershipv1.Volunteer_State(n)] = true
		}
	}
	return out
}

func volunteerState(s string) membershipv1.Volunteer_State {
	return membershipv1.Volunteer_State(pgenum.Number(membershipv1.Volunteer_STATE_UNSPECIFIED.Descriptor(), s))
}

func (s *Server) volunteersFromRows(ctx context.Context, db store.DBTX, rows []store.Volunteer) ([]*membershipv1.Volunteer, error) {
	out := make([]*membershipv1.Volunteer, len(rows))
	for i, r := range rows {
		v := &membershipv1.Volunteer{
			Name:          resource.Name(volunteers, r.ID),
			DisplayName:   r.DisplayName,
			Contact:       r.Contact,
			Skills:        r.Skills,
			HoursPerMonth: r.HoursPerMonth,
			Interests:     r.Interests,
			State:         volunteerState(r.State),
			Position:      r.Position,
			CreateTime:    timestamppb.New(r.CreateTime),
			UpdateTime:    timestamppb.New(r.UpdateTime),
			Etag:          resource.Etag(r.Version),
		}
		if r.PersonID.Valid {
			v.Person = resource.Name(people, r.PersonID.String)
		}
		out[i] = v
	}
	return out, lifecycle.Fill(ctx, db, volunteerHistory, out...)
}
