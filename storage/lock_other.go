//go:build !unix

package storage

import "github.com/cockroachdb/pebble/v2/vfs"

// readLockFS takes no shared lock where fcntl is missing: a read-only
// DB there relies on pebble's own lock.
type readLockFS struct{ vfs.FS }

func dirIdentity(string) (string, bool) { return "", false }

func writable(string) error { return nil }
