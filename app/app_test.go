package app_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/guildhall/guildhall/app/apptest"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
)

var serviceNames = []string{
	"guildhall.membership.v1.MembershipService",
	"guildhall.roadmap.v1.RoadmapService",
	"guildhall.finance.v1.FinanceService",
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestReflection(t *testing.T) {
	env := apptest.Start(t)
	stream, err := reflectionpb.NewServerReflectionClient(env.Conn).ServerReflectionInfo(timeout(t))
	if err != nil {
		t.Fatal(err)
	}
	ask := func(req *reflectionpb.ServerReflectionRequest) *reflectionpb.ServerReflectionResponse {
		t.Helper()
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if e := resp.GetErrorResponse(); e != nil {
			t.Fatalf("reflection error %d: %s", e.GetErrorCode(), e.GetErrorMessage())
		}
		return resp
	}

	resp := ask(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
	var listed []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		listed = append(listed, s.GetName())
	}
	for _, want := range append(slices.Clone(serviceNames), "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection") {
		if !slices.Contains(listed, want) {
			t.Errorf("reflection lists %v; %s is missing", listed, want)
		}
	}

	// grpcurl needs more than the names: the descriptors, with every method.
	for _, name := range serviceNames {
		resp := ask(&reflectionpb.ServerReflectionRequest{
			MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: name},
		})
		found := false
		for _, b := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
			fd := &descriptorpb.FileDescriptorProto{}
			if err := proto.Unmarshal(b, fd); err != nil {
				t.Fatal(err)
			}
			for _, sd := range fd.GetService() {
				if fd.GetPackage()+"."+sd.GetName() == name {
					found = len(sd.GetMethod()) >= 5
				}
			}
		}
		if !found {
			t.Errorf("reflection gives no descriptor with the methods of %s", name)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
}

func TestHealth(t *testing.T) {
	env := apptest.Start(t)
	client := healthpb.NewHealthClient(env.Conn)
	for _, svc := range append([]string{""}, serviceNames...) {
		resp, err := client.Check(timeout(t), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check(%q) = %v, %v; want SERVING", svc, resp.GetStatus(), err)
		}
	}
	_, err := client.Check(timeout(t), &healthpb.HealthCheckRequest{Service: "guildhall.nothing.v1.Nothing"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("Check of an unknown service: %v, want NotFound", err)
	}
}

// details splits a status's google.rpc details.
func details(t *testing.T, err error) (*status.Status, *errdetails.BadRequest, *errdetails.ErrorInfo) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("not a gRPC status: %v", err)
	}
	var br *errdetails.BadRequest
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			br = d
		case *errdetails.ErrorInfo:
			info = d
		}
	}
	if info == nil || info.GetDomain() != "guildhall.dev" {
		t.Fatalf("%v: want an ErrorInfo with domain guildhall.dev, got details %v", err, st.Details())
	}
	return st, br, info
}

func TestErrors(t *testing.T) {
	env := apptest.Start(t)
	members := membershipv1.NewMembershipServiceClient(env.Conn)

	admin := apptest.Outgoing(timeout(t), apptest.AdminToken)
	_, err := members.CreatePerson(admin, &membershipv1.CreatePersonRequest{PersonId: "jane", RequestId: uuid.NewString()})
	st, br, info := details(t, err)
	if st.Code() != codes.InvalidArgument || info.GetReason() != "INVALID_ARGUMENT" {
		t.Fatalf("CreatePerson without a person: %v (reason %s), want InvalidArgument", err, info.GetReason())
	}
	var fields []string
	for _, v := range br.GetFieldViolations() {
		fields = append(fields, v.GetField())
		if v.GetDescription() == "" {
			t.Errorf("violation on %s has no description", v.GetField())
		}
	}
	if !slices.Contains(fields, "person") {
		t.Fatalf("CreatePerson without a person: violations on %v, want one on person", fields)
	}

	_, err = members.GetPerson(admin, &membershipv1.GetPersonRequest{Name: "people/nobody"})
	st, _, info = details(t, err)
	if st.Code() != codes.NotFound || info.GetReason() != "NOT_FOUND" || info.GetMetadata()["name"] != "people/nobody" {
		t.Fatalf("GetPerson(people/nobody): %v %v, want NotFound naming it", err, info)
	}
}

