package exec

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
	"github.com/softdb/softdb/types"
)

// keyTestDB is a session on an on-disk database, with helpers that fail
// the test on errors.
type keyTestDB struct {
	t   *testing.T
	dir string
	db  *storage.DB
	s   *Session
}

func openKeyTestDB(t *testing.T, dir string) *keyTestDB {
	t.Helper()
	db, err := storage.Open(storage.Options{Dir: dir, SegmentRows: 16})
	if err != nil {
		t.Fatal(err)
	}
	return &keyTestDB{t: t, dir: dir, db: db, s: New(db).NewSession()}
}

func (k *keyTestDB) exec(sql string, params ...types.Value) (*Result, error) {
	st, err := query.ParseOne(sql)
	if err != nil {
		k.t.Fatalf("%s: %v", sql, err)
	}
	return k.s.Exec(context.Background(), st, params)
}

func (k *keyTestDB) must(sql string, params ...types.Value) *Result {
	k.t.Helper()
	res, err := k.exec(sql, params...)
	if err != nil {
		k.t.Fatalf("%s %v: %v", sql, params, err)
	}
	return res
}

// keyModel is what a table with a PRIMARY KEY id and a nullable INT v
// should hold: v by key (nil: NULL).
type keyModel map[string]*int64

func (m keyModel) clone() keyModel {
	c := keyModel{}
	for k, v := range m {
		c[k] = v
	}
	return c
}

// rows renders the model as SELECT id, v … ORDER BY id would.
func (m keyModel) rows(intKey bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	if intKey {
		slices.SortFunc(keys, func(a, b string) int {
			x, _ := strconv.ParseInt(a, 10, 64)
			y, _ := strconv.ParseInt(b, 10, 64)
			return int(x - y)
		})
	} else {
		slices.Sort(keys)
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		v := "NULL"
		if m[k] != nil {
			v = strconv.FormatInt(*m[k], 10)
		}
		out[i] = k + "|" + v
	}
	return out
}

func (k *keyTestDB) contents(table string) []string {
	k.t.Helper()
	res := k.must("SELECT id, v FROM " + table + " ORDER BY id")
	out := make([]string, len(res.Rows))
	for i, r := range res.Rows {
		out[i] = r[0].String() + "|" + r[1].String()
	}
	return out
}

