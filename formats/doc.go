// Package formats reads and writes the files of COPY: csv, jsonl, npy,
// parquet and the TEXMEX vector files (fvecs, ivecs, bvecs). It knows no
// tables, SQL or storage: it turns a file into rows of types.Value for a
// list of target columns, and rows back into a file.
//
// # Basics
//
// A Column names a target column and its type. OpenReader opens a file for
// a list of columns and returns a Reader whose Next fills one row at a time
// and returns io.EOF at the end; CreateWriter returns a Writer whose Write
// takes rows and whose Close publishes the file. The format is
// Options.Format, or else the file's extension (FormatFromPath). Options.Set
// applies COPY's WITH options (FORMAT, HEADER, DELIMITER).
//
//	r, err := formats.OpenReader("digits.csv", []formats.Column{
//		{Name: "key", Type: types.Type{Kind: types.Vector, Dim: 64}},
//		{Name: "label", Type: types.Type{Kind: types.Int}},
//	}, formats.Options{})
//	row := make([]types.Value, 2)
//	for err = r.Next(row); err == nil; err = r.Next(row) { … }
//
// Every rejected file, row or value is an *Error with the path, the line
// (csv, jsonl) or record (npy, *vecs, parquet), the column and the reason:
//
//	digits.csv:17: column "label": "abc" is not an integer
//	k.npy: record 1001: column "key": truncated: expected 2000 rows, file has 1000
//
// Open failures wrap the *fs.PathError (errors.Is(err, fs.ErrNotExist)
// works). Reader.Pos lets the caller report its own errors (a duplicate
// key) at the row's position.
//
// # Mapping rules
//
// Every value passes the same checks whatever the format: vector elements
// must be finite and fit float32 (NaN, ±Inf and float64 values beyond
// ±3.4e38 are rejected; integers are rounded to the nearest float32);
// FLOAT values must be finite; INT values must fit int64 and come from a
// float only when it is integral (3.0 is 3, 3.5 is an error); TEXT must be
// UTF-8. Text floats are rounded once, straight to float32, so every
// format round-trips float32 bits exactly.
//
// csv: RFC 4180 with '"' quotes ("" inside quotes is a quote), \n or \r\n
// line ends, quoted fields may span lines, a leading UTF-8 BOM is ignored.
// With HEADER (the default) the first line names the columns, matched to
// the targets ignoring case and in any order; a target missing from the
// header, a header column that is not a target, and a name given twice are
// errors. A VECTOR cell is the pgvector text "[1, 2.5, -3e-2]"; with the
// comma delimiter it must be quoted, and an unquoted one is reported as
// such. An empty unquoted field is NULL; "" is the empty TEXT (numbers and
// vectors treat it as NULL too). An empty line is a NULL row in a
// one-column file and skipped otherwise; an empty file has no rows.
//
// The wide rule: a VECTOR(n) target that the header does not name is
// filled from n numeric columns, one per element: columns named
// <name>0…<name>{n-1}, <name>_0…, <name>1…<name>n or <name>_1… (the first
// complete set), or else, when exactly one VECTOR target is left and
// exactly n header columns are left over, those columns in header order.
// So a table (key VECTOR(64), label INT) loads digits.csv, whose header is
// p0,…,p63,label. All of a row's element cells empty is a NULL vector.
// Without a header, columns are positional: a line has one field per
// target, or VECTOR(n) targets spread over n fields each (decided by the
// first line's field count).
//
// jsonl: one JSON object per line; keys name the targets, ignoring case.
// A vector is an array of numbers (or its pgvector text as a string); null
// is NULL. Strict like PostgreSQL: a missing key, an unknown key, a key
// given twice, a value of the wrong JSON type (a string for an INT, a
// boolean anywhere) and any malformed JSON are errors. NaN and Infinity,
// which Python's json module writes, are named as such. Blank lines are
// skipped.
//
// npy: versions 1.0, 2.0 and 3.0; dtypes float16/32/64 and signed or
// unsigned 8/16/32/64-bit integers, little- or big-endian; C order only
// (Fortran order is rejected unless the array is one row or one column).
// Shape (n, d) fills one VECTOR(d) column; (n,) or (n, 1) fills one INT or
// FLOAT column (or VECTOR(1)). The data must be exactly what the header
// declares: fewer bytes is "truncated: expected N rows, file has M", more
// is an error too. The writer writes version 1.0, <f4 (n, d) for VECTOR,
// <i8 for INT and <f8 for FLOAT, and cannot write NULL or TEXT.
//
// fvecs, ivecs, bvecs: per record a little-endian int32 dimension, then that
// many float32, int32 or uint8 elements. One VECTOR column; every record's
// dimension must equal the column's; a short last record is reported with
// its record number. The writers refuse NULL, and ivecs/bvecs refuse
// elements that are not integers in range.
//
// parquet: top-level fields match targets by name (ignoring case, the wide
// rule included); the schema is checked at open. A VECTOR column reads any
// field holding one numeric leaf repeated once: LIST<FLOAT|DOUBLE|INT32|
// INT64> in the standard 3-level form (as written by pyarrow, DuckDB and
// Spark, including Arrow fixed_size_list and DuckDB ARRAY), the legacy
// 2-level form or a bare repeated field; a NULL list is NULL, an empty list
// or a null element is an error. Scalars are INT32/INT64 (plain or integer
// annotated; decimals, dates and timestamps are refused), FLOAT/DOUBLE, and
// BYTE_ARRAY strings. Pages may be uncompressed, Snappy, gzip, zstd, brotli
// or LZ4_RAW, data page v1 or v2, dictionary encoded or not. The
// writer writes one nullable field per column in column order: INT64,
// DOUBLE, STRING and LIST<FLOAT> (element required), Snappy compressed.
//
// # Memory
//
// Readers stream. csv and jsonl scan a 1 MiB buffer in place (grown only
// for a longer record, up to 256 MiB); npy and fvecs read 4 MiB blocks
// straight into the memory of the vectors they return; parquet holds one
// page per column at a time. Vectors are carved from large blocks and
// never reused, so a caller may keep them; a block is freed when none of
// its vectors is referenced. Writers buffer 1 MiB (parquet: one row group,
// about 64 MiB).
//
// # Caveats
//
//   - The parquet library trusts the sizes in a file; damaged footers and
//     page headers are checked first (see pqguard.go), and panics inside the
//     library become errors, but a decompression bomb can still cost memory
//     in proportion to its uncompressed size.
//   - Unknown columns are errors in every format; there is no option yet to
//     skip file columns that are not loaded.
//   - Compressed text (.csv.gz) and npz archives are not read.
package formats
