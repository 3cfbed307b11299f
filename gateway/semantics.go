package gateway

// The HTTP semantics a frontend expects from a JSON API, on top of what
// grpc-gateway does by itself: strict query strings and bodies, JSON names in
// masks and errors, conditional requests (RFC 9110 §13), standard challenge
// and retry headers, and error bodies of one shape on every route.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/guildhall/guildhall/internal/apierr"
)

// strictQuery parses query parameters like grpc-gateway's default parser
// (proto or JSON names, dotted paths into messages) but refuses a parameter
// that names no field of the request, so a typo such as ?pagesize=3 is a 400
// instead of a silently ignored setting. Update masks given in the query may
// name fields by their JSON names (AIP-161 as grpc-gateway maps it); they are
// turned into proto names before the services see them.
type strictQuery struct{ runtime.DefaultQueryParser }

// unknownParamPrefix starts the message of the error Parse returns, which
// grpc-gateway wraps in an INVALID_ARGUMENT status; decodeError reads the
// parameter names back out of it.
const unknownParamPrefix = "unknown query parameter "

var unknownParamRE = regexp.MustCompile(`unknown query parameter "([^"]*)"`)

func (q strictQuery) Parse(msg proto.Message, values url.Values, filter *utilities.DoubleArray) error {
	// A mail client following a one-click opt-out link (RFC 8058) posts
	// the form List-Unsubscribe=One-Click, which net/http merges into the
	// values; it says only that the POST is a one-click one.
	if values.Get("List-Unsubscribe") == "One-Click" {
		values = maps.Clone(values)
		values.Del("List-Unsubscribe")
	}
	desc := msg.ProtoReflect().Descriptor()
	var unknown []string
	for key := range values {
		field, _, _ := strings.Cut(key, "[") // map syntax: labels[key]=value
		if !resolves(desc, strings.Split(field, ".")) {
			unknown = append(unknown, key)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		accepted := queryFields(desc, filter)
		parts := make([]string, len(unknown))
		for i, k := range unknown {
			parts[i] = fmt.Sprintf("%s%q", unknownParamPrefix, k)
		}
		hint := "this route takes no query parameters"
		if len(accepted) > 0 {
			hint = "this route takes " + strings.Join(accepted, ", ")
		}
		return fmt.Errorf("%s; %s", strings.Join(parts, "; "), hint)
	}
	if err := q.DefaultQueryParser.Parse(msg, values, filter); err != nil {
		return err
	}
	protoMaskPaths(msg.ProtoReflect())
	return nil
}

// resolves reports whether path names a field of desc, each step by its proto
// or JSON name, every step but the last a singular message.
func resolves(desc protoreflect.MessageDescriptor, path []string) bool {
	for i, seg := range path {
		f := fieldByName(desc, seg)
		if f == nil {
			return false
		}
		if i == len(path)-1 {
			return true
		}
		if f.Message() == nil || f.IsList() || f.IsMap() {
			return false
		}
		desc = f.Message()
	}
	return false
}

func fieldByName(desc protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	if f := desc.Fields().ByTextName(name); f != nil {
		return f
	}
	return desc.Fields().ByJSONName(name)
}

// queryFields lists the JSON names of desc's fields that the query may set
// (those not bound to the path or the body).
func queryFields(desc protoreflect.MessageDescriptor, filter *utilities.DoubleArray) []string {
	var out []string
	fs := desc.Fields()
	for i := range fs.Len() {
		f := fs.Get(i)
		if filter != nil && filter.HasCommonPrefix([]string{string(f.Name())}) {
			continue
		}
		out = append(out, f.JSONName())
	}
	return out
}

// protoMaskPaths rewrites the paths of every top-level FieldMask of req from
// JSON names to proto names, resolving them against the request's message
// fields (the resource being updated).
func protoMaskPaths(req protoreflect.Message) {
	fs := req.Descriptor().Fields()
	for i := range fs.Len() {
		f := fs.Get(i)
		if f.Message() == nil || f.Message().FullName() != "google.protobuf.FieldMask" || !req.Has(f) {
			continue
		}
		mask, ok := req.Get(f).Message().Interface().(*fieldmaskpb.FieldMask)
		if !ok {
			continue
		}
		for j, p := range mask.GetPaths() {
			for k := range fs.Len() {
				target := fs.Get(k)
				if target.Message() == nil || target == f || target.IsList() || target.IsMap() {
					continue
				}
				if proto, ok := protoPath(target.Message(), p); ok {
					mask.Paths[j] = proto
					break
				}
			}
		}
	}
}

// protoPath turns a dotted path of proto or JSON names into proto names.
func protoPath(desc protoreflect.MessageDescriptor, path string) (string, bool) {
	if path == "*" {
		return path, true
	}
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		if desc == nil {
			return "", false
		}
		f := fieldByName(desc, seg)
		if f == nil {
			return "", false
		}
		segs[i] = string(f.Name())
		desc = nil
		if f.Message() != nil && !f.IsList() && !f.IsMap() {
			desc = f.Message()
		}
	}
	return strings.Join(segs, "."), true
}

