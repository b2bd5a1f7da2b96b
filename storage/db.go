package storage

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/softdb/softdb/types"
)

// Options configure Open. The zero value opens an in-memory database.
type Options struct {
	// Dir is the database directory, created if missing. "" or ":memory:"
	// keeps everything in memory.
	Dir string
	// SegmentRows is the number of rows per mirror segment, a power of two
	// (default 65536).
	SegmentRows int
	// CacheSize is pebble's block cache in bytes (default 8 MiB). It stays
	// small because the in-memory mirror holds all the data.
	CacheSize int64
	// FS replaces the file system, for tests only (crash simulation, fault
	// injection). With FS set, Dir is a path inside it.
	FS vfs.FS
}

// DefaultSegmentRows is the default Options.SegmentRows.
const DefaultSegmentRows = 65536

const defaultCacheSize = 8 << 20

// EnsureDefaults fills in zero fields.
func (o *Options) EnsureDefaults() {
	if o.SegmentRows == 0 {
		o.SegmentRows = DefaultSegmentRows
	}
	if o.CacheSize == 0 {
		o.CacheSize = defaultCacheSize
	}
}

// Validate reports invalid options.
func (o *Options) Validate() error {
	if o.SegmentRows < 1 || o.SegmentRows&(o.SegmentRows-1) != 0 || o.SegmentRows > 1<<24 {
		return fmt.Errorf("storage: SegmentRows must be a power of two between 1 and %d, got %d", 1<<24, o.SegmentRows)
	}
	if o.CacheSize < 0 {
		return fmt.Errorf("storage: CacheSize must not be negative")
	}
	return nil
}

// InMemory reports whether the options describe an in-memory database.
func (o *Options) InMemory() bool { return o.Dir == "" || o.Dir == ":memory:" }

// DB is an open database: pebble on disk as the source of truth, and an
// in-memory columnar mirror of every table that readers scan through
// snapshots. Readers never block; writers go one at a time (Begin).
type DB struct {
	pdb     *pebble.DB
	lock    *pebble.Lock
	regKey  string // key in openDirs, "" when not registered
	segRows int
	closed  atomic.Bool
	snap    atomic.Pointer[Snapshot]
	// sem holds one token: the right to write. A Tx owns it from Begin to
	// Commit or Rollback, and Close takes it to wait out the writer.
	sem chan struct{}

	// Writer state: touched only by the holder of sem.
	epoch       uint64
	nextTableID uint64
	pk          map[uint64]*pkIndex // by table id
	failed      error               // set when a commit failed fatally
}

// openDirs makes a second Open of one directory in this process fail
// like it would from another process; pebble's own check compares path
// strings only.
var openDirs struct {
	sync.Mutex
	m map[string]bool
}

// Open opens (creating if needed) the database in opts.Dir and loads every
// table into memory.
func Open(opts Options) (*DB, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	fsys, dir := opts.FS, opts.Dir
	if opts.InMemory() {
		dir = "db"
		if fsys == nil {
			fsys = vfs.NewMem()
		}
	}
	if fsys == nil {
		fsys = vfs.Default
	}
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create database directory: %w", err)
	}
	db := &DB{segRows: opts.SegmentRows, sem: make(chan struct{}, 1), pk: map[uint64]*pkIndex{}}
	if opts.FS == nil && !opts.InMemory() {
		key, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		if r, err := filepath.EvalSymlinks(key); err == nil {
			key = r
		}
		openDirs.Lock()
		if openDirs.m == nil {
			openDirs.m = map[string]bool{}
		}
		busy := openDirs.m[key]
		if !busy {
			openDirs.m[key] = true
		}
		openDirs.Unlock()
		if busy {
			return nil, fmt.Errorf("%w: %s", ErrLocked, opts.Dir)
		}
		db.regKey = key
	}
	lock, err := pebble.LockDirectory(dir, fsys)
	if err != nil {
		db.unregister()
		if isLockError(err) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, opts.Dir)
		}
		return nil, fmt.Errorf("cannot lock database directory: %w", err)
	}
	db.lock = lock
	popts := &pebble.Options{
		FS:                 fsys,
		Lock:               lock,
		CacheSize:          opts.CacheSize,
		Logger:             logger{},
		FormatMajorVersion: pebble.FormatNewest,
	}
	// Big blocks: the only reads are full scans at Open, where each
	// block costs a read call (the block cache is small on purpose).
	for i := range popts.Levels {
		popts.Levels[i].BlockSize = 64 << 10
		popts.Levels[i].IndexBlockSize = 64 << 10
	}
	db.pdb, err = openPebble(dir, popts)
	if err != nil {
		db.release()
		return nil, fmt.Errorf("cannot open database %s: %w", opts.Dir, err)
	}
	if err := db.load(); err != nil {
		_ = db.pdb.Close()
		db.release()
		return nil, err
	}
	return db, nil
}

// openPebble turns pebble's fatal errors during Open into an error.
func openPebble(dir string, o *pebble.Options) (db *pebble.DB, err error) {
	defer recoverFatal(&err)
	return pebble.Open(dir, o)
}

// isLockError reports whether err comes from a lock held elsewhere:
// fcntl's EAGAIN/EACCES (another process) or pebble's in-process check.
// Errors from creating the LOCK file come wrapped in a *fs.PathError.
func isLockError(err error) bool {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return false
	}
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) ||
		strings.Contains(err.Error(), "lock held by current process")
}

func (db *DB) unregister() {
	if db.regKey != "" {
		openDirs.Lock()
		delete(openDirs.m, db.regKey)
		openDirs.Unlock()
		db.regKey = ""
	}
}

