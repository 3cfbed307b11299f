package apptest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// WriteMethods lists a service's methods that change something: all but
// the reads (mapped to HTTP GET, or named Get…, List…, Export…).
func WriteMethods(sd protoreflect.ServiceDescriptor) []string {
	var out []string
	ms := sd.Methods()
	for i := range ms.Len() {
		m := ms.Get(i)
		name := string(m.Name())
		if rule, ok := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule); ok && rule.GetGet() != "" {
			continue
		}
		if strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "List") || strings.HasPrefix(name, "Export") {
			continue
		}
		out = append(out, name)
	}
	return out
}

// WaitActivity waits (up to 15s) until membership holds activity of person
// (an id) of every kind given, and fails the test with the missing kinds
// otherwise. Activity from roadmap and finance arrives through their
// outboxes, a moment after the write.
func (e *Env) WaitActivity(t testing.TB, person string, kinds ...string) {
	t.Helper()
	db := e.DB(t, "membership")
	deadline := time.Now().Add(15 * time.Second)
	for {
		rows, err := db.Query(context.Background(), `SELECT DISTINCT kind FROM activity_events WHERE person_id = $1`, person)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				t.Fatal(err)
			}
			got = append(got, k)
		}
		rows.Close()
		var missing []string
		for _, k := range kinds {
			if !slices.Contains(got, k) {
				missing = append(missing, k)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no activity of %s for %v (have %v)", person, missing, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
