package membership

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/job"
	"github.com/guildhall/guildhall/internal/mail"
	"github.com/guildhall/guildhall/internal/mail/templates"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/membership/store"
)

// signInAck is the whole answer to RequestSignIn, for every address.
const signInAck = "If this address belongs to someone here, a sign-in link is on its way to it. It works once, for a few minutes."

// sessionMaxAge bounds renewals: a session ends this long after sign-in.
const sessionMaxAge = 30 * 24 * time.Hour

// SignIn configures email sign-in links.
type SignIn struct {
	// Mail sends the links; Templates renders them (kind "signin-link").
	Mail      mail.Sender
	Templates *templates.Set
	// PublicURL is where people reach Guildhall; links lead to its board.
	PublicURL string
	// CodeTTL is how long a link works; SessionTTL how long a session lasts
	// unless renewed.
	CodeTTL, SessionTTL time.Duration
}

// signIn is the server's sign-in state: its settings, the rate limits of
// RequestSignIn and the sends under way.
type signIn struct {
	SignIn
	perAddress, perClient *limiters
	sending               chan struct{}
	wg                    sync.WaitGroup
}

// Rate limits of RequestSignIn, per replica: a few links per address (its
// owner may mistype or lose one), more per client address (people behind
// one NAT).
var (
	perAddressLimit = limit{every: 5 * time.Minute, burst: 3}
	perClientLimit  = limit{every: 30 * time.Second, burst: 10}
)

func newSignIn(o SignIn) *signIn {
	if o.CodeTTL <= 0 {
		o.CodeTTL = 15 * time.Minute
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = time.Hour
	}
	return &signIn{SignIn: o, perAddress: newLimiters(perAddressLimit), perClient: newLimiters(perClientLimit),
		sending: make(chan struct{}, 32)}
}

// newCode returns a fresh sign-in code (160 random bits, base32) and the
// hash that is stored.
func newCode() (code string, hash []byte) {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	code = strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	return code, hashSecret(code)
}

// RequestSignIn stores a code for the address and, if it is exactly one
// person's, mails them the link, off the request path. Known and unknown
// addresses do the same work here (a lookup and an insert) and get the
// same answer.
func (s *Server) RequestSignIn(ctx context.Context, req *membershipv1.RequestSignInRequest) (*membershipv1.RequestSignInResponse, error) {
	now := s.now()
	email := strings.ToLower(strings.TrimSpace(req.GetEmail()))
	if wait := s.signin.perClient.take(clientAddr(ctx), now); wait > 0 {
		return nil, apierr.RateLimited("too many sign-in requests from this address; try again later", wait)
	}
	if wait := s.signin.perAddress.take(email, now); wait > 0 {
		return nil, apierr.RateLimited("too many sign-in links asked for this email address; try again later", wait)
	}
	matches, err := s.q.PeopleByVerifiedEmail(ctx, s.db, email)
	if err != nil {
		return nil, err
	}
	var person pgtype.Text
	if len(matches) == 1 {
		person = pgtype.Text{String: matches[0].ID, Valid: true}
	}
	code, hash := newCode()
	if err := s.q.CreateSignInCode(ctx, s.db, store.CreateSignInCodeParams{
		CodeHash: hash, PersonID: person, ExpireTime: now.Add(s.signin.CodeTTL), CreateTime: now,
	}); err != nil {
		return nil, err
	}
	if person.Valid {
		s.sendSignInLink(matches[0], code)
	}
	return &membershipv1.RequestSignInResponse{Message: signInAck}, nil
}

// sendSignInLink mails the link in the background, so the answer does not
// wait for (or reveal) the relay. At most cap(sending) sends run at once;
// past that a link is dropped and logged (the person may ask again).
func (s *Server) sendSignInLink(p store.PeopleByVerifiedEmailRow, code string) {
	select {
	case s.signin.sending <- struct{}{}:
	default:
		s.log.Warn("sign-in link not sent: too many sends under way", zap.String("person", resource.Name(people, p.ID)))
		return
	}
	s.signin.wg.Add(1)
	go func() {
		defer func() { <-s.signin.sending; s.signin.wg.Done() }()
		link := strings.TrimRight(s.signin.PublicURL, "/") + "/board/#signin=" + code
		r, err := s.signin.Templates.Render("signin-link", templates.Data{
			Site: templates.Site{Name: "Guildhall", URL: s.signin.PublicURL}, Recipient: p.DisplayName,
			Fields: map[string]string{"link": link, "code": code, "minutes": strconv.Itoa(int(s.signin.CodeTTL.Minutes()))},
		})
		if err != nil {
			s.log.Error("sign-in link not rendered", zap.Error(err))
			return
		}
		m := mail.Message{Kind: "signin.link", To: p.Email, Subject: r.Subject, Text: r.Text, HTML: r.HTML,
			Headers: map[string]string{"Auto-Submitted": "auto-generated"}}
		for attempt := 0; attempt < 3; attempt++ {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err = s.signin.Mail.Send(ctx, m)
			cancel()
			if err == nil || mail.Permanent(err) {
				break
			}
			time.Sleep(time.Duration(attempt+1) * time.Second)
		}
		if err != nil {
			s.log.Warn("sign-in link not sent", zap.String("person", resource.Name(people, p.ID)), zap.Error(err))
		}
	}()
}

