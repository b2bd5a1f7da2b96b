package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/softdb/softdb/types"
)

// Index is a vector index definition as stored: its name, the VECTOR
// column it covers and its trained centroids. It is immutable once
// created. What is derived from it and a table's rows (the lists) is the
// executor's, kept in Aux.
type Index struct {
	Name      string
	Table     string
	Column    string
	Method    string // "ivf"
	Lists     int
	Codes     string // "float32", "int8" or "bfloat16"
	Seed      uint64
	Dim       int
	Centroids []float32 // Lists×Dim

	aux *atomic.Value
	// stored is nil for an index of format version 1, whose rows have no
	// entries; otherwise it holds the lists for TakeStoredLists until
	// taken (indexlists.go).
	stored *atomic.Pointer[[]SegmentLists]
}

// Aux is a slot shared by every snapshot holding this definition, for a
// structure derived from it (safe for concurrent use).
func (ix *Index) Aux() *atomic.Value { return ix.aux }

// Indexes returns the table's indexes sorted by name; the slice must not
// be modified.
func (t *Table) Indexes() []*Index { return t.indexes }

// Index returns the index named name (case-insensitive) and its table, or
// nils.
func (s *Snapshot) Index(name string) (*Table, *Index) {
	for _, t := range s.Tables() {
		for _, ix := range t.indexes {
			if strings.EqualFold(ix.Name, name) {
				return t, ix
			}
		}
	}
	return nil, nil
}

// Errors of index definitions.
var (
	ErrIndexExists = errors.New("index already exists")
	ErrNoIndex     = errors.New("index does not exist")
)

const prefixIndex = 'x'

func indexKey(name string) []byte {
	return append([]byte{prefixIndex}, strings.ToLower(name)...)
}

