package formats

import (
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"
)

// The parquet library trusts the sizes written in a file: a damaged footer
// or page header can make it allocate gigabytes, which kills the process
// rather than failing the COPY. These checks run first: the footer and
// every page header are walked with a thrift compact-protocol scanner that
// bounds each length by the bytes actually there, and page sizes are
// bounded by the column chunk and by limits no real writer comes near.

const (
	maxPageBytes  = 256 << 20 // uncompressed bytes of one page
	maxPageValues = 1 << 26   // values (with levels) of one page
	maxThriftNest = 64
)

var errThrift = errors.New("malformed thrift structure")

type thriftScan struct {
	b []byte
	i int
}

func (s *thriftScan) byte() (byte, error) {
	if s.i >= len(s.b) {
		return 0, errThrift
	}
	c := s.b[s.i]
	s.i++
	return c, nil
}

func (s *thriftScan) varint() (uint64, error) {
	var x uint64
	for shift := 0; shift < 70; shift += 7 {
		c, err := s.byte()
		if err != nil {
			return 0, err
		}
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return x, nil
		}
	}
	return 0, errThrift
}

// fits checks that n items of at least min bytes each can follow.
func (s *thriftScan) fits(n uint64, min int) error {
	if n > uint64(len(s.b)-s.i)/uint64(min) {
		return errThrift
	}
	return nil
}

// value skips one value of compact type t.
func (s *thriftScan) value(t byte, depth int) error {
	if depth > maxThriftNest {
		return errThrift
	}
	switch t {
	case 1, 2: // booleans inside a struct carry their value in the type
		return nil
	case 3:
		_, err := s.byte()
		return err
	case 4, 5, 6:
		_, err := s.varint()
		return err
	case 7:
		if err := s.fits(8, 1); err != nil {
			return err
		}
		s.i += 8
		return nil
	case 8:
		n, err := s.varint()
		if err != nil {
			return err
		}
		if err := s.fits(n, 1); err != nil {
			return err
		}
		s.i += int(n)
		return nil
	case 9, 10:
		h, err := s.byte()
		if err != nil {
			return err
		}
		n := uint64(h >> 4)
		if n == 15 {
			if n, err = s.varint(); err != nil {
				return err
			}
		}
		if err := s.fits(n, 1); err != nil {
			return err
		}
		et := h & 0x0f
		for range n {
			if et == 1 || et == 2 { // booleans in a list take a byte each
				if _, err := s.byte(); err != nil {
					return err
				}
				continue
			}
			if err := s.value(et, depth+1); err != nil {
				return err
			}
		}
		return nil
	case 11:
		n, err := s.varint()
		if err != nil || n == 0 {
			return err
		}
		if err := s.fits(n, 2); err != nil {
			return err
		}
		kv, err := s.byte()
		if err != nil {
			return err
		}
		for range n {
			for _, et := range []byte{kv >> 4, kv & 0x0f} {
				if et == 1 || et == 2 {
					if _, err := s.byte(); err != nil {
						return err
					}
				} else if err := s.value(et, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	case 12:
		for {
			h, err := s.byte()
			if err != nil {
				return err
			}
			if h == 0 {
				return nil
			}
			if h>>4 == 0 { // long form field id
				if _, err := s.varint(); err != nil {
					return err
				}
			}
			if err := s.value(h&0x0f, depth+1); err != nil {
				return err
			}
		}
	}
	return errThrift
}

// thriftSize returns the length of the compact-protocol struct at the
// start of b, or an error if it is malformed or its lengths overrun b.
func thriftSize(b []byte) (int, error) {
	s := thriftScan{b: b}
	if err := s.value(12, 0); err != nil {
		return 0, err
	}
	return s.i, nil
}

// checkChunkPages walks the page headers of one column chunk.
func checkChunkPages(r io.ReaderAt, size int64, md *format.ColumnMetaData) error {
	start := md.DataPageOffset
	if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < start {
		start = md.DictionaryPageOffset
	}
	end := start + md.TotalCompressedSize
	if start < 4 || md.TotalCompressedSize < 0 || end > size || end < start {
		return fmt.Errorf("column chunk at bytes %d..%d lies outside the file", start, end)
	}
	win := make([]byte, 0, 4096)
	for pos := start; pos < end; {
		var n int
		for w := int64(256); ; w *= 4 {
			w = min(w, end-pos)
			win = win[:w]
			if _, err := r.ReadAt(win, pos); err != nil && err != io.EOF {
				return err
			}
			var err error
			if n, err = thriftSize(win); err == nil {
				break
			}
			if w == end-pos || w >= 16<<20 {
				return fmt.Errorf("malformed page header at byte %d", pos)
			}
		}
		var h format.PageHeader
		if err := thrift.Unmarshal(new(thrift.CompactProtocol), win[:n], &h); err != nil {
			return fmt.Errorf("malformed page header at byte %d: %v", pos, err)
		}
		values := int32(0)
		switch {
		case h.DataPageHeader.Valid:
			values = h.DataPageHeader.V.NumValues
		case h.DataPageHeaderV2.Valid:
			values = h.DataPageHeaderV2.V.NumValues
		case h.DictionaryPageHeader.Valid:
			values = h.DictionaryPageHeader.V.NumValues
		}
		switch {
		case h.CompressedPageSize < 0 || pos+int64(n)+int64(h.CompressedPageSize) > end:
			return fmt.Errorf("page at byte %d overruns its column chunk", pos)
		case h.UncompressedPageSize < 0 || h.UncompressedPageSize > maxPageBytes:
			return fmt.Errorf("page at byte %d claims %d uncompressed bytes", pos, h.UncompressedPageSize)
		case values < 0 || values > maxPageValues:
			return fmt.Errorf("page at byte %d claims %d values", pos, values)
		}
		if md.Codec == format.Lz4Raw {
			if err := checkLZ4Page(r, pos+int64(n), &h); err != nil {
				return fmt.Errorf("page at byte %d: %v", pos, err)
			}
		}
		pos += int64(n) + int64(h.CompressedPageSize)
	}
	return nil
}

// checkLZ4Page decompresses an LZ4_RAW page into a buffer of its declared
// size: the library's decoder doubles its buffer for as long as a damaged
// block fails to decode.
func checkLZ4Page(r io.ReaderAt, at int64, h *format.PageHeader) error {
	data := make([]byte, h.CompressedPageSize)
	if _, err := r.ReadAt(data, at); err != nil && err != io.EOF {
		return err
	}
	want := int(h.UncompressedPageSize)
	if v2 := h.DataPageHeaderV2; v2.Valid {
		levels := int(v2.V.RepetitionLevelsByteLength) + int(v2.V.DefinitionLevelsByteLength)
		if levels > len(data) || levels > want {
			return errors.New("levels overrun the page")
		}
		if v2.V.IsCompressed.Valid && !v2.V.IsCompressed.V {
			return nil
		}
		data, want = data[levels:], want-levels
	}
	dst := make([]byte, want)
	if n, err := lz4.UncompressBlock(data, dst); err != nil || n != want {
		return errors.New("damaged LZ4 data")
	}
	return nil
}
