package softdb_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/softdb/softdb"
)

// indexPair holds two tables with the same rows, a with an index and b
// without, so that every statement can be compared between them.
type indexPair struct {
	t   *testing.T
	db  *softdb.Conn
	rng *rand.Rand
	d   int
	// used counts the queries that EXPLAIN ANALYZE said read an index,
	// split those whose lists opened held more than one block; coded
	// counts the rows they bounded from codes.
	used, split, coded int
	maxV               []float64 // maxAbs of the current rows (nil: to compute)
}

func (p *indexPair) exec(sql string, args ...any) {
	p.t.Helper()
	for _, tbl := range []string{"a", "b"} {
		if _, err := p.db.Exec(context.Background(), strings.ReplaceAll(sql, "$T", tbl), args...); err != nil {
			p.t.Fatalf("%s: %v", strings.ReplaceAll(sql, "$T", tbl), err)
		}
	}
}

func (p *indexPair) rows(sql string, args ...any) [][]any {
	p.t.Helper()
	r, err := p.db.Query(context.Background(), sql, args...)
	if err != nil {
		p.t.Fatalf("%s: %v", sql, err)
	}
	defer r.Close()
	var out [][]any
	for r.Next() {
		out = append(out, r.Values())
	}
	return out
}

func vecText(v []float32) string {
	var b strings.Builder
	b.WriteString("[")
	for i, x := range v {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%g", x)
	}
	b.WriteString("]")
	return b.String()
}

// key draws a key: clustered, with duplicates, zero vectors, norms of 1e4.
func (p *indexPair) key(centers [][]float32) []float32 {
	k := make([]float32, p.d)
	c := centers[p.rng.IntN(len(centers))]
	switch p.rng.IntN(20) {
	case 0:
		return k // zero
	case 1:
		copy(k, centers[0]) // duplicates of one center
		return k
	case 2:
		for j := range k {
			k[j] = float32(p.rng.NormFloat64() * 1e4)
		}
		return k
	}
	for j := range k {
		k[j] = c[j] + float32(p.rng.NormFloat64()*0.3)
	}
	return k
}

func (p *indexPair) insert(n int, centers [][]float32, first int) {
	var vals []string
	for i := 0; i < n; i++ {
		k := p.key(centers)
		v := []float32{float32(p.rng.NormFloat64()), float32(p.rng.IntN(100)), float32(first + i)}
		vals = append(vals, fmt.Sprintf("(%d, %s, %s, %g, %d)", first+i, vecText(k), vecText(v), p.rng.NormFloat64()*10, (first+i)%7))
	}
	p.exec("INSERT INTO $T VALUES " + strings.Join(vals, ", "))
}

