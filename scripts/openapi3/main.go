// Command openapi3 writes the OpenAPI 3.0 document Guildhall serves at
// /openapi.json. It converts the Swagger 2.0 document that protoc-gen-openapiv2
// writes from the protos (kin-openapi's openapi2conv) and completes it from the
// proto descriptors and the services' access policies, which that generator
// cannot read:
//
//   - schemas get short names (Person, not guildhall.membership.v1.Person);
//     `required` lists the REQUIRED fields and `readOnly` marks OUTPUT_ONLY and
//     IDENTIFIER ones, kept next to $refs by wrapping them in allOf;
//   - the JSON policy of the gateway (protojson with EmitUnpopulated): scalars,
//     lists and maps are always present, so they are required in answers;
//     unset message fields arrive as null, so they are nullable;
//   - path parameters take their resource's singular name ({person}, not
//     {people}) with a description;
//   - operations declare bearer security (optional where the policy lets
//     anyone call), who may call, conditional and idempotency headers, and
//     typed error responses: google.rpc.Status whose details are BadRequest,
//     ErrorInfo (with the ErrorReason enum) and RetryInfo;
//   - the CSV export answers text/csv.
//
// Usage: go run ./scripts/openapi3 gen/openapi/guildhall.swagger.json gen/openapi/openapi.json
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	eventsv1 "github.com/guildhall/guildhall/gen/go/guildhall/events/v1"
	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	transparencyv1 "github.com/guildhall/guildhall/gen/go/guildhall/transparency/v1"
	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/services/events"
	"github.com/guildhall/guildhall/services/finance"
	"github.com/guildhall/guildhall/services/membership"
	"github.com/guildhall/guildhall/services/roadmap"
	"github.com/guildhall/guildhall/services/transparency"
)

type obj = map[string]any

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: openapi3 SWAGGER2_IN OPENAPI3_OUT")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "openapi3:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var v2 openapi2.T
	if err := json.Unmarshal(raw, &v2); err != nil {
		return err
	}
	v3, err := openapi2conv.ToV3(&v2)
	if err != nil {
		return err
	}
	b, err := json.Marshal(v3)
	if err != nil {
		return err
	}
	var doc obj
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	g := &gen{doc: doc, policy: auth.Merge(
		(&membership.Server{}).Policy(), (&roadmap.Server{}).Policy(), (&finance.Server{}).Policy(),
		(&events.Server{}).Policy(),
		(&transparency.Server{}).Policy())}
	if err := g.complete(); err != nil {
		return err
	}
	b, err = json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(out, append(b, '\n'), 0o644)
}

type gen struct {
	doc    obj
	policy auth.Policy
	// names maps a schema's fully qualified name to its short one.
	names map[string]string
	// vars maps a collection ("people") to its pattern variable ("person")
	// and the pattern it comes from.
	vars map[string][2]string
}

var files = []protoreflect.FileDescriptor{
	membershipv1.File_guildhall_membership_v1_membership_service_proto,
	roadmapv1.File_guildhall_roadmap_v1_roadmap_service_proto,
	financev1.File_guildhall_finance_v1_finance_service_proto,
	eventsv1.File_guildhall_events_v1_events_service_proto,
	transparencyv1.File_guildhall_transparency_v1_transparency_service_proto,
}

func (g *gen) complete() error {
	g.doc["openapi"] = "3.0.3"
	info := g.doc["info"].(obj)
	info["description"] = strings.TrimSpace(fmt.Sprint(info["description"])) + "\n\n" + infoText
	g.doc["servers"] = []any{obj{"url": "/", "description": "The gateway serving this document."}}
	g.resourceVars()
	comps := g.doc["components"].(obj)
	schemas := comps["schemas"].(obj)
	if err := g.shortNames(schemas); err != nil {
		return err
	}
	renamed := obj{}
	for fqn, s := range schemas {
		renamed[g.names[fqn]] = s
	}
	comps["schemas"] = renamed
	g.rewriteRefs(g.doc)
	for fqn, short := range g.names {
		if err := g.completeSchema(fqn, renamed[short].(obj)); err != nil {
			return err
		}
	}
	g.errorSchemas(renamed)
	comps["securitySchemes"] = obj{"bearer": obj{
		"type": "http", "scheme": "bearer",
		"description": "A Guildhall token (`guildhall token`, or an OIDC token of the configured issuer).",
	}}
	comps["responses"] = errorResponses()
	comps["headers"] = obj{
		"Retry-After": obj{"description": "Seconds to wait before retrying.", "schema": obj{"type": "integer"}},
		"ETag":        obj{"description": "The representation's entity tag: the resource's etag, a dot and a digest.", "schema": obj{"type": "string"}},
		"WWW-Authenticate": obj{"description": `The Bearer challenge of RFC 6750, e.g. Bearer realm="guildhall", error="invalid_token".`,
			"schema": obj{"type": "string"}},
	}
	if err := g.operations(); err != nil {
		return err
	}
	delete(renamed, "Any")
	delete(renamed, "HttpBody")
	g.tags()
	return nil
}

