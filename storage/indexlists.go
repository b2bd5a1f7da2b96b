package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/softdb/softdb/types"
)

// The stored lists of a vector index: one key per indexed row (a live row
// with a non-NULL key), holding the row's list, written in the same batch
// or bulk ingestion as the row (storage-format.md, "Index entries"). Only
// the list is stored: it is what costs O(lists·d) to compute, and any list
// keeps the index's bounds true (they are measured from the row's own
// centroid), so a damaged but well-formed entry can cost speed, never a
// wrong answer. The rest of a row's per-row data (its distance to the
// centroid, its norm, its int8 code) is O(d) and derived from the row.

const prefixEntry = 'y'

// entryVersion is the first byte of an entry's value.
const entryVersion = 1

// AssignFunc sets dst[i] to the list of row i of keys (len(dst) rows of
// ix.Dim values): any list in 0 … ix.Lists−1 is correct, the nearest
// centroid makes the index fast. Options.AssignLists supplies a fast one.
type AssignFunc func(ix *Index, dst []int32, keys []float32)

// nearestList is the AssignFunc used when Options.AssignLists is nil: the
// nearest centroid in L2 (the lower index among equals), in float64.
func nearestList(ix *Index, dst []int32, keys []float32) {
	d := ix.Dim
	for i := range dst {
		k := keys[i*d : (i+1)*d]
		best, bd := 0, math.Inf(1)
		for c := 0; c < ix.Lists; c++ {
			var s float64
			for j, x := range ix.Centroids[c*d : (c+1)*d] {
				e := float64(k[j]) - float64(x)
				s += e * e
			}
			if s < bd {
				best, bd = c, s
			}
		}
		dst[i] = int32(best)
	}
}

// SegmentLists is the list of every slot of one segment, as stored (read
// at Open) or computed (CREATE INDEX): Lists[i] for slot i of Seg, −1 for
// a slot without an entry (a deleted row or a NULL key).
type SegmentLists struct {
	Seg   *Segment
	Lists []int32
}

// TakeStoredLists returns the lists read at Open or computed by CREATE
// INDEX, once (later calls return nil), so that whoever derives the
// index's per-row data from them need not assign the rows again. The
// segments are those of the table version the lists were made for.
func (ix *Index) TakeStoredLists() []SegmentLists {
	if ix.stored == nil {
		return nil
	}
	if p := ix.stored.Swap(nil); p != nil {
		return *p
	}
	return nil
}

// entryPrefix is the key prefix of an index's entries: 'y', the length of
// the lower-cased name as a uvarint, the name.
func entryPrefix(name string) []byte {
	low := strings.ToLower(name)
	b := binary.AppendUvarint([]byte{prefixEntry}, uint64(len(low)))
	return append(b, low...)
}

// entrySpan returns the key range of an index's entries. The prefix ends
// with a byte of a UTF-8 name, never 0xff.
func entrySpan(name string) (lo, hi []byte) {
	lo = entryPrefix(name)
	hi = slices.Clone(lo)
	hi[len(hi)-1]++
	return lo, hi
}

func entryKey(prefix []byte, rowid int64) []byte {
	return binary.BigEndian.AppendUint64(slices.Clone(prefix), uint64(rowid))
}

func appendEntry(b []byte, list int32) []byte {
	return binary.AppendUvarint(append(b, entryVersion), uint64(list))
}

// DecodeIndexEntry reads an entry's value: its list, below lists. Any
// malformed value is an error, never a panic.
func DecodeIndexEntry(val []byte, lists int) (int32, error) {
	if len(val) < 2 || val[0] != entryVersion {
		return 0, errors.New("bad index entry: unknown version")
	}
	l, k := binary.Uvarint(val[1:])
	if k <= 0 || 1+k != len(val) || k != len(binary.AppendUvarint(nil, l)) {
		return 0, errors.New("bad index entry: malformed list number")
	}
	if lists < 1 || l >= uint64(lists) {
		return 0, fmt.Errorf("bad index entry: list %d of an index of %d lists", l, lists)
	}
	return int32(l), nil
}

