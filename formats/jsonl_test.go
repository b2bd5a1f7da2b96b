package formats

import (
	"testing"

	"github.com/softdb/softdb/types"
)

func TestJSONLRead(t *testing.T) {
	src := `{"key": [1, 2.5, -3e-2], "Name": "a\"b\\c\u00e9\ud83d\ude00\n", "n": 7, "x": 1.5}` + "\n" +
		"\n   \n" + // blank lines are skipped
		`{"n":null,"x":null,"key":null,"name":null}` + "\r\n" +
		`{"key":"[1e-45, -0, 3.4028235e38]","name":"","n":3.0,"x":-0}` // no final newline
	cols := []Column{col("key", vec(3)), col("name", tText), col("n", tInt), col("x", tFloat)}
	p := writeFile(t, "t.jsonl", []byte(src))
	r, err := OpenReader(p, cols, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var rows [][]types.Value
	var lines []int64
	for {
		row := make([]types.Value, 4)
		if err := r.Next(row); err != nil {
			break
		}
		rows = append(rows, row)
		lines = append(lines, r.Pos().Line)
	}
	if len(rows) != 3 || lines[1] != 4 || lines[2] != 5 {
		t.Fatalf("rows %v at lines %v", rows, lines)
	}
	if v := rows[0]; v[0].String() != "[1, 2.5, -0.03]" || v[1].S != "a\"b\\cé😀\n" || v[2].I != 7 || v[3].F != 1.5 {
		t.Errorf("row 1 = %v", v)
	}
	for _, v := range rows[1] {
		if !v.IsNull() {
			t.Errorf("row 2 = %v", rows[1])
		}
	}
	if v := rows[2]; v[0].V[0] != 1e-45 || v[1].K != types.Text || v[1].S != "" || v[2].I != 3 {
		t.Errorf("row 3 = %v", v)
	}
}

func TestJSONLErrors(t *testing.T) {
	cols := []Column{col("key", vec(2)), col("label", tInt), col("name", tText)}
	const ok = `{"key":[1,2],"label":1,"name":"a"}` + "\n"
	for _, c := range []struct {
		name, src string
		want      []string
	}{
		{"malformed", ok + `{"key":[1,2] "label":1,"name":"a"}`, []string{"e.jsonl:2: ", `malformed JSON: expected ',' or '}', found '"' at byte 14`}},
		{"truncated object", ok + ok + `{"key":[1,2],"label":1,"na`, []string{"e.jsonl:3: ", "malformed JSON: expected the closing '\"' of a string"}},
		{"not an object", `[1,2]`, []string{"e.jsonl:1: ", "malformed JSON: expected an object '{'"}},
		{"trailing text", `{"key":[1,2],"label":1,"name":"a"} x`, []string{"e.jsonl:1: ", "malformed JSON: expected the end of the line after the object"}},
		{"extra key", `{"key":[1,2],"label":1,"name":"a","extra":5}`, []string{"e.jsonl:1: ", `column "extra": unknown key: the columns being loaded are key, label, name`}},
		{"missing key", `{"key":[1,2],"name":"a"}`, []string{"e.jsonl:1: ", `column "label": key is missing (write null for NULL)`}},
		{"duplicate key", `{"key":[1,2],"label":1,"LABEL":2,"name":"a"}`, []string{"e.jsonl:1: ", `column "label": key given twice`}},
		{"nan token", `{"key":[1,NaN],"label":1,"name":"a"}`, []string{"e.jsonl:1: ", `column "key": element 2: NaN is not allowed in a vector`}},
		{"infinity", `{"key":[-Infinity,1],"label":1,"name":"a"}`, []string{"e.jsonl:1: ", `column "key": element 1: infinite value is not allowed in a vector`}},
		{"overflow", `{"key":[1,1e39],"label":1,"name":"a"}`, []string{"e.jsonl:1: ", `column "key": element 2: 1e39 is out of range for float32`}},
		{"dim", `{"key":[1,2,3],"label":1,"name":"a"}`, []string{"e.jsonl:1: ", `column "key": vector has 3 dimensions, expected 2`}},
		{"empty vector", `{"key":[],"label":1,"name":"a"}`, []string{"e.jsonl:1: ", `column "key": vector must have at least 1 dimension`}},
		{"string element", `{"key":[1,"2"],"label":1,"name":"a"}`, []string{"e.jsonl:1: ", `column "key": element 2 is not a number`}},
		{"null element", `{"key":[1,null],"label":1,"name":"a"}`, []string{"e.jsonl:1: ", `column "key": element 2 is null`}},
		{"scalar for vector", `{"key":5,"label":1,"name":"a"}`, []string{"e.jsonl:1: ", `column "key": expected an array of numbers for VECTOR(2), got the number 5`}},
		{"string for int", `{"key":[1,2],"label":"1","name":"a"}`, []string{"e.jsonl:1: ", `column "label": expected an integer, got the string "1"`}},
		{"fraction for int", `{"key":[1,2],"label":1.5,"name":"a"}`, []string{"e.jsonl:1: ", `column "label": 1.5 is not an integer`}},
		{"int range", `{"key":[1,2],"label":1e20,"name":"a"}`, []string{"e.jsonl:1: ", `column "label": 1e+20 is out of range for INT`}},
		{"bool", `{"key":[1,2],"label":true,"name":"a"}`, []string{"e.jsonl:1: ", `column "label": expected an integer, got a boolean`}},
		{"number for text", `{"key":[1,2],"label":1,"name":5}`, []string{"e.jsonl:1: ", `column "name": expected a string, got the number 5`}},
		{"object", `{"key":[1,2],"label":1,"name":{}}`, []string{"e.jsonl:1: ", `column "name": expected a string, got an object`}},
		{"bad number", `{"key":[1,2],"label":01,"name":"a"}`, []string{"e.jsonl:1: ", "malformed JSON"}},
		{"bad escape", `{"key":[1,2],"label":1,"name":"a\q"}`, []string{"e.jsonl:1: ", `column "name": malformed JSON: expected a valid escape`}},
		{"control char", "{\"key\":[1,2],\"label\":1,\"name\":\"a\tb\"}", []string{"e.jsonl:1: ", "no control character"}},
		{"bad utf8", "{\"key\":[1,2],\"label\":1,\"name\":\"\xff\"}", []string{"e.jsonl:1: ", `column "name": invalid UTF-8`}},
		{"bad vector text", `{"key":"[1,x]","label":1,"name":"a"}`, []string{"e.jsonl:1: ", `column "key": element 2: "x" is not a number`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := readAll(writeFile(t, "e.jsonl", []byte(c.src)), cols, Options{})
			wantErr(t, err, c.want...)
		})
	}
}
