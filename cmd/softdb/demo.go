package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	_ "embed"
)

// The demo tables, small enough to ship inside the binary: a newcomer sees
// HARD and SOFT SELECT on real data without downloading anything.
// demo/README.md says where the data come from.
var (
	//go:embed demo/library.sql
	librarySQL string
	//go:embed demo/digits.csv.gz
	digitsCSVGzip []byte
)

const demoText = `Demo tables:
  library  14 books; key = what a book is about: [science, history, food, poetry]
  digits   1,797 handwritten digits (UCI, 8×8 pixels); key = the pixels,
           L2-normalised; label = the digit
`

const tryText = "Try:\n" + tryQueries

const tryQueries = `  HARD SELECT title, author FROM library MATCH [0, 0.7, 0.7, 0];
  SOFT SELECT title, weight FROM library MATCH [1, 0, 0, 0.3] TEMPERATURE 0.1;
  SOFT SELECT pages FROM library MATCH [1, 0, 0, 0] TEMPERATURE 0.1;
  SOFT SELECT label, SUM(weight) AS p FROM digits
    MATCH (SELECT key FROM digits WHERE rowid = 1) TEMPERATURE 0.05
    GROUP BY label ORDER BY p DESC LIMIT 3;
`

// loadDemo creates the demo tables that do not exist yet, each in one
// transaction (or in the one already open). A table of the same name is
// left alone.
func (s *Shell) loadDemo(ctx context.Context) error {
	names, _, err := s.tables(ctx)
	if err != nil {
		return err
	}
	if indexFold(names, "library") < 0 {
		if err := s.inTx(ctx, func() error {
			_, err := s.Conn.Exec(ctx, librarySQL)
			return err
		}); err != nil {
			return fmt.Errorf("loading the library demo table: %w", err)
		}
	} else {
		s.note("A table named library exists already: left as it is.\n")
	}
	if indexFold(names, "digits") < 0 {
		keys, labels, err := digits()
		if err != nil {
			return err
		}
		var sql strings.Builder
		sql.WriteString("INSERT INTO digits (key, label) VALUES ")
		args := make([]any, 0, 2*len(keys))
		for i := range keys {
			if i > 0 {
				sql.WriteString(", ")
			}
			sql.WriteString("(?, ?)")
			args = append(args, keys[i], labels[i])
		}
		if err := s.inTx(ctx, func() error {
			if _, err := s.Conn.Exec(ctx, "CREATE TABLE digits (key VECTOR(64), label INT)"); err != nil {
				return err
			}
			_, err := s.Conn.Exec(ctx, sql.String(), args...)
			return err
		}); err != nil {
			return fmt.Errorf("loading the digits demo table: %w", err)
		}
	} else {
		s.note("A table named digits exists already: left as it is.\n")
	}
	return nil
}

// inTx runs f in a transaction of its own, or in the open one.
func (s *Shell) inTx(ctx context.Context, f func() error) error {
	if s.Conn.InTx() {
		return f()
	}
	if _, err := s.Conn.Exec(ctx, "BEGIN"); err != nil {
		return err
	}
	if err := f(); err != nil {
		s.Conn.Exec(context.Background(), "ROLLBACK")
		return err
	}
	_, err := s.Conn.Exec(ctx, "COMMIT")
	return err
}

// digits decodes the embedded digits data: each row's 64 pixels,
// L2-normalised (so that the dot product is the cosine), and its label.
func digits() (keys [][]float32, labels []int64, err error) {
	zr, err := gzip.NewReader(bytes.NewReader(digitsCSVGzip))
	if err != nil {
		return nil, nil, err
	}
	r := csv.NewReader(zr)
	header, err := r.Read()
	if err != nil {
		return nil, nil, err
	}
	if len(header) != 65 {
		return nil, nil, fmt.Errorf("digits data: %d columns, want 65", len(header))
	}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		var px [64]float64
		norm := 0.0
		for i := range px {
			if px[i], err = strconv.ParseFloat(rec[i], 64); err != nil {
				return nil, nil, fmt.Errorf("digits data line %d: %v", line, err)
			}
			norm += px[i] * px[i]
		}
		label, err := strconv.ParseInt(rec[64], 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("digits data line %d: %v", line, err)
		}
		key := make([]float32, 64)
		if norm = math.Sqrt(norm); norm > 0 {
			for i, p := range px {
				key[i] = float32(p / norm)
			}
		}
		keys = append(keys, key)
		labels = append(labels, label)
	}
	return keys, labels, nil
}
