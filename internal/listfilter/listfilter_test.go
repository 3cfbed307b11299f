package listfilter_test

import (
	"testing"

	"google.golang.org/grpc/status"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/listfilter"
)

func TestApply(t *testing.T) {
	req := &roadmapv1.ListItemsRequest{Filter: `state = "STATE_DONE" AND ownerTeam = "teams/docs" AND stale = false`}
	if err := listfilter.Apply(req); err != nil {
		t.Fatal(err)
	}
	if req.GetState() != roadmapv1.Item_STATE_DONE || req.GetOwnerTeam() != "teams/docs" || req.Stale == nil || req.GetStale() {
		t.Fatalf("filter not applied: %v", req)
	}
	sub := &financev1.ListSubscriptionsRequest{Filter: "overdue = true"}
	if err := listfilter.Apply(sub); err != nil || !sub.GetOverdue() {
		t.Fatalf("overdue: %v %v", err, sub)
	}
	if err := listfilter.Apply(&roadmapv1.ListItemsRequest{}); err != nil {
		t.Fatalf("no filter: %v", err)
	}
	for _, bad := range []string{
		`state =`, `nosuch = "x"`, `state = "STATE_NOPE"`, `state = "STATE_DONE" OR state = "STATE_PLANNED"`,
		`NOT stale`, `state = "STATE_DONE" AND state = "STATE_DONE"`, `page_size = 3`, `stale = "yes"`,
	} {
		err := listfilter.Apply(&roadmapv1.ListItemsRequest{Filter: bad})
		st, _ := status.FromError(err)
		if err == nil || st.Code() != 3 || len(st.Details()) == 0 {
			t.Errorf("filter %q: want INVALID_ARGUMENT on filter, got %v", bad, err)
		}
	}
	if err := listfilter.Apply(&roadmapv1.ListItemsRequest{Filter: `state = "STATE_DONE"`, State: roadmapv1.Item_STATE_PLANNED}); err == nil {
		t.Error("a filter contradicting a parameter was accepted")
	}
}
