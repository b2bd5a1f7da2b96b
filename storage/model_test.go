package storage

import (
	"context"
	"errors"
	"flag"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/softdb/softdb/types"
)

var seedFlag = flag.Int64("seed", 0, "seed for randomized storage tests (0: from the clock; also $SOFTDB_SEED)")

// testSeed returns the seed to use and logs it so a failure can be replayed
// with -seed=N or SOFTDB_SEED=N.
func testSeed(t *testing.T) int64 {
	seed := *seedFlag
	if s := os.Getenv("SOFTDB_SEED"); seed == 0 && s != "" {
		var err error
		if seed, err = strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatalf("SOFTDB_SEED: %v", err)
		}
	}
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d (replay with -seed=%d)", seed, seed)
	return seed
}

// mTable and model are the plain in-memory reference: maps, no segments.
type mTable struct {
	schema *Schema
	next   int64
	rows   map[int64][]types.Value
}

type model map[string]*mTable

func (m model) clone() model {
	c := model{}
	for k, t := range m {
		rows := make(map[int64][]types.Value, len(t.rows))
		for id, r := range t.rows {
			rows[id] = r
		}
		c[k] = &mTable{schema: t.schema, next: t.next, rows: rows}
	}
	return c
}

func (m model) dump() map[string]tableDump {
	out := map[string]tableDump{}
	for k, t := range m {
		d := tableDump{Schema: fmtSchema(t.schema), NextRowID: t.next, Rows: map[int64]string{}}
		for id, r := range t.rows {
			d.Rows[id] = fmtRow(r)
		}
		out[k] = d
	}
	return out
}

// pkTaken reports whether a live row outside skip holds v in the PK.
func (t *mTable) pkTaken(v types.Value, skip map[int64]bool) bool {
	pk := t.schema.PrimaryKey()
	for id, r := range t.rows {
		if !skip[id] && fmtValue(r[pk]) == fmtValue(v) {
			return true
		}
	}
	return false
}

type modelRun struct {
	t   *testing.T
	rng *rand.Rand
}

var tableNames = []string{"a", "b", "c"}

func (r *modelRun) name() string {
	n := tableNames[r.rng.Intn(len(tableNames))]
	if r.rng.Intn(3) == 0 {
		n = strings.ToUpper(n)
	}
	return n
}

func (r *modelRun) schema(name string) Schema {
	s := Schema{Name: name}
	ncol := 1 + r.rng.Intn(4)
	pk := -1
	if r.rng.Intn(2) == 0 {
		pk = r.rng.Intn(ncol)
	}
	for i := 0; i < ncol; i++ {
		c := Column{Name: "c" + strconv.Itoa(i)}
		switch r.rng.Intn(4) {
		case 0:
			c.Type = intT
		case 1:
			c.Type = fltT
		case 2:
			c.Type = txtT
		case 3:
			c.Type = vecT(1 + r.rng.Intn(3))
		}
		if i == pk {
			c.PrimaryKey = true
			c.Type = []types.Type{intT, txtT}[r.rng.Intn(2)]
		}
		c.NotNull = r.rng.Intn(4) == 0
		s.Columns = append(s.Columns, c)
	}
	return s
}

// value returns a random value for c; invalid values (NULL in NOT NULL,
// wrong kind, wrong dimension) are produced only when bad is set.
func (r *modelRun) value(c *Column, bad bool) types.Value {
	if bad {
		switch r.rng.Intn(3) {
		case 0:
			if c.NotNull {
				return types.Value{}
			}
			fallthrough
		case 1:
			if c.Type.Kind == types.Vector {
				return types.VectorValue(make([]float32, c.Type.Dim+1))
			}
			fallthrough
		default:
			if c.Type.Kind == types.Text {
				return iv(1)
			}
			return tv("wrong kind")
		}
	}
	if !c.NotNull && r.rng.Intn(5) == 0 {
		return types.Value{}
	}
	switch c.Type.Kind {
	case types.Int:
		return iv(int64(r.rng.Intn(11) - 5))
	case types.Float:
		return fv(float64(r.rng.Intn(100)) / 8)
	case types.Text:
		return tv([]string{"", "x", "y", "z", "it's", "日本"}[r.rng.Intn(6)])
	default:
		v := make([]float32, c.Type.Dim)
		for i := range v {
			v[i] = float32(r.rng.NormFloat64())
		}
		return types.VectorValue(v)
	}
}

