package events

import (
	"os"
	"strings"
	"testing"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
)

// TestDocsListEveryType: docs/events.md names every declared type.
func TestDocsListEveryType(t *testing.T) {
	doc, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range Types() {
		if !strings.Contains(string(doc), "`"+typ+"`") {
			t.Errorf("docs/events.md does not list %s", typ)
		}
	}
}

// TestRecord: an event is a valid CloudEvent with a fresh UUID, its
// service as source, camelCase JSON data and its audience; an undeclared
// type or an empty subject is refused.
func TestRecord(t *testing.T) {
	rec, err := Record(Event{Type: DonationCreated, Subject: "donations/1",
		Data: &financev1.Donation{Name: "donations/1", DonorName: "Ada"}, Audience: Holders("finance.record").With("people/ada", "")})
	if err != nil {
		t.Fatal(err)
	}
	ev := rec.GetEvent()
	if len(ev.GetId()) != 36 || ev.GetSource() != "/guildhall/finance" || ev.GetSpecVersion() != "1.0" ||
		ev.GetData().GetFields()["donorName"].GetStringValue() != "Ada" || ev.GetTime().AsTime().Location().String() != "UTC" {
		t.Errorf("record: %v", ev)
	}
	if a := rec.GetAudience(); a.GetAnyone() || len(a.GetPeople()) != 1 || a.GetPermissions()[0] != "finance.record" {
		t.Errorf("audience: %v", a)
	}
	if _, err := Record(Event{Type: "dev.guildhall.nope.v1", Subject: "x"}); err == nil {
		t.Error("an undeclared type was accepted")
	}
	if _, err := Record(Event{Type: DonationCreated}); err == nil {
		t.Error("an event without a subject was accepted")
	}
}
