package exec

import (
	"context"
	"fmt"
	"math/rand/v2"
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
	t.Logf("seed %d", seed)
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
