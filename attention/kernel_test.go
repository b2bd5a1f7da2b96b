package attention

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPickKernel(t *testing.T) {
	if k := pickKernel("generic"); k != &genericKernels {
		t.Fatalf("generic: got %s", k.name)
	}
	if k := pickKernel(" GENERIC "); k != &genericKernels {
		t.Fatal("names are case- and space-insensitive")
	}
	if k := pickKernel("no-such"); k != kernelSets[0] {
		t.Fatal("unknown name must keep the best set")
	}
	if Kernels()[len(Kernels())-1] != "generic" || Kernel() == "" {
		t.Fatal("generic must be the last resort")
	}
	t.Logf("kernels %v, in use %s", Kernels(), Kernel())
}

// TestKernelsAgree compares every kernel function of every set with the
// generic one on awkward shapes: tails of d and dv, key counts not a
// multiple of the tile width, 1..7 queries, zero weights in groups.
func TestKernelsAgree(t *testing.T) {
	r := newRand(t)
	g := &genericKernels
	close32 := func(a, b float32, scale float64) bool {
		return math.Abs(float64(a)-float64(b)) <= 1e-5*scale
	}
	forEachKernel(t, func(t *testing.T) {
		k := kern
		for ci := 0; ci < 400; ci++ {
			d := 1 + r.IntN(40)
			if ci%10 == 0 {
				d = 1 + r.IntN(1000)
			}
			nk, nq := r.IntN(71), 1+r.IntN(7)
			qs, keys := randVec(r, nq*d, 1), randVec(r, nk*d, 1)
			scale := float64(d) * 4
			for _, l2 := range []bool{false, true} {
				ldd := nk + r.IntN(3)
				want := make([]float32, nq*ldd+1)
				got := make([]float32, nq*ldd+1)
				for i := range got {
					got[i], want[i] = -7, -7
				}
				if l2 {
					g.l2Tile(want, ldd, qs, nq, keys, nk, d)
					k.l2Tile(got, ldd, qs, nq, keys, nk, d)
				} else {
					g.dotTile(want, ldd, qs, nq, keys, nk, d)
					k.dotTile(got, ldd, qs, nq, keys, nk, d)
				}
				for i := range got {
					if !close32(got[i], want[i], scale) {
						t.Fatalf("case %d l2=%v d=%d nk=%d nq=%d ldd=%d: [%d] = %g want %g", ci, l2, d, nk, nq, ldd, i, got[i], want[i])
					}
				}
				// Within one set a score does not depend on the tile shape.
				row := make([]float32, nk)
				for a := 0; a < nq; a++ {
					if l2 {
						k.l2Rows(row, qs[a*d:(a+1)*d], keys, d)
					} else {
						k.dotRows(row, qs[a*d:(a+1)*d], keys, d)
					}
					for b := range row {
						if row[b] != got[a*ldd+b] {
							t.Fatalf("case %d l2=%v d=%d nq=%d: tile [%d,%d] = %g, row kernel %g", ci, l2, d, nq, a, b, got[a*ldd+b], row[b])
						}
					}
				}
			}
			q := qs[:d]
			for _, f := range []struct {
				name string
				g, k func(dst, q, keys []float32, d int)
			}{{"dotRows", g.dotRows, k.dotRows}, {"l2Rows", g.l2Rows, k.l2Rows}} {
				want, got := make([]float32, nk+1), make([]float32, nk+1)
				f.g(want[:nk], q, keys, d)
				f.k(got[:nk], q, keys, d)
				for i := range got {
					if !close32(got[i], want[i], scale) {
						t.Fatalf("%s d=%d nk=%d: [%d] = %g want %g", f.name, d, nk, i, got[i], want[i])
					}
				}
			}
			wd, wk, gd, gk := make([]float32, nk), make([]float32, nk), make([]float32, nk), make([]float32, nk)
			g.dotNormRows(wd, wk, q, keys, d)
			k.dotNormRows(gd, gk, q, keys, d)
			for i := range gd {
				if !close32(gd[i], wd[i], scale) || !close32(gk[i], wk[i], scale) {
					t.Fatalf("dotNormRows d=%d nk=%d row %d: %g,%g want %g,%g", d, nk, i, gd[i], gk[i], wd[i], wk[i])
				}
			}

			// Weights and value sums on one chunk.
			n := 1 + r.IntN(chunk)
			dv := 1 + r.IntN(40)
			var pw, pg [chunk]float32
			sc := randVec(r, n, 50)
			for i := range sc {
				switch r.IntN(6) {
				case 0:
					sc[i] = float32(math.Inf(-1))
				case 1:
					sc[i] = -1e6
				}
			}
			copy(pw[:], sc)
			copy(pg[:], sc)
			invT := float32(logUniform(r, 1e-2, 1e2))
			sw := g.expShift(pw[:n], 50, invT)
			sg := k.expShift(pg[:n], 50, invT)
			if math.Abs(float64(sw-sg)) > 1e-6*float64(n) {
				t.Fatalf("expShift sum %g want %g", sg, sw)
			}
			for i := 0; i < n; i++ {
				if math.Abs(float64(pg[i]-pw[i])) > 3e-7*float64(pw[i])+1e-38 {
					t.Fatalf("expShift[%d](%g) = %g want %g", i, sc[i], pg[i], pw[i])
				}
			}
			// maxScore with NaN and −Inf entries.
			var mp [chunk]float32
			copy(mp[:], sc)
			if r.IntN(2) == 0 {
				mp[r.IntN(n)] = float32(math.NaN())
			}
			if mw, mk := g.maxScore(mp[:n]), k.maxScore(mp[:n]); mw != mk {
				t.Fatalf("maxScore = %g want %g", mk, mw)
			}

			values := randVec(r, n*dv, 1)
			// pv for 1..7 queries on the weights rows.
			nqp := 1 + r.IntN(7)
			dvp := (dv + 7) &^ 7
			prow := make([]float32, nqp*chunk)
			for i := range prow {
				prow[i] = float32(r.Float64())
			}
			pw2 := make([]float32, nqp*dvp)
			pk2 := make([]float32, nqp*dvp)
			for i := range pk2 {
				pk2[i] = 99
			}
			g.pv(pw2, dvp, prow, chunk, nqp, values, n, dv)
			k.pv(pk2, dvp, prow, chunk, nqp, values, n, dv)
			for a := 0; a < nqp; a++ {
				for j := 0; j < dv; j++ {
					if !close32(pw2[a*dvp+j], pk2[a*dvp+j], float64(n)) {
						t.Fatalf("pv nq=%d n=%d dv=%d [%d,%d] = %g want %g", nqp, n, dv, a, j, pk2[a*dvp+j], pw2[a*dvp+j])
					}
				}
			}
			// scaleAdd.
			acc64w, acc64k := make([]float64, dv), make([]float64, dv)
			for j := range acc64w {
				acc64w[j] = r.Float64()
				acc64k[j] = acc64w[j]
			}
			sa, sb := r.Float64(), r.Float64()
			g.scaleAdd(acc64w, values[:dv], sa, sb)
			k.scaleAdd(acc64k, values[:dv], sa, sb)
			for j := range acc64w {
				if math.Abs(acc64w[j]-acc64k[j]) > 1e-15 {
					t.Fatalf("scaleAdd [%d] = %g want %g", j, acc64k[j], acc64w[j])
				}
			}

			aw := make([]float32, dv, (dv+7)&^7)
			ak := make([]float32, dv, (dv+7)&^7)
			g.axpyRows(aw, pw[:n], values, dv)
			k.axpyRows(ak, pw[:n], values, dv)
			for j := range aw {
				if !close32(aw[j], ak[j], float64(n)) {
					t.Fatalf("axpyRows n=%d dv=%d [%d] = %g want %g", n, dv, j, ak[j], aw[j])
				}
			}
		}
	})
}