const infoText = `JSON follows protojson: camelCase names, enums as strings, int64 as strings, timestamps in
RFC 3339 UTC. Every scalar, list and map field of an answer is present (zero values included);
a message field that is not set is null. Money is {currencyCode, minorUnits}: integer minor
units, never a float.

Errors are google.rpc.Status with BadRequest (field paths in JSON names), ErrorInfo (reason: see
ErrorReason) and RetryInfo details. Lists page with pageSize/pageToken (AIP-158) and do not
report totalSize. GET answers carry an ETag (If-None-Match answers 304); If-Match on PATCH and
DELETE answers 412 when stale. Idempotency-Key works like requestId.`

// resourceVars reads every resource pattern: "people/{person}" maps people to person.
func (g *gen) resourceVars() {
	g.vars = map[string][2]string{}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "guildhall.") {
			return true
		}
		ms := fd.Messages()
		for i := range ms.Len() {
			res, _ := proto.GetExtension(ms.Get(i).Options(), annotations.E_Resource).(*annotations.ResourceDescriptor)
			for _, p := range res.GetPattern() {
				segs := strings.Split(p, "/")
				for j := 1; j < len(segs); j += 2 {
					v := strings.Trim(segs[j], "{}")
					if _, ok := g.vars[segs[j-1]]; !ok || j == len(segs)-1 {
						g.vars[segs[j-1]] = [2]string{v, strings.Join(segs[:j+1], "/")}
					}
				}
			}
		}
		return true
	})
}

func (g *gen) shortNames(schemas obj) error {
	g.names = map[string]string{}
	taken := map[string]string{}
	fqns := make([]string, 0, len(schemas))
	for fqn := range schemas {
		fqns = append(fqns, fqn)
	}
	sort.Strings(fqns)
	for _, fqn := range fqns {
		parts := strings.Split(fqn, ".")
		// Keep the names after the package (lower-case parts): Person.State -> PersonState.
		i := len(parts) - 1
		for i > 0 && parts[i-1] != "" && parts[i-1][0] >= 'A' && parts[i-1][0] <= 'Z' {
			i--
		}
		name := strings.Join(parts[i:], "")
		name = strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(name, "MembershipService"), "RoadmapService"), "FinanceService")
		if other, ok := taken[name]; ok {
			return fmt.Errorf("schemas %s and %s would both be %s", other, fqn, name)
		}
		taken[name] = fqn
		g.names[fqn] = name
	}
	return nil
}

func (g *gen) rewriteRefs(v any) {
	switch t := v.(type) {
	case obj:
		if ref, ok := t["$ref"].(string); ok {
			const p = "#/components/schemas/"
			if fqn, ok := strings.CutPrefix(ref, p); ok && g.names[fqn] != "" {
				t["$ref"] = p + g.names[fqn]
			}
		}
		for _, c := range t {
			g.rewriteRefs(c)
		}
	case []any:
		for _, c := range t {
			g.rewriteRefs(c)
		}
	}
}

// descriptorOf finds the message or enum behind a schema, and for the
// synthetic "<Service>.<Method>Body" schemas the method's request.
func descriptorOf(fqn string) (protoreflect.Descriptor, []string) {
	if d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(fqn)); err == nil {
		return d, nil
	}
	if base, ok := strings.CutSuffix(fqn, "Body"); ok {
		if d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(base)); err == nil {
			if m, ok := d.(protoreflect.MethodDescriptor); ok {
				return m.Input(), pathFields(m)
			}
		}
	}
	return nil, nil
}

var pathVar = regexp.MustCompile(`\{([a-z_.]+)(?:=[^}]*)?\}`)

