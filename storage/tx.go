package storage

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/softdb/softdb/internal/hugepage"
	"github.com/softdb/softdb/types"
)

// maxTxBytes bounds a transaction's pending batch below pebble's 4 GiB
// batch limit (which pebble enforces with a panic).
var maxTxBytes = 3 << 30

// Tx is the single write transaction. Its writes go to a pending pebble
// batch and to private copies of the touched parts of the mirror; Commit
// makes both visible at once. Every method is all-or-nothing: it validates
// everything before changing anything, so on error the Tx is as before.
//
// A Tx is not safe for concurrent use; it must end with Commit or
// Rollback, since it holds the DB's write lock.
//
// Copy-on-write works by epochs: every header or array the Tx allocates
// is stamped with its current epoch and may be written in place while the
// epoch lasts; anything older is shared with snapshots and is copied first.
// Handing out a snapshot (Snapshot, Commit) starts a new epoch.
type Tx struct {
	db      *DB
	base    *Snapshot
	batch   *pebble.Batch
	synced  *pebble.Batch // applied by Commit, waiting for its log sync
	root    tableTree     // the Tx's tables; a persistent tree, shared with views
	epoch   uint64
	snap    *Snapshot // cached Snapshot(); nil after a change
	changed bool
	exposed bool            // Snapshot handed out a view with uncommitted rows
	dirty   map[string]bool // tables whose catalog entry Commit writes
	keyUndo []keyUndo
	rowUndo []rowsUndo // PK keys of bulk-loaded rows, interleaved with keyUndo
	tblUndo []tableUndo
	bulk    *bulkFiles // sstables of a bulk load, ingested by Commit
	done    bool
	projs   projSet // the Tx's projections (projection.go)
	// projsOwned: projs is the Tx's own copy, written in place
	projsOwned bool
}

func (db *DB) newTx() *Tx {
	base := db.head
	if base == nil {
		base = db.snap.Load()
	}
	return &Tx{
		db:    db,
		base:  base,
		root:  base.tables,
		projs: base.projs,
		epoch: db.nextEpoch(),
		dirty: map[string]bool{},
	}
}

// Snapshot returns the transaction's own view, including its uncommitted
// writes. The view stays valid and unchanged after later writes, Commit
// or Rollback.
func (tx *Tx) Snapshot() *Snapshot {
	if tx.done || !tx.changed {
		if tx.done {
			return tx.db.Snapshot()
		}
		return tx.base
	}
	if tx.snap == nil {
		tx.snap = &Snapshot{tables: tx.root, projs: tx.projs}
		tx.projsOwned = false
		tx.epoch = tx.db.nextEpoch() // freeze what the view references
		tx.exposed = true
	}
	return tx.snap
}

// View returns the transaction's current state, like Snapshot, for
// reading only until the Tx's next write: unlike a Snapshot, what it
// shows may then change in place. A write statement uses it to find the
// rows it changes, so that the statements of one transaction copy a
// shared array once, not once per statement. Anything that may outlive
// the next write (a result handed to the caller) must use Snapshot.
func (tx *Tx) View() *Snapshot {
	switch {
	case tx.done:
		return tx.db.Snapshot()
	case !tx.changed:
		return tx.base
	case tx.snap != nil:
		return tx.snap
	}
	return &Snapshot{tables: tx.root, projs: tx.projs}
}

func (tx *Tx) touch() {
	tx.changed = true
	tx.snap = nil
}

func (tx *Tx) ownTable(t *Table) *Table {
	if t.epoch == tx.epoch {
		return t
	}
	t = t.clone(tx.epoch)
	tx.root = tx.root.put(strings.ToLower(t.schema.Name), t)
	return t
}

// ownSeg makes t.segs[k] (t owned) a header private to the epoch.
func (tx *Tx) ownSeg(t *Table, k int) *Segment {
	g := t.segs[k]
	if g.epoch != tx.epoch {
		g = g.clone(tx.epoch)
		t.segs[k] = g
	}
	return g
}

// writable reports why the Tx takes no more writes, if it does not.
func (tx *Tx) writable() error {
	switch {
	case tx.done:
		return ErrTxDone
	case tx.bulk != nil:
		return ErrBulkOnly
	}
	return nil
}

func (tx *Tx) table(name string) (*Table, error) {
	if err := tx.writable(); err != nil {
		return nil, err
	}
	t := tx.root.get(strings.ToLower(name))
	if t == nil {
		return nil, &TableError{Table: name, Err: ErrNoTable}
	}
	return t, nil
}

