// Package migrations embeds the events schema's goose migrations.
package migrations

import "embed"

// FS holds the migrations, applied in file-name order.
//
//go:embed *.sql
var FS embed.FS
