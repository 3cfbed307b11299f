package events

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	eventsv1 "github.com/guildhall/guildhall/gen/go/guildhall/events/v1"
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
		ev.GetData() != nil || ev.GetTime().AsTime().Location().String() != "UTC" {
		t.Errorf("record: %v", ev)
	}
	// protojson varies its whitespace on purpose: compare what it says.
	var data map[string]any
	if err := json.Unmarshal(rec.GetDataJson(), &data); err != nil || len(data) != 2 ||
		data["name"] != "donations/1" || data["donorName"] != "Ada" {
		t.Errorf("data_json: %s (%v)", rec.GetDataJson(), err)
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

// TestRecordData: an event's data is data_json as sent, or its Struct
// encoded, or {}; data_json must be one JSON object, without U+0000 (which
// jsonb refuses), and never beside a Struct.
func TestRecordData(t *testing.T) {
	st, _ := structpb.NewStruct(map[string]any{"name": "x"})
	for _, c := range []struct {
		name string
		rec  *eventsv1.EventRecord
		want string // "" when refused
	}{
		{"json", &eventsv1.EventRecord{Event: &eventsv1.Event{}, DataJson: []byte(` {"a": [1, "b"]}`)}, ` {"a": [1, "b"]}`},
		{"struct", &eventsv1.EventRecord{Event: &eventsv1.Event{Data: st}}, `{"name":"x"}`},
		{"neither", &eventsv1.EventRecord{Event: &eventsv1.Event{}}, `{}`},
		{"escaped backslash", &eventsv1.EventRecord{DataJson: []byte(`{"a":"\\u0000"}`)}, `{"a":"\\u0000"}`},
		{"both", &eventsv1.EventRecord{Event: &eventsv1.Event{Data: st}, DataJson: []byte(`{}`)}, ""},
		{"array", &eventsv1.EventRecord{DataJson: []byte(`[1]`)}, ""},
		{"string", &eventsv1.EventRecord{DataJson: []byte(`"{}"`)}, ""},
		{"empty", &eventsv1.EventRecord{DataJson: []byte{}}, ""},
		{"broken", &eventsv1.EventRecord{DataJson: []byte(`{"a":`)}, ""},
		{"two objects", &eventsv1.EventRecord{DataJson: []byte(`{} {}`)}, ""},
		{"nul in a value", &eventsv1.EventRecord{DataJson: []byte(`{"a":["x\u0000"]}`)}, ""},
		{"nul in a key", &eventsv1.EventRecord{DataJson: []byte(`{"\u0000":1}`)}, ""},
	} {
		got, err := RecordData(c.rec)
		if c.want == "" {
			if err == nil {
				t.Errorf("%s: %s taken", c.name, c.rec.GetDataJson())
			}
			continue
		}
		if err != nil || string(got) != c.want {
			t.Errorf("%s: %s (%v), want %s", c.name, got, err, c.want)
		}
	}
}