func TestReleaseLifecycle(t *testing.T) {
	env := apptest.Start(t)
	ctx := apptest.Outgoing(timeout(t), apptest.AdminToken)
	roadmap := roadmapv1.NewRoadmapServiceClient(env.Conn)
	db := env.DB(t, "roadmap")

	created, err := roadmap.CreateRelease(ctx, &roadmapv1.CreateReleaseRequest{
		ReleaseId: "v10",
		Release:   &roadmapv1.Release{DisplayName: "SME Server 10", BasePlatform: "Rocky 8", TargetDate: "2027-06-30"},
		RequestId: uuid.NewString(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.GetName() != "releases/v10" || created.GetEtag() == "" || created.GetState() != roadmapv1.Release_STATE_PLANNED ||
		created.GetCreateTime() == nil {
		t.Fatalf("created %v", created)
	}

	got, err := roadmap.GetRelease(ctx, &roadmapv1.GetReleaseRequest{Name: "releases/v10"})
	if err != nil || !proto.Equal(got, created) {
		t.Fatalf("get = %v, %v; want %v", got, err, created)
	}

	// Only the masked field changes, even though display_name is set too.
	updated, err := roadmap.UpdateRelease(ctx, &roadmapv1.UpdateReleaseRequest{
		Release:    &roadmapv1.Release{Name: "releases/v10", Notes: "Beta in spring", DisplayName: "ignored", Etag: created.GetEtag()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"notes"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if updated.GetNotes() != "Beta in spring" || updated.GetDisplayName() != "SME Server 10" || updated.GetEtag() == created.GetEtag() {
		t.Fatalf("updated %v", updated)
	}
	var notes, displayName string
	if err := db.QueryRow(ctx, "SELECT notes, display_name FROM releases WHERE id = 'v10'").Scan(&notes, &displayName); err != nil {
		t.Fatal(err)
	}
	if notes != "Beta in spring" || displayName != "SME Server 10" {
		t.Fatalf("stored notes %q display name %q", notes, displayName)
	}

	// A write based on the first read is refused and changes nothing.
	_, err = roadmap.UpdateRelease(ctx, &roadmapv1.UpdateReleaseRequest{
		Release:    &roadmapv1.Release{Name: "releases/v10", Notes: "lost update", Etag: created.GetEtag()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"notes"}},
	})
	st, _, info := details(t, err)
	if st.Code() != codes.Aborted || info.GetReason() != "ETAG_MISMATCH" {
		t.Fatalf("stale update: %v reason %s, want Aborted ETAG_MISMATCH", err, info.GetReason())
	}
	_, err = roadmap.DeleteRelease(ctx, &roadmapv1.DeleteReleaseRequest{Name: "releases/v10", Etag: created.GetEtag()})
	if st, _, info := details(t, err); st.Code() != codes.Aborted || info.GetReason() != "ETAG_MISMATCH" {
		t.Fatalf("stale delete: %v reason %s, want Aborted ETAG_MISMATCH", err, info.GetReason())
	}
	if err := db.QueryRow(ctx, "SELECT notes FROM releases WHERE id = 'v10'").Scan(&notes); err != nil || notes != "Beta in spring" {
		t.Fatalf("after stale writes: notes %q, %v", notes, err)
	}

	if _, err := roadmap.DeleteRelease(ctx, &roadmapv1.DeleteReleaseRequest{Name: "releases/v10", Etag: updated.GetEtag()}); err != nil {
		t.Fatal(err)
	}
	_, err = roadmap.GetRelease(ctx, &roadmapv1.GetReleaseRequest{Name: "releases/v10"})
	if st, _, _ := details(t, err); st.Code() != codes.NotFound {
		t.Fatalf("get after delete: %v", err)
	}
	var n int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM releases").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d rows after delete (%v)", n, err)
	}
}

func TestRequestIDMetadata(t *testing.T) {
	env := apptest.Start(t)
	members := membershipv1.NewMembershipServiceClient(env.Conn)
	health := healthpb.NewHealthClient(env.Conn)
	calls := map[string]func(context.Context, ...grpc.CallOption) error{
		"ok": func(ctx context.Context, o ...grpc.CallOption) error {
			_, err := members.ListPeople(ctx, &membershipv1.ListPeopleRequest{}, o...)
			return err
		},
		"error": func(ctx context.Context, o ...grpc.CallOption) error {
			_, err := members.GetPerson(ctx, &membershipv1.GetPersonRequest{Name: "people/nobody"}, o...)
			if status.Code(err) != codes.NotFound {
				return err
			}
			return nil
		},
		"health": func(ctx context.Context, o ...grpc.CallOption) error {
			_, err := health.Check(ctx, &healthpb.HealthCheckRequest{}, o...)
			return err
		},
	}
	for callName, call := range calls {
		for _, c := range []struct {
			name, sent string
			echoed     bool
		}{
			{"given", "trace-abc-123", true},
			{"absent", "", false},
			{"invalid", "not valid!", false},
		} {
			t.Run(callName+" "+c.name, func(t *testing.T) {
				ctx := timeout(t)
				if c.sent != "" {
					ctx = metadata.AppendToOutgoingContext(ctx, "x-request-id", c.sent)
				}
				var header metadata.MD
				if err := call(ctx, grpc.Header(&header)); err != nil {
					t.Fatal(err)
				}
				got := header.Get("x-request-id")
				if len(got) != 1 {
					t.Fatalf("x-request-id in response header: %q, want one value", got)
				}
				if c.echoed && got[0] != c.sent {
					t.Fatalf("x-request-id %q, want %q", got[0], c.sent)
				}
				if !c.echoed {
					if _, err := uuid.Parse(got[0]); err != nil {
						t.Fatalf("x-request-id %q, want a generated UUID", got[0])
					}
				}
			})
		}
	}
}
