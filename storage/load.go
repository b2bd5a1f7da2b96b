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

// load reads the catalog and every table into the mirror.
func (db *DB) load() error {
	epoch := db.nextEpoch()
	v, closer, err := db.pdb.Get(keyFormat)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		// A new database, or one this code has never written to.
		if db.readOnly {
			break
		}
		if err := db.pdb.Set(keyFormat, binary.AppendUvarint(nil, formatVersion), pebble.Sync); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		ver, n := binary.Uvarint(v)
		_ = closer.Close()
		if n <= 0 || ver != formatVersion {
			return fmt.Errorf("unsupported storage format version %d (this build reads %d)", ver, formatVersion)
		}
	}
	db.nextTableID = 1
	v, closer, err = db.pdb.Get(keyNextTable)
	if err == nil {
		if len(v) == 8 {
			db.nextTableID = binary.BigEndian.Uint64(v)
		}
		_ = closer.Close()
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return err
	}

	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixCatalog}, UpperBound: []byte{prefixCatalog + 1}})
	if err != nil {
		return err
	}
	tables := map[string]*Table{}
	wantRows := map[*Table]int64{}
	for it.First(); it.Valid(); it.Next() {
		e, s, err := decodeCatalog(it.Key(), it.Value())
		if err != nil {
			_ = it.Close()
			return err
		}
		t := &Table{schema: s, id: e.ID, nextRowID: e.NextRowID, epoch: epoch}
		if e.Rows != nil {
			wantRows[t] = *e.Rows
		}
		tables[strings.ToLower(s.Name)] = t
		if e.ID >= db.nextTableID {
			db.nextTableID = e.ID + 1
		}
	}
	if err := it.Close(); err != nil {
		return err
	}
	if err := db.loadIndexes(tables); err != nil {
		return err
	}
	if err := db.checkRowRanges(tables); err != nil {
		return err
	}
	for _, t := range tables {
		if err := db.loadTable(t, epoch); err != nil {
			return err
		}
		if want, ok := wantRows[t]; ok && want != t.live && !db.recover {
			return &CorruptionError{Key: catalogKey(strings.ToLower(t.schema.Name)), Msg: fmt.Sprintf(
				"table %q has %d rows but its catalog entry says %d: rows were lost (Recover opens with the rows found)",
				t.schema.Name, t.live, want)}
		}
	}
	if err := db.loadEntries(tables); err != nil {
		return err
	}
	snap := newSnapshot(tables)
	if snap.projs, err = db.loadProjections(); err != nil {
		return err
	}
	db.snap.Store(snap)
	return nil
}

// checkRowRanges cross-checks the catalog against the rows: every row
// key must belong to a table of the catalog and lie below its next rowid.
// Rows outside are the trace of a lost catalog update — a damaged
// MANIFEST or log can drop the sstable or batch that held it — and
// loading without them would silently drop acknowledged rows. With
// Recover, a table's next rowid is raised to cover its rows instead, and
// rows of unknown tables are left alone.
func (db *DB) checkRowRanges(tables map[string]*Table) error {
	byID := map[uint64]*Table{}
	for _, t := range tables {
		byID[t.id] = t
	}
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixRow}, UpperBound: []byte{prefixRow + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; {
		key := it.Key()
		if len(key) != rowKeyLen {
			return &CorruptionError{Key: slices.Clone(key), Msg: "bad row key"}
		}
		id := binary.BigEndian.Uint64(key[1:9])
		t := byID[id]
		if t == nil {
			if !db.recover {
				return &CorruptionError{Key: slices.Clone(key), Msg: fmt.Sprintf(
					"rows of table id %d, which the catalog does not list: the catalog lost an update (Recover opens without them)", id)}
			}
		} else if it.SeekLT(rowKey(id+1, 0)) {
			last := int64(binary.BigEndian.Uint64(it.Key()[9:]))
			if last >= t.nextRowID {
				if !db.recover {
					return &CorruptionError{Key: slices.Clone(it.Key()), Msg: fmt.Sprintf(
						"table %q has a row with rowid %d but its catalog entry says the next rowid is %d: the catalog lost an update (Recover opens with every row)",
						t.schema.Name, last, t.nextRowID)}
				}
				t.nextRowID = last + 1
			}
		}
		if id == math.MaxUint64 {
			break
		}
		ok = it.SeekGE(rowKey(id+1, 0))
	}
	return it.Error()
}

