package app

import (
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// roundRobin spreads calls over every address a target resolves to (every
// replica), as grpc-go's round_robin balancer does, instead of the default
// pick_first, which sends them all to one.
const roundRobin = `{"loadBalancingConfig": [{"round_robin": {}}]}`

// Dial connects to a Guildhall service over plaintext gRPC. target is an
// address ("finance:9093"), a gRPC name ("dns:///finance:9093", whose
// resolved addresses are all used), or a comma-separated list of replica
// addresses ("10.0.0.1:9093,10.0.0.2:9093"); calls are balanced round-robin
// over the replicas that are up.
func Dial(target string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts = append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(roundRobin),
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