// storedIndexes returns t's indexes whose rows have entries.
func storedIndexes(t *Table) []*Index {
	var out []*Index
	for _, ix := range t.indexes {
		if ix.stored != nil {
			out = append(out, ix)
		}
	}
	return out
}

// assign computes the lists of n rows of keys (n·ix.Dim values).
func (db *DB) assign(ix *Index, keys []float32, n int) []int32 {
	dst := make([]int32, n)
	if n > 0 {
		f := db.assignLists
		if f == nil {
			f = nearestList
		}
		f(ix, dst, keys[:n*ix.Dim])
	}
	return dst
}

// entriesSize is a batch's bytes for n entries of ix.
func entriesSize(ix *Index, n int) int { return n * (len(ix.Name) + 32) }

// putRowEntries writes to the Tx's batch ix's entries of rows (full rows
// of t, rowids[i] for rows[i]): a Set for a row with a key, a Delete for
// one whose key is NULL (an UPDATE may have cleared it); skip[i] leaves
// row i alone (an UPDATE that kept its key).
func (tx *Tx) putRowEntries(t *Table, ix *Index, rowids []int64, rows [][]types.Value, skip []bool) {
	col := t.schema.ColumnIndex(ix.Column)
	keys := make([]float32, 0, len(rows)*ix.Dim)
	var at []int
	for i, row := range rows {
		if skip != nil && skip[i] || row[col].K == types.Null {
			continue
		}
		keys = append(keys, row[col].V...)
		at = append(at, i)
	}
	lists := tx.db.assign(ix, keys, len(at))
	prefix := entryPrefix(ix.Name)
	key := slices.Clone(prefix)
	var val []byte
	j := 0
	for i, rowid := range rowids {
		key = binary.BigEndian.AppendUint64(key[:len(prefix)], uint64(rowid))
		switch {
		case j < len(at) && at[j] == i:
			val = appendEntry(val[:0], lists[j])
			_ = tx.batch.Set(key, val, nil)
			j++
		case skip == nil || !skip[i]:
			_ = tx.batch.Delete(key, nil)
		}
	}
}

// deleteRowEntries deletes the entries of rowids for every stored index
// of t.
func (tx *Tx) deleteRowEntries(t *Table, rowids []int64) {
	for _, ix := range storedIndexes(t) {
		prefix := entryPrefix(ix.Name)
		key := slices.Clone(prefix)
		for _, rowid := range rowids {
			key = binary.BigEndian.AppendUint64(key[:len(prefix)], uint64(rowid))
			_ = tx.batch.Delete(key, nil)
		}
	}
}

// segmentLists computes the lists of t's rows from rowid from on (−1 for
// a deleted slot or a NULL key), calling put for each indexed row in
// rowid order, and returns them by segment.
func (db *DB) segmentLists(t *Table, ix *Index, from int64, put func(rowid int64, list int32) error) ([]SegmentLists, error) {
	col := t.schema.ColumnIndex(ix.Column)
	d := ix.Dim
	var out []SegmentLists
	for _, g := range t.segs {
		if g.base+int64(g.n) <= from {
			continue
		}
		lo := int(max(0, from-g.base))
		vecs, nulls, live := g.Vectors(col), g.Nulls(col), g.Live()
		lists := db.assign(ix, vecs[lo*d:], g.n-lo)
		sl := SegmentLists{Seg: g, Lists: make([]int32, g.n)}
		for i := range sl.Lists {
			sl.Lists[i] = -1
		}
		for i := lo; i < g.n; i++ {
			if live[i] == 0 || nulls != nil && nulls[i] != 0 {
				continue
			}
			sl.Lists[i] = lists[i-lo]
			if err := put(g.base+int64(i), lists[i-lo]); err != nil {
				return nil, err
			}
		}
		out = append(out, sl)
	}
	return out, nil
}

