package storage

import (
	"sort"
	"strings"
	"sync/atomic"
)

// Table is one table in a Snapshot. It is immutable once published: its
// schema, segments and counters never change, so it may be read from any
// number of goroutines without locking.
type Table struct {
	schema    *Schema
	id        uint64 // key prefix of its rows
	segs      []*Segment
	live      int64
	nextRowID int64
	epoch     uint64   // write epoch that owns this header (see Tx)
	indexes   []*Index // sorted by name (index.go)
}

// Schema returns the table's schema; it must not be modified.
func (t *Table) Schema() *Schema { return t.schema }

// Name returns the table name as created.
func (t *Table) Name() string { return t.schema.Name }

// Segments returns the table's segments in increasing Base order. Rowids
// covered by no segment are deleted rows (segments whose rows were all
// deleted are dropped). The slice must not be modified.
func (t *Table) Segments() []*Segment { return t.segs }

// LiveRows returns the number of live rows.
func (t *Table) LiveRows() int64 { return t.live }

// NextRowID returns the rowid the next inserted row will get. Rowids start
// at 1, follow insertion order and are never reused.
func (t *Table) NextRowID() int64 { return t.nextRowID }

// clone returns a copy of the header owned by epoch.
func (t *Table) clone(epoch uint64) *Table {
	h := *t
	h.segs = append([]*Segment(nil), t.segs...)
	h.epoch = epoch
	return &h
}

// segFor returns the index in t.segs of the segment holding rowid, or -1.
func (t *Table) segFor(rowid int64) int {
	i := sort.Search(len(t.segs), func(i int) bool { return t.segs[i].base+int64(t.segs[i].n) > rowid })
	if i < len(t.segs) && t.segs[i].base <= rowid {
		return i
	}
	return -1
}

// Snapshot is a consistent, immutable view of all tables. It is safe for
// concurrent use and stays valid (and unchanged) for as long as it is held,
// even after the DB is closed.
type Snapshot struct {
	tables tableTree
	projs  projSet // projection.go
	seq    uint64  // commits before it: a later commit's snapshot has a higher seq
	// sorted is Tables(), built on first use: a commit costs O(log n) in
	// the number of tables, and only a reader that lists them pays O(n).
	sorted atomic.Pointer[[]*Table]
}

// newSnapshot returns a snapshot of the tables of a map by lower-case name.
func newSnapshot(tables map[string]*Table) *Snapshot {
	return &Snapshot{tables: buildTree(tables)}
}

// Table returns the named table (case-insensitive), or nil.
func (s *Snapshot) Table(name string) *Table { return s.tables.get(strings.ToLower(name)) }

// Tables returns all tables sorted by name. The slice must not be
// modified. The first call on a snapshot builds it; concurrent first calls
// each build one, and never wait for each other.
func (s *Snapshot) Tables() []*Table {
	if p := s.sorted.Load(); p != nil {
		return *p
	}
	list := s.tables.appendSorted(make([]*Table, 0, s.tables.n))
	s.sorted.CompareAndSwap(nil, &list)
	return *s.sorted.Load()
}

// NumTables returns the number of tables.
func (s *Snapshot) NumTables() int { return s.tables.n }
