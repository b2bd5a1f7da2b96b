//go:build unix

package storage

import (
	"io"
	"os"

	"github.com/cockroachdb/pebble/v2/vfs"
	"golang.org/x/sys/unix"
)

// readLockFS is the file system of a read-only DB: its Lock takes a
// shared fcntl lock on the existing LOCK file, opened read-only, which
// conflicts with a writer's exclusive lock (another process writing the
// database) but not with other readers, and writes nothing.
type readLockFS struct{ vfs.FS }

func (readLockFS) Lock(name string) (io.Closer, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	spec := unix.Flock_t{Type: unix.F_RDLCK, Whence: io.SeekStart}
	if err := unix.FcntlFlock(f.Fd(), unix.F_SETLK, &spec); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// dirIdentity names the directory itself, whatever path leads to it
// (symlinks, bind mounts, hard links of its parent): device and inode.
func dirIdentity(dir string) (string, bool) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return "", false
	}
	return fmtIdentity(uint64(st.Dev), st.Ino), true
}

// writable reports why the process may not create files in dir, or nil.
func writable(dir string) error {
	return unix.Access(dir, unix.W_OK)
}