func (tx *Tx) batchLen() int {
	if tx.batch == nil {
		return 0
	}
	return tx.batch.Len()
}

func (tx *Tx) checkSize(extra int) error {
	if tx.batchLen()+extra > maxTxBytes {
		return fmt.Errorf("%w: its writes would exceed %d bytes; split it into smaller transactions", ErrTxTooLarge, maxTxBytes)
	}
	return nil
}

// reserve makes room for about extra more bytes in the batch, growing it
// in few large steps rather than letting pebble double it: every step
// copies the batch into memory it has never touched, and on the virtual
// machines softdb runs on, a first touch costs more than the copy (3.4 ns
// a byte in 4 KiB pages, 1.4 in 2 MiB pages, against 0.04 for the copy;
// see hugepage.Advise). Past 1 MiB a batch grows eightfold, with huge pages
// advised: a 53 MB transaction (10^5 one-row INSERTs of VECTOR(128))
// writes into buffers of 2, 16 and 128 MiB, touching 2+16+53 MiB instead
// of 1+2+…+32+53. What it reserves and has not written costs address
// space, not resident memory (the garbage collector counts it, though).
func (tx *Tx) reserve(extra int) *pebble.Batch {
	const small = 1 << 20
	if tx.batch == nil {
		tx.batch = tx.newBatch(max(extra+64, 1024))
		return tx.batch
	}
	n, c := tx.batch.Len(), cap(tx.batch.Repr())
	need := n + extra + 64
	if need <= c || n < small && extra <= small {
		return tx.batch // room enough, or small: pebble's doubling is cheap
	}
	size := need
	if n >= small {
		size = max(need, min(8*c, 2<<30))
	}
	b := tx.newBatch(size)
	_ = b.Apply(tx.batch, nil)
	_ = tx.batch.Close()
	tx.batch = b
	return b
}

// newBatch returns an empty batch with room for size bytes, huge pages
// advised under a large one.
func (tx *Tx) newBatch(size int) *pebble.Batch {
	b := tx.db.pdb.NewBatchWithSize(size)
	if size >= 4<<20 {
		r := b.Repr()
		hugepage.Advise(r[:cap(r)])
	}
	return b
}

// CreateTable creates a table. The schema is copied; PRIMARY KEY columns
// are marked NOT NULL.
func (tx *Tx) CreateTable(s Schema) error {
	if err := tx.writable(); err != nil {
		return err
	}
	vs, err := s.validate()
	if err != nil {
		return err
	}
	low := strings.ToLower(vs.Name)
	if tx.root.get(low) != nil {
		return &TableError{Table: vs.Name, Err: ErrTableExists}
	}
	db := tx.db
	id := db.nextTableID
	db.nextTableID++
	_ = tx.reserve(64).Set(keyNextTable, binary.BigEndian.AppendUint64(nil, db.nextTableID), nil)
	tx.touch()
	tx.root = tx.root.put(low, &Table{schema: vs, id: id, nextRowID: 1, epoch: tx.epoch})
	tx.dirty[low] = true
	if idx := newPKIndex(vs); idx != nil {
		tx.tblUndo = append(tx.tblUndo, tableUndo{tableID: id, prev: db.pk[id]})
		db.pk[id] = idx
	}
	return nil
}

// DropTable removes a table and all its rows.
func (tx *Tx) DropTable(name string) error {
	t, err := tx.table(name)
	if err != nil {
		return err
	}
	low := strings.ToLower(t.schema.Name)
	lo, hi := tableSpan(t.id)
	_ = tx.reserve(64).DeleteRange(lo, hi, nil)
	_ = tx.batch.Delete(catalogKey(low), nil)
	tx.dropIndexes(t)
	tx.touch()
	tx.root = tx.root.del(low)
	delete(tx.dirty, low)
	if idx := tx.db.pk[t.id]; idx != nil {
		tx.tblUndo = append(tx.tblUndo, tableUndo{tableID: t.id, prev: idx})
		delete(tx.db.pk, t.id)
	}
	return nil
}

