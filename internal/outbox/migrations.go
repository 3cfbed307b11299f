package outbox

import (
	"embed"
	"io/fs"

	"github.com/guildhall/guildhall/internal/database"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Line is the migration line of the outbox table, applied in every service's
// schema before the service's own migrations.
func Line() database.Line {
	sub, _ := fs.Sub(migrations, "migrations")
	return database.Line{Name: "outbox", Migrations: sub}
}
