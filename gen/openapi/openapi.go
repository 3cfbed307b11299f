// Package openapi embeds the OpenAPI 3.0 document served at /openapi.json.
// scripts/openapi3 writes it (make generate) from guildhall.swagger.json, the
// Swagger 2.0 document protoc-gen-openapiv2 generates from the protos, which
// is kept only as that converter's input.
package openapi

import _ "embed"

// JSON is the OpenAPI 3.0 document served at /openapi.json.
//
//go:embed openapi.json
var JSON []byte