// strictJSON is the JSON marshaler with a decoder that takes exactly one JSON
// value: a body such as `{…}{…}` or `{…} junk` is refused, not half read.
type strictJSON struct{ runtime.JSONPb }

func (s *strictJSON) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error {
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return io.EOF // an empty body, as grpc-gateway's own decoder reports it
		}
		// A body that protojson takes whole into its message is one JSON
		// value, and grpc-gateway would decode it into the same message
		// with the same options: done, without the two scans by
		// encoding/json below (a donation's body: 3.1 instead of 10 µs,
		// BenchmarkBodyDecoding). Any other body takes the path below,
		// whose errors clients see.
		if m := protoTarget(v); m != nil && s.UnmarshalOptions.Unmarshal(data, m) == nil {
			return nil
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		var first json.RawMessage
		if dec.Decode(&first) == nil {
			if rest := bytes.TrimSpace(data[dec.InputOffset():]); len(rest) > 0 {
				return fmt.Errorf("body: unexpected content after the JSON value at byte %d", dec.InputOffset())
			}
		}
		return s.Unmarshal(data, v)
	})
}

// protoTarget is the message a body decodes into when v is one, or a
// pointer to a message pointer (a body field such as CreateDonation's
// donation), allocated if nil as grpc-gateway would; nil otherwise.
func protoTarget(v any) proto.Message {
	if m, ok := v.(proto.Message); ok {
		return m
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Pointer {
		return nil
	}
	e := rv.Elem()
	if _, ok := reflect.Zero(e.Type()).Interface().(proto.Message); !ok {
		return nil
	}
	if e.IsNil() {
		e.Set(reflect.New(e.Type().Elem()))
	}
	return e.Interface().(proto.Message)
}

// Marshal writes a stream's error (which grpc-gateway wraps as
// {"error": status}) as the bare google.rpc.Status every other route sends.
func (s *strictJSON) Marshal(v any) ([]byte, error) {
	if m, ok := v.(map[string]proto.Message); ok && len(m) == 1 {
		if st, ok := m["error"]; ok {
			return s.JSONPb.Marshal(st)
		}
	}
	return s.JSONPb.Marshal(v)
}

// publicStatus is the status as REST clients see it: field violations name
// fields by their JSON (lowerCamelCase) names, as the client sent them, and an
// INVALID_ARGUMENT raised by the gateway's own decoding gets field violations.
func publicStatus(st *status.Status) *status.Status {
	if st.Code() == codes.InvalidArgument && len(st.Details()) == 0 {
		st = decodeError(st.Message())
	}
	sp := proto.Clone(st.Proto()).(*spb.Status)
	for _, a := range sp.GetDetails() {
		var br errdetails.BadRequest
		if !a.MessageIs(&br) || a.UnmarshalTo(&br) != nil {
			continue
		}
		for i, v := range br.FieldViolations {
			field := jsonPath(v.Field)
			// apierr.Invalid names the first violation in the message.
			if i == 0 && field != v.Field {
				sp.Message = strings.Replace(sp.Message, ": "+v.Field+": ", ": "+field+": ", 1)
			}
			v.Field = field
		}
		if b, err := proto.Marshal(&br); err == nil {
			a.Value = b
		}
	}
	return status.FromProto(sp)
}

// jsonPath turns a field path of proto names ("postings[0].amount.minor_units")
// into JSON names ("postings[0].amount.minorUnits") the way protoc derives
// json_name: an underscore is dropped and the letter after it upper-cased.
// Map keys and indexes in brackets are kept as they are.
func jsonPath(path string) string {
	var b strings.Builder
	depth, upper := 0, false
	for _, r := range path {
		switch {
		case r == '[':
			depth++
		case r == ']' && depth > 0:
			depth--
		case depth == 0 && r == '_':
			upper = true
			continue
		case depth == 0 && upper && r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		upper = false
		b.WriteRune(r)
	}
	return b.String()
}

// noQueryRoutes returns a grpc-gateway middleware refusing query parameters
// on routes whose request comes wholly from the path and the body (body "*",
// or every field bound): grpc-gateway never parses their query, so it would
// ignore them without a word.
func noQueryRoutes(files ...protoreflect.FileDescriptor) runtime.Middleware {
	noQuery := map[string]string{} // "GET /v1/{name=people/*}" -> hint
	for _, fd := range files {
		svcs := fd.Services()
		for i := range svcs.Len() {
			ms := svcs.Get(i).Methods()
			for j := range ms.Len() {
				m := ms.Get(j)
				rule, _ := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule)
				if rule == nil {
					continue
				}
				verb, tmpl := httpRule(rule)
				if tmpl == "" {
					continue
				}
				bound := map[string]bool{rule.GetBody(): true}
				for _, v := range pathVars.FindAllStringSubmatch(tmpl, -1) {
					top, _, _ := strings.Cut(v[1], ".")
					bound[top] = true
				}
				fs := m.Input().Fields()
				open := false
				for k := range fs.Len() {
					open = open || !bound[string(fs.Get(k).Name())]
				}
				switch {
				case rule.GetBody() == "*":
					noQuery[verb+" "+tmpl] = "this route takes its fields in the JSON body"
				case !open:
					noQuery[verb+" "+tmpl] = "this route takes no query parameters"
				}
			}
		}
	}
	return func(next runtime.HandlerFunc) runtime.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
			if r.URL.RawQuery != "" {
				pat, ok := runtime.HTTPPattern(r.Context())
				if hint, refused := noQuery[r.Method+" "+pat.String()]; ok && refused {
					q := r.URL.Query()
					keys := make([]string, 0, len(q))
					for k := range q {
						keys = append(keys, fmt.Sprintf("%s%q", unknownParamPrefix, k))
					}
					slices.Sort(keys)
					writeStatus(w, r, decodeError(strings.Join(keys, "; ")+"; "+hint))
					return
				}
			}
			next(w, r, params)
		}
	}
}

