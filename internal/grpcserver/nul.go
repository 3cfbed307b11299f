package grpcserver

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/guildhall/guildhall/internal/apierr"
)

// nulViolations reports every string in m that holds U+0000. Protobuf and
// JSON allow it, PostgreSQL text does not: without this check such a value
// would reach the database and fail there as an internal error.
func nulViolations(m protoreflect.Message) []apierr.FieldViolation {
	var out []apierr.FieldViolation
	walkNul(m, "", &out)
	return out
}

func walkNul(m protoreflect.Message, prefix string, out *[]apierr.FieldViolation) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		path := prefix + string(fd.Name())
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				nulValue(fd, l.Get(i), fmt.Sprintf("%s[%d]", path, i), out)
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				p := fmt.Sprintf("%s[%q]", path, k.String())
				if strings.ContainsRune(k.String(), 0) {
					nulFound(p, out)
				}
				nulValue(fd.MapValue(), mv, p, out)
				return true
			})
		default:
			nulValue(fd, v, path, out)
		}
		return true
	})
}

func nulValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string, out *[]apierr.FieldViolation) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if strings.ContainsRune(v.String(), 0) {
			nulFound(path, out)
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		walkNul(v.Message(), path+".", out)
	}
}

func nulFound(path string, out *[]apierr.FieldViolation) {
	*out = append(*out, apierr.FieldViolation{Field: path, Description: "must not contain the NUL character (U+0000)"})
}
