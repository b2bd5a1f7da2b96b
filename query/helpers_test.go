package query

import (
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite golden files under testdata/ and ../docs/grammar.ebnf")

// A golden case: a command line, input lines, "----", output lines, and a
// blank line (pebble's datadriven layout, without its dependency).
type goldenCase struct {
	line   int // of the command
	cmd    string
	input  string
	output string
}

func readGolden(t *testing.T, path string) []goldenCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var cases []goldenCase
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		c := goldenCase{line: i + 1, cmd: strings.TrimSpace(l)}
		i++
		var in []string
		for ; i < len(lines) && lines[i] != "----"; i++ {
			in = append(in, lines[i])
		}
		if i >= len(lines) {
			t.Fatalf("%s:%d: missing ----", path, c.line)
		}
		i++
		var out []string
		for ; i < len(lines) && lines[i] != ""; i++ {
			out = append(out, lines[i])
		}
		c.input = strings.Join(in, "\n")
		c.output = strings.Join(out, "\n")
		cases = append(cases, c)
	}
	return cases
}

func writeGolden(t *testing.T, path string, cases []goldenCase) {
	t.Helper()
	var b strings.Builder
	// Keep the file's leading comment.
	data, _ := os.ReadFile(path)
	for _, l := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(l, "#") {
			break
		}
		b.WriteString(l + "\n")
	}
	for i, c := range cases {
		if i > 0 || b.Len() > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s\n%s\n----\n%s\n", c.cmd, c.input, c.output)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// dump prints an AST as an indented tree with positions, for golden files.
func dump(n any) string {
	var b strings.Builder
	dumpValue(&b, reflect.ValueOf(n), 0)
	return strings.TrimRight(b.String(), "\n")
}

var posType = reflect.TypeOf(Pos{})

func dumpValue(b *strings.Builder, v reflect.Value, indent int) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			b.WriteString("nil\n")
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		fmt.Fprintf(b, "%v\n", v.Interface())
		return
	}
	t := v.Type()
	b.WriteString(t.Name())
	if f := v.FieldByName("At"); f.IsValid() && f.Type() == posType {
		p := f.Interface().(Pos)
		fmt.Fprintf(b, "@%d:%d", p.Line, p.Col)
	}
	var nested []int
	for i := 0; i < t.NumField(); i++ {
		f, ft := v.Field(i), t.Field(i)
		if ft.Name == "At" || f.IsZero() {
			continue
		}
		switch f.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Struct:
			if f.Type().String() == "types.Type" {
				fmt.Fprintf(b, " %s=%v", ft.Name, f.Interface())
				continue
			}
			nested = append(nested, i)
		case reflect.Slice:
			if f.Type().Elem().Kind() == reflect.Float32 {
				fmt.Fprintf(b, " %s=%v", ft.Name, f.Interface())
				continue
			}
			nested = append(nested, i)
		case reflect.String:
			fmt.Fprintf(b, " %s=%q", ft.Name, f.String())
		case reflect.Uint8:
			if op, ok := f.Interface().(BinOp); ok {
				fmt.Fprintf(b, " %s=%q", ft.Name, op.String())
				continue
			}
			fmt.Fprintf(b, " %s=%v", ft.Name, f.Interface())
		default:
			fmt.Fprintf(b, " %s=%v", ft.Name, f.Interface())
		}
	}
	b.WriteString("\n")
	pad := strings.Repeat("  ", indent+1)
	for _, i := range nested {
		f, name := v.Field(i), t.Field(i).Name
		if f.Kind() == reflect.Slice {
			for j := 0; j < f.Len(); j++ {
				fmt.Fprintf(b, "%s%s[%d]:", pad, name, j)
				e := f.Index(j)
				if e.Kind() == reflect.Slice { // Insert.Rows
					b.WriteString("\n")
					for k := 0; k < e.Len(); k++ {
						fmt.Fprintf(b, "%s  [%d]: ", pad, k)
						dumpValue(b, e.Index(k), indent+2)
					}
					continue
				}
				b.WriteString(" ")
				dumpValue(b, e, indent+1)
			}
			continue
		}
		fmt.Fprintf(b, "%s%s: ", pad, name)
		dumpValue(b, f, indent+1)
	}
}

// stripPos zeroes every Pos in an AST so trees can be compared for equality.
func stripPos(n any) any {
	v := reflect.ValueOf(n)
	clearPos(v)
	return n
}

func clearPos(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			clearPos(v.Elem())
		}
	case reflect.Struct:
		if v.Type() == posType {
			if v.CanSet() {
				v.Set(reflect.Zero(posType))
			}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			clearPos(v.Field(i))
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			clearPos(v.Index(i))
		}
	}
}

// formatAll formats each statement on its own line.
func formatAll(stmts []Statement) string {
	out := make([]string, len(stmts))
	for i, s := range stmts {
		out[i] = Format(s)
	}
	return strings.Join(out, "\n")
}
