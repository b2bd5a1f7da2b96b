package formats

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/softdb/softdb/types"
)

func TestCSVRead(t *testing.T) {
	// Header order differs from the columns and case differs; CRLF line
	// endings; a BOM; quoted text with delimiters, quotes and a newline;
	// empty unquoted = NULL, "" = empty text; spaces around a quoted cell.
	src := "\xef\xbb\xbfName,KEY,n,x\r\n" +
		`"a, ""b""",  "[1, 2.5, -3e-2]" ,7,1.5` + "\r\n" +
		`,"[0,0,0]",,` + "\r\n" +
		`"",[7],3.0,-0` + "\r\n" +
		"\"two\nlines\",\"[1e-45, -0, 3.4028235e38]\",-9223372036854775808,1e308\n"
	cols := []Column{col("key", vec(3)), col("name", tText), col("n", tInt), col("x", tFloat)}
	// The third row has a 1-element vector: read it with its own columns.
	p := writeFile(t, "t.csv", []byte(src))
	r, err := OpenReader(p, cols, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	row := make([]types.Value, 4)
	check := func(line int64, want string) {
		t.Helper()
		if err := r.Next(row); err != nil {
			t.Fatal(err)
		}
		got := ""
		for i, v := range row {
			if i > 0 {
				got += " | "
			}
			got += v.K.String() + ":" + v.String()
		}
		if got != want {
			t.Errorf("line %d:\n got %s\nwant %s", line, got, want)
		}
		if r.Pos().Line != line {
			t.Errorf("Pos = %v, want line %d", r.Pos(), line)
		}
	}
	check(2, `VECTOR:[1, 2.5, -0.03] | TEXT:a, "b" | INT:7 | FLOAT:1.5`)
	check(3, `VECTOR:[0, 0, 0] | NULL:NULL | NULL:NULL | NULL:NULL`)
	err = r.Next(row)
	wantErr(t, err, "t.csv:4: ", `column "key": vector has 1 dimensions, expected 3`)
	if r.Rows() != -1 {
		t.Errorf("Rows = %d", r.Rows())
	}

	// The same file minus the bad row.
	src = strings.Replace(src, `"",[7],3.0,-0`, `"","[7,8,9]",3.0,-0`, 1)
	rows := mustReadAll(t, writeFile(t, "t.csv", []byte(src)), cols, Options{})
	if len(rows) != 4 {
		t.Fatalf("%d rows", len(rows))
	}
	if v := rows[2]; v[1].K != types.Text || v[1].S != "" || v[2].I != 3 || v[3].F != 0 || !strings.HasPrefix(types.FormatFloat(v[3].F), "-0") {
		t.Errorf("row 3 = %v", v)
	}
	if v := rows[3]; v[1].S != "two\nlines" || v[2].I != -1<<63 || v[3].F != 1e308 || v[0].V[0] != 1e-45 {
		t.Errorf("row 4 = %v", v)
	}
}

func TestCSVDigitsWide(t *testing.T) {
	// CREATE TABLE digits (key VECTOR(64), label INT); COPY digits FROM 'digits.csv'
	const path = "/work/shared/data/digits.csv"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("shared data missing: %v", err)
	}
	cols := []Column{col("key", vec(64)), col("label", tInt)}
	rows := mustReadAll(t, path, cols, Options{})
	if len(rows) != 1797 {
		t.Fatalf("%d rows, want 1797", len(rows))
	}
	// Check every cell against an independent parse of the file.
	f, _ := os.Open(path)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	for i := 0; sc.Scan(); i++ {
		cells := strings.Split(sc.Text(), ",")
		for k := 0; k < 64; k++ {
			want, _ := strconv.ParseFloat(cells[k], 32)
			if rows[i][0].V[k] != float32(want) {
				t.Fatalf("row %d element %d: %v, want %v", i, k, rows[i][0].V[k], want)
			}
		}
		if want, _ := strconv.ParseInt(cells[64], 10, 64); rows[i][1].I != want {
			t.Fatalf("row %d label %d, want %d", i, rows[i][1].I, want)
		}
	}
	// The columns may be listed in either order.
	rows = mustReadAll(t, path, []Column{col("label", tInt), col("pixels", vec(64))}, Options{})
	if rows[1][0].I != 1 || rows[1][1].V[12] != 16 {
		t.Errorf("row 2 = %v", rows[1])
	}
	// Too few or too many columns for the leftover rule: a clear error.
	_, err := readAll(path, []Column{col("key", vec(63)), col("label", tInt)}, Options{})
	wantErr(t, err, "digits.csv:1: ", `column "key": header has no column "key"`, "64 are left", `"p0", "p1"`)
}

