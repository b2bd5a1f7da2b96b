package main

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"

	"github.com/softdb/softdb/query"
)

// completer completes the word before the cursor (readline's
// AutoCompleter): dot commands and their arguments, SQL keywords, table
// and column names. Names are read from the database at each Tab, so they
// are never stale.
type completer struct{ sh *Shell }

// sqlWords are the functions and aggregates, completed besides the
// keywords. (The query package lists no functions; these are exec's.)
var sqlWords = []string{
	"ABS", "AVG", "CEIL", "COALESCE", "COSINE_DISTANCE", "COUNT", "EXP",
	"FLOOR", "INNER_PRODUCT", "L2_DISTANCE", "LENGTH", "LN", "LOWER", "MAX",
	"MIN", "POWER", "ROUND", "SQRT", "SUM", "UPPER", "VECTOR_DIMS",
	"VECTOR_NORM",
}

// pseudoColumns can be named in every SOFT or HARD SELECT.
var pseudoColumns = []string{"qrow", "rowid", "score", "weight"}

// tableContext are the words after which only a table name fits.
var tableContext = map[string]bool{
	"FROM": true, "INTO": true, "TABLE": true, "UPDATE": true, "DESCRIBE": true,
	"DESC": true, "EXISTS": true, "COPY": true,
}

// Do returns the candidate endings of the word that ends at pos, and that
// word's length.
func (c *completer) Do(line []rune, pos int) ([][]rune, int) {
	before := string(line[:pos])
	if !c.sh.Pending() && strings.HasPrefix(strings.TrimLeft(before, " \t"), ".") {
		return c.dotArgs(before)
	}
	start := len(before)
	for start > 0 {
		r := rune(before[start-1])
		if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) && r < 0x80 {
			break
		}
		start--
	}
	word := before[start:]
	afterTable := tableContext[strings.ToUpper(previousWord(before[:start]))]
	if word == "" && !afterTable {
		return nil, 0
	}
	// Keywords and tables are followed by another word: Tab adds a space
	// after them; columns and functions are often followed by "," or "(".
	var words, names []string
	tables, columns := c.names()
	if afterTable {
		words = tables // all of them after "FROM "
	} else {
		words = append(words, tables...)
		names = append(names, columns...)
		// Keywords follow the case the user types them in.
		lower := strings.ToLower(word) == word
		adapt := func(k string) string {
			if lower {
				return strings.ToLower(k)
			}
			return strings.ToUpper(k)
		}
		for _, k := range query.Keywords() {
			words = append(words, adapt(k))
		}
		for _, k := range append(append([]string(nil), sqlWords...), pseudoColumns...) {
			names = append(names, adapt(k))
		}
	}
	return completions(word, words, names)
}

// previousWord is the last word of s.
func previousWord(s string) string {
	f := strings.FieldsFunc(s, func(r rune) bool {
		return r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

// dotArgs completes a dot command or its arguments.
func (c *completer) dotArgs(before string) ([][]rune, int) {
	fields := strings.Fields(before)
	ended := strings.HasSuffix(before, " ") || strings.HasSuffix(before, "\t")
	word := ""
	if !ended {
		word = fields[len(fields)-1]
		fields = fields[:len(fields)-1]
	}
	if len(fields) == 0 {
		return endings(word, dotCommands)
	}
	argN := len(fields) // 1 for the first argument
	switch fields[0] {
	case ".mode":
		if argN == 1 {
			return endings(word, formatNames)
		}
	case ".timer":
		if argN == 1 {
			return endings(word, []string{"on", "off"})
		}
	case ".schema":
		if argN == 1 {
			tables, _ := c.names()
			return endings(word, tables)
		}
	case ".import":
		if argN == 2 {
			tables, _ := c.names()
			return endings(word, tables)
		}
		if argN == 1 {
			return fileEndings(word)
		}
	case ".read", ".output":
		if argN == 1 {
			return fileEndings(word)
		}
	}
	return nil, 0
}

// names lists the tables and their columns (each once).
func (c *completer) names() (tables, columns []string) {
	ctx := context.Background()
	tables, _, err := c.sh.tables(ctx)
	if err != nil {
		return nil, nil
	}
	seen := map[string]bool{}
	for _, t := range tables {
		cols, err := c.sh.describe(ctx, t)
		if err != nil {
			continue
		}
		for _, col := range cols {
			if !seen[col.name] {
				seen[col.name] = true
				columns = append(columns, col.name)
			}
		}
	}
	return tables, columns
}

// endings returns what completes word into each candidate that starts with
// it (ignoring case), once each, sorted, and the length of word. A single
// candidate gets a space after it, ready for the next word.
func endings(word string, cands []string) ([][]rune, int) {
	return completions(word, cands, nil)
}

// completions is endings for two kinds of candidates: words, which a
// space follows when they are the only candidate, and names, which
// nothing follows.
func completions(word string, words, names []string) ([][]rune, int) {
	space := map[string]bool{} // ending → a space may follow
	add := func(c string, sp bool) {
		if len(c) < len(word) || !strings.EqualFold(c[:len(word)], word) {
			return
		}
		end := c[len(word):]
		if prev, ok := space[end]; ok {
			sp = sp && prev
		}
		space[end] = sp
	}
	for _, c := range words {
		add(c, true)
	}
	for _, c := range names {
		add(c, false)
	}
	out := make([]string, 0, len(space))
	for end := range space {
		out = append(out, end)
	}
	sort.Strings(out)
	if len(out) == 1 && space[out[0]] {
		out[0] += " "
	}
	res := make([][]rune, len(out))
	for i, o := range out {
		res[i] = []rune(o)
	}
	return res, len([]rune(word))
}

// fileEndings completes a file name.
func fileEndings(word string) ([][]rune, int) {
	dir, base := filepath.Split(word)
	list := dir
	if list == "" {
		list = "."
	}
	entries, err := os.ReadDir(list)
	if err != nil {
		return nil, 0
	}
	var out [][]rune
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, base) || (strings.HasPrefix(name, ".") && !strings.HasPrefix(base, ".")) {
			continue
		}
		end := name[len(base):]
		if e.IsDir() {
			end += string(filepath.Separator)
		}
		out = append(out, []rune(end))
	}
	sort.Slice(out, func(i, j int) bool { return string(out[i]) < string(out[j]) })
	if len(out) == 1 && !strings.HasSuffix(string(out[0]), string(filepath.Separator)) {
		out[0] = append(out[0], ' ')
	}
	return out, len([]rune(base))
}