// compare runs random HARD and SOFT SELECTs on a and b and checks that
// the indexed answers equal the scan's within SPEC §4 (§8 with WITHIN).
func (p *indexPair) compare(queries int, centers [][]float32) {
	t := p.t
	p.maxV = nil
	for qi := 0; qi < queries; qi++ {
		q := p.key(centers)
		if p.rng.IntN(4) == 0 {
			for j := range q {
				q[j] = float32(p.rng.NormFloat64())
			}
		}
		metric := []string{"DOT", "COSINE", "L2"}[p.rng.IntN(3)]
		temp := math.Pow(10, p.rng.Float64()*9-3)
		tempSQL := fmt.Sprintf("%g", temp)
		if p.rng.IntN(10) == 0 {
			tempSQL = "0"
		}
		where := ""
		if p.rng.IntN(3) == 0 {
			where = fmt.Sprintf(" WHERE lab <> %d", p.rng.IntN(7))
		}
		var sql string
		kind := p.rng.IntN(5)
		switch kind {
		case 0:
			sql = fmt.Sprintf("HARD SELECT id, score FROM $T MATCH %s USING %s%s LIMIT %d", vecText(q), metric, where, 1+p.rng.IntN(10))
		case 1:
			sql = fmt.Sprintf("SOFT SELECT v, f FROM $T MATCH %s USING %s TEMPERATURE %s%s", vecText(q), metric, tempSQL, where)
		case 2:
			sql = fmt.Sprintf("SOFT SELECT id, weight FROM $T MATCH %s USING %s TEMPERATURE %s TOP %d%s", vecText(q), metric, tempSQL, 1+p.rng.IntN(8), where)
		case 3:
			sql = fmt.Sprintf("SOFT SELECT v, f, error_bound FROM $T MATCH %s USING %s TEMPERATURE %s%s WITHIN ERROR 0.01", vecText(q), metric, tempSQL, where)
		case 4:
			sql = fmt.Sprintf("SOFT SELECT id, weight, error_bound FROM $T MATCH %s USING %s TEMPERATURE %s%s WITHIN ERROR 0.01", vecText(q), metric, tempSQL, where)
		}
		a := p.rows(strings.ReplaceAll(sql, "$T", "a"))
		b := p.rows(strings.ReplaceAll(sql, "$T", "b"))
		if qi%10 == 0 {
			plan := p.rows("EXPLAIN ANALYZE " + strings.ReplaceAll(sql, "$T", "a"))
			opened := 0
			for _, l := range plan {
				var ne, in, read int
				if _, err := fmt.Sscanf(l[0].(string), "lists: %d non-empty, %d opened", &ne, &opened); err == nil {
					p.used++
				}
				if _, err := fmt.Sscanf(l[0].(string), "blocks: %d in the lists opened, %d read", &in, &read); err == nil && in > opened {
					p.split++
				}
				var cand, nc int
				if _, err := fmt.Sscanf(l[0].(string), "rows: %d candidates in blocks read, %d bounded by codes", &cand, &nc); err == nil {
					p.coded += nc
				}
			}
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("%s\nindex: %v\nscan:  %v\n%s", strings.ReplaceAll(sql, "$T", "a"), a, b, fmt.Sprintf(format, args...))
		}
		switch kind {
		case 0, 2:
			if len(a) != len(b) {
				fail("row counts differ")
			}
			for i := range a {
				if a[i][0] != b[i][0] {
					fail("row %d differs", i)
				}
				x, y := a[i][1].(float64), b[i][1].(float64)
				if kind == 0 && x != y || kind == 2 && math.Abs(x-y) > 1e-6 {
					fail("row %d: %v vs %v", i, x, y)
				}
			}
		case 1, 3:
			eps := 0.0
			if kind == 3 {
				eps = 0.01
				if eb := a[0][2].(float64); eb > eps || eb < 0 {
					fail("error_bound %v outside [0, ε]", eb)
				}
			}
			p.blendClose(a[0], b[0], eps, fail)
		case 4:
			wa := map[int64]float64{}
			for _, r := range a {
				wa[r[0].(int64)] = r[1].(float64)
				if eb := r[2].(float64); eb > 0.01 {
					fail("error_bound %v above ε", eb)
				}
			}
			tv := 0.0
			for _, r := range b {
				tv += math.Abs(wa[r[0].(int64)] - r[1].(float64))
			}
			if tv/2 > 0.01+1e-6 {
				fail("total variation %v above ε", tv/2)
			}
		}
	}
}

// blendClose checks a blended row against the scan's: each component
// within (ε + 1e-5)·max|v|, max over the column (SPEC §4, §8).
func (p *indexPair) blendClose(a, b []any, eps float64, fail func(string, ...any)) {
	if (a[0] == nil) != (b[0] == nil) {
		fail("NULL blend on one side only")
	}
	if a[0] == nil {
		return
	}
	va, vb := a[0].([]float32), b[0].([]float32)
	if p.maxV == nil {
		p.maxV = p.maxAbs()
	}
	maxV := p.maxV
	for j := range va {
		if d := math.Abs(float64(va[j]) - float64(vb[j])); d > (eps+1e-5)*maxV[j] {
			fail("component %d: |%v − %v| = %v above (ε + 1e-5)·%v", j, va[j], vb[j], d, maxV[j])
		}
	}
	fa, fb := a[1].(float64), b[1].(float64)
	if d := math.Abs(fa - fb); d > (eps+1e-5)*maxV[3] {
		fail("f: |%v − %v| = %v", fa, fb, d)
	}
}

