package app

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// serviceConfig is the gRPC service config of every dialled connection
// (https://github.com/grpc/grpc/blob/master/doc/service_config.md).
//
// It spreads calls over every address a target resolves to (every
// replica), as grpc-go's round_robin balancer does, instead of the default
// pick_first, which sends them all to one.
//
// And it retries reads (gRFC A6): a call to a method bound to HTTP GET (the
// AIP-131/132 Get and List methods, and the custom reads) that fails
// UNAVAILABLE, as one does when the replica serving it is killed or
// restarting mid-call, is tried again on a replica that is up, up to three
// attempts in all. Writes are not retried here: one that may have reached a
// replica is its caller's to retry, with its request id.
func serviceConfig() string {
	type name struct {
		Service string `json:"service"`
		Method  string `json:"method"`
	}
	reads := []name{}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "guildhall.") {
			return true
		}
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				m := sd.Methods().Get(j)
				if rule, ok := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule); ok && rule.GetGet() != "" {
					reads = append(reads, name{string(sd.FullName()), string(m.Name())})
				}
			}
		}
		return true
	})
	cfg := map[string]any{
		"loadBalancingConfig": []any{map[string]any{"round_robin": map[string]any{}}},
		"methodConfig": []any{map[string]any{
			"name": reads,
			"retryPolicy": map[string]any{
				"maxAttempts": 3, "initialBackoff": "0.1s", "maxBackoff": "1s", "backoffMultiplier": 2,
				"retryableStatusCodes": []string{"UNAVAILABLE"},
			},
		}},
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		panic(err) // maps of strings and numbers always encode
	}
	return string(b)
}

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
		grpc.WithDefaultServiceConfig(serviceConfig()),
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