// Insert appends rows (full rows in schema order, values of the column
// kinds or NULL) and returns the rowid of the first; the others follow
// consecutively. The rows' vector slices are copied.
func (tx *Tx) Insert(table string, rows [][]types.Value) (firstRowID int64, err error) {
	t, err := tx.table(table)
	if err != nil {
		return 0, err
	}
	s := t.schema
	size := 0
	for _, row := range rows {
		if err := s.checkRow(row); err != nil {
			return 0, err
		}
		size += rowKeyLen + recordSize(row) + 16
	}
	for _, ix := range storedIndexes(t) {
		size += entriesSize(ix, len(rows))
	}
	idx := tx.db.pk[t.id]
	if idx != nil {
		if err := checkNewKeys(s, idx, rows, nil); err != nil {
			return 0, err
		}
	}
	if err := tx.checkSize(size); err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return t.nextRowID, nil
	}

	tx.touch()
	tx.reserve(size)
	t = tx.ownTable(t)
	first := t.nextRowID
	for i, row := range rows {
		rowid := first + int64(i)
		op := tx.batch.SetDeferred(rowKeyLen, recordSize(row))
		putRowKey(op.Key, t.id, rowid)
		appendRecord(op.Value[:0], row)
		_ = op.Finish()
		if idx != nil {
			tx.setKey(idx, row[idx.col], rowid)
		}
	}
	if ixs := storedIndexes(t); len(ixs) > 0 {
		rowids := make([]int64, len(rows))
		for i := range rowids {
			rowids[i] = first + int64(i)
		}
		for _, ix := range ixs {
			tx.putRowEntries(t, ix, rowids, rows, nil)
		}
	}
	tx.appendRows(t, first, rows, len(rows))
	t.nextRowID += int64(len(rows))
	t.live += int64(len(rows))
	tx.dirty[strings.ToLower(s.Name)] = true
	return first, nil
}

// checkNewKeys checks that the PRIMARY KEY values of rows are distinct and
// not held by any existing row outside replaced (the rowids being
// updated).
func checkNewKeys(s *Schema, idx *pkIndex, rows [][]types.Value, replaced map[int64]bool) error {
	col := &s.Columns[idx.col]
	var seen *pkIndex // the keys of rows, to find duplicates among them
	if len(rows) > 1 {
		seen = &pkIndex{col: idx.col}
		if idx.ints != nil {
			seen.ints = make(map[int64]int64, len(rows))
		} else {
			seen.texts = make(map[string]int64, len(rows))
		}
	}
	for _, row := range rows {
		v := row[idx.col]
		if owner, ok := idx.get(v); ok && !replaced[owner] {
			return pkError(s.Name, col.Name, sqlLiteral(v))
		}
		if seen != nil {
			if _, dup := seen.get(v); dup {
				return pkError(s.Name, col.Name, sqlLiteral(v))
			}
			seen.set(v, 0)
		}
	}
	return nil
}

func (tx *Tx) setKey(idx *pkIndex, v types.Value, rowid int64) {
	old, had := idx.get(v)
	tx.keyUndo = append(tx.keyUndo, keyUndo{idx: idx, i: v.I, s: v.S, had: had, old: old})
	idx.set(v, rowid)
}

func (tx *Tx) delKey(idx *pkIndex, v types.Value) {
	old, had := idx.get(v)
	if !had {
		return
	}
	tx.keyUndo = append(tx.keyUndo, keyUndo{idx: idx, i: v.I, s: v.S, had: true, old: old})
	idx.del(v)
}

// appendRows writes rows with rowids first.. into the mirror of the owned
// table t, filling the last segment, then starting new ones. expect (at
// least len(rows)) is how many rows are expected from first on: a bulk
// load sizes segments for what is coming rather than growing them.
func (tx *Tx) appendRows(t *Table, first int64, rows [][]types.Value, expect int) {
	S := int64(tx.db.segRows)
	for done := 0; done < len(rows); {
		rowid := first + int64(done)
		base := (rowid-1)/S*S + 1
		slot := int(rowid - base)
		need := min(len(rows)-done, int(S)-slot)
		coming := max(need, expect-done)
		var g *Segment
		if slot == 0 {
			g = newSegment(t.schema, base, min(int(S), max(coming, 8)), tx.epoch)
			t.segs = append(t.segs, g)
		} else {
			k := len(t.segs) - 1
			if k < 0 || t.segs[k].base != base || t.segs[k].n != slot {
				panic("storage: mirror out of step with rowids")
			}
			g = tx.ownSeg(t, k)
			if g.slots() < slot+need {
				// Arrays this epoch allocated and already filled: the
				// transaction is appending many rows, so grow eightfold
				// rather than twofold. Each step copies the rows into
				// memory never touched before, which costs more than the
				// copy (see reserve); what is reserved and not written
				// costs address space. One-row transactions keep doubling,
				// so that a table's last segment stays close to its size.
				factor := 2
				if g.liveEpoch == tx.epoch {
					factor = 8
				}
				g.grow(min(int(S), max(slot+coming, factor*g.slots())), tx.epoch)
			} else if g.oldestEpoch() < tx.db.appendFloor {
				g.grow(g.slots(), tx.epoch)
			}
		}
		for j := 0; j < need; j++ {
			g.put(slot+j, rows[done+j], tx.epoch)
			g.live[slot+j] = 1
		}
		g.n = slot + need
		g.nlive += need
		done += need
	}
}