func pathFields(m protoreflect.MethodDescriptor) []string {
	rule, _ := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule)
	_, tmpl := httpRule(rule)
	var out []string
	for _, v := range pathVar.FindAllStringSubmatch(tmpl, -1) {
		out = append(out, v[1])
	}
	return out
}

func (g *gen) completeSchema(fqn string, s obj) error {
	if strings.HasPrefix(fqn, "google.") {
		return nil // Status is replaced below; Any and HttpBody are dropped
	}
	d, _ := descriptorOf(fqn)
	switch d := d.(type) {
	case protoreflect.EnumDescriptor:
		var vals []any
		for i := range d.Values().Len() {
			vals = append(vals, string(d.Values().Get(i).Name()))
		}
		s["enum"] = vals
		return nil
	case protoreflect.MessageDescriptor:
		props, _ := s["properties"].(obj)
		var required []string
		for name, p := range props {
			f := d.Fields().ByJSONName(name)
			if f == nil {
				return fmt.Errorf("%s: no field for property %s", fqn, name)
			}
			ps := p.(obj)
			fb, _ := proto.GetExtension(f.Options(), annotations.E_FieldBehavior).([]annotations.FieldBehavior)
			delete(ps, "readOnly")
			delete(ps, "title")
			for _, b := range fb {
				switch b {
				case annotations.FieldBehavior_REQUIRED:
					required = append(required, name)
				case annotations.FieldBehavior_OUTPUT_ONLY, annotations.FieldBehavior_IDENTIFIER:
					ps["readOnly"] = true
				case annotations.FieldBehavior_IMMUTABLE:
					ps["description"] = strings.TrimSpace(fmt.Sprint(ps["description"]) + " Set on create; cannot be changed.")
					ps["x-immutable"] = true
				}
			}
			if f.Kind() == protoreflect.MessageKind && !f.IsList() && !f.IsMap() {
				// EmitUnpopulated writes an unset message field as null.
				ps["nullable"] = true
			}
			if f.HasPresence() && f.Kind() != protoreflect.MessageKind {
				ps["nullable"] = true // proto3 optional: absent when unset
			}
			props[name] = wrapRef(ps)
		}
		delete(s, "required")
		if len(required) > 0 {
			sort.Strings(required)
			s["required"] = required
		}
		s["additionalProperties"] = false
		delete(s, "title")
		return nil
	case nil:
		if strings.HasPrefix(fqn, "google.") {
			return nil
		}
		return fmt.Errorf("no descriptor for schema %s", fqn)
	}
	return nil
}

// wrapRef keeps a $ref's siblings (readOnly, nullable, description), which
// OpenAPI 3.0 ignores next to a $ref, by moving the $ref into allOf.
func wrapRef(p obj) obj {
	ref, ok := p["$ref"]
	if !ok || len(p) == 1 {
		return p
	}
	delete(p, "$ref")
	p["allOf"] = []any{obj{"$ref": ref}}
	if p["nullable"] == true {
		p["type"] = "object" // OpenAPI 3.0: nullable needs a type beside it
	}
	return p
}