var pathVars = regexp.MustCompile(`\{([a-z_.]+)(?:=[^}]*)?\}`)

func httpRule(r *annotations.HttpRule) (verb, template string) {
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return http.MethodGet, p.Get
	case *annotations.HttpRule_Post:
		return http.MethodPost, p.Post
	case *annotations.HttpRule_Patch:
		return http.MethodPatch, p.Patch
	case *annotations.HttpRule_Put:
		return http.MethodPut, p.Put
	case *annotations.HttpRule_Delete:
		return http.MethodDelete, p.Delete
	}
	return "", ""
}

// conditional implements conditional requests (RFC 9110 §13).
//
// A successful JSON answer to a GET carries a strong ETag: the resource's own
// etag (the one in the body) followed by "." and a digest of the
// representation, or the digest alone for answers that are not a resource.
// The digest makes If-None-Match answer 304 only when the bytes are the same
// (output-only fields such as tallies change without a new etag). If-Match on
// PATCH and DELETE is the body's etag sent as a header: the gateway passes it
// to the service as the request's etag, and a stale one is a 412.
func conditional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			buf := &bufferedGet{ResponseWriter: w}
			next.ServeHTTP(buf, r)
			buf.finish(r)
			return
		case http.MethodPatch, http.MethodDelete:
			if st := applyIfMatch(r); st != nil {
				writeStatus(w, r, st)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// etagDigest matches the digest the gateway appends to a resource etag.
var etagDigest = regexp.MustCompile(`\.[0-9a-f]{16}$`)

// applyIfMatch moves an If-Match header into the request as its etag: the
// "etag" query parameter of a DELETE, the body's "etag" of a PATCH.
func applyIfMatch(r *http.Request) *status.Status {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return nil
	}
	if strings.Contains(h, ",") {
		return apierr.InvalidField("If-Match", "send one entity tag").GRPCStatus()
	}
	tag, err := strconv.Unquote(strings.TrimPrefix(h, "W/"))
	if err != nil || strings.HasPrefix(h, "W/") {
		return apierr.InvalidField("If-Match", `want one strong entity tag in double quotes, e.g. "7.0123456789abcdef"`).GRPCStatus()
	}
	tag = etagDigest.ReplaceAllString(tag, "")
	if r.Method == http.MethodDelete {
		q := r.URL.Query()
		if q.Has("etag") && q.Get("etag") != tag {
			return apierr.InvalidField("etag", "differs from the If-Match header").GRPCStatus()
		}
		q.Set("etag", tag)
		r.URL.RawQuery = q.Encode()
		return nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return bodyTooLarge(tooLarge.Limit)
		}
		return apierr.InvalidField("body", "could not read the body").GRPCStatus()
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if dec.Decode(&obj) != nil || obj == nil || len(bytes.TrimSpace(body[dec.InputOffset():])) > 0 {
		return nil // not one JSON object: the decoder reports it
	}
	if sent, ok := obj["etag"]; ok {
		var s string
		if json.Unmarshal(sent, &s) != nil || s != tag {
			return apierr.InvalidField("etag", "differs from the If-Match header").GRPCStatus()
		}
		return nil
	}
	quoted, _ := json.Marshal(tag)
	open := bytes.IndexByte(body, '{')
	insert := append([]byte(`"etag":`), quoted...)
	if len(obj) > 0 {
		insert = append(insert, ',')
	}
	out := slices.Concat(body[:open+1], insert, body[open+1:])
	r.Body = io.NopCloser(bytes.NewReader(out))
	r.ContentLength = int64(len(out))
	return nil
}