// putIndexEntries writes the entries of every indexed row of t to the
// Tx's batch (CREATE INDEX) and keeps the lists for TakeStoredLists.
func (tx *Tx) putIndexEntries(t *Table, ix *Index) error {
	n := int(t.live)
	if err := tx.checkSize(entriesSize(ix, n)); err != nil {
		return err
	}
	b := tx.reserve(entriesSize(ix, n))
	prefix := entryPrefix(ix.Name)
	key := slices.Clone(prefix)
	var val []byte
	sls, err := tx.db.segmentLists(t, ix, 0, func(rowid int64, list int32) error {
		key = binary.BigEndian.AppendUint64(key[:len(prefix)], uint64(rowid))
		val = appendEntry(val[:0], list)
		return b.Set(key, val, nil)
	})
	if err != nil {
		return err
	}
	ix.stored.Store(&sls)
	// The lists describe the arrays as they are now: make them
	// copy-on-write for the writer from now on (as a snapshot would).
	tx.epoch = tx.db.nextEpoch()
	return nil
}

// loadEntries reads the entries of every stored index of the loaded
// tables, checks that each live row with a key has exactly one, and
// keeps them for TakeStoredLists. Entries of no stored index are the
// trace of a lost definition: corruption, like rows of an unknown table.
// With Recover, an index whose entries do not check out is left without
// stored lists (its lists are rebuilt from the rows when first used).
func (db *DB) loadEntries(tables map[string]*Table) error {
	known := map[string]bool{}
	for _, t := range tables {
		for _, ix := range storedIndexes(t) {
			known[string(entryPrefix(ix.Name))] = true
			err := db.loadIndexEntries(t, ix)
			var ce *CorruptionError
			if errors.As(err, &ce) && db.recover {
				ix.stored.Store(nil)
				continue
			}
			if err != nil {
				return err
			}
		}
	}
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixEntry}, UpperBound: []byte{prefixEntry + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; {
		key := it.Key()
		n, k := binary.Uvarint(key[1:])
		if k <= 0 || n == 0 || uint64(len(key)) != 1+uint64(k)+n+8 {
			if !db.recover {
				return &CorruptionError{Key: slices.Clone(key), Msg: "bad index entry key"}
			}
			ok = it.Next()
			continue
		}
		prefix := key[:1+k+int(n)]
		if !known[string(prefix)] {
			if !db.recover {
				return &CorruptionError{Key: slices.Clone(key), Msg: fmt.Sprintf(
					"an entry of index %q, which no index definition names: a definition was lost (Recover opens without the index)", prefix[1+k:])}
			}
		}
		hi := slices.Clone(prefix)
		hi[len(hi)-1]++
		ok = it.SeekGE(hi)
	}
	return it.Error()
}

// loadIndexEntries reads ix's entries into a list per segment of t,
// splitting the rowid range over the CPUs like loadTable.
func (db *DB) loadIndexEntries(t *Table, ix *Index) error {
	col := t.schema.ColumnIndex(ix.Column)
	sls := make([]SegmentLists, len(t.segs))
	for k, g := range t.segs {
		sls[k] = SegmentLists{Seg: g, Lists: make([]int32, g.n)}
	}
	workers := 1
	if t.live >= 1<<14 {
		workers = min(runtime.GOMAXPROCS(0), len(t.segs))
	}
	if len(t.segs) == 0 {
		// No rows: no entries either.
		lo, hi := entrySpan(ix.Name)
		it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
		if err != nil {
			return err
		}
		defer it.Close()
		if it.First() {
			return &CorruptionError{Key: slices.Clone(it.Key()), Msg: fmt.Sprintf("index %q has an entry, but table %s has no rows", ix.Name, t.schema.Name)}
		}
		return it.Error()
	}
	counts := make([]int64, workers)
	errs := make([]error, workers)
	prefix := entryPrefix(ix.Name)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*len(t.segs)/workers, (w+1)*len(t.segs)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer recoverFatal(&errs[w])
			counts[w], errs[w] = db.readEntries(ix, prefix, col, sls[lo:hi], lo == 0, hi == len(sls))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var got, want int64
	for _, c := range counts {
		got += c
	}
	for _, g := range t.segs {
		nulls, live := g.Nulls(col), g.Live()
		for i, l := range live {
			if l != 0 && (nulls == nil || nulls[i] == 0) {
				want++
			}
		}
	}
	if got != want {
		lo, _ := entrySpan(ix.Name)
		return &CorruptionError{Key: lo, Msg: fmt.Sprintf(
			"index %q has %d entries for the %d rows of %s with a %s: entries were lost (REINDEX rewrites them; Recover rebuilds the lists in memory)",
			ix.Name, got, want, t.schema.Name, ix.Column)}
	}
	ix.stored.Store(&sls)
	return nil
}