// CompleteSignIn spends a code and makes a session token of its person.
func (s *Server) CompleteSignIn(ctx context.Context, req *membershipv1.CompleteSignInRequest) (*membershipv1.CompleteSignInResponse, error) {
	now := s.now()
	secret, hash := NewSecret()
	var row store.Token
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		person, err := s.q.UseSignInCode(ctx, tx, store.UseSignInCodeParams{CodeHash: hashSecret(strings.TrimSpace(req.GetCode())), Now: now})
		if err != nil {
			return err
		}
		expire := now.Add(s.signin.SessionTTL)
		row, err = s.q.CreateSessionToken(ctx, tx, store.CreateSessionTokenParams{
			ID: resource.NewID(), PersonID: person.String, DisplayName: "email sign-in", SecretHash: hash, ExpireTime: &expire, CreateTime: now,
		})
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apierr.Unauthenticated("unknown, used or expired sign-in code: ask for a new link")
	}
	if err != nil {
		return nil, err
	}
	return &membershipv1.CompleteSignInResponse{Token: tokenFromRow(row), Secret: secret}, nil
}

// RenewToken extends a live session by SessionTTL, within sessionMaxAge of
// its sign-in.
func (s *Server) RenewToken(ctx context.Context, req *membershipv1.RenewTokenRequest) (*membershipv1.Token, error) {
	person, id := resource.SplitChild(req.GetName())
	now := s.now()
	tok, err := s.q.GetToken(ctx, s.db, store.GetTokenParams{PersonID: person, ID: id})
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	expire := now.Add(s.signin.SessionTTL)
	if limit := tok.CreateTime.Add(sessionMaxAge); expire.After(limit) {
		expire = limit
	}
	var row store.Token
	err = database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		if row, err = s.q.RenewSessionToken(ctx, tx, store.RenewSessionTokenParams{PersonID: person, ID: id, ExpireTime: expire, Now: now}); err != nil {
			return err
		}
		return s.touch(ctx, tx)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apierr.FailedPrecondition(apierr.ReasonFailedPrecondition,
			"only a sign-in session that has not expired or been revoked can be renewed; sign in again")
	}
	if err != nil {
		return nil, err
	}
	return tokenFromRow(row), nil
}

// signInPurge deletes codes a day after they expired.
func (s *Server) signInPurge() job.Job {
	return job.Job{
		Name: config.Membership + ".signin-purge", Interval: time.Hour, Exclusive: s.db,
		Pass: func(ctx context.Context) (bool, error) {
			_, err := s.q.PurgeSignInCodes(ctx, s.db, s.now().Add(-24*time.Hour))
			return false, err
		},
	}
}

// limit is a token bucket: burst at once, one more every every.
type limit struct {
	every time.Duration
	burst int
}

// limiters keeps a bucket per key, forgetting full ones when it grows.
type limiters struct {
	l  limit
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

func newLimiters(l limit) *limiters { return &limiters{l: l, m: map[string]*rate.Limiter{}} }

// take spends one of key's allowance at now, or returns how long until one
// is back (and spends nothing).
func (ls *limiters) take(key string, now time.Time) time.Duration {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if len(ls.m) >= 50000 {
		for k, v := range ls.m {
			if v.TokensAt(now) >= float64(ls.l.burst) {
				delete(ls.m, k)
			}
		}
	}
	lim, ok := ls.m[key]
	if !ok {
		lim = rate.NewLimiter(rate.Every(ls.l.every), ls.l.burst)
		ls.m[key] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return max(d.Round(time.Second), time.Second)
	}
	return 0
}
