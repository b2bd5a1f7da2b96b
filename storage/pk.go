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

// keyUndo reverts one change to a PK index. Bulk inserts log one per
// row, so it is kept small.
type keyUndo struct {
	idx *pkIndex
	i   int64  // the key, INT
	s   string // the key, TEXT
	old int64  // the rowid the key mapped to, if had
	had bool
}

func (u *keyUndo) key() types.Value {
	if u.idx.ints != nil {
		return types.IntValue(u.i)
	}
	return types.TextValue(u.s)
}

// tableUndo reverts the creation or removal of a table's PK index. Key
// and table changes commute: key changes hold the index itself.
type tableUndo struct {
	tableID uint64
	prev    *pkIndex // nil: no index before
}

// KeyRowID returns the rowid of the live row of table whose PRIMARY KEY
// is v, as the Tx's own writes so far have left it (the writer's key map,
// kept current by Insert, Update, Delete and rollback). known is false
// when the map cannot answer: the Tx has ended or takes no writes, the
// table has no PRIMARY KEY, or v is not of the key's kind (INT or TEXT;
// a caller converts equal values of other kinds first). With known true
// and found false, no live row has key v.
func (tx *Tx) KeyRowID(table string, v types.Value) (rowid int64, found, known bool) {
	t, err := tx.table(table)
	if err != nil {
		return 0, false, false
	}
	idx := tx.db.pk[t.id]
	if idx == nil || (idx.ints != nil) != (v.K == types.Int) || idx.ints == nil && v.K != types.Text {
		return 0, false, false
	}
	rowid, found = idx.get(v)
	return rowid, found, true
}
