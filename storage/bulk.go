package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/softdb/softdb/types"
)

// ErrBulkOnly: a write after a bulk load that went through sstables, in
// the same Tx. Such a Tx can only Commit or Rollback.
var ErrBulkOnly = errors.New("a transaction that bulk loaded a table takes no other writes before it commits")

// BulkOptions tune InsertBulk.
type BulkOptions struct {
	// Rows is the number of rows expected, or 0 when unknown. It sizes the
	// mirror's segments up front instead of growing them by doubling.
	Rows int64
	// Batch loads through the transaction's pebble batch, like Insert, so
	// that the transaction can go on writing. The load is then bounded by
	// ErrTxTooLarge and held in memory twice (mirror and batch) until
	// Commit.
	Batch bool
}

// BulkError is a row InsertBulk refused: always the row the last call of
// next produced. Err is a *ValueError, *DimensionError or
// *ConstraintError.
type BulkError struct {
	Row int64 // 0-based ordinal of the row in the load
	// Earlier is, for a PRIMARY KEY value repeated within the load, the
	// ordinal of the row that has it first; -1 otherwise (the value is
	// held by a row of the table, or the error is another one).
	Earlier int64
	Err     error
}

func (e *BulkError) Error() string { return e.Err.Error() }
func (e *BulkError) Unwrap() error { return e.Err }

const (
	// bulkChunk rows are pulled and checked before they are appended to
	// the mirror together.
	bulkChunk = 1024
	// bulkDir, inside the database directory, holds the sstables of loads
	// not yet committed. Open empties it.
	bulkDir = "bulk"
)

// bulkFileBytes is where a load starts its next sstable; bounded files
// keep later compactions of the table fine-grained. (A variable for tests.)
var bulkFileBytes uint64 = 256 << 20

// InsertBulk appends the rows that next produces to table, like Insert,
// and returns how many there were. next fills row (a full row in schema
// order, all NULL on entry) and returns io.EOF after the last row; any
// other error from next ends the load and is returned as it is. Values
// next stores (vector slices, strings) must stay unchanged until
// InsertBulk returns.
//
// Rows pass the checks of Insert as they arrive; a refused row ends the
// load with a *BulkError. Either way a failed InsertBulk leaves the Tx as
// it was.
//
// When the Tx has made no other change and opts.Batch is false, the rows
// go to sstables in the database directory, written as they arrive, and
// Commit ingests them together with the catalog entry in one atomic step
// (pebble's DB.Ingest): memory holds the mirror and a few blocks, not a
// batch, and nothing is written twice. Such a Tx then accepts no other
// write (ErrBulkOnly). Otherwise the rows go through the Tx's batch.
func (tx *Tx) InsertBulk(table string, opts BulkOptions, next func(row []types.Value) error) (int64, error) {
	t, err := tx.table(table)
	if err != nil {
		return 0, err
	}
	sp := tx.savepoint()
	l := &bulkLoader{
		tx:     tx,
		t:      t,
		first:  t.nextRowID,
		expect: opts.Rows,
		idx:    tx.db.pk[t.id],
	}
	if !opts.Batch && !tx.changed {
		l.files = &bulkFiles{db: tx.db}
	} else {
		l.batch = tx.db.pdb.NewBatch()
	}
	n, err := l.run(next)
	if err == nil && n > 0 {
		err = l.putEntries()
	}
	if err == nil && l.files != nil && n > 0 {
		err = l.files.finish()
	}
	if err == nil && l.batch != nil && n > 0 {
		if tx.batch == nil || tx.batch.Empty() {
			if tx.batch != nil {
				_ = tx.batch.Close()
			}
			tx.batch, l.batch = l.batch, nil
		} else {
			_ = tx.reserve(l.batch.Len()).Apply(l.batch, nil)
		}
	}
	if l.batch != nil {
		_ = l.batch.Close()
	}
	if err != nil || n == 0 {
		if l.files != nil {
			l.files.abort()
		}
		tx.restore(sp)
		return 0, err
	}
	if l.files != nil {
		tx.bulk = l.files
	}
	tx.dirty[strings.ToLower(t.schema.Name)] = true
	// The loaded rows are read again if the Tx is reverted (rowsUndo):
	// make them copy-on-write for the writer from now on.
	tx.epoch = tx.db.nextEpoch()
	return n, nil
}

