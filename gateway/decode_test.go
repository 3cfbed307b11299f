package gateway_test

import (
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/guildhall/guildhall/gateway"
	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
)

// The API's decoder takes a body into a message, or into a message field
// such as CreateDonation's donation, exactly as grpc-gateway's own decoder
// does with the same options, and refuses what that one refuses, and a
// body of more than one JSON value besides.
func TestBodyDecoding(t *testing.T) {
	ours := gateway.Marshaler()
	theirs := &runtime.JSONPb{UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false}}
	for _, c := range []struct {
		name, body string
		ok         bool
	}{
		{"message", `{"amount":{"currencyCode":"USD","minorUnits":"100"},"donorName":"Ann","visibility":"VISIBILITY_PUBLIC"}`, true},
		{"around white space", " \n{\"donorName\":\"Ann\"}\t\n", true},
		{"empty object", `{}`, true},
		{"escapes", `{"donorName":"A\u00e9\n\"x\""}`, true},
		{"unknown field", `{"donorNme":"Ann"}`, false},
		{"duplicate field", `{"donorName":"A","donorName":"B"}`, false},
		{"wrong type", `{"donorName":1}`, false},
		{"null", `null`, false},
		{"array", `[]`, false},
		{"trailing object", `{"donorName":"A"}{"donorName":"B"}`, false},
		{"trailing junk", `{"donorName":"A"} junk`, false},
		{"cut short", `{"donorName":"A"`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Into a message field (**Donation), and into a message.
			var field *financev1.Donation
			err := ours.NewDecoder(strings.NewReader(c.body)).Decode(&field)
			msg := &financev1.Donation{}
			errMsg := ours.NewDecoder(strings.NewReader(c.body)).Decode(msg)
			if (err == nil) != c.ok || (errMsg == nil) != c.ok {
				t.Fatalf("field: %v, message: %v; want ok=%v", err, errMsg, c.ok)
			}
			if !c.ok {
				return
			}
			var want *financev1.Donation
			if err := theirs.NewDecoder(strings.NewReader(c.body)).Decode(&want); err != nil {
				t.Fatalf("grpc-gateway's decoder: %v", err)
			}
			if !proto.Equal(field, want) || !proto.Equal(msg, want) {
				t.Errorf("decoded %v and %v, grpc-gateway's decoder %v", field, msg, want)
			}
		})
	}
}

// BenchmarkBodyDecoding decodes a donation's body as CreateDonation's is
// decoded: with the API's decoder, and with grpc-gateway's own (which reads
// a stream and would take the first of two values) for comparison.
func BenchmarkBodyDecoding(b *testing.B) {
	body := `{"amount":{"currencyCode":"USD","minorUnits":"100"},"donorName":"Load","visibility":"VISIBILITY_PUBLIC","channel":"CHANNEL_PAYPAL"}`
	for _, m := range []struct {
		name string
		m    runtime.Marshaler
	}{
		{"api", gateway.Marshaler()},
		{"grpc-gateway", &runtime.JSONPb{}},
	} {
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var d *financev1.Donation
				if err := m.m.NewDecoder(strings.NewReader(body)).Decode(&d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