func (g *gen) errorSchemas(schemas obj) {
	var reasons []any
	var doc strings.Builder
	vals := typev1.ErrorReason_ERROR_REASON_UNSPECIFIED.Descriptor().Values()
	comments := reasonComments()
	for i := range vals.Len() {
		v := vals.Get(i)
		if v.Number() == 0 {
			continue
		}
		reasons = append(reasons, string(v.Name()))
		fmt.Fprintf(&doc, "- `%s`: %s\n", v.Name(), comments[string(v.Name())])
	}
	schemas["ErrorReason"] = obj{"type": "string", "enum": reasons,
		"description": "The reason of an ErrorInfo (domain guildhall.dev), stable and safe to switch on:\n\n" + doc.String()}
	typeProp := func(t string) obj { return obj{"type": "string", "enum": []any{t}} }
	schemas["BadRequest"] = obj{
		"type": "object", "required": []any{"@type", "fieldViolations"},
		"description": "The request fields at fault; paths use JSON names, e.g. `person.displayName`.",
		"properties": obj{
			"@type": typeProp("type.googleapis.com/google.rpc.BadRequest"),
			"fieldViolations": obj{"type": "array", "items": obj{
				"type": "object", "required": []any{"field", "description"},
				"properties": obj{
					"field":            obj{"type": "string", "description": "Path of the field, in JSON names."},
					"description":      obj{"type": "string"},
					"reason":           obj{"type": "string"},
					"localizedMessage": obj{"type": "object", "nullable": true},
				},
			}},
		},
	}
	schemas["ErrorInfo"] = obj{
		"type": "object", "required": []any{"@type", "reason", "domain"},
		"properties": obj{
			"@type":    typeProp("type.googleapis.com/google.rpc.ErrorInfo"),
			"reason":   obj{"$ref": "#/components/schemas/ErrorReason"},
			"domain":   obj{"type": "string", "enum": []any{"guildhall.dev"}},
			"metadata": obj{"type": "object", "additionalProperties": obj{"type": "string"}},
		},
	}
	schemas["RetryInfo"] = obj{
		"type": "object", "required": []any{"@type", "retryDelay"},
		"properties": obj{
			"@type":      typeProp("type.googleapis.com/google.rpc.RetryInfo"),
			"retryDelay": obj{"type": "string", "description": "A protobuf Duration in JSON, e.g. \"2s\"."},
		},
	}
	schemas["Status"] = obj{
		"type": "object", "required": []any{"code", "message", "details"},
		"description": "google.rpc.Status: every error of every route.",
		"properties": obj{
			"code":    obj{"type": "integer", "format": "int32", "description": "The google.rpc.Code."},
			"message": obj{"type": "string", "description": "For developers, in English."},
			"details": obj{"type": "array", "items": obj{
				"oneOf": []any{
					obj{"$ref": "#/components/schemas/BadRequest"},
					obj{"$ref": "#/components/schemas/ErrorInfo"},
					obj{"$ref": "#/components/schemas/RetryInfo"},
				},
				"discriminator": obj{"propertyName": "@type", "mapping": obj{
					"type.googleapis.com/google.rpc.BadRequest": "#/components/schemas/BadRequest",
					"type.googleapis.com/google.rpc.ErrorInfo":  "#/components/schemas/ErrorInfo",
					"type.googleapis.com/google.rpc.RetryInfo":  "#/components/schemas/RetryInfo",
				}},
			}},
		},
	}
}

// reasonComments reads each ErrorReason value's comment from its .proto file
// (generated descriptors carry no comments). It runs from the repository root.
func reasonComments() map[string]string {
	out := map[string]string{}
	b, err := os.ReadFile("proto/guildhall/type/v1/error_reason.proto")
	if err != nil {
		return out
	}
	var comment []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if c, ok := strings.CutPrefix(line, "//"); ok {
			comment = append(comment, strings.TrimSpace(c))
			continue
		}
		if m := enumValue.FindStringSubmatch(line); m != nil {
			out[m[1]] = strings.Join(comment, " ")
		}
		comment = nil
	}
	return out
}

var enumValue = regexp.MustCompile(`^([A-Z_]+) = \d+;`)

func errorResponses() obj {
	resp := func(desc string, headers ...string) obj {
		r := obj{"description": desc, "content": obj{"application/json": obj{"schema": obj{"$ref": "#/components/schemas/Status"}}}}
		if len(headers) > 0 {
			h := obj{}
			for _, name := range headers {
				h[name] = obj{"$ref": "#/components/headers/" + name}
			}
			r["headers"] = h
		}
		return r
	}
	return obj{
		"BadRequest":         resp("INVALID_ARGUMENT or FAILED_PRECONDITION: BadRequest names the fields at fault."),
		"Unauthorized":       resp("UNAUTHENTICATED: the token is missing, unknown, expired or revoked.", "WWW-Authenticate"),
		"Forbidden":          resp("PERMISSION_DENIED: the caller may not do this."),
		"NotFound":           resp("NOT_FOUND: the named resource does not exist or may not be seen."),
		"Conflict":           resp("ABORTED or ALREADY_EXISTS: a stale etag, a reused request id, a taken name or a concurrent write."),
		"PreconditionFailed": resp("ETAG_MISMATCH: the If-Match entity tag is stale."),
		"TooManyRequests":    resp("RATE_LIMITED: wait Retry-After seconds.", "Retry-After"),
		"Unavailable":        resp("UNAVAILABLE: a dependency is down; retry after Retry-After seconds.", "Retry-After"),
		"Error":              resp("Any other error."),
	}
}

