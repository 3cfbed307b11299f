// Package pgenum stores proto enums in PostgreSQL as short lower-case text
// ("STATE_IN_DEVELOPMENT" is "in_development"), which reads well in psql and
// survives renumbering.
package pgenum

import (
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Text returns the stored form of e.
func Text(e protoreflect.Enum) string {
	d := e.Descriptor()
	v := d.Values().ByNumber(e.Number())
	if v == nil {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(string(v.Name()), prefix(d)))
}

// Number parses a stored value back; unknown text is the zero value.
func Number(d protoreflect.EnumDescriptor, s string) protoreflect.EnumNumber {
	if v := d.Values().ByName(protoreflect.Name(prefix(d) + strings.ToUpper(s))); v != nil {
		return v.Number()
	}
	return 0
}

// prefix is the buf-style value prefix, e.g. "STATE_" from "STATE_UNSPECIFIED".
func prefix(d protoreflect.EnumDescriptor) string {
	return strings.TrimSuffix(string(d.Values().Get(0).Name()), "UNSPECIFIED")
}