func TestCSVWideNamed(t *testing.T) {
	cols := []Column{col("emb", vec(3)), col("pos", vec(2)), col("id", tInt)}
	for _, header := range []string{"id,pos_0,pos_1,emb0,emb1,emb2", "EMB_1,emb_2,emb_3,id,pos1,pos2"} {
		src := header + "\n"
		// Fill the cells in header order from a map of name -> value.
		vals := map[string]string{"id": "5", "emb0": "1", "emb1": "2", "emb2": "3", "emb_1": "1", "emb_2": "2", "emb_3": "3",
			"pos_0": "-1", "pos_1": "-2", "pos1": "-1", "pos2": "-2"}
		var cells []string
		for _, h := range strings.Split(header, ",") {
			cells = append(cells, vals[strings.ToLower(h)])
		}
		src += strings.Join(cells, ",") + "\n" + strings.Repeat(",", 5) + "\n"
		rows := mustReadAll(t, writeFile(t, "w.csv", []byte(src)), cols, Options{})
		if got := rows[0][0].String() + rows[0][1].String() + rows[0][2].String(); got != "[1, 2, 3][-1, -2]5" {
			t.Errorf("header %s: got %s", header, got)
		}
		if !rows[1][0].IsNull() || !rows[1][1].IsNull() || !rows[1][2].IsNull() {
			t.Errorf("all-empty cells should be NULL: %v", rows[1])
		}
	}
}

func TestCSVHeaderless(t *testing.T) {
	no := false
	cols := []Column{col("key", vec(2)), col("label", tText)}
	rows := mustReadAll(t, writeFile(t, "a.csv", []byte("\"[1, 2]\",x\n\"[3, 4]\",y\n")), cols, Options{Header: &no})
	if len(rows) != 2 || rows[1][0].String() != "[3, 4]" || rows[1][1].S != "y" {
		t.Errorf("narrow: %v", rows)
	}
	rows = mustReadAll(t, writeFile(t, "a.csv", []byte("1,2,x\n3,4,y\n")), cols, Options{Header: &no})
	if len(rows) != 2 || rows[1][0].String() != "[3, 4]" || rows[1][1].S != "y" {
		t.Errorf("wide: %v", rows)
	}
	_, err := readAll(writeFile(t, "a.csv", []byte("1,2,3,x\n")), cols, Options{Header: &no})
	wantErr(t, err, "a.csv:1: line has 4 fields; expected 2 (one per column) or 3 (VECTOR columns spread")
	_, err = readAll(writeFile(t, "a.csv", []byte("1,x,2\n")), cols, Options{Header: &no})
	wantErr(t, err, `a.csv:1: column "key": element 2: "x" is not a number`)

	// Tab-separated: vectors need no quotes.
	tab := Options{Delimiter: '\t'}
	rows = mustReadAll(t, writeFile(t, "a.tsv", []byte("label\tkey\nz\t[5, 6]\n")), cols, Options{Format: CSV, Delimiter: tab.Delimiter})
	if rows[0][0].String() != "[5, 6]" {
		t.Errorf("tsv: %v", rows)
	}
}

func TestCSVEmpty(t *testing.T) {
	no := false
	for _, o := range []Options{{}, {Header: &no}} {
		rows := mustReadAll(t, writeFile(t, "e.csv", nil), []Column{col("x", tInt)}, o)
		if len(rows) != 0 {
			t.Errorf("%d rows from an empty file", len(rows))
		}
	}
	rows := mustReadAll(t, writeFile(t, "h.csv", []byte("x,y\n")), []Column{col("y", tInt), col("x", tInt)}, Options{})
	if len(rows) != 0 {
		t.Errorf("%d rows from a header alone", len(rows))
	}
	// A BOM before a headerless first line is dropped too.
	rows = mustReadAll(t, writeFile(t, "b.csv", []byte("\xef\xbb\xbf5\n")), []Column{col("x", tInt)}, Options{Header: &no})
	if len(rows) != 1 || rows[0][0].I != 5 {
		t.Errorf("rows = %v", rows)
	}
}

func TestCSVOneColumnNulls(t *testing.T) {
	cols := []Column{col("x", tInt)}
	rows := mustReadAll(t, writeFile(t, "a.csv", []byte("x\n1\n\n3\n")), cols, Options{})
	if len(rows) != 3 || !rows[1][0].IsNull() {
		t.Errorf("rows = %v", rows)
	}
	// With several columns an empty line is skipped.
	rows = mustReadAll(t, writeFile(t, "a.csv", []byte("x,y\n1,2\n\n3,4\n\n")), []Column{col("x", tInt), col("y", tInt)}, Options{})
	if len(rows) != 2 {
		t.Errorf("rows = %v", rows)
	}
}