func (p *indexPair) maxAbs() []float64 {
	m := make([]float64, 4)
	for _, r := range p.rows("SELECT v, f FROM b") {
		for j, x := range r[0].([]float32) {
			m[j] = max(m[j], math.Abs(float64(x)))
		}
		m[3] = max(m[3], math.Abs(r[1].(float64)))
	}
	return m
}

// TestIndexMatchesScan compares answers through an index with the scan's
// on adversarial data, after INSERT, UPDATE, DELETE (whole lists
// emptied), a rolled-back transaction, REINDEX and a reopen from disk.
func TestIndexMatchesScan(t *testing.T) {
	for _, codes := range []string{"float32", "int8", "bfloat16"} {
		t.Run(codes, func(t *testing.T) { testIndexMatchesScan(t, codes, 24) })
	}
	// Two lists for twelve clusters: every list holds several, so the
	// searches read them through their blocks.
	for _, codes := range []string{"int8", "bfloat16"} {
		t.Run(codes+"/coarse", func(t *testing.T) { testIndexMatchesScan(t, codes, 2) })
	}
}

func testIndexMatchesScan(t *testing.T, codes string, lists int) {
	dir := filepath.Join(t.TempDir(), "db")
	opts := &softdb.Options{SegmentRows: 512}
	db, err := softdb.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(len(codes) + lists)
	p := &indexPair{t: t, db: db.Conn(), rng: rand.New(rand.NewPCG(seed, 15)), d: 12}
	p.exec("CREATE TABLE $T (id INT, key VECTOR(12), v VECTOR(3), f FLOAT, lab INT)")
	centers := make([][]float32, 12)
	for i := range centers {
		centers[i] = make([]float32, p.d)
		for j := range centers[i] {
			centers[i][j] = float32(p.rng.NormFloat64() * 4)
		}
	}
	p.insert(1500, centers, 0)
	if _, err := db.Exec(context.Background(), "CREATE INDEX ia ON a (key) WITH (lists = "+fmt.Sprint(lists)+", codes = "+codes+")"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.db.Exec(context.Background(), "SET index_scan = on"); err != nil {
		t.Fatal(err)
	}
	queries := 150
	if testing.Short() {
		queries = 40
	}
	p.compare(queries, centers)

	// Writes: inserts, updates that move keys, a cluster deleted.
	p.insert(700, centers, 1500)
	p.exec("UPDATE $T SET key = [1,2,3,4,5,6,7,8,9,10,11,12] WHERE id % 13 = 0")
	p.exec("DELETE FROM $T WHERE id % 5 = 1")
	p.exec("UPDATE $T SET key = NULL WHERE id % 17 = 0")
	p.compare(queries, centers)
	// In a transaction, then rolled back.
	if _, err := p.db.Exec(context.Background(), "BEGIN"); err != nil {
		t.Fatal(err)
	}
	p.exec("DELETE FROM $T WHERE id < 800")
	p.insert(100, centers, 3000)
	p.compare(queries/3, centers)
	if _, err := p.db.Exec(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	p.compare(queries/3, centers)

	// Reopen: the index is loaded from disk.
	_ = p.db.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = softdb.Open(dir, opts); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p.db = db.Conn()
	defer p.db.Close()
	if _, err := p.db.Exec(context.Background(), "SET index_scan = on"); err != nil {
		t.Fatal(err)
	}
	if got := p.rows("SHOW INDEXES"); len(got) != 1 || got[0][0] != "ia" || got[0][5] != codes {
		t.Fatalf("SHOW INDEXES after reopen: %v", got)
	}
	described := false
	for _, r := range p.rows("DESCRIBE a") {
		described = described || r[0] == "ia" && strings.HasSuffix(fmt.Sprint(r[1]), "codes = "+codes+")")
	}
	if !described {
		t.Fatalf("DESCRIBE after reopen does not show ia with codes = %s: %v", codes, p.rows("DESCRIBE a"))
	}
	// The lists read at Open, then writes before the first query: the
	// lists derived from the stored ones follow them.
	p.insert(60, centers, 4000)
	p.exec("UPDATE $T SET key = [12,11,10,9,8,7,6,5,4,3,2,1] WHERE id % 19 = 0")
	p.exec("DELETE FROM $T WHERE id % 7 = 3")
	p.compare(queries, centers)
	if _, err := p.db.Exec(context.Background(), "REINDEX ia"); err != nil {
		t.Fatal(err)
	}
	p.compare(queries/2, centers)
	if p.used == 0 {
		t.Fatal("no query read the index: the comparison tested nothing")
	}
	if codes != "float32" && p.coded == 0 {
		t.Fatal("no query bounded a row from its code")
	}
	if lists < 4 && p.split == 0 {
		t.Fatal("no query read a list split into blocks")
	}
	t.Logf("%d of the sampled queries read the index (%d through blocks)", p.used, p.split)
}

// TestIndexCreatedInTransaction: CREATE INDEX inside BEGIN … COMMIT, then
// more writes to the same segments (appended rows, an updated key, a
// deleted row) before the first query: the lists computed at CREATE
// INDEX are only the start; the index follows every write, and after
// COMMIT and a reopen.
func TestIndexCreatedInTransaction(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	opts := &softdb.Options{SegmentRows: 1024}
	db, err := softdb.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	p := &indexPair{t: t, db: db.Conn(), rng: rand.New(rand.NewPCG(5, 5)), d: 6}
	centers := make([][]float32, 5)
	for i := range centers {
		centers[i] = make([]float32, p.d)
		for j := range centers[i] {
			centers[i][j] = float32(p.rng.NormFloat64() * 4)
		}
	}
	p.exec("CREATE TABLE $T (id INT, key VECTOR(6), v VECTOR(3), f FLOAT, lab INT)")
	ctx := context.Background()
	if _, err := p.db.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	p.insert(300, centers, 0)
	if _, err := p.db.Exec(ctx, "CREATE INDEX ia ON a (key) WITH (lists = 8)"); err != nil {
		t.Fatal(err)
	}
	p.insert(200, centers, 300)
	p.exec("UPDATE $T SET key = [9,9,9,9,9,9] WHERE id % 11 = 0")
	p.exec("DELETE FROM $T WHERE id % 9 = 4")
	if _, err := p.db.Exec(ctx, "SET index_scan = on"); err != nil {
		t.Fatal(err)
	}
	p.compare(30, centers)
	if _, err := p.db.Exec(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	p.compare(20, centers)
	_ = p.db.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = softdb.Open(dir, opts); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p.db = db.Conn()
	defer p.db.Close()
	if _, err := p.db.Exec(ctx, "SET index_scan = on"); err != nil {
		t.Fatal(err)
	}
	p.compare(20, centers)
	if p.used == 0 {
		t.Fatal("no query read the index: the comparison tested nothing")
	}
}

// TestExplainWhyNoIndex: when a column has an index that a statement
// cannot use, EXPLAIN ANALYZE names the index and says why, instead of
// claiming there is none.
func TestExplainWhyNoIndex(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	mustExec(t, db, "CREATE TABLE t (k VECTOR(2), v FLOAT)")
	mustExec(t, db, "CREATE TABLE u (k VECTOR(2))")
	mustExec(t, db, "INSERT INTO t VALUES ([1, 0], 1), ([0, 1], 2), ([1, 1], 3)")
	mustExec(t, db, "INSERT INTO u VALUES ([1, 0])")
	mustExec(t, db, "CREATE INDEX ti ON t (k)")
	for _, c := range []struct{ sql, want string }{
		{"HARD SELECT rowid FROM t MATCH (SELECT k FROM t) LIMIT 1", "a batch of 3 queries reads every key once a block → scan"},
		{"SOFT SELECT rowid, weight FROM t MATCH [1, 0]", "index ti not used: the row form returns every row's weight"},
		{"SOFT SELECT k FROM t MATCH [1, 0] HEADS 2", "index ti not used: HEADS and BACKWARD"},
		{"SOFT SELECT rowid, weight FROM u MATCH [1, 0]", "no index on k"},
	} {
		rows, err := db.Query(ctx, "EXPLAIN ANALYZE "+c.sql)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			plan = append(plan, fmt.Sprint(rows.Values()...))
		}
		rows.Close()
		if last := plan[len(plan)-1]; !strings.Contains(last, c.want) {
			t.Errorf("%s: %q, want it to say %q", c.sql, last, c.want)
		}
	}
}

// TestIndexOneRowBatch: MATCH (SELECT k … WHERE …) that yields one query is
// searched through the index like a literal query, with the same answer as
// the scan and its qrow; a batch of several queries scans.
func TestIndexOneRowBatch(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	c := db.Conn()
	defer c.Close()
	mustExec(t, db, "CREATE TABLE t (k VECTOR(4), v FLOAT)")
	rng := rand.New(rand.NewPCG(5, 11))
	var b strings.Builder
	b.WriteString("INSERT INTO t VALUES ")
	for i := range 6000 {
		if i > 0 {
			b.WriteString(", ")
		}
		cl := float64(i%8) * 10 // eight clusters, so the lists bound well
		fmt.Fprintf(&b, "([%g, %g, %g, %g], %d)", cl+rng.NormFloat64(), rng.NormFloat64(), cl-rng.NormFloat64(), rng.NormFloat64(), i)
	}
	mustExec(t, db, b.String())
	mustExec(t, db, "CREATE INDEX ti ON t (k) WITH (lists = 8)")
	run := func(sql string) (string, []string) {
		rows, err := c.Query(ctx, sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			out = append(out, fmt.Sprint(rows.Values()...))
		}
		return strings.Join(out, "\n"), out
	}
	for _, q := range []string{
		"HARD SELECT qrow, rowid FROM t MATCH (SELECT k FROM t WHERE rowid = 7) LIMIT 3",
		"SOFT SELECT qrow, v FROM t MATCH (SELECT k FROM t WHERE rowid = 7) TEMPERATURE 0.5",
		"SOFT SELECT qrow, v FROM t MATCH (SELECT k FROM t WHERE rowid = 7) TEMPERATURE 0.5 TOP 4",
	} {
		if _, err := c.Exec(ctx, "SET index_scan = off"); err != nil {
			t.Fatal(err)
		}
		want, _ := run(q)
		if _, err := c.Exec(ctx, "SET index_scan = on"); err != nil {
			t.Fatal(err)
		}
		got, _ := run(q)
		if got != want || !strings.HasPrefix(got, "7 ") {
			t.Errorf("%s through the index:\n%s\nscan:\n%s", q, got, want)
		}
		if _, plan := run("EXPLAIN ANALYZE " + q); !strings.Contains(strings.Join(plan, "\n"), "index ti: ") {
			t.Errorf("EXPLAIN ANALYZE %s did not use the index:\n%s", q, strings.Join(plan, "\n"))
		}
	}
	// A batch of none, and a one-row batch whose query is NULL: no rows.
	for _, q := range []string{
		"HARD SELECT qrow, rowid FROM t MATCH (SELECT k FROM t WHERE rowid = 0) LIMIT 3",
		"HARD SELECT qrow, rowid FROM t MATCH (SELECT NULL) LIMIT 3",
	} {
		if got, _ := run(q); got != "" {
			t.Errorf("%s: %q, want no rows", q, got)
		}
	}
	_, plan := run("EXPLAIN ANALYZE HARD SELECT qrow, rowid FROM t MATCH (SELECT k FROM t WHERE rowid <= 3) LIMIT 1")
	if last := plan[len(plan)-1]; !strings.Contains(last, "a batch of 3 queries") {
		t.Errorf("a batch of 3 queries: %q", last)
	}
}