// locate returns the segment index and slot of a live row of t.
func (t *Table) locate(rowid int64) (k, slot int, ok bool) {
	k = t.segFor(rowid)
	if k < 0 {
		return 0, 0, false
	}
	slot = int(rowid - t.segs[k].base)
	return k, slot, t.segs[k].live[slot] != 0
}

func noRow(table string, rowid int64) error {
	return fmt.Errorf("%w: rowid %d in table %q", ErrNoRow, rowid, table)
}

// Update replaces the live rows rowids[i] with rows[i] (full rows, same
// rules as Insert). A rowid may appear only once.
func (tx *Tx) Update(table string, rowids []int64, rows [][]types.Value) error {
	t, err := tx.table(table)
	if err != nil {
		return err
	}
	if len(rowids) != len(rows) {
		return fmt.Errorf("storage: Update got %d rowids and %d rows", len(rowids), len(rows))
	}
	s := t.schema
	size := 0
	set := make(map[int64]bool, len(rowids))
	for i, row := range rows {
		if err := s.checkRow(row); err != nil {
			return err
		}
		if _, _, ok := t.locate(rowids[i]); !ok {
			return noRow(s.Name, rowids[i])
		}
		if set[rowids[i]] {
			return fmt.Errorf("storage: Update lists rowid %d twice", rowids[i])
		}
		set[rowids[i]] = true
		size += rowKeyLen + recordSize(row) + 16
	}
	for _, ix := range storedIndexes(t) {
		size += entriesSize(ix, len(rows))
	}
	idx := tx.db.pk[t.id]
	if idx != nil {
		if err := checkNewKeys(s, idx, rows, set); err != nil {
			return err
		}
	}
	if err := tx.checkSize(size); err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}

	// Arrays the Tx already owns are written in place, and a new value
	// may share memory with a slot of one of them (a vector read through
	// View): copy the vectors first, so that no write changes a value
	// still to be written.
	rows = detachVectors(rows)
	tx.touch()
	tx.reserve(size)
	t = tx.ownTable(t)
	// The index entries of the rows whose key changes.
	for _, ix := range storedIndexes(t) {
		col := s.ColumnIndex(ix.Column)
		skip := make([]bool, len(rows))
		for i, row := range rows {
			k, slot, _ := t.locate(rowids[i])
			old := t.segs[k].Value(col, slot)
			skip[i] = old.K == types.Null && row[col].K == types.Null ||
				old.K != types.Null && row[col].K != types.Null && sameValue(&old, &row[col])
		}
		tx.putRowEntries(t, ix, rowids, rows, skip)
	}
	if idx != nil {
		for _, rowid := range rowids {
			k, slot, _ := t.locate(rowid)
			tx.delKey(idx, t.segs[k].Value(idx.col, slot))
		}
	}
	for i, row := range rows {
		rowid := rowids[i]
		op := tx.batch.SetDeferred(rowKeyLen, recordSize(row))
		putRowKey(op.Key, t.id, rowid)
		appendRecord(op.Value[:0], row)
		_ = op.Finish()
		k, slot, _ := t.locate(rowid)
		tx.ownSeg(t, k).update(slot, row, tx.epoch)
		if idx != nil {
			tx.setKey(idx, row[idx.col], rowid)
		}
	}
	return nil
}