func (r *modelRun) rows(s *Schema, n int) (rows [][]types.Value, bad bool) {
	for i := 0; i < n; i++ {
		row := make([]types.Value, len(s.Columns))
		badCol := -1
		if r.rng.Intn(25) == 0 {
			badCol = r.rng.Intn(len(row))
			bad = true
		}
		for c := range row {
			row[c] = r.value(&s.Columns[c], c == badCol)
		}
		rows = append(rows, row)
	}
	return rows, bad
}

func liveIDs(t *mTable) []int64 {
	var ids []int64
	for id := range t.rows {
		ids = append(ids, id)
	}
	return ids
}

// TestModel runs random transactions against the DB and the model and
// compares them after every operation, across rollbacks and reopens.
func TestModel(t *testing.T) {
	seed := testSeed(t)
	r := &modelRun{t: t, rng: rand.New(rand.NewSource(seed))}
	steps := 1500
	if testing.Short() {
		steps = 300
	}
	dir := t.TempDir()
	segRows := 1 << r.rng.Intn(4)
	opts := Options{Dir: dir, SegmentRows: segRows}
	db := mustOpen(t, opts)
	var tx *Tx
	defer func() {
		if tx != nil {
			tx.Rollback() // after a failure: Close waits for the writer
		}
		db.Close()
	}()
	committed := model{}
	var oldSnap *Snapshot
	var oldDump map[string]tableDump

	for step := 0; step < steps; step++ {
		if r.rng.Intn(40) == 0 {
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = mustOpen(t, opts)
			if d := equalDumps(committed.dump(), dump(t, db.Snapshot())); d != "" {
				t.Fatalf("step %d: after reopen: %s", step, d)
			}
		}
		if oldSnap == nil || r.rng.Intn(10) == 0 {
			oldSnap, oldDump = db.Snapshot(), committed.dump()
		}
		var err error
		if tx, err = db.Begin(context.Background()); err != nil {
			t.Fatal(err)
		}
		m := committed.clone()
		nops := 1 + r.rng.Intn(5)
		// Snapshots taken inside the Tx must not change with its later
		// writes; Views (read until the next write) let those writes
		// go in place.
		var midSnaps []*Snapshot
		var midDumps []map[string]tableDump
		for op := 0; op < nops; op++ {
			r.op(step, tx, m)
			view := tx.View()
			if r.rng.Intn(3) == 0 {
				view = tx.Snapshot()
				midSnaps, midDumps = append(midSnaps, view), append(midDumps, m.dump())
			}
			if d := equalDumps(m.dump(), dump(t, view)); d != "" {
				t.Fatalf("step %d: tx view: %s", step, d)
			}
		}
		if r.rng.Intn(4) == 0 {
			view := tx.Snapshot()
			tx.Rollback()
			if r.rng.Intn(2) == 0 {
				// The view of a rolled-back Tx must stay intact too.
				oldSnap, oldDump = view, m.dump()
			}
		} else {
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			committed = m
		}
		if d := equalDumps(committed.dump(), dump(t, db.Snapshot())); d != "" {
			t.Fatalf("step %d: committed state: %s", step, d)
		}
		if d := equalDumps(oldDump, dump(t, oldSnap)); d != "" {
			t.Fatalf("step %d: an old snapshot changed: %s", step, d)
		}
		for i, s := range midSnaps {
			if d := equalDumps(midDumps[i], dump(t, s)); d != "" {
				t.Fatalf("step %d: a snapshot taken inside the transaction changed: %s", step, d)
			}
		}
	}
	db.Close()
	db = mustOpen(t, opts)
	if d := equalDumps(committed.dump(), dump(t, db.Snapshot())); d != "" {
		t.Fatalf("final reopen: %s", d)
	}
}

