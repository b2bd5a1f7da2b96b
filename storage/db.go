package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
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
	// ReadOnly opens an existing database without writing to its
	// directory: no recovery writes, no lock file created (a shared lock
	// on the existing one keeps writers of other processes out), and
	// every Begin fails with ErrReadOnly. Open of a directory the process
	// may not write fails with ErrReadOnly unless ReadOnly is set.
	ReadOnly bool
	// Recover opens a database whose write-ahead log or MANIFEST is
	// damaged in the middle — which Open otherwise refuses with a
	// *CorruptionError naming the file — keeping what can be read: the
	// log up to the damage, the sstables the MANIFEST lists up to it (the
	// others are deleted), and rows up to each table's next rowid. What
	// followed the damage is lost for good.
	Recover bool
	// AssignLists computes the lists of the rows a write adds to a vector
	// index (default: a plain nearest-centroid loop, correct but slow;
	// the executor supplies one on its batch kernels).
	AssignLists AssignFunc

	memTableSize uint64 // pebble's, when set: tests make flushes frequent
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
	fs      vfs.FS // pebble's file system: bulk loads write their sstables here
	dir     string
	wopts   sstable.WriterOptions // for bulk-load sstables
	regKey  string                // key in openDirs, "" when not registered
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
	readOnly    bool
	recover     bool
	faults      *faults
	assignLists AssignFunc
	pending     pendingCommits // commits finishing in the background (InDoubtError)
	failed      error          // set when a commit failed fatally (see fail)
	// appendFloor: arrays of an older epoch may have been seen, past
	// their published Len, through a view of a rolled-back Tx, so
	// appends must copy them first.
	appendFloor uint64
	// head is the state of the last commit handed to pebble, which may be
	// still waiting for its log sync (so not yet published): the next Tx
	// starts from it. nil until the first commit: snap is the head.
	head      *Snapshot
	commitSeq uint64 // Snapshot.seq of head
	// failMu guards failed: a commit that fails in its log sync sets it
	// after giving up the write lock.
	failMu sync.Mutex
	// syncing counts commits waiting for their log sync; Close waits for
	// them.
	syncing sync.WaitGroup
}

// failure returns the error that ended writing, if any.
func (db *DB) failure() error {
	db.failMu.Lock()
	defer db.failMu.Unlock()
	return db.failed
}

// fail records that a commit failed fatally: later writes are refused.
func (db *DB) fail(err error) {
	db.failMu.Lock()
	defer db.failMu.Unlock()
	if db.failed == nil {
		db.failed = fmt.Errorf("%w (%w)", ErrFailed, err)
	}
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
func Open(opts Options) (db *DB, err error) {
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
		opts.ReadOnly = false
	}
	if fsys == nil {
		fsys = vfs.Default
	}
	if opts.ReadOnly {
		if _, err := fsys.Stat(fsys.PathJoin(dir, "LOCK")); err != nil {
			return nil, fmt.Errorf("cannot open database %s read-only: %w", opts.Dir, err)
		}
	} else if err := fsys.MkdirAll(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
			return nil, readOnlyDirError(opts.Dir, err)
		}
		return nil, fmt.Errorf("cannot create database directory %s: %w", opts.Dir, err)
	}
	db = &DB{segRows: opts.SegmentRows, sem: make(chan struct{}, 1), pk: map[uint64]*pkIndex{},
		readOnly: opts.ReadOnly, recover: opts.Recover, faults: newFaults(opts.Dir), assignLists: opts.AssignLists}
	if opts.FS == nil && !opts.InMemory() {
		if !opts.ReadOnly {
			// Fail fast: pebble would retry its writes forever.
			if err := writable(dir); err != nil {
				return nil, readOnlyDirError(opts.Dir, err)
			}
		}
		key, ok := dirIdentity(dir)
		if !ok {
			return nil, fmt.Errorf("cannot open database directory %s", opts.Dir)
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
	lockFS := fsys
	if opts.ReadOnly && opts.FS == nil {
		lockFS = readLockFS{fsys}
	}
	lock, err := pebble.LockDirectory(dir, lockFS)
	if err != nil {
		db.unregister()
		if isLockError(err) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, opts.Dir)
		}
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
			return nil, readOnlyDirError(opts.Dir, err)
		}
		return nil, fmt.Errorf("cannot lock database directory: %w", err)
	}
	db.lock = lock
	if err := checkLogs(fsys, dir, opts.Recover && !opts.ReadOnly); err != nil {
		db.release()
		return nil, fmt.Errorf("cannot open database %s: %w (Recover, softdb --recover, opens it without what follows the damage)", opts.Dir, err)
	}
	popts := &pebble.Options{
		FS:                 fsys,
		Lock:               lock,
		CacheSize:          opts.CacheSize,
		Logger:             logger{db.faults},
		EventListener:      db.faults.eventListener(),
		FormatMajorVersion: pebble.FormatNewest,
		ReadOnly:           opts.ReadOnly,
		MemTableSize:       opts.memTableSize,
	}
	// Big blocks: the only reads are the full scans at Open, where each
	// block costs a read call and a cache allocation (the cache is small
	// on purpose). 64 KiB took Open's CPU time for 10⁶×128 floats from
	// 1.7 s to 0.65 s against the default 4 KiB.
	for i := range popts.Levels {
		popts.Levels[i].BlockSize = 64 << 10
		popts.Levels[i].IndexBlockSize = 64 << 10
	}
	db.pdb, err = openPebble(dir, popts)
	if err != nil {
		db.release()
		if !errors.Is(err, ErrCorrupt) && isContentError(err) {
			err = &CorruptionError{Offset: -1, File: corruptPath(err), Msg: firstLine(err), Err: err}
		}
		var ce *CorruptionError
		if errors.As(err, &ce) && ce.File == unknownFile && (strings.Contains(strings.ToLower(ce.Msg), "options") || strings.Contains(ce.Msg, "key=value")) {
			// The OPTIONS file does not parse, or disagrees with the options.
			if desc, perr := pebble.Peek(dir, fsys); perr == nil && desc.OptionsFilename != "" {
				ce.File = desc.OptionsFilename
			}
		}
		return nil, fmt.Errorf("cannot open database %s: %w", opts.Dir, classify(err))
	}
	db.fs, db.dir = fsys, dir
	db.wopts = bulkWriterOptions(popts, db.pdb.TableFormat())
	fail := func(err error) (*DB, error) {
		_ = db.closePebble()
		db.release()
		if errors.Is(err, ErrCorrupt) && !strings.Contains(err.Error(), opts.Dir) {
			return nil, fmt.Errorf("cannot open database %s: %w", opts.Dir, err)
		}
		return nil, err
	}
	if !opts.ReadOnly {
		// Sstables of a bulk load that never reached Commit (a crash) were
		// never ingested: nothing references them.
		if err := fsys.RemoveAll(fsys.PathJoin(dir, bulkDir)); err != nil {
			return fail(fmt.Errorf("cannot open database %s: %w", opts.Dir, err))
		}
	}
	if err := db.loadGuarded(); err != nil {
		return fail(classify(err))
	}
	if err := db.faults.fatalErr(); err != nil {
		return fail(classify(err))
	}
	return db, nil
}