// Delete deletes the live rows rowids; a rowid listed twice counts once.
func (tx *Tx) Delete(table string, rowids []int64) error {
	t, err := tx.table(table)
	if err != nil {
		return err
	}
	for _, rowid := range rowids {
		if _, _, ok := t.locate(rowid); !ok {
			return noRow(t.schema.Name, rowid)
		}
	}
	size := len(rowids) * (rowKeyLen + 16)
	for _, ix := range storedIndexes(t) {
		size += entriesSize(ix, len(rowids))
	}
	if err := tx.checkSize(size); err != nil {
		return err
	}
	if len(rowids) == 0 {
		return nil
	}

	tx.touch()
	tx.reserve(size)
	tx.deleteRowEntries(t, rowids)
	t = tx.ownTable(t)
	tx.dirty[strings.ToLower(t.schema.Name)] = true // its live row count
	idx := tx.db.pk[t.id]
	key := make([]byte, rowKeyLen)
	emptied := false
	for _, rowid := range rowids {
		k, slot, ok := t.locate(rowid)
		if !ok {
			continue // a duplicate
		}
		putRowKey(key, t.id, rowid)
		_ = tx.batch.Delete(key, nil)
		g := tx.ownSeg(t, k)
		if idx != nil {
			tx.delKey(idx, g.Value(idx.col, slot))
		}
		g.ownLive(tx.epoch)
		g.live[slot] = 0
		g.nlive--
		t.live--
		emptied = emptied || g.nlive == 0
	}
	if emptied {
		// Full segments without a live row hold nothing a scan needs.
		segs := t.segs[:0]
		for _, g := range t.segs {
			if g.nlive > 0 || g.n < tx.db.segRows {
				segs = append(segs, g)
			}
		}
		clear(t.segs[len(segs):])
		t.segs = segs
	}
	return nil
}

// Commit writes the transaction with one synced pebble batch (after a
// bulk load through sstables: one ingestion of them, see InsertBulk) and
// then publishes its state. On error nothing is published and the Tx is over.
// Committing a Tx that changed nothing writes nothing.
func (tx *Tx) Commit() error { return tx.CommitContext(context.Background()) }

// CommitContext is Commit that stops waiting when ctx ends or the disk
// turns out to be full while pebble cannot make room for the write. The
// error then says the outcome is unknown (an *InDoubtError): the write
// goes on in the background and is published if it completes, and the
// next writers wait for it (Begin fails with the out-of-space error
// meanwhile). A commit is refused before it writes anything, with
// ErrNoSpace, when the disk lacks room for it and for pebble's flushes.
func (tx *Tx) CommitContext(ctx context.Context) error {
	if tx.done {
		return ErrTxDone
	}
	db := tx.db
	if !tx.changed {
		tx.end()
		return nil
	}
	if err := ctx.Err(); err != nil {
		// Cancelled before the commit began: nothing is written, and
		// the caller knows it (the ambiguous case is a cancel during it).
		tx.abandon()
		tx.end()
		return err
	}
	if err := db.checkSpace(tx.batchLen()); err != nil {
		tx.abandon()
		tx.end()
		return fmt.Errorf("commit failed: %w", err)
	}
	var commit func() error
	if tx.bulk != nil {
		catalog := tx.catalogEntries()
		commit = func() error { return tx.bulk.commit(catalog) }
	} else {
		for low, val := range tx.catalogEntries() {
			_ = tx.reserve(256).Set(catalogKey(low), val, nil)
		}
		commit = func() error {
			err := applyBatch(db.pdb, tx.batch)
			if err == nil {
				tx.synced, tx.batch = tx.batch, nil
			}
			return err
		}
	}
	return db.waitCommit(ctx, commit, tx.finishCommit, func() { tx.done = true })
}

// finishCommit publishes the transaction once pebble's commit returned
// err, or undoes it.
func (tx *Tx) finishCommit(err error) error {
	db := tx.db
	if err != nil {
		tx.abandon()
		if _, fatal := err.(fatalError); fatal {
			db.fail(classify(err))
		}
		tx.end()
		return fmt.Errorf("commit failed: %w", classify(err))
	}
	batch := tx.synced // applied, waiting for its log sync
	tx.synced = nil
	db.commitSeq++
	snap := &Snapshot{tables: tx.root, projs: tx.projs, seq: db.commitSeq}
	db.head = snap
	db.nextEpoch()
	tx.keyUndo, tx.rowUndo, tx.tblUndo = nil, nil, nil
	if batch == nil {
		db.publish(snap)
		tx.end()
		return nil
	}
	// Group commit: the write lock goes to the next writer while this
	// commit waits for its log sync, so that commits from several
	// goroutines share one sync (pebble syncs the log for all the batches
	// written before it). The next Tx starts from head, which readers see
	// only once it is durable.
	db.syncing.Add(1)
	defer db.syncing.Done()
	tx.end()
	err = syncWait(batch)
	_ = batch.Close()
	if err == nil {
		err = db.failure() // a commit before this one failed its sync
	}
	if err != nil {
		err = classify(err)
		db.fail(err)
		return fmt.Errorf("commit failed: %w", err)
	}
	db.publish(snap)
	return nil
}

