package softdb

import (
	"fmt"

	"github.com/softdb/softdb/exec"
)

// Options configures Open. The zero value, and a nil *Options, give the
// defaults; Open does not keep or modify the caller's Options.
type Options struct {
	// SegmentRows is the number of rows per in-memory segment, a power of
	// two up to 1<<24. Default 65536.
	SegmentRows int
	// CacheSize is the storage engine's block cache in bytes. Tables are
	// held in memory anyway, so a small cache suffices. Default 8 MiB.
	CacheSize int64
	// MaxStatementMemory bounds the working memory one statement may plan
	// for, in bytes; a statement that would need more (a row-form SOFT
	// SELECT over a huge batch, say) fails with ErrLimit before it
	// allocates. Default 8 GiB.
	MaxStatementMemory int64
	// ReadOnly opens an existing database without writing anything to its
	// directory (for a directory the process may not write, a read-only
	// mount, or inspection while keeping other writers out): statements
	// that write fail with ErrReadOnly. Without it, Open of a directory
	// the process may not write fails at once with ErrReadOnly.
	ReadOnly bool
	// Recover opens a database whose write-ahead log or MANIFEST is
	// damaged, which Open otherwise refuses with ErrCorrupt, keeping what
	// is readable: the log up to the damage (the original is kept beside
	// it as NAME.corrupt), the data files the MANIFEST lists up to it, and
	// every row found even where the catalog lost track of it. What
	// followed the damage is lost; take a copy of the directory first.
	Recover bool
}

// EnsureDefaults fills unset fields with their defaults.
func (o *Options) EnsureDefaults() {
	if o.SegmentRows == 0 {
		o.SegmentRows = 65536
	}
	if o.CacheSize == 0 {
		o.CacheSize = 8 << 20
	}
	if o.MaxStatementMemory == 0 {
		o.MaxStatementMemory = exec.DefaultMemoryLimit
	}
}

// Validate reports an invalid option. Zero fields are valid: they mean the
// default.
func (o *Options) Validate() error {
	if o.SegmentRows < 0 || o.SegmentRows > 1<<24 || o.SegmentRows&(o.SegmentRows-1) != 0 {
		return fmt.Errorf("softdb: Options.SegmentRows must be a power of two up to %d, got %d", 1<<24, o.SegmentRows)
	}
	if o.MaxStatementMemory < 0 {
		return fmt.Errorf("softdb: Options.MaxStatementMemory must not be negative, got %d", o.MaxStatementMemory)
	}
	if o.CacheSize < 0 {
		return fmt.Errorf("softdb: Options.CacheSize must not be negative, got %d", o.CacheSize)
	}
	return nil
}

// ParseMemorySize reads a memory size as SET max_statement_memory takes
// it: a whole number of bytes, or a number with kB, MB, GB or TB (powers
// of 1024, as in PostgreSQL), e.g. "16GB" or "512 MiB". It is what the
// softdb command's --max-memory flag uses for Options.MaxStatementMemory.
func ParseMemorySize(s string) (int64, error) { return exec.ParseMemorySize(s) }
