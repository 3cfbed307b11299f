package apptest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// WithToken returns a view of e whose REST calls carry token as a bearer token.
func (e *Env) WithToken(token string) *Env {
	c := *e
	c.token = token
	return &c
}

// Response is a REST answer, read in full.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends a request to the gateway. headers are key, value pairs.
func (e *Env) Do(t testing.TB, method, path, body string, headers ...string) *Response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.BaseURL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// JSON decodes the body as an object.
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// Status is a google.rpc.Status as JSON.
type Status struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []struct {
		Type            string            `json:"@type"`
		Reason          string            `json:"reason"`
		Domain          string            `json:"domain"`
		Metadata        map[string]string `json:"metadata"`
		FieldViolations []struct {
			Field       string `json:"field"`
			Description string `json:"description"`
		} `json:"fieldViolations"`
	} `json:"details"`
}

// RPCStatus decodes the body as a google.rpc.Status, failing if it is not one.
func (r *Response) RPCStatus(t testing.TB) Status {
	t.Helper()
	var s Status
	if err := json.Unmarshal(r.Body, &s); err != nil || s.Code == 0 || s.Message == "" {
		t.Fatalf("HTTP %d body is not a google.rpc.Status (err %v):\n%s", r.Status, err, r.Body)
	}
	return s
}

// Fields lists the fields named in the status's BadRequest detail.
func (s Status) Fields() []string {
	var out []string
	for _, d := range s.Details {
		for _, v := range d.FieldViolations {
			out = append(out, v.Field)
		}
	}
	return out
}

// Reason is the ErrorInfo reason, if any.
func (s Status) Reason() string {
	for _, d := range s.Details {
		if strings.HasSuffix(d.Type, "google.rpc.ErrorInfo") {
			return d.Reason
		}
	}
	return ""
}