// op applies one random operation to tx and, when it should succeed, to m.
func (r *modelRun) op(step int, tx *Tx, m model) {
	t := r.t
	name := r.name()
	low := strings.ToLower(name)
	mt := m[low]
	expect := func(what string, wantErr bool, err error) {
		t.Helper()
		if wantErr != (err != nil) {
			t.Fatalf("step %d: %s on %s: want error %v, got %v", step, what, name, wantErr, err)
		}
	}
	switch k := r.rng.Intn(20); {
	case k == 0 || mt == nil && k < 8:
		s := r.schema(name)
		err := tx.CreateTable(s)
		expect("create", mt != nil, err)
		if err == nil {
			vs, _ := s.validate()
			m[low] = &mTable{schema: vs, next: 1, rows: map[int64][]types.Value{}}
		} else if mt != nil && !errors.Is(err, ErrTableExists) {
			t.Fatalf("create: %v", err)
		}
	case k == 1:
		err := tx.DropTable(name)
		expect("drop", mt == nil, err)
		delete(m, low)
	case mt == nil:
		_, err := tx.Insert(name, nil)
		expect("insert into missing table", true, err)
	case k < 12:
		rows, bad := r.rows(mt.schema, r.rng.Intn(7))
		pk := mt.schema.PrimaryKey()
		seen := map[string]bool{}
		for _, row := range rows {
			if pk >= 0 && !bad {
				key := fmtValue(row[pk])
				bad = bad || seen[key] || mt.pkTaken(row[pk], nil)
				seen[key] = true
			}
		}
		first, err := tx.Insert(name, rows)
		expect("insert", bad, err)
		if err == nil {
			if first != mt.next {
				t.Fatalf("step %d: insert returned rowid %d, want %d", step, first, mt.next)
			}
			for _, row := range rows {
				mt.rows[mt.next] = row
				mt.next++
			}
		}
	case k < 16:
		ids := liveIDs(mt)
		r.rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		ids = ids[:min(len(ids), r.rng.Intn(4))]
		rows, bad := r.rows(mt.schema, len(ids))
		if len(ids) > 0 && r.rng.Intn(10) == 0 {
			ids[0] = mt.next + 5 // not a row
			bad = true
		}
		if pk := mt.schema.PrimaryKey(); pk >= 0 && !bad {
			set := map[int64]bool{}
			for _, id := range ids {
				set[id] = true
			}
			seen := map[string]bool{}
			for _, row := range rows {
				key := fmtValue(row[pk])
				bad = bad || seen[key] || mt.pkTaken(row[pk], set)
				seen[key] = true
			}
		}
		given := rows
		if !bad && len(ids) > 1 && r.rng.Intn(3) == 0 {
			// Rotate the rows: each gets the next one's values, read
			// through the Tx's View, so the new vectors share memory with
			// slots the update overwrites.
			view := tx.View().Table(name)
			given, rows = make([][]types.Value, len(ids)), make([][]types.Value, len(ids))
			for i := range ids {
				src := ids[(i+1)%len(ids)]
				k, slot, _ := view.locate(src)
				given[i], rows[i] = view.segs[k].Row(slot), mt.rows[src]
			}
		}
		err := tx.Update(name, ids, given)
		expect("update", bad, err)
		if err == nil {
			for i, id := range ids {
				mt.rows[id] = rows[i]
			}
		}
	default:
		ids := liveIDs(mt)
		r.rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		ids = ids[:min(len(ids), r.rng.Intn(8))]
		bad := false
		if r.rng.Intn(10) == 0 {
			ids = append(ids, mt.next) // not a row yet
			bad = true
		}
		err := tx.Delete(name, ids)
		expect("delete", bad, err)
		if err == nil {
			for _, id := range ids {
				delete(mt.rows, id)
			}
		}
	}
}