// loadTable decodes t's rows straight into freshly allocated segments,
// splitting the rowid range over the CPUs: page faults on the new arrays
// and block reads cost more than decoding, and both parallelise.
func (db *DB) loadTable(t *Table, epoch uint64) error {
	S := int64(db.segRows)
	slots := t.nextRowID - 1
	nseg := int((slots + S - 1) / S)
	segs := make([]*Segment, nseg)
	workers := 1
	if slots >= 1<<14 {
		workers = min(runtime.GOMAXPROCS(0), nseg)
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*nseg/workers, (w+1)*nseg/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer recoverFatal(&errs[w])
			errs[w] = db.loadSegments(t, segs[lo:hi], int64(lo)*S+1, epoch)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for k, g := range segs {
		switch {
		case g == nil && k == nseg-1 && slots%S != 0:
			// The segment that takes the next insert must exist even when
			// its rows were all deleted.
			base := int64(k)*S + 1
			g = newSegment(t.schema, base, int(slots-base+1), epoch)
			g.n = len(g.live)
		case g == nil:
			continue
		}
		t.segs = append(t.segs, g)
		t.live += int64(g.nlive)
	}
	return db.buildPKIndex(t)
}

// loadSegments fills dst, the segments from rowid base on, with one
// iterator. Segments without a row stay nil.
func (db *DB) loadSegments(t *Table, dst []*Segment, base int64, epoch uint64) error {
	if len(dst) == 0 {
		return nil
	}
	S := int64(db.segRows)
	slots := t.nextRowID - 1
	end := min(base+int64(len(dst))*S, slots+1)
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: rowKey(t.id, base), UpperBound: rowKey(t.id, end)})
	if err != nil {
		return err
	}
	defer it.Close()
	var g *Segment
	for it.First(); it.Valid(); it.Next() {
		key := it.Key()
		if len(key) != rowKeyLen {
			return &CorruptionError{Key: key, Msg: "bad row key"}
		}
		rowid := int64(binary.BigEndian.Uint64(key[9:]))
		if rowid < base || rowid >= end {
			return &CorruptionError{Key: key, Msg: fmt.Sprintf("rowid %d outside %d..%d", rowid, base, end-1)}
		}
		gbase := (rowid-1)/S*S + 1
		if g == nil || g.base != gbase {
			g = newSegment(t.schema, gbase, int(min(S, slots-gbase+1)), epoch)
			g.n = len(g.live)
			dst[(gbase-base)/S] = g
		}
		slot := int(rowid - gbase)
		val, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		if err := g.decodeInto(slot, val, epoch); err != nil {
			return &CorruptionError{Key: key, Msg: err.Error()}
		}
		g.live[slot] = 1
		g.nlive++
	}
	return it.Error()
}

// buildPKIndex indexes the PRIMARY KEY of the freshly loaded table t.
func (db *DB) buildPKIndex(t *Table) error {
	idx := newPKIndex(t.schema)
	if idx == nil {
		return nil
	}
	for _, g := range t.segs {
		for i, l := range g.Live() {
			if l == 0 {
				continue
			}
			v := g.Value(idx.col, i)
			if _, dup := idx.get(v); dup || v.IsNull() {
				return &CorruptionError{Key: rowKey(t.id, g.base+int64(i)), Msg: "duplicate or NULL primary key " + sqlLiteral(v)}
			}
			idx.set(v, g.base+int64(i))
		}
	}
	db.pk[t.id] = idx
	return nil
}

// decodeInto decodes record val into slot i of g, checking it against the
// column kinds.
func (g *Segment) decodeInto(i int, val []byte, epoch uint64) error {
	if len(val) == 0 {
		return errRecordEmpty
	}
	if val[0] != recordVersion {
		return errRecordVersion
	}
	off := 1
	for ci := range g.cols {
		fd, next, err := readField(val, off)
		if err != nil {
			return err
		}
		off = next
		c := &g.cols[ci]
		if fd.tag == tagNull {
			if c.nulls == nil {
				c.cloneNulls(0, len(g.live), epoch)
			}
			c.nulls[i] = 1
			continue
		}
		if fd.tag != kindTag(c.kind) {
			return fmt.Errorf("column %d: field tag %d does not match column type %v", ci+1, fd.tag, c.kind)
		}
		switch c.kind {
		case types.Int:
			c.ints[i] = fd.i
		case types.Float:
			c.floats[i] = fd.f
		case types.Text:
			c.texts[i] = string(fd.raw)
		case types.Vector:
			if fd.dim != c.dim {
				return fmt.Errorf("column %d: vector of dimension %d, expected %d", ci+1, fd.dim, c.dim)
			}
			decodeFloat32s(c.vecs[i*c.dim:(i+1)*c.dim], fd.raw)
		}
	}
	if off != len(val) {
		return fmt.Errorf("record has more fields than the table's %d columns", len(g.cols))
	}
	return nil
}
