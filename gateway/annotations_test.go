package gateway_test

import (
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// TestProtoAnnotations checks what api-linter v1.67.2 (the newest the module
// proxy serves) cannot: every field of every Guildhall message states its
// google.api.field_behavior (the linter predates IDENTIFIER and looks at
// request messages only), every resource message (one whose name is an
// IDENTIFIER) is a google.api.resource with a type and a pattern, and every
// request's name or parent refers to a resource.
func TestProtoAnnotations(t *testing.T) {
	resources := map[string]bool{}
	var messages []protoreflect.MessageDescriptor
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if strings.HasPrefix(string(fd.Package()), "guildhall.") {
			collect(fd.Messages(), &messages)
		}
		return true
	})
	if len(messages) < 100 {
		t.Fatalf("only %d messages registered", len(messages))
	}
	for _, md := range messages {
		if res, _ := proto.GetExtension(md.Options(), annotations.E_Resource).(*annotations.ResourceDescriptor); res != nil {
			if res.GetType() == "" || len(res.GetPattern()) == 0 {
				t.Errorf("%s: resource without type or pattern", md.FullName())
			}
			resources[res.GetType()] = true
		}
	}
	for _, md := range messages {
		fs := md.Fields()
		for i := range fs.Len() {
			f := fs.Get(i)
			fb := behaviours(f)
			if len(fb) == 0 {
				t.Errorf("%s: no google.api.field_behavior", f.FullName())
			}
			if f.Name() == "name" && len(fb) == 1 && fb[0] == annotations.FieldBehavior_IDENTIFIER {
				if res, _ := proto.GetExtension(md.Options(), annotations.E_Resource).(*annotations.ResourceDescriptor); res == nil {
					t.Errorf("%s has an IDENTIFIER name but no google.api.resource", md.FullName())
				}
			}
			if strings.HasSuffix(string(md.Name()), "Request") && (f.Name() == "name" || f.Name() == "parent") && f.Kind() == protoreflect.StringKind {
				ref, _ := proto.GetExtension(f.Options(), annotations.E_ResourceReference).(*annotations.ResourceReference)
				target := ref.GetType() + ref.GetChildType()
				if !resources[target] {
					t.Errorf("%s: resource_reference %q names no resource", f.FullName(), target)
				}
			}
		}
	}
}

func collect(ms protoreflect.MessageDescriptors, out *[]protoreflect.MessageDescriptor) {
	for i := range ms.Len() {
		m := ms.Get(i)
		if m.IsMapEntry() {
			continue
		}
		*out = append(*out, m)
		collect(m.Messages(), out)
	}
}

func behaviours(f protoreflect.FieldDescriptor) []annotations.FieldBehavior {
	fb, _ := proto.GetExtension(f.Options(), annotations.E_FieldBehavior).([]annotations.FieldBehavior)
	return fb
}