// CreateIndex adds an index definition to its table, in the Tx's batch.
func (tx *Tx) CreateIndex(ix Index) error {
	t, err := tx.table(ix.Table)
	if err != nil {
		return err
	}
	col := t.schema.ColumnIndex(ix.Column)
	if col < 0 {
		return fmt.Errorf("column %q does not exist in table %q", ix.Column, t.schema.Name)
	}
	c := t.schema.Columns[col]
	if c.Type.Kind != types.Vector || c.Type.Dim != ix.Dim {
		return fmt.Errorf("column %s.%s is %s, not VECTOR(%d)", t.schema.Name, c.Name, c.Type, ix.Dim)
	}
	if ix.Lists < 1 || len(ix.Centroids) != ix.Lists*ix.Dim {
		return fmt.Errorf("index %q: %d centroids of dimension %d for %d lists", ix.Name, len(ix.Centroids)/max(ix.Dim, 1), ix.Dim, ix.Lists)
	}
	if _, old := (&Snapshot{tables: tx.root}).Index(ix.Name); old != nil {
		return fmt.Errorf("index %q: %w", ix.Name, ErrIndexExists)
	}
	ix.Table, ix.Column = t.schema.Name, c.Name
	ix.aux = new(atomic.Value)
	ix.stored = new(atomic.Pointer[[]SegmentLists])
	val := encodeIndex(&ix)
	if err := tx.checkSize(len(val) + entriesSize(&ix, int(t.live))); err != nil {
		return err
	}
	tx.touch()
	// The entries of the rows, in the same batch as the definition.
	if err := tx.putIndexEntries(t, &ix); err != nil {
		return err
	}
	t = tx.ownTable(t)
	t.indexes = append(slices.Clone(t.indexes), &ix)
	slices.SortFunc(t.indexes, func(a, b *Index) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	_ = tx.reserve(len(val)+64).Set(indexKey(ix.Name), val, nil)
	return nil
}

// DropIndex removes an index definition.
func (tx *Tx) DropIndex(name string) error {
	if err := tx.writable(); err != nil {
		return err
	}
	t, ix := (&Snapshot{tables: tx.root}).Index(name)
	if ix == nil {
		return fmt.Errorf("index %q: %w", name, ErrNoIndex)
	}
	tx.touch()
	t = tx.ownTable(t)
	t.indexes = slices.DeleteFunc(slices.Clone(t.indexes), func(x *Index) bool { return x == ix })
	tx.deleteIndex(ix)
	return nil
}

// dropIndexes deletes the stored definitions of t's indexes (DropTable).
func (tx *Tx) dropIndexes(t *Table) {
	for _, ix := range t.indexes {
		tx.deleteIndex(ix)
	}
}

// deleteIndex deletes an index's definition and its entries.
func (tx *Tx) deleteIndex(ix *Index) {
	b := tx.reserve(128)
	_ = b.Delete(indexKey(ix.Name), nil)
	lo, hi := entrySpan(ix.Name)
	_ = b.DeleteRange(lo, hi, nil)
}

// indexVersion is the first byte of an index record (storage-format.md):
// 2 for an index whose rows have entries (indexlists.go), 1 for one
// written before entries existed (its lists are derived from the rows
// when first used; REINDEX makes it version 2).
const (
	indexVersion   = 2
	indexVersionV1 = 1
)

// encodeIndex is the record of an index definition: version byte, then
// uvarint-length-prefixed name, table, column, method, codes; uvarint
// lists, dim; 8-byte seed; lists×dim little-endian float32 centroids.
func encodeIndex(ix *Index) []byte {
	b := []byte{indexVersion}
	if ix.stored == nil {
		b[0] = indexVersionV1
	}
	for _, s := range []string{ix.Name, ix.Table, ix.Column, ix.Method, ix.Codes} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(ix.Lists))
	b = binary.AppendUvarint(b, uint64(ix.Dim))
	b = binary.LittleEndian.AppendUint64(b, ix.Seed)
	for _, x := range ix.Centroids {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// DecodeIndex reads an index record; any malformed input is an error,
// never a panic.
func DecodeIndex(val []byte) (*Index, error) {
	bad := func(msg string) (*Index, error) { return nil, fmt.Errorf("bad index record: %s", msg) }
	if len(val) < 1 || val[0] != indexVersion && val[0] != indexVersionV1 {
		return bad("unknown version")
	}
	p := val[1:]
	// uvarint reads a minimally encoded uvarint (one encoding per record).
	uvarint := func() (uint64, bool) {
		n, k := binary.Uvarint(p)
		if k <= 0 || k != len(binary.AppendUvarint(nil, n)) {
			return 0, false
		}
		p = p[k:]
		return n, true
	}
	var strs [5]string
	for i := range strs {
		n, ok := uvarint()
		if !ok || n > uint64(len(p)) {
			return bad("truncated string")
		}
		strs[i] = string(p[:n])
		p = p[n:]
	}
	lists, ok := uvarint()
	if !ok {
		return bad("truncated lists")
	}
	dim, ok := uvarint()
	if !ok {
		return bad("truncated dim")
	}
	if len(p) < 8 {
		return bad("truncated seed")
	}
	seed := binary.LittleEndian.Uint64(p)
	p = p[8:]
	if lists < 1 || lists > 1<<16 || dim < 1 || dim > 65536 || uint64(len(p)) != lists*dim*4 {
		return bad(fmt.Sprintf("%d lists of dimension %d in %d bytes", lists, dim, len(p)))
	}
	ix := &Index{Name: strs[0], Table: strs[1], Column: strs[2], Method: strs[3], Codes: strs[4],
		Lists: int(lists), Dim: int(dim), Seed: seed, Centroids: make([]float32, lists*dim), aux: new(atomic.Value)}
	if val[0] == indexVersion {
		ix.stored = new(atomic.Pointer[[]SegmentLists])
	}
	for i := range ix.Centroids {
		x := math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return bad("non-finite centroid")
		}
		ix.Centroids[i] = x
	}
	if ix.Name == "" || ix.Table == "" || ix.Column == "" {
		return bad("empty name")
	}
	return ix, nil
}

// loadIndexes attaches the stored index definitions to their tables.
func (db *DB) loadIndexes(tables map[string]*Table) error {
	it, err := db.pdb.NewIter(nil)
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.SeekGE([]byte{prefixIndex}); ok && len(it.Key()) > 0 && it.Key()[0] == prefixIndex; ok = it.Next() {
		key := slices.Clone(it.Key())
		ix, err := DecodeIndex(it.Value())
		if err != nil {
			return &CorruptionError{Key: key, Msg: err.Error()}
		}
		t := tables[strings.ToLower(ix.Table)]
		if t == nil {
			if db.recover {
				continue
			}
			return &CorruptionError{Key: key, Msg: fmt.Sprintf("index %q is on table %q, which does not exist", ix.Name, ix.Table)}
		}
		c := t.schema.ColumnIndex(ix.Column)
		if c < 0 || t.schema.Columns[c].Type.Kind != types.Vector || t.schema.Columns[c].Type.Dim != ix.Dim {
			return &CorruptionError{Key: key, Msg: fmt.Sprintf("index %q does not match column %s.%s", ix.Name, ix.Table, ix.Column)}
		}
		t.indexes = append(t.indexes, ix)
	}
	return nil
}
