// Package actas lets a client act as the people of a story, for demo data:
// a seed records each status update, proposal, expense and approval as the
// person who would make it, not as the admin who runs the seed. It must not
// be used to act on anyone's behalf outside seeding.
package actas

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/auth"
)

// Conn calls over a channel with one bearer token.
type Conn struct {
	raw      grpc.ClientConnInterface
	creds    auth.TokenCredentials
	people   *People
	services map[string]grpc.ClientConnInterface // channels by service name
}

// Invoke implements grpc.ClientConnInterface.
func (c *Conn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return c.raw.Invoke(ctx, method, args, reply, append(opts, grpc.PerRPCCredentials(c.creds))...)
}

// NewStream implements grpc.ClientConnInterface.
func (c *Conn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return c.raw.NewStream(ctx, desc, method, append(opts, grpc.PerRPCCredentials(c.creds))...)
}

// People makes short-lived tokens for people through membership, as an
// admin, and revokes them on Close.
type People struct {
	membership membershipv1.MembershipServiceClient
	mu         sync.Mutex
	tokens     map[string]string // person → secret
	names      []string          // token names, for Close
}

// Admin returns a connection calling with the admin token, whose As
// connections act as people. services holds a channel for each service by
// name ("membership", "roadmap", "finance"); one channel serves them all
// when services has only that one (a `dev` process, tests). The returned
// connection calls membership.
func Admin(token string, services map[string]grpc.ClientConnInterface) *Conn {
	raw := services["membership"]
	p := &People{tokens: map[string]string{}}
	admin := &Conn{raw: raw, creds: auth.TokenCredentials(token), people: p, services: services}
	p.membership = membershipv1.NewMembershipServiceClient(&Conn{raw: raw, creds: auth.TokenCredentials(token)})
	return admin
}

// On returns conn's token and people on the channel of service; a conn not
// made by Admin, or one service on one channel, is returned as it is.
func On(conn grpc.ClientConnInterface, service string) grpc.ClientConnInterface {
	c, ok := conn.(*Conn)
	if !ok || c.services[service] == nil {
		return conn
	}
	return &Conn{raw: c.services[service], creds: c.creds, people: c.people, services: c.services}
}

// As returns a connection on conn's channel acting as person
// (`people/{person}`), with a token that expires within the hour and is
// revoked by Close. The person must exist. A conn not made by Admin is
// returned as it is: its calls stay the caller's own.
func As(ctx context.Context, conn grpc.ClientConnInterface, person string) (grpc.ClientConnInterface, error) {
	c, ok := conn.(*Conn)
	if !ok || c.people == nil {
		return conn, nil
	}
	secret, err := c.people.token(ctx, person)
	if err != nil {
		return nil, fmt.Errorf("act as %s: %w", person, err)
	}
	return &Conn{raw: c.raw, creds: auth.TokenCredentials(secret), people: c.people, services: c.services}, nil
}

func (p *People) token(ctx context.Context, person string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.tokens[person]; ok {
		return s, nil
	}
	resp, err := p.membership.CreateToken(ctx, &membershipv1.CreateTokenRequest{Parent: person, Token: &membershipv1.Token{
		DisplayName: "demo data seeding", ExpireTime: timestamppb.New(time.Now().Add(time.Hour)),
	}})
	if err != nil {
		return "", err
	}
	p.tokens[person] = resp.GetSecret()
	p.names = append(p.names, resp.GetToken().GetName())
	return resp.GetSecret(), nil
}

// Close revokes every token made for people through conn (an Admin conn).
func Close(ctx context.Context, conn grpc.ClientConnInterface) error {
	c, ok := conn.(*Conn)
	if !ok || c.people == nil {
		return nil
	}
	p := c.people
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, name := range p.names {
		if _, err := p.membership.RevokeToken(ctx, &membershipv1.RevokeTokenRequest{Name: name}); err != nil {
			return fmt.Errorf("revoke %s: %w", name, err)
		}
	}
	p.names, p.tokens = nil, map[string]string{}
	return nil
}
