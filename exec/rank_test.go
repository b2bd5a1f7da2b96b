package exec

import (
	"math"
	"slices"
	"testing"
)

// TestSortByWeight: rows sort by score descending, then by their index
// (rowid order), as the comparison sort on (weight, score, rowid) did,
// negative scores, zeros of either sign and huge magnitudes included.
func TestSortByWeight(t *testing.T) {
	scores := []float32{0, -1, 3, float32(math.Copysign(0, -1)), -math.MaxFloat32, 3, math.MaxFloat32, -1e-45, 1e-45, -1, 0}
	rows := make([]srcRow, len(scores))
	for i, s := range scores {
		rows[i] = srcRow{rowid: int64(i + 1), score: s}
	}
	want := slices.Clone(rows)
	slices.SortStableFunc(want, byScoreDesc)
	sortByWeight(rows)
	for i := range rows {
		if rows[i].rowid != want[i].rowid {
			t.Fatalf("position %d: rowid %d (score %v), want %d (score %v)", i, rows[i].rowid, rows[i].score, want[i].rowid, want[i].score)
		}
	}
}