// TestKeyLookupDifferential runs random INSERTs, UPDATEs (of v and of the
// key itself) and DELETEs by PRIMARY KEY, in autocommit and inside
// transactions that commit or roll back, on tables whose statements find
// the row through the key (WHERE id = c …) and on twins whose statements
// scan (WHERE id + 0 = c … for INT, id concatenated with the empty
// string for TEXT: the same truth, no plain key conjunct). Rows affected
// must agree with each other and with a model, and the tables' contents
// with the model, also after the database is reopened (the key map is
// then rebuilt from disk). The seed is logged.
func TestKeyLookupDifferential(t *testing.T) {
	seed := uint64(rand.Int64())
	if v := os.Getenv("SOFTDB_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("SOFTDB_SEED=%q: %v", v, err)
		}
		seed = n
	}
	t.Logf("seed %d (rerun with SOFTDB_SEED)", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	dir := t.TempDir()
	k := openKeyTestDB(t, dir)
	defer func() { k.db.Close() }()
	for _, kind := range []string{"INT", "TEXT"} {
		for _, name := range []string{"look", "scan"} {
			k.must(fmt.Sprintf("CREATE TABLE %s_%s (pad INT, id %s PRIMARY KEY, v INT)", name, strings.ToLower(kind), kind))
		}
	}
	models := map[string]keyModel{"int": {}, "text": {}}
	var saved map[string]keyModel // the models at BEGIN
	steps := 3000
	if testing.Short() {
		steps = 800
	}
	for step := 0; step < steps; step++ {
		switch r := rng.IntN(100); {
		case r < 3 && saved == nil:
			k.must("BEGIN")
			saved = map[string]keyModel{"int": models["int"].clone(), "text": models["text"].clone()}
			continue
		case r < 6 && saved != nil:
			k.must("COMMIT")
			saved = nil
			continue
		case r < 8 && saved != nil:
			k.must("ROLLBACK")
			models, saved = saved, nil
			continue
		case r < 9 && saved == nil:
			k.db.Close()
			k = openKeyTestDB(t, dir)
			continue
		}
		kind := []string{"int", "text"}[rng.IntN(2)]
		m := models[kind]
		keyOf := func(i int) string {
			if kind == "int" {
				return strconv.Itoa(i - 10)
			}
			return "k" + strconv.Itoa(i)
		}
		key := keyOf(rng.IntN(40))
		keyVal := func(s string) types.Value {
			if kind == "int" {
				n, _ := strconv.ParseInt(s, 10, 64)
				return types.IntValue(n)
			}
			return types.TextValue(s)
		}
		// lit renders key s as a literal, or as a parameter.
		var params []types.Value
		lit := func(s string) string {
			switch rng.IntN(3) {
			case 0:
				params = append(params, keyVal(s))
				return "?"
			case 1:
				if kind == "int" {
					return "(" + s + ")"
				}
				return "'" + s + "'"
			}
			if kind == "int" {
				params = append(params, types.FloatValue(float64(keyVal(s).I)))
				return "?"
			}
			params = append(params, keyVal(s))
			return "?"
		}
		// where returns the lookup and scan forms of "id = key [AND extra]",
		// with the parameters of both.
		where := func() (look, scan string, pl, ps []types.Value, holds func(v *int64) bool) {
			params = nil
			c := lit(key)
			keyParams := params
			eqL := "id = " + c
			if rng.IntN(2) == 0 {
				eqL = c + " = id"
			}
			eqS := "id + 0 = " + c
			if kind == "text" {
				eqS = "id || '' = " + c
			}
			holds = func(*int64) bool { return true }
			extra := ""
			var extraParams []types.Value
			switch rng.IntN(4) {
			case 1:
				x := int64(rng.IntN(10))
				extra, extraParams = "v > ?", []types.Value{types.IntValue(x)}
				holds = func(v *int64) bool { return v != nil && *v > x }
			case 2:
				extra = "v IS NULL"
				holds = func(v *int64) bool { return v == nil }
			}
			if extra == "" {
				return eqL, eqS, keyParams, keyParams, holds
			}
			if rng.IntN(2) == 0 {
				return eqL + " AND " + extra, eqS + " AND " + extra, append(keyParams, extraParams...), append(keyParams, extraParams...), holds
			}
			return extra + " AND " + eqL, extra + " AND " + eqS, append(extraParams, keyParams...), append(extraParams, keyParams...), holds
		}
		var newV *int64
		newVal := types.Value{}
		if rng.IntN(4) > 0 {
			x := int64(rng.IntN(10))
			newV, newVal = &x, types.IntValue(x)
		}
		old, exists := m[key]
		var stmt func(table, w string) string
		var ps func(side []types.Value) []types.Value
		var want int64
		switch op := rng.IntN(4); {
		case op == 0: // INSERT of a new key
			if exists {
				continue
			}
			for _, name := range []string{"look", "scan"} {
				if res := k.must(fmt.Sprintf("INSERT INTO %s_%s VALUES (0, ?, ?)", name, kind), keyVal(key), newVal); res.RowsAffected != 1 {
					t.Fatalf("step %d: INSERT affected %d rows", step, res.RowsAffected)
				}
			}
			m[key] = newV
			continue
		case op == 1: // UPDATE v
			look, scan, pl, pss, holds := where()
			if exists && holds(old) {
				want = 1
				m[key] = newV
			}
			stmt = func(table, w string) string { return "UPDATE " + table + " SET v = ? WHERE " + w }
			ps = func(side []types.Value) []types.Value { return append([]types.Value{newVal}, side...) }
			runBoth(t, k, step, kind, stmt, look, scan, ps(pl), ps(pss), want)
		case op == 2: // UPDATE of the key itself, to a free key
			to := keyOf(rng.IntN(40))
			if _, taken := m[to]; taken && to != key {
				continue
			}
			look, scan, pl, pss, holds := where()
			if exists && holds(old) {
				want = 1
				delete(m, key)
				m[to] = old
			}
			stmt = func(table, w string) string { return "UPDATE " + table + " SET id = ? WHERE " + w }
			ps = func(side []types.Value) []types.Value { return append([]types.Value{keyVal(to)}, side...) }
			runBoth(t, k, step, kind, stmt, look, scan, ps(pl), ps(pss), want)
		default: // DELETE
			look, scan, pl, pss, holds := where()
			if exists && holds(old) {
				want = 1
				delete(m, key)
			}
			stmt = func(table, w string) string { return "DELETE FROM " + table + " WHERE " + w }
			runBoth(t, k, step, kind, stmt, look, scan, pl, pss, want)
		}
		if step%25 == 0 {
			checkKeyTables(t, k, step, models)
		}
	}
	if saved != nil {
		k.must("ROLLBACK")
		models = saved
	}
	checkKeyTables(t, k, steps, models)
}

