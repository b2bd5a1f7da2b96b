package ivf

import (
	"flag"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/softdb/softdb/attention"
)

var seedFlag = flag.Uint64("ivf.seed", 0, "property test seed (0: a fixed list of seeds)")

// data makes n×d keys of one adversarial kind.
func data(rng *rand.Rand, kind, n, d int) []float32 {
	k := make([]float32, n*d)
	switch kind {
	case 0: // clustered
		nc := 1 + rng.IntN(8)
		cs := make([]float32, nc*d)
		for i := range cs {
			cs[i] = float32(rng.NormFloat64() * 3)
		}
		for i := 0; i < n; i++ {
			c := rng.IntN(nc)
			for j := 0; j < d; j++ {
				k[i*d+j] = cs[c*d+j] + float32(rng.NormFloat64()*0.2)
			}
		}
	case 1: // uniform
		for i := range k {
			k[i] = float32(rng.Float64()*2 - 1)
		}
	case 2: // duplicates
		m := min(n, 1+rng.IntN(4))
		for i := range k[:m*d] {
			k[i] = float32(rng.NormFloat64())
		}
		for i := m; i < n; i++ {
			copy(k[i*d:(i+1)*d], k[(i%m)*d:])
		}
	case 3: // all equal
		for j := 0; j < d; j++ {
			k[j] = float32(rng.NormFloat64())
		}
		for i := 1; i < n; i++ {
			copy(k[i*d:(i+1)*d], k[:d])
		}
	case 4: // norms of 1e4 with far outliers and zero vectors
		for i := range k {
			k[i] = float32(rng.NormFloat64())
		}
		for i := 0; i < n; i++ {
			switch rng.IntN(10) {
			case 0:
				clear(k[i*d : (i+1)*d])
			case 1:
				for j := 0; j < d; j++ {
					k[i*d+j] *= 1e4
				}
			case 2:
				k[i*d+rng.IntN(d)] = float32(rng.NormFloat64() * 1e4)
			}
		}
	}
	return k
}

type memSource struct {
	keys []float32
	d    int
	mask []bool // nil: all take part
}

