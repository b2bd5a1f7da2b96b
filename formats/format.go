package formats

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/softdb/softdb/types"
)

// Format names a file format of COPY.
type Format string

// The formats. Fvecs, Ivecs and Bvecs are the TEXMEX / ann-benchmarks
// vector files (float32, int32 and uint8 elements).
const (
	CSV     Format = "csv"
	JSONL   Format = "jsonl"
	NPY     Format = "npy"
	Parquet Format = "parquet"
	Fvecs   Format = "fvecs"
	Ivecs   Format = "ivecs"
	Bvecs   Format = "bvecs"
)

var formatNames = "csv, jsonl, npy, parquet, fvecs, ivecs, bvecs"

// ParseFormat reads a format name as written in WITH (FORMAT name); case
// does not matter and "ndjson" is another name for jsonl.
func ParseFormat(name string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(name))); f {
	case CSV, JSONL, NPY, Parquet, Fvecs, Ivecs, Bvecs:
		return f, nil
	case "ndjson":
		return JSONL, nil
	}
	return "", &Error{Msg: fmt.Sprintf("unknown format %q (expected one of %s)", name, formatNames), Err: ErrUnknownFormat}
}

// FormatFromPath picks the format from the file name's extension:
// .csv .jsonl .ndjson .npy .parquet .fvecs .ivecs .bvecs (any case).
func FormatFromPath(path string) (Format, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".csv":
		return CSV, nil
	case ".jsonl", ".ndjson":
		return JSONL, nil
	case ".npy":
		return NPY, nil
	case ".parquet", ".pq":
		return Parquet, nil
	case ".fvecs":
		return Fvecs, nil
	case ".ivecs":
		return Ivecs, nil
	case ".bvecs":
		return Bvecs, nil
	}
	what := fmt.Sprintf("extension %q", ext)
	if ext == "" {
		what = "no extension"
	}
	return "", &Error{Pos: Pos{Path: path}, Err: ErrUnknownFormat,
		Msg: fmt.Sprintf("cannot tell the format from %s; name it with WITH (FORMAT …), one of %s", what, formatNames)}
}

// Matrix reports whether a file of this format holds one matrix, which fills
// exactly one column (npy and the *vecs formats).
func (f Format) Matrix() bool {
	switch f {
	case NPY, Fvecs, Ivecs, Bvecs:
		return true
	}
	return false
}

// Column is a target column: the rows a Reader yields and a Writer takes
// hold one value per column, in this order.
type Column struct {
	Name string
	Type types.Type
}

// Options tune a Reader or Writer. The zero Options is ready to use.
type Options struct {
	// Format of the file; "" picks it from the extension (FormatFromPath).
	Format Format
	// Header (csv): the first line names the columns. nil means true.
	Header *bool
	// Delimiter (csv) separates fields; 0 means ','.
	Delimiter byte
}

// Set applies one WITH option of COPY: FORMAT, HEADER or DELIMITER (name in
// any case). HEADER takes true/false/on/off/yes/no/1/0; DELIMITER one ASCII
// character or `\t`. Options that do not apply to a file's format are
// ignored, so one COPY may mix csv and npy files.
func (o *Options) Set(name, value string) error {
	switch strings.ToUpper(name) {
	case "FORMAT":
		f, err := ParseFormat(value)
		if err != nil {
			return err
		}
		o.Format = f
	case "HEADER":
		var b bool
		switch strings.ToLower(value) {
		case "true", "on", "yes", "1", "":
			b = true
		case "false", "off", "no", "0":
		default:
			return &Error{Msg: fmt.Sprintf("HEADER must be true or false, not %q", value)}
		}
		o.Header = &b
	case "DELIMITER":
		d := value
		if d == `\t` {
			d = "\t"
		}
		if len(d) != 1 {
			return &Error{Msg: fmt.Sprintf("DELIMITER must be a single one-byte character, not %q", value)}
		}
		old := o.Delimiter
		o.Delimiter = d[0]
		if err := o.Validate(); err != nil {
			o.Delimiter = old
			return err
		}
	default:
		return &Error{Msg: fmt.Sprintf("unknown COPY option %q (expected FORMAT, HEADER or DELIMITER)", name)}
	}
	return nil
}

// Validate checks the options.
func (o Options) Validate() error {
	switch o.Delimiter {
	case '"', '\n', '\r', '[', ']', '.', '-', '+', ' ':
		return &Error{Msg: fmt.Sprintf("DELIMITER %q cannot be used: it appears in quoted, numeric or vector cells", o.Delimiter)}
	}
	if o.Delimiter >= 0x80 || (o.Delimiter >= '0' && o.Delimiter <= '9') || (o.Delimiter|0x20 >= 'a' && o.Delimiter|0x20 <= 'z') {
		return &Error{Msg: fmt.Sprintf("DELIMITER %q cannot be used: use punctuation or a tab", o.Delimiter)}
	}
	if o.Format != "" {
		if _, err := ParseFormat(string(o.Format)); err != nil {
			return err
		}
	}
	return nil
}

func (o Options) header() bool { return o.Header == nil || *o.Header }

func (o Options) delimiter() byte {
	if o.Delimiter == 0 {
		return ','
	}
	return o.Delimiter
}

// resolve returns the file's format: o.Format, else from the extension.
func (o Options) resolve(path string) (Format, error) {
	if o.Format != "" {
		return ParseFormat(string(o.Format))
	}
	return FormatFromPath(path)
}

// checkColumns validates the target columns for format f.
func checkColumns(path string, f Format, cols []Column) error {
	if len(cols) == 0 {
		return &Error{Pos: Pos{Path: path}, Msg: "no columns to read or write"}
	}
	seen := make(map[string]bool, len(cols))
	for _, c := range cols {
		k := strings.ToLower(c.Name)
		if seen[k] {
			return &Error{Pos: Pos{Path: path}, Column: c.Name, Msg: "column listed twice"}
		}
		seen[k] = true
		switch c.Type.Kind {
		case types.Int, types.Float, types.Text:
		case types.Vector:
			if c.Type.Dim < 1 || c.Type.Dim > types.MaxDim {
				return &Error{Pos: Pos{Path: path}, Column: c.Name, Msg: fmt.Sprintf("bad vector dimension %d", c.Type.Dim)}
			}
		default:
			return &Error{Pos: Pos{Path: path}, Column: c.Name, Msg: fmt.Sprintf("unsupported column type %s", c.Type)}
		}
	}
	if f.Matrix() {
		if len(cols) != 1 {
			return &Error{Pos: Pos{Path: path}, Msg: fmt.Sprintf(
				"a %s file holds one matrix and fills exactly one column, not %d; give one file per column, e.g. COPY t (key, value) FROM 'k.%s', 'v.%s'",
				f, len(cols), f, f)}
		}
		c := cols[0]
		switch {
		case c.Type.Kind == types.Vector:
		case f == NPY && (c.Type.Kind == types.Int || c.Type.Kind == types.Float):
		default:
			what := "a VECTOR column"
			if f == NPY {
				what = "a VECTOR, INT or FLOAT column"
			}
			return &Error{Pos: Pos{Path: path}, Column: c.Name, Msg: fmt.Sprintf("a %s file can only fill %s, not %s", f, what, c.Type)}
		}
	}
	return nil
}