// TestExpKernel sweeps the vector exp over its domain and beyond.
func TestExpKernel(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		var p [chunk]float32
		worst := 0.0
		for x0 := float32(-90); x0 < 0.01; x0 += 0.9 {
			for i := range p {
				p[i] = x0 + float32(i)*0.9/chunk
			}
			in := p
			kern.expShift(p[:], 0, 1)
			for i, x := range in {
				want := math.Exp(float64(x))
				if x < expMin {
					if p[i] != 0 {
						t.Fatalf("exp(%g) = %g, want 0", x, p[i])
					}
					continue
				}
				worst = max(worst, math.Abs(float64(p[i])-want)/want)
			}
		}
		if worst > 3e-7 {
			t.Fatalf("relative error %g", worst)
		}
		p[0], p[1] = float32(math.NaN()), float32(math.Inf(-1))
		kern.expShift(p[:2], 0, 1)
		if p[0] != 0 || p[1] != 0 {
			t.Fatalf("exp(NaN), exp(−Inf) = %g, %g; want 0", p[0], p[1])
		}
	})
}

// TestMax: the exported maximum equals a plain loop's for every length
// (vector body and scalar tail), ignores NaN, and writes nothing.
func TestMax(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	if got := Max(nil); !math.IsInf(float64(got), -1) {
		t.Fatalf("Max(nil) = %v", got)
	}
	for n := 1; n < 70; n++ {
		buf := make([]float32, n+8)
		for i := range buf {
			buf[i] = float32(r.NormFloat64())
		}
		buf[r.IntN(n)] = float32(math.NaN())
		p := buf[:n]
		want := float32(math.Inf(-1))
		for _, x := range p {
			if x > want {
				want = x
			}
		}
		after := slices.Clone(buf[n:])
		if got := Max(p); got != want {
			t.Fatalf("n=%d: Max = %v, want %v", n, got, want)
		}
		if !slices.Equal(after, buf[n:]) {
			t.Fatalf("n=%d: Max wrote past the slice", n)
		}
	}
}

// TestAllFinite puts one NaN or ±Inf at every position of blocks of every
// length up to 40, for each kernel set; finite extremes (MaxFloat32, the
// smallest subnormal) must pass.
func TestAllFinite(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		for n := 0; n <= 40; n++ {
			p := make([]float32, n)
			for i := range p {
				p[i] = []float32{math.MaxFloat32, -math.MaxFloat32, 0x1p-149, -0x1p-149, 0, 1}[i%6]
			}
			if !kern.allFinite(p) {
				t.Fatalf("n=%d: finite block reported not finite", n)
			}
			for i := 0; i < n; i++ {
				for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
					old := p[i]
					p[i] = bad
					if kern.allFinite(p) {
						t.Fatalf("n=%d: %v at %d not found", n, bad, i)
					}
					p[i] = old
				}
			}
		}
	})
}
