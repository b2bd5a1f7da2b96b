package attention

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"
)

func flat(rows [][]float32) []float32 {
	var out []float32
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

// TestEdgeCases runs testdata/edge_cases.json: SOFT within the SPEC
// tolerance, HARD = the lowest id among the tied best.
func TestEdgeCases(t *testing.T) {
	var f struct {
		Cases []struct {
			Name   string
			Keys   [][]float32
			Values [][]float32
			Query  []float32
			T      float64   `json:"temperature"`
			Soft   []float64 `json:"soft"`
			Tied   []int64   `json:"hard_ids_tied"`
		}
	}
	b, err := os.ReadFile("testdata/edge_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	forEachKernel(t, func(t *testing.T) {
		for _, c := range f.Cases {
			d, dv := len(c.Query), len(c.Values[0])
			keys, values := flat(c.Keys), flat(c.Values)
			got, ok := softOne(Dot, c.Query, keys, d, values, dv, nil, c.T)
			if !ok {
				t.Fatalf("%s: empty result", c.Name)
			}
			for j := range got {
				if e := math.Abs(float64(got[j]) - c.Soft[j]); e > 1e-5*maxAbs32(values) {
					t.Errorf("%s: soft[%d] = %g, want %g", c.Name, j, got[j], c.Soft[j])
				}
			}
			tk := NewTopK(len(c.Tied))
			tk.PushBlock(Dot, c.Query, Norm(c.Query), keys, d, nil, nil)
			var ids []int64
			for _, s := range tk.Sorted() {
				ids = append(ids, s.ID)
			}
			if !slices.Equal(ids, c.Tied) {
				t.Errorf("%s: HARD ids %v, want %v", c.Name, ids, c.Tied)
			}
		}
	})
}

// TestDigits runs testdata/digits_cases.json (Nadaraya–Watson over the
// digits data): SOFT blends within the fixture's float32 tolerance
// max(1e-6, 1e-7/T), the HARD id, and the HARD accuracy over all its
// queries through the batch path.
func TestDigits(t *testing.T) {
	var f struct {
		Keys    [][]float32
		Values  [][]float32
		Queries map[string][]float32
		Cases   []struct {
			Row  int       `json:"query_row"`
			T    float64   `json:"temperature"`
			Soft []float64 `json:"soft"`
			Hard int64     `json:"hard_id"`
		}
	}
	b, err := os.ReadFile("testdata/digits_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	keys, values := flat(f.Keys), flat(f.Values)
	d, dv := len(f.Keys[0]), len(f.Values[0])
	forEachKernel(t, func(t *testing.T) {
		for _, c := range f.Cases {
			q := f.Queries[strconv.Itoa(c.Row)]
			got, _ := softOne(Dot, q, keys, d, values, dv, nil, c.T)
			tol := max(1e-6, 1e-7/c.T)
			for j := range got {
				if e := math.Abs(float64(got[j]) - c.Soft[j]); e > tol {
					t.Fatalf("row %d T=%g: soft[%d] = %g, want %g (err %.3g > %.3g)", c.Row, c.T, j, got[j], c.Soft[j], e, tol)
				}
			}
			tk := NewTopK(1)
			tk.PushBlock(Dot, q, 1, keys, d, nil, nil)
			if id := tk.Sorted()[0].ID; id != c.Hard {
				t.Fatalf("row %d: HARD id %d, want %d", c.Row, id, c.Hard)
			}
		}
	})
}

// TestDigitsAggregate recomputes the fixture's aggregate figures over the
// 597 query rows 1200..1796 of testdata/digits.csv through the batch paths:
// HARD (1-NN) and SOFT accuracy per temperature, and the mean probability of
// the true class.
func TestDigitsAggregate(t *testing.T) {
	var f struct {
		Keys   [][]float32
		Values [][]float32
		Agg    struct {
			Hard int `json:"hard_correct"`
			Soft map[string]struct {
				Correct int     `json:"correct"`
				MeanP   float64 `json:"mean_p_true"`
			}
		} `json:"aggregate_597_queries"`
	}
	b, err := os.ReadFile("testdata/digits_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	qs, labels := readDigitQueries(t, 1200)
	keys, values := flat(f.Keys), flat(f.Values)
	d, dv, nq := len(f.Keys[0]), len(f.Values[0]), len(labels)
	forEachKernel(t, func(t *testing.T) {
		tops := make([]*TopK, nq)
		for a := range tops {
			tops[a] = NewTopK(1)
		}
		TopKBatch(tops, Dot, qs, nil, keys, d, nil, nil)
		hard := 0
		for a, tk := range tops {
			if f.Values[tk.Sorted()[0].ID][labels[a]] == 1 {
				hard++
			}
		}
		if hard != f.Agg.Hard {
			t.Errorf("HARD correct %d, want %d", hard, f.Agg.Hard)
		}
		for ts, want := range f.Agg.Soft {
			if testing.Short() && ts != "0.05" && ts != "1.0" {
				continue // two temperatures in -short mode
			}
			T, _ := strconv.ParseFloat(ts, 64)
			states := make([]*State, nq)
			for a := range states {
				states[a] = NewState(dv)
			}
			AccumulateBatch(states, Dot, qs, nil, keys, d, values, dv, nil, 1/T)
			correct, meanP := 0, 0.0
			out := make([]float32, dv)
			for a, s := range states {
				s.Result(out)
				if argmax(out) == labels[a] {
					correct++
				}
				meanP += float64(out[labels[a]])
			}
			meanP /= float64(nq)
			if correct != want.Correct || math.Abs(meanP-want.MeanP) > max(1e-6, 1e-7/T) {
				t.Errorf("T=%s: correct %d mean p %.9f, want %d %.9f", ts, correct, meanP, want.Correct, want.MeanP)
			}
		}
	})
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// readDigitQueries returns rows from..end of testdata/digits.csv,
// L2-normalised in float64 and rounded to float32, and their labels.
func readDigitQueries(t *testing.T, from int) ([]float32, []int) {
	fh, err := os.Open("testdata/digits.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var qs []float32
	var labels []int
	for _, rec := range recs[1+from:] {
		px := make([]float64, len(rec)-1)
		var ss float64
		for j := range px {
			px[j], _ = strconv.ParseFloat(rec[j], 64)
			ss += px[j] * px[j]
		}
		for _, x := range px {
			qs = append(qs, float32(x/math.Sqrt(ss)))
		}
		l, _ := strconv.Atoi(rec[len(rec)-1])
		labels = append(labels, l)
	}
	return qs, labels
}