func readOnlyDirError(dir string, err error) error {
	return fmt.Errorf("%w: cannot write to database directory %s (%v); open it read-only (Options.ReadOnly, softdb --readonly) or fix its permissions", ErrReadOnly, dir, err)
}

func fmtIdentity(dev, ino uint64) string { return fmt.Sprintf("%d:%d", dev, ino) }

// loadGuarded is load with pebble's fatal errors returned.
func (db *DB) loadGuarded() (err error) {
	defer recoverFatal(&err)
	return db.load()
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
	select {
	case db.sem <- struct{}{}:
	case <-db.stuckCommit():
		spaceErr, _ := db.faults.spaceErr()
		err := fmt.Errorf("close: a commit is still waiting for the disk (%v); the database stays open until it ends — free space and call Close again", spaceErr)
		db.closed.Store(false)
		return err
	}
	defer func() { <-db.sem }()
	db.syncing.Wait()
	err := db.closePebble()
	db.release()
	return err
}

// stuckCommit returns a channel that fires when a commit finishing in the
// background has not ended after closeWait; nil (never) otherwise.
func (db *DB) stuckCommit() <-chan time.Time {
	if db.pending.Load() == 0 {
		return nil
	}
	return time.After(closeWait)
}

// closePebble closes the pebble instance. After a fatal error on one of
// pebble's goroutines, pebble may wait forever for work that will not
// finish: Close then gives it closeWait and lets go.
func (db *DB) closePebble() error {
	done := make(chan error, 1)
	go func() {
		var err error
		defer func() { done <- err }()
		defer recoverFatal(&err)
		err = db.pdb.Close()
	}()
	if db.faults.fatalErr() == nil {
		err := <-done
		if ferr := db.faults.fatalErr(); ferr != nil && err == nil {
			err = ferr
		}
		return err
	}
	select {
	case err := <-done:
		return err
	case <-time.After(closeWait):
		return fmt.Errorf("storage did not close after a fatal error: %w", db.faults.fatalErr())
	}
}

const closeWait = 5 * time.Second

// Snapshot returns the current committed state. It never blocks.
func (db *DB) Snapshot() *Snapshot { return db.snap.Load() }

// Begin starts the only write transaction, waiting (as long as ctx allows)
// for the previous one to end.
func (db *DB) Begin(ctx context.Context) (*Tx, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	if db.pending.Load() > 0 {
		// The writer is a commit waiting for the disk: say so rather
		// than wait out ctx.
		if err, _ := db.faults.spaceErr(); err != nil {
			return nil, err
		}
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
	if err := db.failure(); err != nil {
		<-db.sem
		return nil, err
	}
	if db.readOnly {
		<-db.sem
		return nil, fmt.Errorf("%w: it was opened read-only (ReadOnly); writes need a read-write Open", ErrReadOnly)
	}
	if err := db.faults.fatalErr(); err != nil {
		<-db.sem
		return nil, fmt.Errorf("%w (%v)", ErrFailed, classify(err))
	}
	return db.newTx(), nil
}

// nextEpoch starts a new write epoch: everything allocated before becomes
// read-only for the writer.
func (db *DB) nextEpoch() uint64 {
	db.epoch++
	return db.epoch
}
