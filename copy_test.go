package softdb_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/softdb/softdb"
)

// TestGloveEveryFormat loads GloVe vectors from fvecs, exports them to every
// format, loads each back, and checks the tables are bit-identical and give
// the cosine neighbours of shared/data/README.md.
func TestGloveEveryFormat(t *testing.T) {
	fvecs := sharedData(t, "top5000.fvecs")
	vocabText, err := os.ReadFile(sharedData(t, "top5000.vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	vocab := strings.Split(strings.TrimRight(string(vocabText), "\n"), "\n")
	ctx := context.Background()
	db := openTemp(t)
	if _, err := db.Exec(ctx, fmt.Sprintf("CREATE TABLE glove (key VECTOR(100)); COPY glove FROM '%s'", fvecs)); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{ // shared/data/README.md, full-vocabulary neighbours
		"king":     {"prince", "queen", "son", "brother", "monarch"},
		"france":   {"belgium", "french", "britain", "spain", "paris"},
		"computer": {"computers", "software", "technology", "pc", "hardware"},
	}
	index := map[string]int{}
	for i, w := range vocab {
		index[w] = i + 1 // rowid
	}
	neighbours := func(table, word string) []string {
		rows, err := db.Query(ctx, fmt.Sprintf("HARD SELECT rowid FROM %s MATCH (SELECT key FROM %s WHERE rowid = ?) USING COSINE LIMIT 6", table, table), index[word])
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for rows.Next() {
			var id int
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			out = append(out, vocab[id-1])
		}
		return out
	}
	check := func(table string) {
		for word, full := range want {
			var present []string
			for _, w := range full {
				if _, ok := index[w]; ok {
					present = append(present, w)
				}
			}
			got := neighbours(table, word)
			if len(got) == 0 || got[0] != word || !slices.Equal(got[1:1+len(present)], present) {
				t.Errorf("%s: neighbours of %s = %v, want %s first, then %v", table, word, got, word, present)
			}
		}
	}
	check("glove")
	dir := t.TempDir()
	for _, ext := range []string{"npy", "fvecs", "csv", "jsonl", "parquet"} {
		path := filepath.Join(dir, "glove."+ext)
		table := "g_" + ext
		sql := fmt.Sprintf("COPY glove TO '%s'; CREATE TABLE %s (key VECTOR(100)); COPY %s FROM '%s'", path, table, table, path)
		if _, err := db.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", ext, err)
		}
		a, b := allVectors(t, db, "glove"), allVectors(t, db, table)
		if len(a) != 5000 || len(b) != len(a) {
			t.Fatalf("%s: %d rows, want %d", ext, len(b), len(a))
		}
		for i := range a {
			if !slices.Equal(a[i], b[i]) { // float32 equality: the bits round-tripped
				t.Fatalf("%s: row %d differs", ext, i+1)
			}
		}
		check(table)
	}
}

func allVectors(t *testing.T, db *softdb.DB, table string) [][]float32 {
	rows, err := db.Query(context.Background(), "SELECT key FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]float32
	for rows.Next() {
		var v []float32
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// TestCopyAtomic: a bad row anywhere leaves the table exactly as it was,
// and the error names the file, the line and the column.
func TestCopyAtomic(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	dir := t.TempDir()
	if _, err := db.Exec(ctx, "CREATE TABLE t (id INT PRIMARY KEY, key VECTOR(2), label TEXT); INSERT INTO t VALUES (1, [1, 1], 'old')"); err != nil {
		t.Fatal(err)
	}
	var good strings.Builder
	good.WriteString("id,key,label\n")
	for i := 2; i < 10000; i++ {
		fmt.Fprintf(&good, "%d,\"[%d, 0.5]\",x\n", i, i)
	}
	cases := []struct{ name, content, err string }{
		{"nan.csv", good.String() + "10000,\"[NaN, 1]\",y\n", `nan.csv:10000: column "key"`},
		{"dim.csv", good.String() + "10000,\"[1, 2, 3]\",y\n", `dim.csv:10000: column "key"`},
		{"dup.csv", good.String() + "1,\"[1, 2]\",y\n", `dup.csv:10000: column "id": duplicate primary key 1`},
		{"text.csv", good.String() + "abc,\"[1, 2]\",y\n", `text.csv:10000: column "id"`},
		{"cols.csv", "id,key\n2,\"[1, 2]\"\n", `header has no column "label"`},
		{"bad.jsonl", `{"id": 2, "key": [1, 2], "label": "a"}` + "\n" + `{"id": 3, "key": [1, 2], "label": }` + "\n", "bad.jsonl:2"},
	}
	for _, c := range cases {
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := db.Exec(ctx, fmt.Sprintf("COPY t FROM '%s'", path))
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.err)
		}
		var n int
		var label string
		if err := db.QueryRow(ctx, "SELECT count(*), max(label) FROM t").Scan(&n, &label); err != nil || n != 1 || label != "old" {
			t.Fatalf("%s: after a failed COPY the table has %d rows (%v)", c.name, n, err)
		}
	}
	// The good file loads whole.
	path := filepath.Join(dir, "good.csv")
	os.WriteFile(path, []byte(good.String()), 0o644)
	res, err := db.Exec(ctx, fmt.Sprintf("COPY t FROM '%s'", path))
	if err != nil || res.RowsAffected != 9998 {
		t.Fatalf("good COPY: %v, %d rows", err, res.RowsAffected)
	}
}

// TestCopyDigitsWide: the wide CSV (p0..p63, label) fills a VECTOR(64)
// column and an INT with no options, and HARD SELECT on it works.
func TestCopyDigitsWide(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	_, err := db.Exec(ctx, fmt.Sprintf("CREATE TABLE digits (key VECTOR(64), label INT); COPY digits FROM '%s'", sharedData(t, "digits.csv")))
	if err != nil {
		t.Fatal(err)
	}
	var n, sum int
	if err := db.QueryRow(ctx, "SELECT count(*), sum(label) FROM digits").Scan(&n, &sum); err != nil || n != 1797 {
		t.Fatalf("%d rows, %v", n, err)
	}
	// Every row is its own nearest neighbour under L2.
	var label, rowid int
	if err := db.QueryRow(ctx, "HARD SELECT rowid, label FROM digits MATCH (SELECT key FROM digits WHERE rowid = 5) USING L2").Scan(&rowid, &label); err != nil || rowid != 5 {
		t.Errorf("nearest of row 5: %d (%v)", rowid, err)
	}
}

// TestCopyFilesOfDifferentLengths: the error names the file that ended,
// in whichever order the files are given.
func TestCopyFilesOfDifferentLengths(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	dir := t.TempDir()
	k3, v2 := filepath.Join(dir, "k3.npy"), filepath.Join(dir, "v2.npy")
	sql := fmt.Sprintf(`CREATE TABLE a (key VECTOR(2));
INSERT INTO a VALUES ([1, 2]), ([3, 4]), ([5, 6]);
COPY a TO '%s';
DELETE FROM a WHERE key = [5, 6];
COPY a TO '%s';
CREATE TABLE t (key VECTOR(2), value VECTOR(2))`, k3, v2)
	if _, err := db.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
	for _, files := range [][2]string{{k3, v2}, {v2, k3}} {
		_, err := db.Exec(ctx, fmt.Sprintf("COPY t (key, value) FROM '%s', '%s'", files[0], files[1]))
		want := fmt.Sprintf("%s ended after 2 rows while %s goes on", v2, k3)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("COPY from %s: error %v, want one containing %q", files, err, want)
		}
	}
}
