// Package openapi embeds the merged OpenAPI (Swagger 2.0) document generated
// from the protos by protoc-gen-openapiv2.
package openapi

import _ "embed"

// JSON is the document served at /openapi.json.
//
//go:embed guildhall.swagger.json
var JSON []byte
