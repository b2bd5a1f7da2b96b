package server

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"testing"
)

// FuzzCopyBinary: any bytes as binary COPY data either convert to csv
// with one record of the right width per row, or fail with an error that
// says where; never a panic.
func FuzzCopyBinary(f *testing.F) {
	row := []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	row = binary.BigEndian.AppendUint16(row[:len(row)-1], 2)
	row = binary.BigEndian.AppendUint32(row, 8)
	row = binary.BigEndian.AppendUint64(row, 42)
	row = binary.BigEndian.AppendUint32(row, 7)
	row = append(row, "[1,2,3]"...)
	f.Add(row)
	f.Add(binary.BigEndian.AppendUint16(bytes.Clone(row), 0xffff))
	f.Add([]byte("PGCOPY\n\xff\r\n\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		err := convertBinaryToCSV(bufio.NewReader(bytes.NewReader(data)), &out, []string{"id", "key"}, []string{"INT", "VECTOR"}, "t")
		if err != nil {
			if _, ok := err.(*pgError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		recs, err := csv.NewReader(&out).ReadAll()
		if err != nil {
			t.Fatalf("the csv written does not read back: %v", err)
		}
		for i, r := range recs {
			if len(r) != 2 {
				t.Fatalf("record %d has %d fields", i+1, len(r))
			}
		}
	})
}