func (db *DB) release() {
	if db.lock != nil {
		_ = db.lock.Close()
		db.lock = nil
	}
	db.unregister()
}

// Close waits for an open transaction to end, then closes the database.
// Snapshots taken before stay readable. Close is idempotent.
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return nil
	}
	db.sem <- struct{}{}
	defer func() { <-db.sem }()
	err := closePebble(db.pdb)
	db.release()
	return err
}

func closePebble(p *pebble.DB) (err error) {
	defer recoverFatal(&err)
	return p.Close()
}

// Snapshot returns the current committed state. It never blocks.
func (db *DB) Snapshot() *Snapshot { return db.snap.Load() }

// Begin starts the only write transaction, waiting (as long as ctx allows)
// for the previous one to end.
func (db *DB) Begin(ctx context.Context) (*Tx, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	select {
	case db.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if db.closed.Load() {
		<-db.sem
		return nil, ErrClosed
	}
	if db.failed != nil {
		err := db.failed
		<-db.sem
		return nil, err
	}
	return db.newTx(), nil
}

// nextEpoch starts a new write epoch: everything allocated before becomes
// read-only for the writer.
func (db *DB) nextEpoch() uint64 {
	db.epoch++
	return db.epoch
}

// catalogEntry is the JSON value of a catalog key.
type catalogEntry struct {
	Name      string          `json:"name"`
	ID        uint64          `json:"id"`
	NextRowID int64           `json:"next_rowid"`
	Columns   []catalogColumn `json:"columns"`
}

type catalogColumn struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Dim        int    `json:"dim,omitempty"`
	NotNull    bool   `json:"not_null,omitempty"`
	PrimaryKey bool   `json:"primary_key,omitempty"`
}

func encodeCatalog(t *Table) []byte {
	e := catalogEntry{Name: t.schema.Name, ID: t.id, NextRowID: t.nextRowID}
	for _, c := range t.schema.Columns {
		e.Columns = append(e.Columns, catalogColumn{
			Name: c.Name, Type: c.Type.Kind.String(), Dim: c.Type.Dim,
			NotNull: c.NotNull, PrimaryKey: c.PrimaryKey,
		})
	}
	b, err := json.Marshal(e)
	if err != nil {
		panic(err) // plain strings and numbers always marshal
	}
	return b
}

func decodeCatalog(key, val []byte) (*catalogEntry, *Schema, error) {
	var e catalogEntry
	if err := json.Unmarshal(val, &e); err != nil {
		return nil, nil, &CorruptionError{Key: key, Msg: "bad catalog entry: " + err.Error()}
	}
	s := &Schema{Name: e.Name}
	for _, c := range e.Columns {
		col := Column{Name: c.Name, NotNull: c.NotNull, PrimaryKey: c.PrimaryKey}
		switch c.Type {
		case "INT":
			col.Type.Kind = types.Int
		case "FLOAT":
			col.Type.Kind = types.Float
		case "TEXT":
			col.Type.Kind = types.Text
		case "VECTOR":
			col.Type = types.Type{Kind: types.Vector, Dim: c.Dim}
		default:
			return nil, nil, &CorruptionError{Key: key, Msg: fmt.Sprintf("unknown column type %q", c.Type)}
		}
		s.Columns = append(s.Columns, col)
	}
	vs, err := s.validate()
	if err != nil {
		return nil, nil, &CorruptionError{Key: key, Msg: "bad catalog entry: " + err.Error()}
	}
	if string(key[1:]) != strings.ToLower(e.Name) || e.ID == 0 || e.NextRowID < 1 {
		return nil, nil, &CorruptionError{Key: key, Msg: "bad catalog entry"}
	}
	return &e, vs, nil
}

// load reads the catalog and every table into the mirror.
func (db *DB) load() error {
	epoch := db.nextEpoch()
	v, closer, err := db.pdb.Get(keyFormat)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		// A new database, or one this code has never written to.
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
	for it.First(); it.Valid(); it.Next() {
		e, s, err := decodeCatalog(it.Key(), it.Value())
		if err != nil {
			_ = it.Close()
			return err
		}
		t := &Table{schema: s, id: e.ID, nextRowID: e.NextRowID, epoch: epoch}
		tables[strings.ToLower(s.Name)] = t
		if e.ID >= db.nextTableID {
			db.nextTableID = e.ID + 1
		}
	}
	if err := it.Close(); err != nil {
		return err
	}
	for _, t := range tables {
		if err := db.loadTable(t, epoch); err != nil {
			return err
		}
	}
	db.snap.Store(newSnapshot(tables))
	return nil
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

// logger silences pebble's informational messages and turns its fatal
// errors into panics that the caller of a pebble operation recovers.
type logger struct{}

func (logger) Infof(string, ...any) {}
func (logger) Errorf(format string, args ...any) {
	log.Printf("softdb storage: "+format, args...)
}
func (logger) Fatalf(format string, args ...any) {
	panic(fatalError{fmt.Errorf(format, args...)})
}

// fatalError is an error pebble could not handle in place; after it the
// pebble instance must not take more writes.
type fatalError struct{ err error }

func (e fatalError) Error() string { return e.err.Error() }
func (e fatalError) Unwrap() error { return e.err }

// recoverFatal converts a panic from pebble (a Fatalf, or an I/O error it
// panics with) into *err.
func recoverFatal(err *error) {
	if r := recover(); r != nil {
		switch r := r.(type) {
		case runtime.Error:
			panic(r)
		case fatalError:
			*err = r
		case error:
			*err = fatalError{r}
		default:
			panic(r)
		}
	}
}
