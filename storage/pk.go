package storage

import "github.com/softdb/softdb/types"

// pkIndex maps a table's PRIMARY KEY values to rowids. Only the writer
// uses it: readers never need uniqueness.
type pkIndex struct {
	col   int
	ints  map[int64]int64
	texts map[string]int64
}

// newPKIndex returns an empty index for s, or nil when s has no PRIMARY KEY.
func newPKIndex(s *Schema) *pkIndex {
	c := s.PrimaryKey()
	if c < 0 {
		return nil
	}
	p := &pkIndex{col: c}
	if s.Columns[c].Type.Kind == types.Int {
		p.ints = map[int64]int64{}
	} else {
		p.texts = map[string]int64{}
	}
	return p
}

func (p *pkIndex) get(v types.Value) (int64, bool) {
	if p.ints != nil {
		r, ok := p.ints[v.I]
		return r, ok
	}
	r, ok := p.texts[v.S]
	return r, ok
}

func (p *pkIndex) set(v types.Value, rowid int64) {
	if p.ints != nil {
		p.ints[v.I] = rowid
	} else {
		p.texts[v.S] = rowid
	}
}

func (p *pkIndex) del(v types.Value) {
	if p.ints != nil {
		delete(p.ints, v.I)
	} else {
		delete(p.texts, v.S)
	}
}

// undoEntry reverts one change to the writer's PK state.
type undoEntry struct {
	// A key change: idx != nil.
	idx *pkIndex
	key types.Value
	had bool // key was present before, mapped to old
	old int64
	// A whole-index change (create/drop table): idx == nil.
	tableID uint64
	prev    *pkIndex // nil: no index before
}
