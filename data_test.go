package softdb_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/softdb/softdb"
)

// sharedData finds ../shared/data (the repository's sibling); tests that
// need it skip with the reason when it is absent.
func sharedData(t testing.TB, name string) string {
	for _, dir := range []string{"../shared/data", "../../shared/data"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if env := os.Getenv("SOFTDB_SHARED_DATA"); env != "" {
		return filepath.Join(env, name)
	}
	t.Skipf("shared data file %s not found next to the repository (set SOFTDB_SHARED_DATA)", name)
	return ""
}

func openTemp(t testing.TB) *softdb.DB {
	t.Helper()
	db, err := softdb.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// insertRows inserts rows with parameters, many rows per statement.
func insertRows(t testing.TB, db *softdb.DB, table string, ncols int, rows [][]any) {
	t.Helper()
	ctx := context.Background()
	const batch = 200
	for start := 0; start < len(rows); start += batch {
		end := min(start+batch, len(rows))
		var sb strings.Builder
		fmt.Fprintf(&sb, "INSERT INTO %s VALUES ", table)
		var args []any
		for i := start; i < end; i++ {
			if i > start {
				sb.WriteString(", ")
			}
			sb.WriteString("(" + strings.TrimSuffix(strings.Repeat("?, ", ncols), ", ") + ")")
			args = append(args, rows[i]...)
		}
		if _, err := db.Exec(ctx, sb.String(), args...); err != nil {
			t.Fatal(err)
		}
	}
}

func f32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// TestEdgeCases runs every case of shared/data/edge_cases.json through SQL.
func TestEdgeCases(t *testing.T) {
	var doc struct {
		Cases []struct {
			Name        string      `json:"name"`
			Keys        [][]float64 `json:"keys"`
			Values      [][]float64 `json:"values"`
			Query       []float64   `json:"query"`
			Temperature float64     `json:"temperature"`
			Soft        []float64   `json:"soft"`
			HardTied    []int64     `json:"hard_ids_tied"`
		} `json:"cases"`
	}
	data, err := os.ReadFile(sharedData(t, "edge_cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db := openTemp(t)
	for i, c := range doc.Cases {
		t.Run(c.Name, func(t *testing.T) {
			table := fmt.Sprintf("edge%d", i)
			_, err := db.Exec(ctx, fmt.Sprintf("CREATE TABLE %s (key VECTOR(%d), value VECTOR(%d))", table, len(c.Keys[0]), len(c.Values[0])))
			if err != nil {
				t.Fatal(err)
			}
			var rows [][]any
			for j := range c.Keys {
				rows = append(rows, []any{f32(c.Keys[j]), f32(c.Values[j])})
			}
			insertRows(t, db, table, 2, rows)
			var got []float32
			err = db.QueryRow(ctx, fmt.Sprintf("SOFT SELECT value FROM %s MATCH ? TEMPERATURE ?", table), f32(c.Query), c.Temperature).Scan(&got)
			if err != nil {
				t.Fatal(err)
			}
			maxV := 0.0
			for _, v := range c.Values {
				for _, x := range v {
					maxV = math.Max(maxV, math.Abs(x))
				}
			}
			for j := range c.Soft {
				if math.IsNaN(float64(got[j])) || math.Abs(float64(got[j])-c.Soft[j]) > 1e-5*maxV {
					t.Errorf("soft[%d] = %v, want %v (tolerance 1e-5·max|v| = %g)", j, got[j], c.Soft[j], 1e-5*maxV)
				}
			}
			var rowid int64
			if err := db.QueryRow(ctx, fmt.Sprintf("HARD SELECT rowid FROM %s MATCH ?", table), f32(c.Query)).Scan(&rowid); err != nil {
				t.Fatal(err)
			}
			// ids in the file are 0-based row numbers; rowids start at 1. Ties go to the lowest.
			if want := c.HardTied[0] + 1; rowid != want {
				t.Errorf("HARD rowid = %d, want %d (tied ids %v)", rowid, want, c.HardTied)
			}
		})
	}
}

// digitsFixture loads shared/data/digits_cases.json into tables train
// (key, value one-hot, label) and q (key, label: the 597 held-out rows).
type digitsFixture struct {
	Keys    [][]float64          `json:"keys"`
	Values  [][]float64          `json:"values"`
	Queries map[string][]float64 `json:"queries"`
	Cases   []struct {
		QueryRow    int       `json:"query_row"`
		Temperature float64   `json:"temperature"`
		Soft        []float64 `json:"soft"`
		HardID      int64     `json:"hard_id"`
	} `json:"cases"`
	Aggregate struct {
		HardCorrect int `json:"hard_correct"`
		Soft        map[string]struct {
			Correct   int     `json:"correct"`
			MeanPTrue float64 `json:"mean_p_true"`
		} `json:"soft"`
	} `json:"aggregate_597_queries"`
	labels []int64     // digits.csv labels by row
	pixels [][]float64 // digits.csv pixels by row
}

// unitF32 is the fixture's normalisation: L2-normalised in float64, then
// rounded to float32.
func unitF32(v []float64) []float32 {
	var n float64
	for _, x := range v {
		n += x * x
	}
	n = math.Sqrt(n)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x / n)
	}
	return out
}

func loadDigits(t *testing.T, db *softdb.DB) *digitsFixture {
	var fx digitsFixture
	data, err := os.ReadFile(sharedData(t, "digits_cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &fx); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(sharedData(t, "digits.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs[1:] {
		l, _ := strconv.ParseInt(r[len(r)-1], 10, 64)
		fx.labels = append(fx.labels, l)
		px := make([]float64, len(r)-1)
		for i := range px {
			px[i], _ = strconv.ParseFloat(r[i], 64)
		}
		fx.pixels = append(fx.pixels, px)
	}
	ctx := context.Background()
	if _, err := db.Exec(ctx, "CREATE TABLE train (key VECTOR(64), value VECTOR(10), label INT); CREATE TABLE q (row INT PRIMARY KEY, key VECTOR(64), label INT)"); err != nil {
		t.Fatal(err)
	}
	var rows [][]any
	for i := range fx.Keys {
		rows = append(rows, []any{f32(fx.Keys[i]), f32(fx.Values[i]), fx.labels[i]})
	}
	insertRows(t, db, "train", 3, rows)
	rows = nil
	for r := 1200; r < 1797; r++ {
		q := unitF32(fx.pixels[r])
		if given, ok := fx.Queries[strconv.Itoa(r)]; ok {
			for i := range given {
				if float32(given[i]) != q[i] {
					t.Fatalf("row %d: normalised query differs from the fixture's at %d: %v vs %v", r, i, q[i], given[i])
				}
			}
		}
		rows = append(rows, []any{r, q, fx.labels[r]})
	}
	insertRows(t, db, "q", 3, rows)
	return &fx
}

// TestDigits: attention over labelled rows reproduces the reference figures
// of shared/data/README.md, entirely through SQL.
func TestDigits(t *testing.T) {
	db := openTemp(t)
	fx := loadDigits(t, db)
	ctx := context.Background()

	// HARD: 1-NN by dot product of unit vectors (= cosine).
	var correct int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM q`).Scan(&correct); err != nil || correct != 597 {
		t.Fatalf("q has %d rows (%v)", correct, err)
	}
	rows, err := db.Query(ctx, "HARD SELECT qrow, label FROM train MATCH (SELECT key FROM q)")
	if err != nil {
		t.Fatal(err)
	}
	correct = 0
	for rows.Next() {
		var qrow, label int64
		if err := rows.Scan(&qrow, &label); err != nil {
			t.Fatal(err)
		}
		if label == fx.labels[1200+qrow-1] {
			correct++
		}
	}
	if correct != fx.Aggregate.HardCorrect || correct != 574 {
		t.Errorf("HARD correct = %d, want 574", correct)
	}

	// SOFT: argmax of the blended one-hot values, and mean p[true].
	for _, tc := range []struct {
		temp    string
		correct int
		meanP   float64
	}{{"0.02", 576, 0.8910132444137897}, {"0.05", 561, 0.589377205}, {"0.01", 575, 0.951089758}} {
		rows, err := db.Query(ctx, "SOFT SELECT qrow, value FROM train MATCH (SELECT key FROM q) TEMPERATURE "+tc.temp)
		if err != nil {
			t.Fatal(err)
		}
		correct, sumP, n := 0, 0.0, 0
		for rows.Next() {
			var qrow int64
			var v []float32
			if err := rows.Scan(&qrow, &v); err != nil {
				t.Fatal(err)
			}
			truth := fx.labels[1200+qrow-1]
			best := 0
			for j := range v {
				if v[j] > v[best] {
					best = j
				}
			}
			if int64(best) == truth {
				correct++
			}
			sumP += float64(v[truth])
			n++
		}
		if n != 597 || correct != tc.correct {
			t.Errorf("T=%s: %d/%d correct, want %d/597", tc.temp, correct, n, tc.correct)
		}
		if mean := sumP / float64(n); math.Abs(mean-tc.meanP) > 1e-6 {
			t.Errorf("T=%s: mean p[true] = %.9f, want %.9f (±1e-6)", tc.temp, mean, tc.meanP)
		}
	}

	// Every case of the fixture: the SOFT blend within max(1e-6, 1e-7/T)
	// (shared/data/README.md: the float32-vs-float64 gap on these data) and
	// the HARD id.
	for _, c := range fx.Cases {
		var v []float32
		err := db.QueryRow(ctx, "SOFT SELECT value FROM train MATCH (SELECT key FROM q WHERE row = ?) TEMPERATURE ?", c.QueryRow, c.Temperature).Scan(&v)
		if err != nil {
			t.Fatal(err)
		}
		tol := math.Max(1e-6, 1e-7/c.Temperature)
		for j := range c.Soft {
			if math.Abs(float64(v[j])-c.Soft[j]) > tol {
				t.Errorf("row %d T=%g: soft[%d] = %v, want %v (±%g)", c.QueryRow, c.Temperature, j, v[j], c.Soft[j], tol)
			}
		}
		var rowid int64
		if err := db.QueryRow(ctx, "HARD SELECT rowid FROM train MATCH ?", f32(fx.Queries[strconv.Itoa(c.QueryRow)])).Scan(&rowid); err != nil {
			t.Fatal(err)
		}
		if rowid != c.HardID+1 {
			t.Errorf("row %d: HARD rowid %d, want %d", c.QueryRow, rowid, c.HardID+1)
		}
	}

	// The soft classifier form: GROUP BY label over weights, per query.
	var label int64
	var p float64
	err = db.QueryRow(ctx, `SOFT SELECT label, SUM(weight) AS p FROM train MATCH (SELECT key FROM q WHERE row = 1200)
		TEMPERATURE 0.02 GROUP BY label ORDER BY p DESC LIMIT 1`).Scan(&label, &p)
	if err != nil {
		t.Fatal(err)
	}
	if label != fx.labels[1200] || p < 0.5 || p > 1 {
		t.Errorf("soft classifier on row 1200: label %d p %v, want %d", label, p, fx.labels[1200])
	}
}