func runBoth(t *testing.T, k *keyTestDB, step int, kind string, stmt func(table, where string) string, look, scan string, pl, ps []types.Value, want int64) {
	t.Helper()
	for _, side := range []struct {
		table, where string
		params       []types.Value
	}{{"look_" + kind, look, pl}, {"scan_" + kind, scan, ps}} {
		sql := stmt(side.table, side.where)
		if res := k.must(sql, side.params...); res.RowsAffected != want {
			t.Fatalf("step %d: %s %v affected %d rows, the model %d", step, sql, side.params, res.RowsAffected, want)
		}
	}
}

func checkKeyTables(t *testing.T, k *keyTestDB, step int, models map[string]keyModel) {
	t.Helper()
	for kind, m := range models {
		want := m.rows(kind == "int")
		for _, name := range []string{"look", "scan"} {
			if got := k.contents(name + "_" + kind); !slices.Equal(got, want) {
				t.Fatalf("step %d: %s_%s holds\n%v\nthe model\n%v", step, name, kind, got, want)
			}
		}
	}
}

// TestKeyLookupVisitsOneRow: UPDATE and DELETE by PRIMARY KEY evaluate
// their WHERE on the keyed row only, whatever the table's size. The WHERE
// divides by (id = c), which is 0 on every other row: a statement that
// evaluated it on any other row (a scan) fails with division by zero.
func TestKeyLookupVisitsOneRow(t *testing.T) {
	k := openKeyTestDB(t, t.TempDir())
	defer k.db.Close()
	for _, kind := range []string{"INT", "TEXT"} {
		for _, n := range []int{100, 10000} {
			table := fmt.Sprintf("t_%s_%d", strings.ToLower(kind), n)
			k.must(fmt.Sprintf("CREATE TABLE %s (id %s PRIMARY KEY, v INT)", table, kind))
			rows := make([]string, n)
			key := func(i int) string {
				if kind == "INT" {
					return strconv.Itoa(i)
				}
				return "'k" + strconv.Itoa(i) + "'"
			}
			for i := range rows {
				rows[i] = "(" + key(i) + ", 0)"
			}
			k.must("INSERT INTO " + table + " VALUES " + strings.Join(rows, ", "))
			for _, i := range []int{0, n / 2, n - 1} {
				c := key(i)
				for _, sql := range []string{
					"UPDATE " + table + " SET v = v + 1 WHERE 1 / (id = " + c + ") = 1 AND id = " + c,
					"UPDATE " + table + " SET v = v + 1 WHERE 1 / (" + c + " = id) = 1 AND " + c + " = id AND v = 1",
					"DELETE FROM " + table + " WHERE 1 / (id = " + c + ") = 1 AND v = 2 AND id = " + c,
				} {
					res, err := k.exec(sql)
					if err != nil {
						t.Fatalf("%s: %v (the WHERE was evaluated on another row)", sql, err)
					}
					if res.RowsAffected != 1 {
						t.Fatalf("%s: %d rows affected, want 1", sql, res.RowsAffected)
					}
				}
				// The row is gone: the same statements find nothing.
				if res := k.must("UPDATE " + table + " SET v = 0 WHERE 1 / (id = " + c + ") = 1 AND id = " + c); res.RowsAffected != 0 {
					t.Fatalf("UPDATE of the deleted key %s: %d rows affected", c, res.RowsAffected)
				}
			}
			if got := k.must("SELECT count(*) FROM " + table).Rows[0][0].I; got != int64(n-3) {
				t.Fatalf("%s: %d rows left, want %d", table, got, n-3)
			}
			// Without the key conjunct the same WHERE scans, and fails.
			if _, err := k.exec("UPDATE " + table + " SET v = 0 WHERE 1 / (id = " + key(1) + ") = 1"); err == nil || !strings.Contains(err.Error(), "division by zero") {
				t.Fatalf("scan over the other rows: %v, want division by zero", err)
			}
		}
	}
}

