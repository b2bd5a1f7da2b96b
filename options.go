package softdb

import "fmt"

// Options configures Open. The zero value (or nil) gives the defaults.
type Options struct {
	// SegmentRows is the number of rows per in-memory segment, a power of
	// two. Default 65536.
	SegmentRows int
	// CacheSize is the storage engine's block cache in bytes. The table
	// data lives in memory anyway, so a small cache suffices. Default 8 MiB.
	CacheSize int64
}

// EnsureDefaults fills unset fields with their defaults.
func (o *Options) EnsureDefaults() {
	if o.SegmentRows == 0 {
		o.SegmentRows = 65536
	}
	if o.CacheSize == 0 {
		o.CacheSize = 8 << 20
	}
}

// Validate reports an invalid option.
func (o *Options) Validate() error {
	if o.SegmentRows < 0 || o.SegmentRows&(o.SegmentRows-1) != 0 {
		return fmt.Errorf("softdb: Options.SegmentRows must be a power of two, got %d", o.SegmentRows)
	}
	if o.CacheSize < 0 {
		return fmt.Errorf("softdb: Options.CacheSize must not be negative, got %d", o.CacheSize)
	}
	return nil
}