// publish makes snap the committed state readers see, unless a later
// commit's state already is: commits may finish their log syncs out of
// order, and a later commit's state includes the earlier ones'.
func (db *DB) publish(snap *Snapshot) {
	for {
		cur := db.snap.Load()
		if cur != nil && cur.seq >= snap.seq || db.snap.CompareAndSwap(cur, snap) {
			return
		}
	}
}

// catalogEntries returns the catalog values Commit writes, by lower-case
// table name.
func (tx *Tx) catalogEntries() map[string][]byte {
	m := make(map[string][]byte, len(tx.dirty))
	for low := range tx.dirty {
		if t := tx.root.get(low); t != nil {
			m[low] = encodeCatalog(t)
		}
	}
	return m
}

// applyBatch writes b to pebble's log and memtable; syncWait then waits
// for the log sync.
func applyBatch(p *pebble.DB, b *pebble.Batch) (err error) {
	defer recoverFatal(&err)
	return p.ApplyNoSyncWait(b, pebble.Sync)
}

func syncWait(b *pebble.Batch) (err error) {
	defer recoverFatal(&err)
	return b.SyncWait()
}

// Rollback discards the transaction. It is idempotent and does nothing
// after Commit.
func (tx *Tx) Rollback() {
	if tx.done {
		return
	}
	tx.abandon()
	tx.end()
}

// abandon undoes the writer state of a Tx that will not be published.
func (tx *Tx) abandon() {
	tx.revert()
	if tx.exposed {
		// A view of this Tx may show rows appended past the published
		// Len of shared arrays; later appends must not overwrite them.
		tx.db.appendFloor = tx.db.nextEpoch()
	}
}

// revert undoes the writer-side PK changes, newest first.
func (tx *Tx) revert() {
	tx.revertKeys(0, 0)
	for i := len(tx.tblUndo) - 1; i >= 0; i-- {
		u := &tx.tblUndo[i]
		if u.prev != nil {
			tx.db.pk[u.tableID] = u.prev
		} else {
			delete(tx.db.pk, u.tableID)
		}
	}
	tx.keyUndo, tx.rowUndo, tx.tblUndo = nil, nil, nil
}

// revertKeys undoes the key changes logged after the first nkey keyUndo
// and nrow rowUndo entries, newest first, and drops them from the logs.
// A rowsUndo entry with at == i came after keyUndo[i-1] and before
// keyUndo[i].
func (tx *Tx) revertKeys(nkey, nrow int) {
	r := len(tx.rowUndo) - 1
	for i := len(tx.keyUndo); i >= nkey; i-- {
		for ; r >= nrow && tx.rowUndo[r].at >= i; r-- {
			tx.rowUndo[r].revert()
		}
		if i == nkey {
			break
		}
		u := &tx.keyUndo[i-1]
		if u.had {
			u.idx.set(u.key(), u.old)
		} else {
			u.idx.del(u.key())
		}
	}
	clear(tx.rowUndo[nrow:])
	tx.keyUndo, tx.rowUndo = tx.keyUndo[:nkey], tx.rowUndo[:nrow]
}

func (tx *Tx) end() {
	if !tx.done { // already set when a commit finishes in the background
		tx.done = true
	}
	if tx.bulk != nil {
		tx.bulk.abort()
		tx.bulk = nil
	}
	tx.root, tx.snap = tableTree{}, nil
	if tx.batch != nil {
		_ = tx.batch.Close()
		tx.batch = nil
	}
	<-tx.db.sem
}

// detachVectors returns rows with every vector value copied into one
// fresh array; rows without vectors are returned as they are.
func detachVectors(rows [][]types.Value) [][]types.Value {
	n := 0
	for _, row := range rows {
		for i := range row {
			if row[i].K == types.Vector {
				n += len(row[i].V)
			}
		}
	}
	if n == 0 {
		return rows
	}
	flat := make([]float32, 0, n)
	out := make([][]types.Value, len(rows))
	for r, row := range rows {
		out[r] = append([]types.Value(nil), row...)
		for i := range out[r] {
			if v := &out[r][i]; v.K == types.Vector {
				at := len(flat)
				flat = append(flat, v.V...)
				v.V = flat[at:len(flat):len(flat)]
			}
		}
	}
	return out
}