// bufferedGet holds a successful JSON answer back until its ETag is known.
// Anything else (errors, the CSV export's stream) passes straight through.
type bufferedGet struct {
	http.ResponseWriter
	decided, buffering bool
	status             int
	body               bytes.Buffer
}

func (b *bufferedGet) decide(code int) {
	if b.decided {
		return
	}
	b.decided, b.status = true, code
	ct := b.Header().Get("Content-Type")
	b.buffering = code == http.StatusOK && strings.HasPrefix(ct, "application/json")
	if !b.buffering {
		b.ResponseWriter.WriteHeader(code)
	}
}

func (b *bufferedGet) WriteHeader(code int) { b.decide(code) }

func (b *bufferedGet) Write(p []byte) (int, error) {
	b.decide(http.StatusOK)
	if b.buffering {
		return b.body.Write(p)
	}
	return b.ResponseWriter.Write(p)
}

func (b *bufferedGet) Flush() {
	if b.buffering {
		return
	}
	if f, ok := b.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (b *bufferedGet) Unwrap() http.ResponseWriter { return b.ResponseWriter }

func (b *bufferedGet) finish(r *http.Request) {
	if !b.buffering {
		return
	}
	sum := sha256.Sum256(b.body.Bytes())
	tag := hex.EncodeToString(sum[:8])
	var res struct {
		Etag string `json:"etag"`
	}
	if json.Unmarshal(b.body.Bytes(), &res) == nil && res.Etag != "" {
		tag = res.Etag + "." + tag
	}
	tag = strconv.Quote(tag)
	h := b.Header()
	h.Set("ETag", tag)
	h.Add("Vary", "Authorization")
	if noneMatch(r.Header.Get("If-None-Match"), tag) {
		h.Del("Content-Type")
		h.Del("Content-Length")
		b.ResponseWriter.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(b.body.Len()))
	b.ResponseWriter.WriteHeader(http.StatusOK)
	_, _ = b.ResponseWriter.Write(b.body.Bytes())
}

// noneMatch reports whether an If-None-Match header matches tag, by the weak
// comparison RFC 9110 §13.1.2 prescribes.
func noneMatch(header, tag string) bool {
	if strings.TrimSpace(header) == "*" {
		return true
	}
	for _, t := range strings.Split(header, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == tag {
			return true
		}
	}
	return false
}

// challenges adds the headers a status code promises: the Bearer challenge of
// RFC 6750 §3 on a 401, and Retry-After on a 429 that did not set one (503s
// get theirs from retryAfter).
func challenges(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&challengeWriter{ResponseWriter: w, tokenSent: r.Header.Get("Authorization") != ""}, r)
	})
}