func (s *memSource) Keep(ids []int64) ([]int64, error) {
	out := ids[:0]
	for _, id := range ids {
		if s.mask == nil || s.mask[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

func (s *memSource) Gather(dst []float32, ids []int64) {
	for j, id := range ids {
		copy(dst[j*s.d:(j+1)*s.d], s.keys[int(id)*s.d:])
	}
}

func build(keys []float32, n, d, lists int, codes Codes, seed uint64) *View {
	q := NewQuantizer(Train(keys, d, lists, seed), d, codes)
	p := &Part{}
	p.Grow(n, q)
	q.Fill(p, keys, nil, 0, n)
	return NewView(q, []PartRef{{Base: 0, P: p, N: n}})
}

// prepare scales the query as the executor does for COSINE.
func prepare(m attention.Metric, q []float32) *Query {
	v := make([]float32, len(q))
	var norm float32
	if m == attention.Cosine {
		norm = attention.ScaleQuery(v, q)
	} else {
		copy(v, q)
		norm = attention.Norm(q)
	}
	return NewQuery(m, v, norm)
}

// codedKinds are the codes the property tests run with: each case picks
// float32 (no codes) or the kind, half and half, so that the random
// streams, and so the cases, are the same for every kind.
var codedKinds = []Codes{Int8, BFloat16}

func pickCodes(rng *rand.Rand, coded Codes) Codes {
	if rng.IntN(2) == 0 {
		return Float32
	}
	return coded
}

func seeds(t *testing.T, n int) []uint64 {
	if *seedFlag != 0 {
		return []uint64{*seedFlag}
	}
	s := make([]uint64, n)
	for i := range s {
		s[i] = uint64(i + 1)
	}
	return s
}

// TestBoundsHold checks every member's float32 score against its list's
// bounds and its code bounds: the inequality every skip relies on.
// Each (data set, query, metric) is one case; each member checked is a
// check. It prints the seed of a failure.
func TestBoundsHold(t *testing.T) {
	for _, c := range codedKinds {
		t.Run(c.String(), func(t *testing.T) { testBoundsHold(t, c) })
	}
}

func testBoundsHold(t *testing.T, coded Codes) {
	cases, checks := 0, 0
	rounds, queries := 200, 400
	if testing.Short() {
		rounds = 100
	}
	for _, seed := range seeds(t, rounds) {
		rng := rand.New(rand.NewPCG(seed, 1))
		kind := int(seed % 5)
		n, d := 50+rng.IntN(400), 1+rng.IntN(40)
		keys := data(rng, kind, n, d)
		codes := pickCodes(rng, coded)
		v := build(keys, n, d, 1+rng.IntN(16), codes, seed)
		scores := make([]float32, n)
		for qi := 0; qi < queries; qi++ {
			m := attention.Metric(rng.IntN(3))
			q := data(rng, rng.IntN(5), 1, d)
			if rng.IntN(3) == 0 { // near a key
				copy(q, keys[rng.IntN(n)*d:])
			}
			Q := prepare(m, q)
			Q64 := *Q
			Q64.code32 = false
			b := v.Bounds(Q)
			_ = attention.ScoreRows(scores, m, Q.V, keys, d)
			cases++
			for l := range v.Lists {
				L := &v.Lists[l]
				for j, id := range L.IDs {
					s := float64(scores[id])
					checks++
					if s < b.Lo[l] || s > b.Hi[l] {
						t.Fatalf("seed %d: %s list %d row %d: score %v outside [%v, %v]", seed, m, l, id, s, b.Lo[l], b.Hi[l])
					}
					if L.coded() {
						// The float32 code kernel (where it runs) and the
						// float64 sums.
						for _, Q := range []*Query{Q, &Q64} {
							dh, kh2, derr := Q.codeDot(L, j, d)
							lo, hi := Q.rowBound(dh, kh2, derr, L.Norm[j], L.Err[j])
							if s < lo || s > hi {
								t.Fatalf("seed %d: %s row %d: score %v outside its code bound [%v, %v] (float32 kernel %v)", seed, m, id, s, lo, hi, Q.code32)
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d cases, %d member bounds checked, 0 violations", cases, checks)
}

// TestBlockBoundsHold checks every member's float32 score against the
// bounds of its block (a ball of its own list's members), on the same
// adversarial data, lists of up to 2,000 rows so that lists holding
// several clusters, outliers or zero keys are split; and that the blocks
// of a list hold each of its members exactly once.
func TestBlockBoundsHold(t *testing.T) {
	for _, c := range codedKinds {
		t.Run(c.String(), func(t *testing.T) { testBlockBoundsHold(t, c) })
	}
}

func testBlockBoundsHold(t *testing.T, coded Codes) {
	cases, checks, split := 0, 0, 0
	rounds, queries := 120, 100
	if testing.Short() {
		rounds = 60
	}
	for _, seed := range seeds(t, rounds) {
		rng := rand.New(rand.NewPCG(seed, 5))
		kind := int(seed % 5)
		n, d := 100+rng.IntN(2000), 1+rng.IntN(40)
		keys := data(rng, kind, n, d)
		if rng.IntN(2) == 0 { // a few far outliers
			for i := 0; i < 3; i++ {
				r := rng.IntN(n)
				for j := 0; j < d; j++ {
					keys[r*d+j] = float32(rng.NormFloat64() * 1e4)
				}
			}
		}
		v := build(keys, n, d, 1+rng.IntN(4), pickCodes(rng, coded), seed)
		src := &memSource{keys: keys, d: d}
		for l := range v.Lists {
			L := &v.Lists[l]
			if len(L.IDs) == 0 {
				continue
			}
			bs := v.blocks(l, src)
			if len(bs.pos) > 1 {
				split++
			}
			seen := make([]int, len(L.IDs))
			for bi, pos := range bs.pos {
				for i, p := range pos {
					seen[p]++
					if bs.ids[bi][i] != L.IDs[p] || i > 0 && pos[i-1] >= p {
						t.Fatalf("seed %d: list %d block %d: ids out of step with positions", seed, l, bi)
					}
				}
			}
			for p, c := range seen {
				if c != 1 {
					t.Fatalf("seed %d: list %d member %d is in %d blocks", seed, l, p, c)
				}
			}
		}
		scores := make([]float32, n)
		for qi := 0; qi < queries; qi++ {
			m := attention.Metric(rng.IntN(3))
			q := data(rng, rng.IntN(5), 1, d)
			if rng.IntN(3) == 0 { // near a key
				copy(q, keys[rng.IntN(n)*d:])
			}
			Q := prepare(m, q)
			Q64 := *Q
			Q64.code32 = false
			b := v.Bounds(Q)
			_ = attention.ScoreRows(scores, m, Q.V, keys, d)
			cases++
			for _, l := range b.Order {
				bs := v.blocks(l, src)
				if len(bs.pos) == 1 {
					continue // the list's own bounds, checked by TestBoundsHold
				}
				lo, hi := make([]float64, len(bs.pos)), make([]float64, len(bs.pos))
				// Unclipped: the blocks' own bounds must hold.
				bs.bounds(Q, d, math.Inf(-1), math.Inf(1), lo, hi)
				for bi, ids := range bs.ids {
					for _, id := range ids {
						s := float64(scores[id])
						checks++
						if s < lo[bi] || s > hi[bi] {
							t.Fatalf("seed %d: %s list %d block %d row %d: score %v outside [%v, %v]", seed, m, l, bi, id, s, lo[bi], hi[bi])
						}
					}
				}
			}
		}
	}
	if split == 0 {
		t.Fatal("no list was split into blocks: the test checks nothing")
	}
	t.Logf("%d cases, %d block bounds checked (%d lists split), 0 violations", cases, checks, split)
}

// TestSearchHardExact: the index's top-k equals the scan's, ties and all.
func TestSearchHardExact(t *testing.T) {
	for _, c := range codedKinds {
		t.Run(c.String(), func(t *testing.T) { testSearchHardExact(t, c) })
	}
}

func testSearchHardExact(t *testing.T, coded Codes) {
	rounds, queries := 400, 150
	if testing.Short() {
		rounds = 200
	}
	cases, split := 0, 0
	for _, seed := range seeds(t, rounds) {
		rng := rand.New(rand.NewPCG(seed, 2))
		n, d := 30+rng.IntN(500), 1+rng.IntN(24)
		if seed%3 == 0 { // lists large enough to split into blocks
			n = 200 + rng.IntN(1500)
		}
		keys := data(rng, int(seed%5), n, d)
		v := build(keys, n, d, 1+rng.IntN(20), pickCodes(rng, coded), seed)
		src := maskFor(rng, v, n)
		src.keys, src.d = keys, d
		scores := make([]float32, n)
		for qi := 0; qi < queries; qi++ {
			m := attention.Metric(rng.IntN(3))
			q := data(rng, rng.IntN(5), 1, d)
			Q := prepare(m, q)
			k := 1 + rng.IntN(12)
			var st Stats
			got, err := v.SearchHard(Q, v.Bounds(Q), k, src, &st)
			if err != nil {
				t.Fatal(err)
			}
			split += st.Blocks - st.Visited
			_ = attention.ScoreRows(scores, m, Q.V, keys, d)
			ref := attention.NewTopK(k)
			for i, s := range scores {
				if src.mask == nil || src.mask[i] {
					ref.Push(s, int64(i))
				}
			}
			want := ref.Sorted()
			cases++
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d query %d (%s, k=%d): index %v, scan %v", seed, qi, m, k, got, want)
			}
		}
	}
	if split == 0 {
		t.Fatal("no list opened was split into blocks")
	}
	t.Logf("%d cases, 0 differences (%d extra blocks bounded)", cases, split)
}

// TestSearchSoftBound: the mass SearchSoft leaves out is at most the Delta
// it proves, against a float64 softmax of the float32 scores, for T from
// 1e-3 to 1e6; and the blend of the rows it scored is within 2δ·max|v| of
// the float64 blend of all rows.
func TestSearchSoftBound(t *testing.T) {
	for _, c := range codedKinds {
		t.Run(c.String(), func(t *testing.T) { testSearchSoftBound(t, c) })
	}
}

func testSearchSoftBound(t *testing.T, coded Codes) {
	rounds, queries := 400, 150
	if testing.Short() {
		rounds = 200
	}
	cases, split := 0, 0
	for _, seed := range seeds(t, rounds) {
		rng := rand.New(rand.NewPCG(seed, 3))
		n, d := 30+rng.IntN(500), 1+rng.IntN(24)
		if seed%3 == 0 { // lists large enough to split into blocks
			n = 200 + rng.IntN(1500)
		}
		keys := data(rng, int(seed%5), n, d)
		vals := make([]float64, n)
		for i := range vals {
			vals[i] = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(5)-2))
		}
		v := build(keys, n, d, 1+rng.IntN(20), pickCodes(rng, coded), seed)
		src := maskFor(rng, v, n)
		src.keys, src.d = keys, d
		scores := make([]float32, n)
		for qi := 0; qi < queries; qi++ {
			m := attention.Metric(rng.IntN(3))
			q := data(rng, rng.IntN(5), 1, d)
			if rng.IntN(2) == 0 {
				copy(q, keys[rng.IntN(n)*d:])
			}
			Q := prepare(m, q)
			T := math.Pow(10, rng.Float64()*9-3)
			tau := []float64{1e-7, 1e-3, 0.05, 0.4}[rng.IntN(4)]
			var st Stats
			res, err := v.SearchSoft(Q, v.Bounds(Q), 1/T, tau, src, &st)
			if err != nil {
				t.Fatal(err)
			}
			split += st.Blocks - st.Visited
			cases++
			_ = attention.ScoreRows(scores, m, Q.V, keys, d)
			best := math.Inf(-1)
			for i, s := range scores {
				if src.mask == nil || src.mask[i] {
					best = max(best, float64(s))
				}
			}
			if math.IsInf(best, -1) {
				if len(res.IDs) != 0 {
					t.Fatalf("seed %d: rows found where none take part", seed)
				}
				continue
			}
			in := map[int64]bool{}
			for j, id := range res.IDs {
				in[id] = true
				if res.Scores[j] != scores[id] {
					t.Fatalf("seed %d: row %d scored %v, scan %v", seed, id, res.Scores[j], scores[id])
				}
			}
			var za, zb, accA, accAll, maxV float64
			for i, s := range scores {
				if src.mask != nil && !src.mask[i] {
					continue
				}
				w := math.Exp((float64(s) - best) / T)
				maxV = max(maxV, math.Abs(vals[i]))
				accAll += w * vals[i]
				if in[int64(i)] {
					za += w
					accA += w * vals[i]
				} else {
					zb += w
				}
			}
			if res.Delta > tau*(1+1e-9) {
				t.Fatalf("seed %d: proved %v, above the budget %v", seed, res.Delta, tau)
			}
			if zb > res.Delta*za*(1+1e-6)+1e-300 {
				t.Fatalf("seed %d query %d (%s, T=%g): left out mass %v of %v, above the proven %v", seed, qi, m, T, zb, za, res.Delta*za)
			}
			delta := zb / (za + zb)
			errBlend := math.Abs(accA/za - accAll/(za+zb))
			if errBlend > 2*delta*maxV*(1+1e-6)+1e-12*maxV {
				t.Fatalf("seed %d: blend error %v above 2δ·max|v| = %v", seed, errBlend, 2*delta*maxV)
			}
		}
	}
	if split == 0 {
		t.Fatal("no list opened was split into blocks")
	}
	t.Logf("%d cases, 0 bound violations (%d extra blocks bounded)", cases, split)
}

// TestTrainDeterministic: the same rows and seed give the same centroids.
func TestTrainDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	keys := data(rng, 0, 2000, 16)
	a, b := Train(keys, 16, 12, 42), Train(keys, 16, 12, 42)
	if !slices.Equal(a, b) {
		t.Fatal("Train is not deterministic")
	}
}

func TestEncodeInt8(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 1000; i++ {
		k := data(rng, i%5, 1, 1+rng.IntN(64))
		code := make([]int8, len(k))
		s, e := EncodeInt8(code, k)
		var r float64
		for j, x := range k {
			d := float64(x) - float64(s)*float64(code[j])
			r += d * d
		}
		if math.Sqrt(r) > e {
			t.Fatalf("coding error %v above its bound %v", math.Sqrt(r), e)
		}
	}
}

// maskFor returns a source with no mask, a random WHERE-like mask, or one
// that empties every other list (as DELETE of their rows would).
func maskFor(rng *rand.Rand, v *View, n int) *memSource {
	src := &memSource{}
	switch rng.IntN(3) {
	case 1:
		src.mask = make([]bool, n)
		for i := range src.mask {
			src.mask[i] = rng.IntN(3) == 0
		}
	case 2:
		src.mask = make([]bool, n)
		for l, L := range v.Lists {
			for _, id := range L.IDs {
				src.mask[id] = l%2 == 1
			}
		}
	}
	return src
}

// TestEncodeBFloat16 checks the rounding on known values (ties to even,
// values near float32's max that would round to Inf), against a float64
// reference on random bit patterns, and that the coding error stays
// within its bound.
func TestEncodeBFloat16(t *testing.T) {
	for _, c := range []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0xbfc00000, 0xbfc0}, // −1.5
		{0x3f808000, 0x3f80}, // 1 + 2⁻⁸: a tie, kept bit even: down
		{0x3f818000, 0x3f82}, // 1 + 3·2⁻⁸: a tie, kept bit odd: up
		{0x3f808001, 0x3f81}, // just above the tie: up
		{0x3f807fff, 0x3f80}, // just below the tie: down
		{0x3f7fffff, 0x3f80}, // rounds up across the exponent
		{0x00000001, 0x0000}, // the least subnormal: down to 0
		{0x00018000, 0x0002}, // a subnormal tie, kept bit odd: up
		{0x7f7e8000, 0x7f7e}, // a tie near max, kept bit even: down
		{0x7f7f7fff, 0x7f7f}, // below the tie at the top: down
		{0x7f7f8000, 0x7f7f}, // the tie would give Inf: toward zero
		{0x7f7fffff, 0x7f7f}, // float32 max would give Inf: toward zero
		{0xff7fffff, 0xff7f}, // −max likewise
	} {
		if got := ToBFloat16(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("ToBFloat16(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	rng := rand.New(rand.NewPCG(11, 11))
	for i := 0; i < 200000; i++ {
		b := rng.Uint32()
		if b&0x7f800000 == 0x7f800000 {
			continue // NaN and Inf are never stored
		}
		x := math.Float32frombits(b)
		got := ToBFloat16(x)
		// Reference: the nearer of the two bfloat16s around x in float64,
		// ties to the even one, and toward zero when the upper is Inf.
		lo := b &^ 0xffff
		hi := lo + 0x10000
		dl := math.Abs(float64(x) - float64(math.Float32frombits(lo)))
		want := uint16(lo >> 16)
		if hi&0x7f800000 != 0x7f800000 {
			dh := math.Abs(float64(math.Float32frombits(hi)) - float64(x))
			if dh < dl || dh == dl && (lo>>16)&1 == 1 {
				want = uint16(hi >> 16)
			}
		}
		if got != want {
			t.Fatalf("ToBFloat16(%#08x) = %#04x, reference %#04x", b, got, want)
		}
		if f := FromBFloat16(got); math.IsInf(float64(f), 0) || math.IsNaN(float64(f)) {
			t.Fatalf("ToBFloat16(%#08x) is not finite", b)
		}
	}
	for i := 0; i < 2000; i++ {
		k := data(rng, i%5, 1, 1+rng.IntN(64))
		if i%7 == 0 { // some components near float32's max
			for j := range k {
				if rng.IntN(2) == 0 {
					k[j] = math.Float32frombits(0x7f7f0000|rng.Uint32()&0xffff) * float32(1-2*rng.IntN(2))
				}
			}
		}
		code := make([]uint16, len(k))
		e := EncodeBFloat16(code, k)
		var r float64
		for j, x := range k {
			d := float64(x) - float64(FromBFloat16(code[j]))
			r += d * d
		}
		if math.IsInf(e, 0) || math.Sqrt(r) > e {
			t.Fatalf("coding error %v above its bound %v", math.Sqrt(r), e)
		}
	}
}

// TestParseCodes: every codes name reads back as itself (the stored
// index definition keeps the name), case-insensitively; others fail.
func TestParseCodes(t *testing.T) {
	for _, c := range []Codes{Float32, Int8, BFloat16} {
		for _, s := range []string{c.String(), strings.ToUpper(c.String())} {
			got, err := ParseCodes(s)
			if err != nil || got != c {
				t.Fatalf("ParseCodes(%q) = %v, %v; want %v", s, got, err, c)
			}
		}
	}
	if _, err := ParseCodes("int4"); err == nil || !strings.Contains(err.Error(), "bfloat16") {
		t.Fatalf("ParseCodes(int4): %v", err)
	}
}
