package app

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// roundRobin spreads calls over every address a target resolves to (every
// replica), as grpc-go's round_robin balancer does, instead of the default
// pick_first, which sends them all to one.
const roundRobin = `{"loadBalancingConfig": [{"round_robin": {}}]}`

// reconnect is how soon a client tries a replica again after losing it: a
// restarted replica takes calls again within about MaxDelay, instead of
// grpc-go's default of up to two minutes.
var reconnect = grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
	MinConnectTimeout: 5 * time.Second,
}

// Dial connects to a Guildhall service over plaintext gRPC. target is an
// address ("finance:9093"), a gRPC name ("dns:///finance:9093", whose
// resolved addresses are all used), or a comma-separated list of replica
// addresses ("10.0.0.1:9093,10.0.0.2:9093"); calls are balanced round-robin
// over the replicas that are up.
func Dial(target string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts = append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(roundRobin),
		grpc.WithConnectParams(reconnect),
	}, opts...)
	name := target
	if addrs := strings.Split(target, ","); len(addrs) > 1 {
		var state resolver.State
		for _, a := range addrs {
			if a = strings.TrimSpace(a); a != "" {
				state.Addresses = append(state.Addresses, resolver.Address{Addr: a})
			}
		}
		r := manual.NewBuilderWithScheme("guildhall-replicas")
		r.InitialState(state)
		name = r.Scheme() + ":///" + target
		opts = append(opts, grpc.WithResolvers(r))
	}
	conn, err := grpc.NewClient(name, opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", target, err)
	}
	return conn, nil
}
