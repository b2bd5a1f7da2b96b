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
