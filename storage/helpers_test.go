package storage

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/softdb/softdb/types"
)

// Schemas used across the tests.
var (
	intT  = types.Type{Kind: types.Int}
	fltT  = types.Type{Kind: types.Float}
	txtT  = types.Type{Kind: types.Text}
	vecT2 = types.Type{Kind: types.Vector, Dim: 2}
)

func vecT(d int) types.Type { return types.Type{Kind: types.Vector, Dim: d} }

func iv(i int64) types.Value             { return types.IntValue(i) }
func fv(f float64) types.Value           { return types.FloatValue(f) }
func tv(s string) types.Value            { return types.TextValue(s) }
func vv(x ...float32) types.Value        { return types.VectorValue(x) }
func row(v ...types.Value) []types.Value { return v }

// fmtValue renders a value with its kind so that dumps compare exactly.
func fmtValue(v types.Value) string {
	if v.K == types.Null {
		return "NULL"
	}
	return v.K.String() + ":" + v.String()
}

func fmtRow(r []types.Value) string {
	parts := make([]string, len(r))
	for i, v := range r {
		parts[i] = fmtValue(v)
	}
	return strings.Join(parts, "|")
}

// tableDump is a table's logical content, independent of segment layout.
type tableDump struct {
	Schema    string
	NextRowID int64
	Rows      map[int64]string
}

func fmtSchema(s *Schema) string {
	var b strings.Builder
	b.WriteString(s.Name + "(")
	for i, c := range s.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %v", c.Name, c.Type)
		if c.PrimaryKey {
			b.WriteString(" PK")
		}
		if c.NotNull {
			b.WriteString(" NN")
		}
	}
	b.WriteString(")")
	return b.String()
}

// dump reads everything in s through the public API and checks the
// mirror's internal invariants on the way.
func dump(t testing.TB, s *Snapshot) map[string]tableDump {
	t.Helper()
	out := map[string]tableDump{}
	tables := s.Tables()
	if !sort.SliceIsSorted(tables, func(i, j int) bool {
		return strings.ToLower(tables[i].Name()) < strings.ToLower(tables[j].Name())
	}) {
		t.Fatalf("Tables() not sorted")
	}
	for _, tb := range tables {
		if s.Table(strings.ToUpper(tb.Name())) != tb {
			t.Fatalf("Table(%q) lookup is not case-insensitive", tb.Name())
		}
		d := tableDump{Schema: fmtSchema(tb.Schema()), NextRowID: tb.NextRowID(), Rows: map[int64]string{}}
		var live int64
		prevEnd := int64(1)
		for _, g := range tb.Segments() {
			if g.Base() < prevEnd || g.Len() < 1 {
				t.Fatalf("table %s: segment base %d len %d after %d", tb.Name(), g.Base(), g.Len(), prevEnd)
			}
			prevEnd = g.Base() + int64(g.Len())
			lv := g.Live()
			if len(lv) != g.Len() {
				t.Fatalf("Live() length")
			}
			n := 0
			for i := 0; i < g.Len(); i++ {
				if lv[i] == 0 {
					continue
				}
				n++
				r := make([]types.Value, len(tb.Schema().Columns))
				for c, col := range tb.Schema().Columns {
					r[c] = g.Value(c, i)
					checkColumnAccess(t, g, c, col, i, r[c])
				}
				d.Rows[g.Base()+int64(i)] = fmtRow(r)
			}
			if n != g.LiveCount() {
				t.Fatalf("LiveCount %d, counted %d", g.LiveCount(), n)
			}
			live += int64(n)
		}
		if prevEnd > tb.NextRowID() {
			t.Fatalf("segments reach rowid %d beyond next rowid %d", prevEnd-1, tb.NextRowID())
		}
		if live != tb.LiveRows() {
			t.Fatalf("table %s: LiveRows %d, counted %d", tb.Name(), tb.LiveRows(), live)
		}
		out[strings.ToLower(tb.Name())] = d
	}
	return out
}

// checkColumnAccess checks the typed column accessors agree with Value.
func checkColumnAccess(t testing.TB, g *Segment, c int, col Column, i int, v types.Value) {
	nulls := g.Nulls(c)
	isNull := nulls != nil && nulls[i] != 0
	if isNull != v.IsNull() {
		t.Fatalf("Nulls disagrees with Value")
	}
	switch col.Type.Kind {
	case types.Int:
		if x := g.Ints(c); len(x) != g.Len() || (!isNull && x[i] != v.I) || (isNull && x[i] != 0) {
			t.Fatalf("Ints disagrees")
		}
	case types.Float:
		if x := g.Floats(c); len(x) != g.Len() || (!isNull && x[i] != v.F) {
			t.Fatalf("Floats disagrees")
		}
	case types.Text:
		if x := g.Texts(c); len(x) != g.Len() || x[i] != v.S {
			t.Fatalf("Texts disagrees")
		}
	case types.Vector:
		d := col.Type.Dim
		x := g.Vectors(c)
		if len(x) != g.Len()*d {
			t.Fatalf("Vectors length %d, want %d", len(x), g.Len()*d)
		}
		for j := 0; j < d; j++ {
			want := float32(0)
			if !isNull {
				want = v.V[j]
			}
			if x[i*d+j] != want {
				t.Fatalf("Vectors disagrees")
			}
		}
	}
}

func equalDumps(a, b map[string]tableDump) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d tables vs %d", len(a), len(b))
	}
	for name, ta := range a {
		tb, ok := b[name]
		if !ok {
			return fmt.Sprintf("table %s missing", name)
		}
		if ta.Schema != tb.Schema || ta.NextRowID != tb.NextRowID {
			return fmt.Sprintf("table %s: %s next %d vs %s next %d", name, ta.Schema, ta.NextRowID, tb.Schema, tb.NextRowID)
		}
		if len(ta.Rows) != len(tb.Rows) {
			return fmt.Sprintf("table %s: %d rows vs %d", name, len(ta.Rows), len(tb.Rows))
		}
		for id, r := range ta.Rows {
			if tb.Rows[id] != r {
				return fmt.Sprintf("table %s rowid %d: %q vs %q", name, id, r, tb.Rows[id])
			}
		}
	}
	return ""
}

func mustOpen(t testing.TB, opts Options) *DB {
	t.Helper()
	db, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func mustBegin(t testing.TB, db *DB) *Tx {
	t.Helper()
	tx, err := db.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// run runs f in a transaction and commits it.
func run(t testing.TB, db *DB, f func(tx *Tx) error) {
	t.Helper()
	tx := mustBegin(t, db)
	if err := f(tx); err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
