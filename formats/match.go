package formats

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/softdb/softdb/types"
)

// matchColumns maps each target column to the file's own columns (a csv
// header, parquet's top-level fields), by name, ignoring case. The result
// holds, per target column, one source index, or n indexes for a
// VECTOR(n) column spread over n numeric columns (the wide rule):
//
//  1. a source column with the target's name fills it;
//  2. else a VECTOR(n) column c takes the sources c0…c{n-1}, c_0…c_{n-1},
//     c1…cn or c_1…c_n, the first of these sets that is complete;
//  3. else, when exactly one VECTOR column is still unfilled and exactly n
//     sources are left over, it takes them in file order.
//
// Targets still unfilled and sources left unused are errors; so is a source
// name given twice. spreadable reports whether source i may be a vector
// element (a numeric column); where names lists the sources ("header",
// "file").
func matchColumns(pos Pos, cols []Column, names []string, spreadable func(int) bool, where string) ([][]int, error) {
	byName := make(map[string]int, len(names))
	for i, n := range names {
		k := strings.ToLower(n)
		if _, dup := byName[k]; dup {
			return nil, &Error{Pos: pos, Column: n, Msg: fmt.Sprintf("%s names this column twice", where)}
		}
		byName[k] = i
	}
	used := make([]bool, len(names))
	out := make([][]int, len(cols))
	for i, c := range cols {
		if j, ok := byName[strings.ToLower(c.Name)]; ok {
			out[i] = []int{j}
			used[j] = true
		}
	}
	// Rule 2: numbered columns named after the vector.
	for i, c := range cols {
		if out[i] != nil || c.Type.Kind != types.Vector {
			continue
		}
		for _, p := range spreadPatterns {
			if src := spreadNames(c, p, byName, used, spreadable); src != nil {
				out[i] = src
				for _, j := range src {
					used[j] = true
				}
				break
			}
		}
	}
	// Rule 3: the leftovers fill the one remaining vector.
	var open []int
	for i := range cols {
		if out[i] == nil {
			open = append(open, i)
		}
	}
	var left []int
	for j := range names {
		if !used[j] {
			left = append(left, j)
		}
	}
	if len(open) == 1 && cols[open[0]].Type.Kind == types.Vector && len(left) == cols[open[0]].Type.Dim {
		ok := true
		for _, j := range left {
			ok = ok && spreadable(j)
		}
		if ok {
			out[open[0]] = left
			left = nil
			open = nil
		}
	}
	for _, i := range open {
		c := cols[i]
		if c.Type.Kind != types.Vector {
			return nil, &Error{Pos: pos, Column: c.Name, Msg: fmt.Sprintf("%s has no column %q", where, c.Name)}
		}
		n := c.Type.Dim
		return nil, &Error{Pos: pos, Column: c.Name, Msg: fmt.Sprintf(
			"%s has no column %q; a %s column is filled from a column %q, from %d numeric columns %s…%s, or from the %d numeric columns left over when exactly that many are (%d are left: %s)",
			where, c.Name, c.Type, c.Name, n, spreadName(c.Name, "", 0), spreadName(c.Name, "", n-1), n, len(left), listNames(names, left))}
	}
	if len(left) > 0 {
		return nil, &Error{Pos: pos, Column: names[left[0]], Msg: fmt.Sprintf(
			"unknown %s column: the columns being loaded are %s", where, listCols(cols))}
	}
	return out, nil
}

type spreadPattern struct {
	sep  string
	base int
}

var spreadPatterns = []spreadPattern{{"", 0}, {"_", 0}, {"", 1}, {"_", 1}}

func spreadName(name, sep string, i int) string { return name + sep + strconv.Itoa(i) }

func spreadNames(c Column, p spreadPattern, byName map[string]int, used []bool, spreadable func(int) bool) []int {
	src := make([]int, c.Type.Dim)
	for k := range src {
		j, ok := byName[strings.ToLower(spreadName(c.Name, p.sep, k+p.base))]
		if !ok || used[j] || !spreadable(j) {
			return nil
		}
		src[k] = j
	}
	return src
}

func listNames(names []string, idx []int) string {
	var b strings.Builder
	for k, j := range idx {
		if k == 6 {
			fmt.Fprintf(&b, ", … %d more", len(idx)-k)
			break
		}
		if k > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(names[j]))
	}
	if len(idx) == 0 {
		return "none"
	}
	return b.String()
}

func listCols(cols []Column) string {
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.Name)
	}
	return b.String()
}
