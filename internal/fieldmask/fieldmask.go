// Package fieldmask applies AIP-134 update masks to resources.
package fieldmask

import (
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/guildhall/guildhall/internal/apierr"
)

// Apply copies the fields named by mask from patch into dst. Only top-level
// fields listed in updatable may be named; "*" means all of them, and an empty
// mask means every updatable field that is set in patch. It reports the paths
// it applied.
func Apply(dst, patch proto.Message, mask *fieldmaskpb.FieldMask, updatable []string) ([]string, error) {
	src := patch.ProtoReflect()
	d := dst.ProtoReflect()
	fields := src.Descriptor().Fields()

	var paths []string
	switch {
	case len(mask.GetPaths()) == 0:
		for _, name := range updatable {
			if f := fields.ByName(protoreflect.Name(name)); f != nil && src.Has(f) {
				paths = append(paths, name)
			}
		}
	case slices.Contains(mask.GetPaths(), "*"):
		if len(mask.GetPaths()) > 1 {
			return nil, apierr.InvalidField("update_mask", `"*" cannot be combined with other paths`)
		}
		paths = updatable
	default:
		for _, p := range mask.GetPaths() {
			if p == "name" || p == "etag" {
				// Identity and concurrency, not changes; grpc-gateway derives
				// masks from the body, where both belong.
				continue
			}
			// A path inside a message field (grpc-gateway derives
			// "amount.currency_code" from a body holding an amount) means that
			// field, replaced whole: a half-changed Money is never wanted.
			if top, _, nested := strings.Cut(p, "."); nested && slices.Contains(updatable, top) {
				if f := fields.ByName(protoreflect.Name(top)); f != nil && f.Message() != nil && !f.IsMap() {
					p = top
				}
			}
			if slices.Contains(paths, p) {
				continue
			}
			if !slices.Contains(updatable, p) {
				return nil, apierr.InvalidField("update_mask", "field "+p+" cannot be updated; updatable fields are "+strings.Join(updatable, ", "))
			}
			paths = append(paths, p)
		}
	}
	for _, name := range paths {
		f := fields.ByName(protoreflect.Name(name))
		if src.Has(f) {
			d.Set(f, src.Get(f))
		} else {
			d.Clear(f)
		}
	}
	return paths, nil
}

// Touches reports whether updating with patch and mask would change field,
// by the same rules as Apply: the mask names it (or a path inside it), the
// mask is "*", or the mask is empty and patch sets it. Access rules that
// guard single fields use it, so they judge exactly what Apply will write.
func Touches(patch proto.Message, mask *fieldmaskpb.FieldMask, field string) bool {
	paths := mask.GetPaths()
	if len(paths) == 0 {
		f := patch.ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(field))
		return f != nil && patch.ProtoReflect().Has(f)
	}
	for _, p := range paths {
		if top, _, _ := strings.Cut(p, "."); p == "*" || top == field {
			return true
		}
	}
	return false
}

// Asks reports whether an update with patch and mask asks to change field
// of cur: the mask names it (or a path inside it), or the mask is empty and
// patch sets it to a value other than cur's. Unlike Touches, "*" does not ask
// for a field outside the updatable ones, and an empty mask sending a field
// back unchanged (read-modify-write) asks for nothing.
func Asks(cur, patch proto.Message, mask *fieldmaskpb.FieldMask, field string) bool {
	paths := mask.GetPaths()
	if len(paths) == 0 {
		f := patch.ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(field))
		if f == nil || !patch.ProtoReflect().Has(f) {
			return false
		}
		return !patch.ProtoReflect().Get(f).Equal(cur.ProtoReflect().Get(f))
	}
	for _, p := range paths {
		if top, _, _ := strings.Cut(p, "."); top == field {
			return true
		}
	}
	return false
}