// readEntries fills sls (consecutive segments) from ix's entries of their
// rowids and returns how many it read; first and last extend the range
// read to the start and end of ix's entries, so that an entry of no
// segment is found.
func (db *DB) readEntries(ix *Index, prefix []byte, col int, sls []SegmentLists, first, last bool) (int64, error) {
	if len(sls) == 0 {
		return 0, nil
	}
	for _, sl := range sls {
		for i := range sl.Lists {
			sl.Lists[i] = -1
		}
	}
	g0, g1 := sls[0].Seg, sls[len(sls)-1].Seg
	lo, hi := entryKey(prefix, g0.base), entryKey(prefix, g1.base+int64(g1.n))
	if first {
		lo = prefix
	}
	if last {
		hi = slices.Clone(prefix)
		hi[len(hi)-1]++
	}
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	var n int64
	k := -1
	var g *Segment
	var live, nulls []byte
	var lists []int32
	for it.First(); it.Valid(); it.Next() {
		key := it.Key()
		if len(key) != len(prefix)+8 {
			return n, &CorruptionError{Key: slices.Clone(key), Msg: "bad index entry key"}
		}
		rowid := int64(binary.BigEndian.Uint64(key[len(prefix):]))
		if g == nil || rowid >= g.base+int64(g.n) {
			for k++; k < len(sls) && sls[k].Seg.base+int64(sls[k].Seg.n) <= rowid; k++ {
			}
			if k == len(sls) {
				return n, &CorruptionError{Key: slices.Clone(key), Msg: fmt.Sprintf("index %q has an entry for rowid %d, which is not a row", ix.Name, rowid)}
			}
			g, lists = sls[k].Seg, sls[k].Lists
			live, nulls = g.Live(), g.Nulls(col)
		}
		slot := int(rowid - g.base)
		if rowid < g.base || live[slot] == 0 {
			return n, &CorruptionError{Key: slices.Clone(key), Msg: fmt.Sprintf("index %q has an entry for rowid %d, which is not a row", ix.Name, rowid)}
		}
		if nulls != nil && nulls[slot] != 0 {
			return n, &CorruptionError{Key: slices.Clone(key), Msg: fmt.Sprintf("index %q has an entry for rowid %d, whose %s is NULL", ix.Name, rowid, ix.Column)}
		}
		val, err := it.ValueAndErr()
		if err != nil {
			return n, err
		}
		// DecodeIndexEntry, its one- and two-byte cases inline.
		l := int32(-1)
		switch {
		case len(val) == 2 && val[0] == entryVersion && val[1] < 0x80:
			l = int32(val[1])
		case len(val) == 3 && val[0] == entryVersion && val[1] >= 0x80 && val[2] != 0 && val[2] < 0x80:
			l = int32(val[1]&0x7f) | int32(val[2])<<7
		}
		if l < 0 || int(l) >= ix.Lists {
			l, err = DecodeIndexEntry(val, ix.Lists)
		}
		if err != nil {
			return n, &CorruptionError{Key: slices.Clone(key), Msg: err.Error()}
		}
		lists[slot] = l
		n++
	}
	return n, it.Error()
}
