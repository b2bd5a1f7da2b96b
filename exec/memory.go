package exec

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/softdb/softdb/query"
)

// srcRowBytes is the size of a srcRow plus its share of the result row, a
// planning estimate.
const srcRowBytes = 96

// checkMemory refuses a plan whose working set would exceed limit bytes,
// before it allocates much: a huge batch in row form, say. nq is the
// number of queries (1 for a plain scan). The estimate follows what the
// plan really keeps: a plain scan its rows up to LIMIT; a match, for the
// query being finished, its candidate rows (HARD's k, TOP k, or every
// row), plus the score or ranking buffers of one block of queries, plus
// the result rows of every query (one per query for the blend form and
// for aggregates without GROUP BY, at most LIMIT otherwise).
func (p *selectPlan) checkMemory(limit int64, nq int64) error {
	if p.table == nil {
		return nil
	}
	rows := p.table.LiveRows()
	var need int64
	var what string
	if p.match == nil {
		kept := rows // a plain scan materialises its rows, up to LIMIT
		if stop := earlyStop(p.out); stop >= 0 {
			kept = min(kept, stop)
		}
		need = kept * srcRowBytes
		what = fmt.Sprintf("%d rows", kept)
	} else {
		need = p.matchMemory(rows, nq)
		what = fmt.Sprintf("%d queries × %d rows", nq, rows)
	}
	if need > limit {
		return errorf(ErrLimit, query.Pos{}, "this statement would need about %s of memory (%s), more than the limit of %s; %s", bytesText(need), what, bytesText(limit), p.memoryAdvice())
	}
	return nil
}

// matchMemory estimates the working set of a match over rows live rows
// for nq queries.
func (p *selectPlan) matchMemory(rows, nq int64) int64 {
	m := p.match
	var slots, chunks int64
	for _, seg := range p.table.Segments() {
		slots += int64(seg.Len())
		chunks += (int64(seg.Len()) + chunkRows - 1) / chunkRows
	}
	k := int64(m.topK()) // rows ranked per query; 0: every row is scored
	if k > 0 {
		k = min(k, rows)
	}
	cand := rows // candidate rows of the query being finished
	if k > 0 {
		cand = k
	}
	if m.blend && m.fusable() {
		// One partial online-softmax state per chunk and query, held for
		// the whole batch; no rows are materialised.
		var states int64
		for _, b := range m.blendItems {
			states = max(states, chunks*nq*int64(b.t.Dim+2)*8)
		}
		return states + nq*srcRowBytes
	}
	// Scores (or per-chunk heaps) of a block of queries: queries are
	// scored within about 64 MiB (scoreBatchQueries, topBatchQueries), at
	// least one query at a time. Scores cover at most every slot of the
	// table (deleted ones too: chunkOffsets).
	per := slots * 4
	if k > 0 {
		per = min(chunks*k, slots) * 16
	}
	block := max(per, min(64<<20, nq*per))
	out := int64(1) // blend form: one row per query
	if !m.blend {
		out = cand
		if p.out.grouped && len(p.out.groupBy) == 0 {
			out = 1 // aggregates without GROUP BY: one row per query
		}
		if p.out.limit >= 0 {
			out = min(out, p.out.limit)
		}
	}
	return block + cand*srcRowBytes + nq*out*srcRowBytes
}

// memoryAdvice says what would bound a refused statement, naming only
// what it does not have yet.
func (p *selectPlan) memoryAdvice() string {
	var tips []string
	m := p.match
	switch {
	case m == nil:
		if p.out.limit < 0 {
			tips = append(tips, "a LIMIT")
		}
	case m.mode == query.Hard:
		tips = append(tips, "a smaller LIMIT")
	case !m.blend:
		if m.top == 0 {
			tips = append(tips, "TOP k")
		}
		if p.out.limit < 0 {
			tips = append(tips, "a LIMIT")
		}
		if !p.out.grouped {
			tips = append(tips, "an aggregate")
		}
	}
	if m != nil && m.sub != nil {
		tips = append(tips, "fewer query rows")
	}
	tips = append(tips, "a WHERE")
	last := len(tips) - 1
	text := tips[last]
	if last > 0 {
		text = strings.Join(tips[:last], ", ") + " or " + text
	}
	return "add " + text + ", or raise the limit (SET max_statement_memory = '16GB', or Options.MaxStatementMemory)"
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", (n+1023)/1024)
}

// memorySizeText writes n bytes in the largest unit ParseMemorySize
// reads back exactly: "8GB", "1536MB", "17179869185".
func memorySizeText(n int64) string {
	for _, u := range []struct {
		name  string
		shift uint
	}{{"TB", 40}, {"GB", 30}, {"MB", 20}, {"kB", 10}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d%s", n>>u.shift, u.name)
		}
	}
	return fmt.Sprint(n)
}

// ParseMemorySize reads a memory size: a whole number of bytes, or a
// number with a unit kB, MB, GB or TB (PostgreSQL's units, powers of
// 1024; KiB, MiB, GiB, TiB and K, M, G, T mean the same), case-insensitive,
// with or without a space: "16GB", "512 MiB", "1.5GB", "17179869184".
func ParseMemorySize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return !unicode.IsDigit(r) && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" {
		return 0, fmt.Errorf("invalid memory size %q: want a number of bytes or a number with kB, MB, GB or TB", s)
	}
	mult := map[string]float64{"": 1, "b": 1,
		"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
		"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
		"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("invalid memory size %q: unknown unit %q (use kB, MB, GB or TB)", s, t[i:])
	}
	n := f * mult
	if n < 1 || n >= 1<<62 {
		return 0, fmt.Errorf("invalid memory size %q: must be between 1 byte and 4 EiB", s)
	}
	return int64(n), nil
}
