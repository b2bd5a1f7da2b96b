package exec

import (
	"sort"

	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
)

// mentionsTable reports whether e names a column of the table (not a
// pseudo-column).
func mentionsTable(e query.Expr, s *storage.Schema) bool {
	found := false
	walk(e, func(x query.Expr) {
		if c, ok := x.(*query.ColumnRef); ok && s.ColumnIndex(c.Name) >= 0 {
			found = true
		}
	})
	return found
}

// locate finds the segment slot of a rowid among the chunks.
func locate(chunks []chunk, rowid int64) (*storage.Segment, int) {
	i := sort.Search(len(chunks), func(i int) bool {
		return chunks[i].seg.Base()+int64(chunks[i].end) > rowid
	})
	c := chunks[i]
	return c.seg, int(rowid - c.seg.Base())
}
