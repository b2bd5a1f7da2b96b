package storage

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"time"
)

// spaceReserve is the free space a commit must leave on the disk: room
// for pebble to flush a full memtable (4 MiB by default) to an sstable,
// after which its log is deleted. pebble treats a failed log write as
// fatal (the DB then needs a reopen) and retries a failed flush while
// writers stall, so running the disk full is refused up front instead.
const spaceReserve = 5 << 20

// checkSpace refuses a commit of n bytes when the disk cannot take it and
// the reserve, or while pebble's last flush failed (ErrNoSpace for lack
// of space, else the flush's error): the commit would only stall.
func (db *DB) checkSpace(n int) error {
	if err, _ := db.faults.spaceErr(); err != nil {
		return err
	}
	u, err := db.fs.GetDiskUsage(db.dir)
	if err != nil {
		return nil // not known (an in-memory file system): let pebble try
	}
	if need := uint64(n) + spaceReserve; u.AvailBytes < need {
		return noSpaceError(fmt.Errorf("%s has %d bytes free; a commit of %d bytes needs %d, with room for the engine to flush: %w",
			db.dir, u.AvailBytes, n, need, syscall.ENOSPC))
	}
	return nil
}

// InDoubtError is a commit that did not finish before its context ended
// or the disk was found full: it may still be applied (published when
// pebble completes it) or fail. Err says why the wait ended.
type InDoubtError struct{ Err error }

func (e *InDoubtError) Error() string {
	return fmt.Sprintf("commit did not finish (%v): it is applied if the disk write completes later, else dropped; check before retrying", e.Err)
}
func (e *InDoubtError) Unwrap() error { return e.Err }

// waitCommit runs commit (pebble's synced write) and then finish with its
// error, unless ctx ends or the disk is found full first: then it returns
// an *InDoubtError, detach (to mark the Tx over for its caller) runs, and
// finish runs in the background when commit returns — the Tx keeps the
// write lock until then.
func (db *DB) waitCommit(ctx context.Context, commit func() error, finish func(error) error, detach func()) error {
	done := make(chan error, 1)
	stall := stallCommit
	go func() {
		if stall != nil {
			stall()
		}
		done <- commit()
	}()
	spaceErr, changed := db.faults.spaceErr()
	var grace <-chan time.Time
	if spaceErr != nil {
		grace = time.After(noSpaceGrace)
	}
	var cause error
	for cause == nil {
		select {
		case err := <-done:
			return finish(err)
		case <-ctx.Done():
			cause = ctx.Err()
		case <-changed:
			spaceErr, changed = db.faults.spaceErr()
			if spaceErr != nil && grace == nil {
				grace = time.After(noSpaceGrace)
			}
		case <-grace:
			cause = spaceErr
		}
	}
	db.pending.Add(1)
	detach()
	go func() {
		defer db.pending.Add(-1)
		if err := finish(<-done); err != nil {
			db.faults.logf("a commit that timed out failed: %v", err)
		}
	}()
	return &InDoubtError{Err: cause}
}

// stallCommit, set by tests, runs before pebble's commit: a stalled write.
var stallCommit func()

// noSpaceGrace is how long a commit waits while pebble's flushes fail: a commit stalls only once the memtables it may
// fill are all waiting for a flush.
const noSpaceGrace = 2 * time.Second

// pendingCommits counts commits that finish in the background.
type pendingCommits = atomic.Int32
