package storage

import (
	"bytes"
	"math"
	"math/rand"
	"testing"

	"github.com/softdb/softdb/types"
)

func TestRecordRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 2000; i++ {
		var r []types.Value
		for c := rng.Intn(6); c >= 0; c-- {
			switch rng.Intn(5) {
			case 0:
				r = append(r, types.Value{})
			case 1:
				r = append(r, iv([]int64{0, -1, 1, math.MinInt64, math.MaxInt64, rng.Int63()}[rng.Intn(6)]))
			case 2:
				r = append(r, fv([]float64{0, math.Copysign(0, -1), math.Inf(1), 1e300, rng.NormFloat64()}[rng.Intn(5)]))
			case 3:
				b := make([]byte, rng.Intn(200))
				rng.Read(b)
				r = append(r, tv(string(b)))
			case 4:
				v := make([]float32, 1+rng.Intn(300))
				for j := range v {
					v[j] = float32(rng.NormFloat64())
				}
				r = append(r, types.VectorValue(v))
			}
		}
		enc := appendRecord(nil, r)
		if len(enc) != recordSize(r) {
			t.Fatalf("recordSize %d, encoded %d", recordSize(r), len(enc))
		}
		dec, err := decodeRecord(enc)
		if err != nil {
			t.Fatal(err)
		}
		if fmtRow(dec) != fmtRow(r) {
			t.Fatalf("round trip: %s != %s", fmtRow(dec), fmtRow(r))
		}
		// Every proper prefix is rejected or decodes to fewer fields.
		for cut := 0; cut < len(enc); cut += 1 + cut/4 {
			if d, err := decodeRecord(enc[:cut]); err == nil && len(d) >= len(r) && len(r) > 0 {
				t.Fatalf("truncated record decoded to %s", fmtRow(d))
			}
		}
	}
}

func TestRecordFormat(t *testing.T) {
	// The documented byte layout (docs/storage-format.md).
	got := appendRecord(nil, row(types.Value{}, iv(-2), fv(1.5), tv("hi"), vv(1, -2)))
	want := []byte{
		1,    // version
		0,    // NULL
		1, 3, // INT -2, zig-zag
		2, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, // FLOAT 1.5
		3, 2, 'h', 'i', // TEXT
		4, 2, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, // VECTOR [1, -2]
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding\n got %v\nwant %v", got, want)
	}
	if k := rowKey(0x0102, 7); !bytes.Equal(k, []byte{'r', 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 7}) {
		t.Fatalf("row key %v", k)
	}
}

func TestDecodeRecordRejects(t *testing.T) {
	bad := map[string][]byte{
		"empty":           {},
		"version":         {2, 0},
		"tag":             {1, 9},
		"int truncated":   {1, 1, 0x80},
		"int overflow":    {1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"float truncated": {1, 2, 0, 0, 0},
		"text truncated":  {1, 3, 5, 'a'},
		"text huge":       {1, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
		"vector dim 0":    {1, 4, 0},
		"vector dim huge": {1, 4, 0x81, 0x80, 0x04},
		"vector short":    {1, 4, 2, 0, 0, 0x80, 0x3f},
	}
	for name, b := range bad {
		if _, err := decodeRecord(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Schema checks on load: wrong kind, wrong dimension, extra or missing
	// fields.
	s := mustValidate(Schema{Name: "t", Columns: []Column{{Name: "a", Type: intT}, {Name: "v", Type: vecT2}}})
	for name, r := range map[string][]types.Value{
		"kind":    row(tv("x"), vv(1, 2)),
		"dim":     row(iv(1), vv(1, 2, 3)),
		"extra":   row(iv(1), vv(1, 2), iv(3)),
		"missing": row(iv(1)),
	} {
		g := newSegment(s, 1, 1, 1)
		g.n = 1
		if err := g.decodeInto(0, appendRecord(nil, r), 1); err == nil {
			t.Errorf("%s: decodeInto accepted %s", name, fmtRow(r))
		}
	}
}

// FuzzDecodeRecord: the decoders never panic; what they accept re-encodes
// to the same values, and the schema-directed decoder agrees with the
// generic one.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, row(types.Value{}, iv(-2), fv(1.5), tv("hi"), vv(1, -2))))
	f.Add([]byte{1})
	f.Add([]byte{1, 4, 1, 0, 0, 0x80, 0x7f})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		again, err := decodeRecord(appendRecord(nil, r))
		if err != nil || fmtRow(again) != fmtRow(r) {
			t.Fatalf("re-encode: %v %s != %s", err, fmtRow(again), fmtRow(r))
		}
		if len(r) == 0 {
			return
		}
		s := &Schema{Name: "f"}
		for i, v := range r {
			c := Column{Name: string(rune('a' + i%26)), Type: types.Type{Kind: v.K}}
			if v.K == types.Null {
				c.Type.Kind = types.Text
			}
			if v.K == types.Vector {
				c.Type.Dim = len(v.V)
			}
			s.Columns = append(s.Columns, c)
		}
		g := newSegment(s, 1, 2, 1)
		g.n = 2
		if err := g.decodeInto(1, b, 1); err != nil {
			t.Fatalf("decodeInto rejected what decodeRecord accepted: %v", err)
		}
		if got := fmtRow(g.Row(1)); got != fmtRow(r) {
			t.Fatalf("decodeInto %s != %s", got, fmtRow(r))
		}
	})
}