func httpRule(r *annotations.HttpRule) (verb, template string) {
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return "get", p.Get
	case *annotations.HttpRule_Post:
		return "post", p.Post
	case *annotations.HttpRule_Patch:
		return "patch", p.Patch
	case *annotations.HttpRule_Put:
		return "put", p.Put
	case *annotations.HttpRule_Delete:
		return "delete", p.Delete
	}
	return "", ""
}

// methods maps an operationId ("MembershipService_GetPerson") to its method.
func methods() map[string]protoreflect.MethodDescriptor {
	out := map[string]protoreflect.MethodDescriptor{}
	for _, fd := range files {
		for i := range fd.Services().Len() {
			s := fd.Services().Get(i)
			for j := range s.Methods().Len() {
				m := s.Methods().Get(j)
				out[string(s.Name())+"_"+string(m.Name())] = m
			}
		}
	}
	return out
}

var segVar = regexp.MustCompile(`^\{(\w+)\}$`)

func (g *gen) operations() error {
	ms := methods()
	paths := g.doc["paths"].(obj)
	out := obj{}
	for path, item := range paths {
		// {people} -> {person}: the pattern variable of the collection before it.
		segs := strings.Split(path, "/")
		rename := map[string][2]string{}
		for i, s := range segs {
			base, verb, _ := strings.Cut(s, ":")
			m := segVar.FindStringSubmatch(base)
			if m == nil || i == 0 {
				continue
			}
			v, ok := g.vars[segs[i-1]]
			if !ok {
				return fmt.Errorf("%s: no resource pattern for collection %s", path, segs[i-1])
			}
			rename[m[1]] = v
			segs[i] = "{" + v[0] + "}"
			if verb != "" {
				segs[i] += ":" + verb
			}
		}
		newPath := strings.Join(segs, "/")
		for verb, o := range item.(obj) {
			op, ok := o.(obj)
			if !ok {
				continue
			}
			if err := g.operation(ms, newPath, verb, op, rename); err != nil {
				return err
			}
		}
		out[newPath] = item
	}
	g.doc["paths"] = out
	return nil
}