// savepoint is the state InsertBulk returns the Tx to when it fails.
type savepoint struct {
	root    tableTree
	changed bool
	nkey    int
	nrow    int
}

// savepoint records the Tx's state. It starts a new epoch, so everything
// reachable from the recorded root stays as it is (copy-on-write).
func (tx *Tx) savepoint() savepoint {
	tx.epoch = tx.db.nextEpoch()
	return savepoint{root: tx.root, changed: tx.changed, nkey: len(tx.keyUndo), nrow: len(tx.rowUndo)}
}

func (tx *Tx) restore(sp savepoint) {
	tx.revertKeys(sp.nkey, sp.nrow)
	tx.root, tx.changed, tx.snap = sp.root, sp.changed, nil
	if tx.exposed {
		// A view may have shown rows past the published Len of arrays
		// that the restored headers share (see abandon).
		tx.db.appendFloor = tx.db.nextEpoch()
	}
	tx.epoch = tx.db.nextEpoch()
}

// rowsUndo removes the PRIMARY KEY values of the rowids first..first+n-1
// of a table from idx: a bulk load adds only new keys, so this undoes it
// without a log entry per row. t is the table's header after the load,
// which no later write changes (InsertBulk starts a new epoch).
type rowsUndo struct {
	at    int // len(Tx.keyUndo) when the load started
	idx   *pkIndex
	t     *Table
	first int64
	n     int64
}

func (u *rowsUndo) revert() {
	for _, g := range u.t.segs {
		lo := max(u.first, g.base)
		hi := min(u.first+u.n, g.base+int64(g.n))
		for r := lo; r < hi; r++ {
			u.idx.del(g.Value(u.idx.col, int(r-g.base)))
		}
	}
}

// bulkLoader is one InsertBulk in progress.
type bulkLoader struct {
	tx     *Tx
	t      *Table // the table; the Tx's own header once a row is appended
	first  int64  // rowid of the first row
	n      int64  // rows appended to the mirror
	expect int64
	idx    *pkIndex
	undo   int // index of the load's rowsUndo in Tx.rowUndo; -1 without a PRIMARY KEY
	files  *bulkFiles
	batch  *pebble.Batch
	size   int // bytes in batch, for ErrTxTooLarge
}

func (l *bulkLoader) run(next func(row []types.Value) error) (int64, error) {
	tx, s := l.tx, l.t.schema
	ncols := len(s.Columns)
	cells := make([]types.Value, bulkChunk*ncols)
	rows := make([][]types.Value, bulkChunk)
	for i := range rows {
		rows[i] = cells[i*ncols : (i+1)*ncols : (i+1)*ncols]
	}
	l.undo = -1
	if l.idx != nil {
		l.undo = len(tx.rowUndo)
		tx.rowUndo = append(tx.rowUndo, rowsUndo{at: len(tx.keyUndo), idx: l.idx, t: l.t, first: l.first})
	}
	key := make([]byte, rowKeyLen)
	var rec []byte
	for eof := false; !eof; {
		k := 0
		for ; k < bulkChunk; k++ {
			row := rows[k]
			clear(row)
			err := next(row)
			if err == io.EOF {
				eof = true
				break
			}
			if err == nil {
				err = l.check(row, l.n+int64(k))
			}
			if err != nil {
				l.dropKeys(rows[:k])
				return 0, err
			}
			putRowKey(key, l.t.id, l.first+l.n+int64(k))
			rec = appendRecord(rec[:0], row)
			if err := l.put(key, rec); err != nil {
				l.dropKeys(rows[:k+1])
				return 0, err
			}
		}
		if k == 0 {
			break
		}
		if l.n == 0 {
			tx.touch()
			l.t = tx.ownTable(l.t)
		}
		expect := int64(k)
		if l.expect > 0 {
			expect = max(expect, l.expect-l.n)
		} else {
			expect = max(expect, l.n) // assume the load goes on as long again
		}
		tx.appendRows(l.t, l.first+l.n, rows[:k], int(min(expect, 1<<30)))
		l.n += int64(k)
		l.t.nextRowID += int64(k)
		l.t.live += int64(k)
		if l.undo >= 0 {
			u := &tx.rowUndo[l.undo]
			u.t, u.n = l.t, l.n
		}
		clear(cells) // let the reader's buffers go
	}
	return l.n, nil
}

