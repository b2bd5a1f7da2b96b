package softdb_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/softdb/softdb"
	"github.com/softdb/softdb/query"
)

// TestStatementTooLong: a statement longer than query.MaxStatementLen is
// refused by every entry point that takes SQL text before any of it is
// lexed, so its size costs neither time nor memory.
func TestStatementTooLong(t *testing.T) {
	db, err := softdb.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	huge := "SELECT 1" + strings.Repeat(" + 1", 16<<20/4) // 16 MiB
	script := "SELECT 1; " + huge
	conn := db.Conn()
	defer conn.Close()
	for name, run := range map[string]func() error{
		"DB.Exec":    func() error { _, err := db.Exec(ctx, huge); return err },
		"DB.Query":   func() error { _, err := db.Query(ctx, huge); return err },
		"DB.Prepare": func() error { _, err := db.Prepare(ctx, huge); return err },
		"Conn.Exec":  func() error { _, err := conn.Exec(ctx, script); return err },
	} {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		err := run()
		runtime.ReadMemStats(&m1)
		var se *softdb.SyntaxError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "statement is too long") {
			t.Errorf("%s: %v", name, err)
		}
		if n := m1.TotalAlloc - m0.TotalAlloc; n > query.MaxStatementLen/4 {
			t.Errorf("%s: refusing a %d-byte statement allocated %d bytes", name, len(huge), n)
		}
	}
}