func TestCSVErrors(t *testing.T) {
	cols := []Column{col("key", vec(3)), col("label", tInt), col("w", tFloat), col("name", tText)}
	const head = "key,label,w,name\n"
	for _, c := range []struct {
		name, src string
		want      []string
	}{
		{"nan", head + `"[1, NaN, 3]",1,1,a`, []string{"e.csv:2: ", `column "key": element 2: NaN is not allowed in a vector`}},
		{"inf", head + `"[1,2,3]",1,1,a` + "\n" + `"[1, 2, -Inf]",1,1,a`, []string{"e.csv:3: ", `column "key": element 3: infinite value is not allowed in a vector`}},
		{"overflow", head + `"[1, 2, 1e39]",1,1,a`, []string{"e.csv:2: ", `column "key": element 3: 1e39 is out of range for float32`}},
		{"dim", head + `"[1, 2]",1,1,a`, []string{"e.csv:2: ", `column "key": vector has 2 dimensions, expected 3`}},
		{"empty vector", head + `"[ ]",1,1,a`, []string{"e.csv:2: ", `column "key": vector must have at least 1 dimension`}},
		{"bad element", head + `"[1, x, 3]",1,1,a`, []string{"e.csv:2: ", `column "key": element 2: "x" is not a number`}},
		{"no brackets", head + `"1, 2, 3",1,1,a`, []string{"e.csv:2: ", `column "key": malformed vector "1, 2, 3": must start with "["`}},
		{"not closed", head + `"[1, 2, 3",1,1,a`, []string{"e.csv:2: ", `column "key": malformed vector "[1, 2, 3": must end with "]"`}},
		{"unquoted vector", head + `[1, 2, 3],1,1,a`, []string{"e.csv:2: ", `column "key": line has 6 fields, expected 4`, `unquoted vector cell starting "[1"`, `quote vector cells, e.g. "[1, 2, 3]"`}},
		{"non-numeric int", head + "\"[1,2,3]\",abc,1,a", []string{"e.csv:2: ", `column "label": "abc" is not an integer`}},
		{"fractional int", head + "\"[1,2,3]\",2.5,1,a", []string{"e.csv:2: ", `column "label": 2.5 is not an integer`}},
		{"int range", head + "\"[1,2,3]\",9223372036854775808,1,a", []string{"e.csv:2: ", `column "label": 9223372036854775808 is out of range for INT`}},
		{"non-numeric float", head + "\"[1,2,3]\",1,one,a", []string{"e.csv:2: ", `column "w": "one" is not a number`}},
		{"nan float", head + "\"[1,2,3]\",1,NaN,a", []string{"e.csv:2: ", `column "w": NaN is not allowed`}},
		{"missing field", head + "\"[1,2,3]\",1,1", []string{"e.csv:2: ", `column "name": missing: line has 3 fields, expected 4`}},
		{"extra field", head + "\"[1,2,3]\",1,1,a,b", []string{"e.csv:2: ", "extra fields: line has 5 fields, expected 4"}},
		{"missing header column", "key,label,w\n", []string{"e.csv:1: ", `column "name": header has no column "name"`}},
		{"unknown header column", head[:len(head)-1] + ",extra\n", []string{"e.csv:1: ", `column "extra": unknown header column: the columns being loaded are key, label, w, name`}},
		{"duplicate header", "key,label,w,name,LABEL\n", []string{"e.csv:1: ", `column "LABEL": header names this column twice`}},
		{"unterminated quote", head + "\"[1,2,3]\",1,1,\"abc\n\n", []string{"e.csv:2: ", `column "name": unterminated quoted field`}},
		{"stray quote", head + "\"[1,2,3]\",1,1,ab\"c", []string{"e.csv:2: ", `column "name": stray '"' in unquoted field "ab\"c"`}},
		{"after quote", head + "\"[1,2,3]\",1,1,\"ab\"c", []string{"e.csv:2: ", `column "name": unexpected 'c' after the closing quote`}},
		{"bad utf8", head + "\"[1,2,3]\",1,1,\xff", []string{"e.csv:2: ", `column "name": invalid UTF-8`}},
		{"line after multiline", head + "\"[1,2,3]\",1,1,\"a\nb\"\n\"[1,2,3]\",x,1,a", []string{"e.csv:4: ", `column "label": "x" is not an integer`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := readAll(writeFile(t, "e.csv", []byte(c.src)), cols, Options{})
			wantErr(t, err, c.want...)
		})
	}
	// Wide cells name the header column and the element.
	src := "label,p0,p1,p2\n1,0,1,2\n2,0,zz,2\n"
	_, err := readAll(writeFile(t, "w.csv", []byte(src)), []Column{col("key", vec(3)), col("label", tInt)}, Options{})
	wantErr(t, err, `w.csv:3: column "p1": "zz" is not a number (element 2 of "key")`)
	src = "label,p0,p1,p2\n1,0,,2\n"
	_, err = readAll(writeFile(t, "w.csv", []byte(src)), []Column{col("key", vec(3)), col("label", tInt)}, Options{})
	wantErr(t, err, `w.csv:2: column "p1": empty element (element 2 of "key")`)
}

func TestCSVLongRecord(t *testing.T) {
	// A record longer than the initial buffer grows it.
	d := 65536
	var b strings.Builder
	b.WriteString("key\n\"[")
	for i := 0; i < d; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("0.123456789")
	}
	b.WriteString("]\"\n")
	rows := mustReadAll(t, writeFile(t, "big.csv", []byte(b.String())), []Column{col("key", vec(d))}, Options{})
	if len(rows) != 1 || rows[0][0].V[d-1] != 0.123456789 {
		t.Errorf("long record misread")
	}
}