// check validates row (ordinal ord in the load) and claims its PRIMARY
// KEY value.
func (l *bulkLoader) check(row []types.Value, ord int64) error {
	s := l.t.schema
	if err := s.checkRow(row); err != nil {
		return &BulkError{Row: ord, Earlier: -1, Err: err}
	}
	if l.idx == nil {
		return nil
	}
	v := row[l.idx.col]
	if owner, dup := l.idx.get(v); dup {
		earlier := int64(-1)
		if owner >= l.first {
			earlier = owner - l.first
		}
		return &BulkError{Row: ord, Earlier: earlier, Err: pkError(s.Name, s.Columns[l.idx.col].Name, sqlLiteral(v))}
	}
	l.idx.set(v, l.first+ord)
	return nil
}

// dropKeys removes the PRIMARY KEY values of rows, not yet in the mirror,
// from the index (the rowsUndo covers the rows in the mirror).
func (l *bulkLoader) dropKeys(rows [][]types.Value) {
	if l.idx == nil {
		return
	}
	for _, row := range rows {
		if owner, ok := l.idx.get(row[l.idx.col]); ok && owner >= l.first+l.n {
			l.idx.del(row[l.idx.col])
		}
	}
}

// putEntries writes the index entries of the loaded rows after them: the
// entry keys ("y…") sort after the row keys ("r…"), so a sstable may hold
// both in order; indexes go in the order of their keys.
func (l *bulkLoader) putEntries() error {
	ixs := storedIndexes(l.t)
	slices.SortFunc(ixs, func(a, b *Index) int { return bytes.Compare(entryPrefix(a.Name), entryPrefix(b.Name)) })
	for _, ix := range ixs {
		prefix := entryPrefix(ix.Name)
		key := slices.Clone(prefix)
		var val []byte
		_, err := l.tx.db.segmentLists(l.t, ix, l.first, func(rowid int64, list int32) error {
			key = binary.BigEndian.AppendUint64(key[:len(prefix)], uint64(rowid))
			val = appendEntry(val[:0], list)
			return l.put(key, val)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (l *bulkLoader) put(key, rec []byte) error {
	if l.files != nil {
		return l.files.set(key, rec)
	}
	l.size += len(key) + len(rec) + 16
	if err := l.tx.checkSize(l.size); err != nil {
		return err
	}
	return l.batch.Set(key, rec, nil)
}

// bulkFiles are the sstables of one bulk load, written into bulkDir with
// pebble's sstable writer. Keys arrive sorted (rowid order), as the writer
// requires.
type bulkFiles struct {
	db    *DB
	paths []string // finished, synced files
	w     *sstable.Writer
	f     *bulkFile
	path  string
	sets  int // keys written to w
}

// bulkSeq names the sstables of loads (unique within the process, and the
// directory is locked to it).
var bulkSeq atomic.Uint64

func bulkWriterOptions(o *pebble.Options, format sstable.TableFormat) sstable.WriterOptions {
	o = o.Clone()
	o.EnsureDefaults()
	w := o.MakeWriterOptions(0, format)
	// Vectors do not compress; trying costs more than the disk write.
	w.Compression = sstable.NoCompression
	// Keys are unique: nothing for value blocks, which buffer in memory.
	w.DisableValueBlocks = true
	return w
}

func (b *bulkFiles) create() error {
	fs := b.db.fs
	dir := fs.PathJoin(b.db.dir, bulkDir)
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := fs.PathJoin(dir, fmt.Sprintf("%06d.sst", bulkSeq.Add(1)))
	// Starting writeback as it goes (sync_file_range every 16 MiB, see
	// vfs.SyncingFileOptions) overlaps the disk with the load and leaves
	// less to the final fsync. Measured on 100 MB loads: 16 MiB beat 1
	// and 4 MiB by 5-15%, and no writeback until the fsync by 15-25%.
	f, err := vfs.NewSyncingFS(fs, vfs.SyncingFileOptions{BytesPerSync: 16 << 20}).Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	b.f = &bulkFile{File: f}
	b.path = path
	b.w = sstable.NewWriter(objstorageprovider.NewFileWritable(b.f), b.db.wopts)
	return nil
}

func (b *bulkFiles) set(key, val []byte) error {
	if b.w == nil {
		if err := b.create(); err != nil {
			return err
		}
	}
	if err := b.w.Set(key, val); err != nil {
		return err
	}
	// EstimatedSize costs about as much as a small Set: look now and then.
	if b.sets++; b.sets%64 == 0 && b.w.Raw().EstimatedSize() >= bulkFileBytes {
		return b.finish()
	}
	return nil
}

// finish closes the current sstable; Close syncs it (the writable's
// Finish), as Ingest requires.
func (b *bulkFiles) finish() error {
	if b.w == nil {
		return nil
	}
	w := b.w
	b.w, b.f = nil, nil
	b.paths = append(b.paths, b.path)
	return w.Close()
}

// abort deletes the load's files. It is idempotent, and harmless after
// Ingest (which removed them).
func (b *bulkFiles) abort() {
	if b.w != nil {
		b.f.discard.Store(true)
		_ = b.w.Close()
		b.paths = append(b.paths, b.path)
		b.w, b.f = nil, nil
	}
	for _, p := range b.paths {
		_ = b.db.fs.Remove(p)
	}
	b.paths = nil
}

// commit writes the catalog entries to one more sstable and ingests all
// the load's files at once: one version edit in pebble's MANIFEST (or,
// when they overlap a memtable, one synced WAL record), so after a crash
// either all of them are in the database or none is.
func (b *bulkFiles) commit(catalog map[string][]byte) (err error) {
	defer recoverFatal(&err)
	if err := b.create(); err != nil {
		return err
	}
	names := make([]string, 0, len(catalog))
	for low := range catalog {
		names = append(names, low)
	}
	slices.Sort(names)
	for _, low := range names {
		if err := b.w.Set(catalogKey(low), catalog[low]); err != nil {
			return err
		}
	}
	if err := b.finish(); err != nil {
		return err
	}
	// Ingest wants the files' key ranges disjoint: the catalog key ("c…")
	// sorts before every row key ("r…").
	if err := b.db.pdb.Ingest(context.Background(), b.paths); err != nil {
		return err
	}
	b.paths = nil
	return nil
}

// bulkFile is an sstable being written. Once discarded (the load failed)
// it drops writes and syncs, so that closing the writer costs nothing.
type bulkFile struct {
	vfs.File
	discard atomic.Bool
}

func (f *bulkFile) Write(p []byte) (int, error) {
	if f.discard.Load() {
		return len(p), nil
	}
	return f.File.Write(p)
}

func (f *bulkFile) Sync() error {
	if f.discard.Load() {
		return nil
	}
	return f.File.Sync()
}

func (f *bulkFile) SyncTo(length int64) (bool, error) {
	if f.discard.Load() {
		return true, nil
	}
	return f.File.SyncTo(length)
}

func (f *bulkFile) SyncData() error {
	if f.discard.Load() {
		return nil
	}
	return f.File.SyncData()
}
