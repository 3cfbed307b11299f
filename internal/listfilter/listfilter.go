// Package listfilter reads the AIP-160 `filter` of list requests with
// go.einride.tech/aip/filtering, which parses and type-checks it. A list
// request's filterable fields are its own typed fields (state, release,
// owner_team, overdue…); a filter is a conjunction of equalities on them,
// e.g. `state = "STATE_IN_PROGRESS" AND owner_team = "teams/docs"`, and Apply
// sets those fields, so each list keeps one query path and protovalidate
// still checks every value. Fields may be named by their proto or JSON names.
// It must not import any service package.
package listfilter

import (
	"fmt"
	"strings"

	"go.einride.tech/aip/filtering"
	expr "google.golang.org/genproto/googleapis/api/expr/v1alpha1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/guildhall/guildhall/internal/apierr"
)

// notFilterable are the AIP-132 fields of a list request that are not filters.
var notFilterable = map[protoreflect.Name]bool{
	"filter": true, "page_size": true, "page_token": true, "order_by": true, "parent": true, "name": true,
}

// Apply parses req's filter, if it has one, and sets the fields it names. A
// filter that does not parse, names an unknown field, compares with anything
// but `=`, combines with anything but AND, or contradicts a field also set
// directly is INVALID_ARGUMENT on "filter".
func Apply(req proto.Message) error {
	m := req.ProtoReflect()
	ff := m.Descriptor().Fields().ByName("filter")
	if ff == nil || ff.Kind() != protoreflect.StringKind {
		return nil
	}
	text := strings.TrimSpace(m.Get(ff).String())
	if text == "" {
		return nil
	}
	fields := map[string]protoreflect.FieldDescriptor{}
	// The filtering grammar has no boolean literals: true and false are names.
	opts := []filtering.DeclarationOption{filtering.DeclareStandardFunctions(),
		filtering.DeclareIdent("true", filtering.TypeBool), filtering.DeclareIdent("false", filtering.TypeBool)}
	var names []string
	fs := m.Descriptor().Fields()
	for i := range fs.Len() {
		f := fs.Get(i)
		if notFilterable[f.Name()] || f.IsList() || f.IsMap() {
			continue
		}
		var t *expr.Type
		switch f.Kind() {
		case protoreflect.StringKind, protoreflect.EnumKind:
			t = filtering.TypeString
		case protoreflect.BoolKind:
			t = filtering.TypeBool
		case protoreflect.Int32Kind, protoreflect.Int64Kind:
			t = filtering.TypeInt
		default:
			continue
		}
		for _, n := range []string{string(f.Name()), f.JSONName()} {
			if _, dup := fields[n]; !dup {
				fields[n] = f
				opts = append(opts, filtering.DeclareIdent(n, t))
			}
		}
		names = append(names, string(f.Name()))
	}
	invalid := func(format string, a ...any) error {
		return apierr.InvalidField("filter", fmt.Sprintf(format, a...)+
			"; a filter is `field = value` joined by AND (AIP-160), on: "+strings.Join(names, ", "))
	}
	if len(names) == 0 {
		return invalid("this list has no filterable fields")
	}
	decls, err := filtering.NewDeclarations(opts...)
	if err != nil {
		return fmt.Errorf("filter declarations: %w", err)
	}
	f, err := filtering.ParseFilterString(text, decls)
	if err != nil {
		return invalid("%v", err)
	}
	seen := map[protoreflect.Name]bool{}
	var walk func(e *expr.Expr) error
	walk = func(e *expr.Expr) error {
		call := e.GetCallExpr()
		switch {
		case call == nil:
			return invalid("not a comparison")
		case call.GetFunction() == filtering.FunctionAnd:
			for _, a := range call.GetArgs() {
				if err := walk(a); err != nil {
					return err
				}
			}
			return nil
		case call.GetFunction() != filtering.FunctionEquals || len(call.GetArgs()) != 2:
			return invalid("%q is not supported", call.GetFunction())
		}
		ident, c := call.GetArgs()[0].GetIdentExpr(), call.GetArgs()[1].GetConstExpr()
		if b := call.GetArgs()[1].GetIdentExpr().GetName(); b == "true" || b == "false" {
			c = &expr.Constant{ConstantKind: &expr.Constant_BoolValue{BoolValue: b == "true"}}
		}
		if ident == nil || c == nil || fields[ident.GetName()] == nil {
			return invalid("compare a field with a literal value")
		}
		fd := fields[ident.GetName()]
		if seen[fd.Name()] {
			return invalid("%s is compared twice", fd.Name())
		}
		seen[fd.Name()] = true
		var v protoreflect.Value
		switch fd.Kind() {
		case protoreflect.StringKind:
			v = protoreflect.ValueOfString(c.GetStringValue())
		case protoreflect.EnumKind:
			ev := fd.Enum().Values().ByName(protoreflect.Name(c.GetStringValue()))
			if ev == nil {
				return invalid("%s has no value %q", fd.Name(), c.GetStringValue())
			}
			v = protoreflect.ValueOfEnum(ev.Number())
		case protoreflect.BoolKind:
			v = protoreflect.ValueOfBool(c.GetBoolValue())
		case protoreflect.Int32Kind:
			v = protoreflect.ValueOfInt32(int32(c.GetInt64Value()))
		case protoreflect.Int64Kind:
			v = protoreflect.ValueOfInt64(c.GetInt64Value())
		}
		if m.Has(fd) && !m.Get(fd).Equal(v) {
			return invalid("%s is set both as a parameter and in the filter, to different values", fd.Name())
		}
		m.Set(fd, v)
		return nil
	}
	return walk(f.CheckedExpr.GetExpr())
}
