package softdb

// SetSharedScans turns shared scans on (the default) or off. With them on,
// HARD and SOFT SELECTs of one query vector that run concurrently (from
// any goroutines, connections or database/sql pools of this DB) over the
// same table version and match column are scanned together as one batch,
// each getting the answer it would get alone; off, each scans alone, a
// baseline for comparison.
func (db *DB) SetSharedScans(on bool) { db.engine.SetSharedScans(on) }

// ScanStats counts shared scans since Open.
type ScanStats struct {
	Passes     int64 // scans that served two or more statements
	Statements int64 // statements those scans served
}

// ScanStats returns the shared-scan counters.
func (db *DB) ScanStats() ScanStats {
	p, s := db.engine.SharedScanStats()
	return ScanStats{Passes: p, Statements: s}
}
