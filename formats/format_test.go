package formats

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/softdb/softdb/types"
)

func TestFormatFromPath(t *testing.T) {
	for path, want := range map[string]Format{
		"a.csv": CSV, "dir.x/B.CSV": CSV, "a.jsonl": JSONL, "a.ndjson": JSONL, "a.npy": NPY,
		"a.parquet": Parquet, "a.fvecs": Fvecs, "a.ivecs": Ivecs, "a.bvecs": Bvecs,
	} {
		got, err := FormatFromPath(path)
		if err != nil || got != want {
			t.Errorf("FormatFromPath(%q) = %q, %v; want %q", path, got, err, want)
		}
	}
	_, err := FormatFromPath("data/points.txt")
	wantErr(t, err, "data/points.txt: ", `extension ".txt"`, "FORMAT")
	if !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("%v is not ErrUnknownFormat", err)
	}
	_, err = FormatFromPath("README")
	wantErr(t, err, "README: ", "no extension")
}

func TestParseFormatAndOptions(t *testing.T) {
	if f, err := ParseFormat("NDJSON"); err != nil || f != JSONL {
		t.Errorf("ParseFormat(NDJSON) = %q, %v", f, err)
	}
	_, err := ParseFormat("xml")
	wantErr(t, err, `unknown format "xml"`, "csv, jsonl, npy, parquet, fvecs")

	var o Options
	for _, kv := range [][2]string{{"format", "CSV"}, {"HEADER", "off"}, {"Delimiter", `\t`}} {
		if err := o.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if o.Format != CSV || o.header() || o.delimiter() != '\t' {
		t.Errorf("options = %+v", o)
	}
	wantErr(t, o.Set("HEADER", "maybe"), `HEADER must be true or false, not "maybe"`)
	wantErr(t, o.Set("DELIMITER", ";;"), "single one-byte character")
	wantErr(t, o.Set("DELIMITER", `"`), "cannot be used")
	wantErr(t, o.Set("QUOTE", "'"), `unknown COPY option "QUOTE"`)
	if o.delimiter() != '\t' {
		t.Errorf("a rejected DELIMITER changed the options")
	}
}

func TestOpenErrors(t *testing.T) {
	cols := []Column{col("key", vec(3))}
	dir := t.TempDir()

	_, err := OpenReader(filepath.Join(dir, "missing.csv"), cols, Options{})
	wantErr(t, err, "missing.csv: cannot open: no such file or directory")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%v is not fs.ErrNotExist", err)
	}

	_, err = OpenReader(dir+"/x.txt", cols, Options{})
	wantErr(t, err, "x.txt: ", "cannot tell the format")

	sub := filepath.Join(dir, "sub.csv")
	os.Mkdir(sub, 0o755)
	_, err = OpenReader(sub, cols, Options{})
	wantErr(t, err, "sub.csv: cannot open: is a directory")

	// Permission denied, really (root ignores file modes) and injected.
	locked := writeFile(t, "locked.csv", []byte("key\n\"[1,2,3]\"\n"))
	os.Chmod(locked, 0)
	if os.Geteuid() != 0 {
		_, err = OpenReader(locked, cols, Options{})
		wantErr(t, err, "locked.csv: cannot open: permission denied")
	}
	saved := openFile
	defer func() { openFile = saved }()
	openFile = func(path string) (*os.File, int64, error) {
		return nil, 0, ioError(path, "cannot open", &fs.PathError{Op: "open", Path: path, Err: fs.ErrPermission})
	}
	_, err = OpenReader("secret.npy", cols, Options{})
	wantErr(t, err, "secret.npy: cannot open: permission denied")
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("%v is not fs.ErrPermission", err)
	}
}

func TestColumnChecks(t *testing.T) {
	p := writeFile(t, "k.npy", nil)
	_, err := OpenReader(p, []Column{col("key", vec(3)), col("value", vec(3))}, Options{})
	wantErr(t, err, "k.npy: ", "fills exactly one column, not 2", "COPY t (key, value) FROM 'k.npy', 'v.npy'")
	_, err = OpenReader(p, []Column{col("name", tText)}, Options{})
	wantErr(t, err, `column "name": a npy file can only fill a VECTOR, INT or FLOAT column, not TEXT`)
	_, err = OpenReader(writeFile(t, "k.fvecs", nil), []Column{col("n", tInt)}, Options{})
	wantErr(t, err, `column "n": a fvecs file can only fill a VECTOR column, not INT`)
	_, err = OpenReader(writeFile(t, "a.csv", nil), []Column{col("a", tInt), col("A", tText)}, Options{})
	wantErr(t, err, `column "A": column listed twice`)
	_, err = OpenReader(writeFile(t, "a.csv", nil), nil, Options{})
	wantErr(t, err, "no columns")
	_, err = OpenReader(writeFile(t, "a.csv", nil), []Column{col("v", types.Type{Kind: types.Vector})}, Options{})
	wantErr(t, err, "bad vector dimension 0")
}

func TestErrorFormat(t *testing.T) {
	for _, c := range []struct {
		e    Error
		want string
	}{
		{Error{Pos: Pos{Path: "digits.csv", Line: 17}, Column: "label", Msg: `"abc" is not an integer`}, `digits.csv:17: column "label": "abc" is not an integer`},
		{Error{Pos: Pos{Path: "k.npy", Record: 3}, Msg: "truncated"}, `k.npy: record 3: truncated`},
		{Error{Pos: Pos{Path: "k.npy"}, Column: "key", Msg: "bad"}, `k.npy: column "key": bad`},
		{Error{Msg: "bare"}, `bare`},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}
