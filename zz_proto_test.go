package softdb_test

import (
	"context"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/softdb/softdb"
	"github.com/softdb/softdb/query"
)

func TestZZProto(t *testing.T) {
	db, err := softdb.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.Exec(ctx, "CREATE TABLE t (key VECTOR(32), value VECTOR(32))"); err != nil {
		t.Fatal(err)
	}
	const n, batch = 300000, 10000
	rng := rand.New(rand.NewSource(1))
	sql := "INSERT INTO t VALUES " + strings.TrimSuffix(strings.Repeat("(?, ?),", batch), ",")
	start := time.Now()
	st, err := query.ParseOne(sql)
	t.Logf("parse %v", time.Since(start))
	conn := db.Conn()
	args := make([]any, 2*batch)
	var tgen, texec time.Duration
	for done := 0; done < n; done += batch {
		t0 := time.Now()
		for i := range args {
			v := make([]float32, 32)
			for j := range v {
				v[j] = rng.Float32()
			}
			args[i] = v
		}
		t1 := time.Now()
		if _, err := conn.Run(ctx, st, args...); err != nil {
			t.Fatal(err)
		}
		tgen += t1.Sub(t0)
		texec += time.Since(t1)
	}
	t.Logf("insert %v gen %v exec %v", time.Since(start), tgen, texec)
	q := make([]float32, 32)
	for i := 0; i < 3; i++ {
		start = time.Now()
		var v []float32
		if err := db.QueryRow(ctx, "SOFT SELECT value FROM t MATCH ?", q).Scan(&v); err != nil {
			t.Fatal(err)
		}
		t.Logf("soft blend %v", time.Since(start))
	}
	for i := 0; i < 3; i++ {
		start = time.Now()
		var v []float32
		if err := db.QueryRow(ctx, "SOFT SELECT value FROM t MATCH (SELECT key FROM t WHERE rowid <= 8)").Scan(&v); err != nil {
			t.Fatal(err)
		}
		t.Logf("soft blend batch 8 %v", time.Since(start))
	}
}