// TestKeyLookupExplain: EXPLAIN shows an UPDATE or DELETE that finds its
// row by PRIMARY KEY or rowid as a lookup, and anything else as a scan.
func TestKeyLookupExplain(t *testing.T) {
	k := openKeyTestDB(t, t.TempDir())
	defer k.db.Close()
	k.must("CREATE TABLE ti (v INT, id INT PRIMARY KEY)")
	k.must("CREATE TABLE tt (id TEXT PRIMARY KEY, v INT)")
	k.must("CREATE TABLE tn (id INT, v INT)")
	for _, c := range []struct {
		sql    string
		params []types.Value
		want   string // the statement's source, the plan's last line
	}{
		{"UPDATE ti SET v = 1 WHERE id = 5", nil, "Lookup ti by PRIMARY KEY id = 5"},
		{"UPDATE ti SET v = 1 WHERE v > 2 AND ? = id", []types.Value{types.IntValue(-7)}, "Lookup ti by PRIMARY KEY id = -7"},
		{"DELETE FROM ti WHERE id = 3.0", nil, "Lookup ti by PRIMARY KEY id = 3"},
		{"DELETE FROM ti WHERE id = -3", nil, "Lookup ti by PRIMARY KEY id = -3"},
		{"DELETE FROM tt WHERE id = 'it''s'", nil, "Lookup tt by PRIMARY KEY id = 'it''s'"},
		{"DELETE FROM tt WHERE rowid = 4 AND id = 'a'", nil, "Lookup tt by rowid = 4"},
		{"DELETE FROM ti WHERE id = 3.5", nil, "Scan ti"},
		{"DELETE FROM ti WHERE id = '3'", nil, "Scan ti"},
		{"DELETE FROM tt WHERE id = 3", nil, "Scan tt"},
		{"DELETE FROM ti WHERE id = 3 OR v = 1", nil, "Scan ti"},
		{"DELETE FROM ti WHERE id + 0 = 3", nil, "Scan ti"},
		{"UPDATE tn SET v = 1 WHERE id = 5", nil, "Scan tn"},
		{"DELETE FROM ti", nil, "Scan ti"},
	} {
		res := k.must("EXPLAIN "+c.sql, c.params...)
		var lines []string
		for _, r := range res.Rows {
			lines = append(lines, r[0].String())
		}
		if len(lines) == 0 || strings.TrimLeft(lines[len(lines)-1], " └─") != c.want {
			t.Errorf("EXPLAIN %s:\n%s\nwant the source %q", c.sql, strings.Join(lines, "\n"), c.want)
		}
	}
}

// TestKeyLookupInTransaction walks one key through a transaction: moved
// by an UPDATE of the key, deleted, inserted again, rolled back.
func TestKeyLookupInTransaction(t *testing.T) {
	k := openKeyTestDB(t, t.TempDir())
	defer k.db.Close()
	k.must("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
	k.must("INSERT INTO t VALUES (1, 10), (2, 20)")
	affected := func(sql string, want int64) {
		t.Helper()
		if got := k.must(sql).RowsAffected; got != want {
			t.Fatalf("%s: %d rows affected, want %d", sql, got, want)
		}
	}
	k.must("BEGIN")
	affected("UPDATE t SET id = 100 WHERE id = 1", 1)
	affected("UPDATE t SET v = 11 WHERE id = 1", 0)
	affected("UPDATE t SET v = 11 WHERE id = 100", 1)
	affected("UPDATE t SET id = 1, v = 12 WHERE id = 2", 1) // 2 takes the key 1 left
	affected("UPDATE t SET v = 13 WHERE id = 1 AND v = 12", 1)
	affected("DELETE FROM t WHERE id = 100", 1)
	affected("UPDATE t SET v = 14 WHERE id = 100", 0)
	k.must("INSERT INTO t VALUES (100, 15)")
	affected("UPDATE t SET v = 16 WHERE 100.0 = id", 1)
	if got := k.contents("t"); !slices.Equal(got, []string{"1|13", "100|16"}) {
		t.Fatalf("in the transaction: %v", got)
	}
	k.must("ROLLBACK")
	affected("UPDATE t SET v = 17 WHERE id = 100", 0)
	affected("UPDATE t SET v = 18 WHERE id = 1", 1)
	affected("DELETE FROM t WHERE id = 2 AND v IS NULL", 0)
	if got := k.contents("t"); !slices.Equal(got, []string{"1|18", "2|20"}) {
		t.Fatalf("after ROLLBACK: %v", got)
	}
}
