package ivf

import "math"

// List is one inverted list: its members (ascending ids) and the bounds
// they obey. With Int8 codes, member j's code is Codes[j*D:(j+1)*D]
// (k̂ = Scale[j]·code); with BFloat16 codes it is Half[j*D:(j+1)*D]. Either
// way Err[j] ≥ ‖k − k̂‖.
type List struct {
	IDs     []int64
	Radius  float64 // ≥ ‖k − c‖ for every member k
	URadius float64 // ≥ ‖k/‖k‖ − ĉ‖ for every non-zero member
	MaxNorm float64 // ≥ ‖k‖ for every member
	HasZero bool    // some member is the zero vector
	Codes   []int8
	Scale   []float32
	Half    []uint16
	Err     []float64
	Norm    []float64
}

// View is an index over one version of a table: the lists built from the
// parts of its segments. It is immutable and safe for concurrent use.
type View struct {
	Q     *Quantizer
	Lists []List
	N     int // members over all lists
	blk   blockCache
	// The lists' sizes and balls, contiguous: a query's bounds read these
	// for every list, and 1,000 Lists are 200 KB of headers.
	size  []int
	balls []listBall
}

// listBall is what View.Bounds reads of a list besides its centre.
type listBall struct {
	radius, uradius, maxNorm float64
	hasZero                  bool
}

// PartRef is a Part with the id of its row 0 and the number of its rows.
type PartRef struct {
	Base int64
	P    *Part
	N    int
}

// NewView groups the rows of parts (in increasing Base order) into lists.
func NewView(q *Quantizer, parts []PartRef) *View {
	v := &View{Q: q, Lists: make([]List, q.L)}
	counts := make([]int, q.L)
	for _, pr := range parts {
		for _, a := range pr.P.Assign[:pr.N] {
			if a >= 0 {
				counts[a]++
			}
		}
	}
	d := q.D
	for l := range v.Lists {
		L := &v.Lists[l]
		L.IDs = make([]int64, 0, counts[l])
		L.Norm = make([]float64, 0, counts[l])
		if q.Codes == Int8 {
			L.Codes = make([]int8, 0, counts[l]*d)
			L.Scale = make([]float32, 0, counts[l])
			L.Err = make([]float64, 0, counts[l])
		}
		if q.Codes == BFloat16 {
			L.Half = make([]uint16, 0, counts[l]*d)
			L.Err = make([]float64, 0, counts[l])
		}
	}
	for _, pr := range parts {
		p := pr.P
		for i, a := range p.Assign[:pr.N] {
			if a < 0 {
				continue
			}
			L := &v.Lists[a]
			L.IDs = append(L.IDs, pr.Base+int64(i))
			L.Norm = append(L.Norm, p.Norm[i])
			L.Radius = max(L.Radius, p.Dist[i])
			L.MaxNorm = max(L.MaxNorm, up(p.Norm[i]))
			if p.Norm[i] == 0 {
				L.HasZero = true
			} else {
				L.URadius = max(L.URadius, p.UDist[i])
			}
			if q.Codes == Int8 {
				L.Codes = append(L.Codes, p.Code[i*d:(i+1)*d]...)
				L.Scale = append(L.Scale, p.Scale[i])
				L.Err = append(L.Err, p.Err[i])
			}
			if q.Codes == BFloat16 {
				L.Half = append(L.Half, p.Half[i*d:(i+1)*d]...)
				L.Err = append(L.Err, p.Err[i])
			}
		}
	}
	v.size = make([]int, len(v.Lists))
	v.balls = make([]listBall, len(v.Lists))
	for l, L := range v.Lists {
		v.N += len(L.IDs)
		v.size[l] = len(L.IDs)
		v.balls[l] = listBall{L.Radius, L.URadius, L.MaxNorm, L.HasZero}
	}
	return v
}

// Bytes returns the memory the lists hold.
func (v *View) Bytes() int64 {
	var b int64
	for _, L := range v.Lists {
		b += int64(len(L.IDs))*16 + int64(len(L.Codes)) + int64(len(L.Scale))*4 + int64(len(L.Half))*2 + int64(len(L.Err))*8
	}
	return b + int64(len(v.Q.Cent))*4*3
}

// CodeBytes returns the bytes of the codes (0 without codes).
func (v *View) CodeBytes() int64 {
	var b int64
	for _, L := range v.Lists {
		b += int64(len(L.Codes)) + int64(len(L.Scale))*4 + int64(len(L.Half))*2
	}
	return b
}

// coded reports whether the list holds codes (of either kind).
func (L *List) coded() bool { return L.Codes != nil || L.Half != nil }

// rowCodeBytes is what bounding one row from its code reads: the code,
// its scale (int8) and its error bound.
func (L *List) rowCodeBytes(d int) int64 {
	if L.Half != nil {
		return int64(2*d) + 8
	}
	return int64(d) + 12
}

// dot returns q·k̂ and ‖k̂‖² for member p (d components) in float64.
func (L *List) dot(q []float64, p, d int) (dot, sq float64) {
	if L.Half != nil {
		return halfDot(q, L.Half[p*d:(p+1)*d])
	}
	return codeDot(q, L.Codes[p*d:(p+1)*d], L.Scale[p])
}

// decode sets row to k̂ of member p, exactly (in float64).
func (L *List) decode(row []float64, p, d int) {
	if L.Half != nil {
		for j, h := range L.Half[p*d : (p+1)*d] {
			row[j] = float64(FromBFloat16(h))
		}
		return
	}
	sc := float64(L.Scale[p])
	for j, c := range L.Codes[p*d : (p+1)*d] {
		row[j] = sc * float64(c)
	}
}

// logAddExp returns log(e^a + e^b) without overflow.
func logAddExp(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	if math.IsInf(b, -1) {
		return a
	}
	return a + math.Log1p(math.Exp(b-a))
}
