package gateway_test

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
	"github.com/guildhall/guildhall/gen/openapi"
)

// TestOpenAPIContract checks what the document promises clients beyond its
// routes (TestOpenAPI): typed errors, security, singular parameters, field
// behaviours, the JSON policy and the CSV export.
func TestOpenAPIContract(t *testing.T) {
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas         map[string]schema `json:"schemas"`
			SecuritySchemes map[string]struct {
				Type, Scheme string
			} `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openapi.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	if b := doc.Components.SecuritySchemes["bearer"]; b.Type != "http" || b.Scheme != "bearer" {
		t.Errorf("bearer scheme %+v, want http bearer", b)
	}
	param := regexp.MustCompile(`\{(\w+)\}`)
	plurals := []string{"people", "teams", "members", "positions", "items", "updates", "proposals", "votes", "accounts", "tokens"}
	ops := 0
	for path, item := range doc.Paths {
		for _, m := range param.FindAllStringSubmatch(path, -1) {
			if slices.Contains(plurals, m[1]) {
				t.Errorf("%s: path parameter {%s} is a collection, not a singular name", path, m[1])
			}
		}
		for verb, raw := range item {
			var op struct {
				OperationID string                      `json:"operationId"`
				Security    []map[string][]string       `json:"security"`
				Parameters  []struct{ Name, In string } `json:"parameters"`
				Responses   map[string]struct {
					Ref     string                     `json:"$ref"`
					Content map[string]json.RawMessage `json:"content"`
				} `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", verb, path, err)
			}
			ops++
			if len(op.Security) == 0 || !slices.ContainsFunc(op.Security, func(s map[string][]string) bool { _, ok := s["bearer"]; return ok }) {
				t.Errorf("%s: no bearer security", op.OperationID)
			}
			if op.Responses["400"].Ref != "#/components/responses/BadRequest" || op.Responses["401"].Ref == "" {
				t.Errorf("%s: no typed 400/401 responses", op.OperationID)
			}
			for _, p := range op.Parameters {
				if p.In == "path" && !strings.Contains(path, "{"+p.Name+"}") {
					t.Errorf("%s: path parameter %s is not in %s", op.OperationID, p.Name, path)
				}
			}
			if op.OperationID == "FinanceService_ExportTransactions" {
				if _, ok := op.Responses["200"].Content["text/csv"]; !ok {
					t.Errorf("the export is not text/csv: %v", op.Responses["200"].Content)
				}
			}
		}
	}
	if ops < 70 {
		t.Fatalf("only %d operations", ops)
	}

	s := doc.Components.Schemas
	reasons := s["ErrorReason"].Enum
	for name, n := range typev1.ErrorReason_value {
		if n != 0 && !slices.Contains(reasons, name) {
			t.Errorf("ErrorReason %s is not in the document", name)
		}
	}
	if !slices.Contains(s["Person"].Required, "displayName") || !s["Person"].Properties["name"].ReadOnly {
		t.Errorf("Person: required %v, name readOnly %v", s["Person"].Required, s["Person"].Properties["name"].ReadOnly)
	}
	bal := s["Account"].Properties["balance"]
	if !bal.ReadOnly || !bal.Nullable || len(bal.AllOf) != 1 {
		t.Errorf("Account.balance must keep readOnly and nullable beside its $ref: %+v", bal)
	}
	if !s["Account"].Properties["type"].Immutable {
		t.Errorf("Account.type is not marked immutable")
	}
	if !slices.Contains(s["PersonState"].Enum, "STATE_UNSPECIFIED") {
		t.Errorf("enums must list the UNSPECIFIED value the gateway can send: %v", s["PersonState"].Enum)
	}
}

type schema struct {
	Enum       []string          `json:"enum"`
	Required   []string          `json:"required"`
	Properties map[string]schema `json:"properties"`
	ReadOnly   bool              `json:"readOnly"`
	Nullable   bool              `json:"nullable"`
	Immutable  bool              `json:"x-immutable"`
	AllOf      []json.RawMessage `json:"allOf"`
}
