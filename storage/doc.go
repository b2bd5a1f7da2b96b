// Package storage keeps softdb's tables: pebble on disk is the durable
// source of truth, and an in-memory columnar mirror of every table is what
// queries scan.
//
// # Basics
//
// Open loads every table into memory. Readers call DB.Snapshot, an atomic
// load that never blocks, and scan a Table's Segments: per column, one
// contiguous array per segment (vectors as Len()*dim float32), plus one
// byte per slot for liveness and, where needed, for NULL. A Snapshot and
// everything reachable from it never changes.
//
// Writers go one at a time: DB.Begin waits for the previous Tx to end.
// A Tx collects its writes in a pebble batch and in private copies of the
// parts of the mirror it touches; Tx.Commit syncs the batch to the
// write-ahead log and only then publishes the new Snapshot.
//
// # Caveats
//
//   - Rowids start at 1, follow insertion order and are never reused, so
//     deleted rows keep their slots until a whole segment is dead.
//   - The mirror holds all data in memory; pebble's cache is kept small.
//   - Updating one row copies the changed columns of its segment (up to
//     SegmentRows values each): bulk updates are cheap, single-row updates
//     of huge tables are not.
//   - A transaction's writes must fit in one pebble batch (ErrTxTooLarge),
//     except a bulk load (Tx.InsertBulk) on its own, which streams into
//     sstables ingested at Commit.
//
// The on-disk format is described in docs/storage-format.md.
package storage