type challengeWriter struct {
	http.ResponseWriter
	tokenSent, wrote bool
}

func (c *challengeWriter) WriteHeader(code int) {
	if !c.wrote {
		c.wrote = true
		h := c.Header()
		switch code {
		case http.StatusUnauthorized:
			// grpc-gateway puts the status message here, which is no
			// challenge (RFC 9110 §11.6.1).
			if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer ") {
				v := `Bearer realm="guildhall"`
				if c.tokenSent {
					v += `, error="invalid_token", error_description="the access token is missing, unknown, expired or revoked"`
				}
				h.Set("WWW-Authenticate", v)
			}
		case http.StatusTooManyRequests:
			if h.Get("Retry-After") == "" {
				h.Set("Retry-After", "1")
			}
		}
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *challengeWriter) Write(p []byte) (int, error) {
	if !c.wrote {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(p)
}

func (c *challengeWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *challengeWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// transparencyPath is the transparency report's route: one answer for every
// caller, so clients and shared caches may keep it a while.
const transparencyPath = "/v1/transparencyReport"

// publicCache marks successful GETs of path (200, and 304 from conditional)
// `Cache-Control: public, max-age=<maxAge in seconds>`; errors are never
// marked. With maxAge 0 the answer is `no-cache` (revalidate each time).
func publicCache(path string, maxAge time.Duration, next http.Handler) http.Handler {
	value := "no-cache"
	if s := int(maxAge / time.Second); s > 0 {
		value = "public, max-age=" + strconv.Itoa(s)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&cacheMarker{ResponseWriter: w, value: value}, r)
	})
}

// cacheMarker sets Cache-Control as a successful answer's header is written.
type cacheMarker struct {
	http.ResponseWriter
	value string
	wrote bool
}

func (c *cacheMarker) WriteHeader(code int) {
	if !c.wrote {
		c.wrote = true
		if code == http.StatusOK || code == http.StatusNotModified {
			c.Header().Set("Cache-Control", c.value)
		}
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *cacheMarker) Write(b []byte) (int, error) {
	if !c.wrote {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(b)
}

func (c *cacheMarker) Unwrap() http.ResponseWriter { return c.ResponseWriter }