func (g *gen) operation(ms map[string]protoreflect.MethodDescriptor, path, verb string, op obj, rename map[string][2]string) error {
	id := fmt.Sprint(op["operationId"])
	m, ok := ms[id]
	if !ok {
		return fmt.Errorf("operation %s: no such method", id)
	}
	params, _ := op["parameters"].([]any)
	hasPath := false
	hasRequestID := m.Input().Fields().ByName("request_id") != nil
	for _, p := range params {
		po := p.(obj)
		if po["in"] == "path" {
			hasPath = true
			if v, ok := rename[fmt.Sprint(po["name"])]; ok {
				po["name"] = v[0]
				po["description"] = fmt.Sprintf("The %s id: the last segment of `%s`.", v[0], v[1])
			}
		}
	}
	full := "/" + string(m.Parent().FullName()) + "/" + string(m.Name())
	rule, ok := g.policy[full]
	if !ok {
		return fmt.Errorf("%s has no access rule", full)
	}
	public := strings.HasPrefix(rule.Doc, "anyone")
	if public {
		op["security"] = []any{obj{}, obj{"bearer": []any{}}}
	} else {
		op["security"] = []any{obj{"bearer": []any{}}}
	}
	desc := strings.TrimSpace(fmt.Sprint(op["description"]))
	if desc == "<nil>" {
		desc = ""
	}
	op["description"] = strings.TrimSpace(desc + "\n\nWho may call: " + rule.Doc + ".")
	if op["summary"] == nil {
		op["summary"] = string(m.Name())
	}
	// Summaries are the first sentence; the rest goes to the description.
	if s := fmt.Sprint(op["summary"]); strings.Contains(s, "\n") || len(s) > 100 {
		first, rest, _ := strings.Cut(strings.ReplaceAll(s, "\n", " "), ". ")
		op["summary"] = strings.TrimSuffix(first, ".")
		if rest != "" {
			op["description"] = strings.TrimSpace(rest + "\n\n" + fmt.Sprint(op["description"]))
		}
	}
	header := func(name, desc string) obj {
		return obj{"name": name, "in": "header", "required": false, "description": desc, "schema": obj{"type": "string"}}
	}
	switch verb {
	case "get":
		params = append(params, header("If-None-Match", "An ETag from an earlier answer: 304 Not Modified if it still matches."))
	case "patch", "delete":
		if m.Input().Fields().ByName("update_mask") != nil && !slices.ContainsFunc(params, func(p any) bool { return p.(obj)["name"] == "updateMask" }) {
			// protoc-gen-openapiv2 leaves the mask out when it could come from the body.
			params = append(params, obj{"name": "updateMask", "in": "query", "required": false, "schema": obj{"type": "string"},
				"description": "Comma-separated paths (JSON or proto names) of the fields to change (AIP-134); without it, the fields present in the body change."})
		}
		if m.Input().Fields().ByName("etag") != nil || verb == "patch" {
			params = append(params, header("If-Match", "The resource's ETag (or its body etag): 412 if it is stale."))
		}
	}
	if hasRequestID {
		params = append(params, header("Idempotency-Key", "A UUID, the same as requestId (AIP-155)."))
	}
	if len(params) > 0 {
		op["parameters"] = params
	} else {
		delete(op, "parameters")
	}
	if verb == "patch" {
		if err := g.patchBody(m, op); err != nil {
			return err
		}
	}
	resps := op["responses"].(obj)
	ok200 := resps["200"].(obj)
	if m.IsStreamingServer() {
		ok200["description"] = "The CSV file, streamed."
		ok200["content"] = obj{"text/csv": obj{"schema": obj{"type": "string"}}}
	} else if verb == "get" {
		ok200["headers"] = obj{"ETag": obj{"$ref": "#/components/headers/ETag"}}
		resps["304"] = obj{"description": "Not Modified: the If-None-Match tag still matches.",
			"headers": obj{"ETag": obj{"$ref": "#/components/headers/ETag"}}}
	}
	if ok200["description"] == "A successful response." {
		ok200["description"] = "OK"
	}
	ref := func(name string) obj { return obj{"$ref": "#/components/responses/" + name} }
	resps["400"] = ref("BadRequest")
	resps["401"] = ref("Unauthorized")
	if !public {
		resps["403"] = ref("Forbidden")
	}
	if hasPath {
		resps["404"] = ref("NotFound")
	}
	if verb != "get" {
		resps["409"] = ref("Conflict")
	}
	if verb == "patch" || verb == "delete" {
		resps["412"] = ref("PreconditionFailed")
	}
	resps["429"] = ref("TooManyRequests")
	resps["503"] = ref("Unavailable")
	resps["default"] = ref("Error")
	return nil
}

// patchBody makes an update's body the resource with nothing required: with
// an update mask (AIP-134) a client sends only what changes. (protoc-gen-
// openapiv2 writes these bodies inline, without the field behaviours.)
func (g *gen) patchBody(m protoreflect.MethodDescriptor, op obj) error {
	rule, _ := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule)
	f := m.Input().Fields().ByName(protoreflect.Name(rule.GetBody()))
	if f == nil || f.Message() == nil {
		return fmt.Errorf("%s: PATCH body %q is not a message field", m.FullName(), rule.GetBody())
	}
	name := g.names[string(f.Message().FullName())]
	schemas := g.doc["components"].(obj)["schemas"].(obj)
	src, _ := schemas[name].(obj)
	if src == nil {
		return fmt.Errorf("%s: no schema %s", m.FullName(), name)
	}
	if _, done := schemas[name+"Patch"]; !done {
		patch := obj{}
		for k, v := range src {
			patch[k] = v
		}
		delete(patch, "required")
		patch["description"] = strings.TrimSpace(strings.TrimPrefix(fmt.Sprint(src["description"]), "<nil>") +
			"\n\nAs an update body: only the fields named by the update mask (or, without one, those present) change.")
		schemas[name+"Patch"] = patch
	}
	op["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{
		"schema": obj{"$ref": "#/components/schemas/" + name + "Patch"}}}}
	return nil
}

func (g *gen) tags() {
	g.doc["tags"] = []any{
		obj{"name": "MembershipService", "description": "People, teams, members, positions, volunteers, packages and tokens."},
		obj{"name": "RoadmapService", "description": "Releases, items and their status updates, proposals and votes."},
		obj{"name": "FinanceService", "description": "Accounts and the ledger, donations, subscriptions, sponsorships, expenses, goals, budgets and reports."},
	}
}
