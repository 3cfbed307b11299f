package grpcserver

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"
)

func TestNulViolationsFindEveryStringHoldingNUL(t *testing.T) {
	m, err := structpb.NewStruct(map[string]any{
		"clean": "text",
		"top":   "a\x00b",
		"k\x00": "v",
		"list":  []any{"ok", "n\x00"},
		"inner": map[string]any{"deep": "\x00", "fine": 1.0},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range nulViolations(m.ProtoReflect()) {
		got = append(got, v.Field)
	}
	slices.Sort(got)
	want := []string{
		`fields["inner"].struct_value.fields["deep"].string_value`,
		`fields["k\x00"]`,
		`fields["list"].list_value.values[1].string_value`,
		`fields["top"].string_value`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations\n got %q\nwant %q", got, want)
	}
	clean, _ := structpb.NewStruct(map[string]any{"a": "b", "l": []any{"c"}})
	if v := nulViolations(clean.ProtoReflect()); len(v) != 0 {
		t.Errorf("clean message: %v", v)
	}
}
