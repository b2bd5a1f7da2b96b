package storage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/record"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// pebble's write-ahead logs and its MANIFEST are sequences of 32 KiB
// blocks of chunks (pebble/record): a header, then the payload.
//
//	legacy:     checksum(4) length(2) type(1)                         types 1…4
//	recyclable: checksum(4) length(2) type(1) lognum(4)               types 5…8
//	wal sync:   checksum(4) length(2) type(1) lognum(4) offset(8)     types 9…12
//
// The checksum is the masked CRC-32C of everything from the type byte to
// the end of the payload. pebble stops reading a log at the first chunk
// that does not check out and treats it as the end: right for the torn
// tail a crash leaves, silent loss when the damage is in the middle (it
// only tells them apart with the wal-sync format, which this store does
// not write). A valid chunk after the bad one proves the bad one was
// written and then damaged: that is what checkLogs looks for.
const (
	logBlockSize     = 32 << 10
	legacyHeaderLen  = 7
	recycleHeaderLen = 11
	walSyncHeaderLen = 19
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func maskedCRC(b []byte) uint32 {
	c := crc32.Update(0, crcTable, b)
	return (c>>15 | c<<17) + 0xa282ead8
}

// chunkAt reports whether a valid chunk starts at off of block b (the
// bytes of one 32 KiB block), and its end. For a write-ahead log (wal),
// recyclable chunks must carry lognum; legacy chunks count only when
// legacy is set (the log was written in that format).
func chunkAt(b []byte, off int, lognum uint32, wal, legacy bool) (end int, ok bool) {
	if off+legacyHeaderLen > len(b) {
		return 0, false
	}
	typ := b[off+6]
	hlen := 0
	switch {
	case typ >= 1 && typ <= 4:
		if wal && !legacy {
			return 0, false
		}
		hlen = legacyHeaderLen
	case typ >= 5 && typ <= 8:
		hlen = recycleHeaderLen
	case typ >= 9 && typ <= 12:
		hlen = walSyncHeaderLen
	default:
		return 0, false
	}
	if off+hlen > len(b) {
		return 0, false
	}
	if hlen > legacyHeaderLen && binary.LittleEndian.Uint32(b[off+7:]) != lognum {
		return 0, false
	}
	end = off + hlen + int(binary.LittleEndian.Uint16(b[off+4:]))
	if end > len(b) {
		return 0, false
	}
	if binary.LittleEndian.Uint32(b[off:]) != maskedCRC(b[off+6:end]) {
		return 0, false
	}
	return end, true
}

// isEOFTrailer reports whether off holds the empty recyclable chunk pebble
// writes after the last record of a log it closes: log number lognum+1.
func isEOFTrailer(b []byte, off int, lognum uint32) bool {
	return off+recycleHeaderLen <= len(b) && b[off+6] >= 5 && b[off+6] <= 8 &&
		binary.LittleEndian.Uint16(b[off+4:]) == 0 &&
		binary.LittleEndian.Uint32(b[off+7:]) == lognum+1
}

// scanLog finds the offset where pebble will stop reading data (a log
// with lognum, or the MANIFEST when !wal), and the offset of a valid chunk
// after it; found is false when nothing valid follows the stop (a clean
// end, or a torn tail). It reads the file a block at a time.
func scanLog(r io.ReaderAt, size int64, lognum uint32, wal bool) (stop, next int64, found bool, err error) {
	buf := make([]byte, logBlockSize)
	block := func(base int64) ([]byte, error) {
		b := buf[:min(int64(logBlockSize), size-base)]
		_, err := r.ReadAt(b, base)
		if err == io.EOF {
			err = nil
		}
		return b, err
	}
	legacy := false
	bad := int64(-1)
blocks:
	for base := int64(0); base < size; base += logBlockSize {
		b, err := block(base)
		if err != nil {
			return 0, 0, false, err
		}
		if base == 0 && len(b) >= legacyHeaderLen {
			legacy = b[6] >= 1 && b[6] <= 4
		}
		off := 0
		for off+legacyHeaderLen <= len(b) {
			if wal && isEOFTrailer(b, off, lognum) {
				return base + int64(off), 0, false, nil
			}
			if end, ok := chunkAt(b, off, lognum, wal, legacy); ok {
				off = end
				continue
			}
			if allZero(b[off:]) && len(b)-off < walSyncHeaderLen {
				break // the writer pads the end of a block with zeros
			}
			bad = base + int64(off)
			break blocks
		}
		if len(b) < logBlockSize && off < len(b) && !allZero(b[off:]) {
			bad = base + int64(off)
		}
	}
	if bad < 0 {
		return size, 0, false, nil
	}
	for base := bad / logBlockSize * logBlockSize; base < size; base += logBlockSize {
		b, err := block(base)
		if err != nil {
			return 0, 0, false, err
		}
		q := 0
		if base < bad {
			q = int(bad-base) + 1
		}
		for ; q+legacyHeaderLen <= len(b); q++ {
			if _, ok := chunkAt(b, q, lognum, wal, legacy); ok {
				return bad, base + int64(q), true, nil
			}
		}
	}
	return bad, 0, false, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// checkLogs reports damage in the middle of a write-ahead log or of the
// current MANIFEST of the pebble store in dir, which pebble would take
// for the end of the file and silently drop what follows: acknowledged
// transactions (a log) or whole sstables (the MANIFEST). With repair set,
// it cuts each damaged file at the damage instead, keeping the original
// as NAME.corrupt, so that pebble opens with what precedes it.
func checkLogs(fs vfs.FS, dir string, repair bool) error {
	names, err := fs.List(dir)
	if err != nil {
		return nil // a new database: pebble creates the directory's files
	}
	desc, err := pebble.Peek(dir, fs)
	if err != nil {
		return corruptFile(fs.PathBase(dir), -1, "cannot read the store's markers: "+err.Error(), err)
	}
	var manifest string
	var minLog uint64
	if desc.Exists {
		manifest = fs.PathBase(desc.ManifestFilename)
		minLog = minUnflushedLog(fs, desc.ManifestFilename)
	}
	for _, name := range names {
		var lognum uint64
		wal := false
		switch {
		case strings.HasSuffix(name, ".log"):
			num, _, _ := strings.Cut(strings.TrimSuffix(name, ".log"), "-")
			n, err := strconv.ParseUint(num, 10, 64)
			if err != nil || n < minLog {
				continue // not a log, or one already flushed (kept for reuse)
			}
			lognum, wal = n, true
		case name == manifest:
		default:
			continue
		}
		path := fs.PathJoin(dir, name)
		stop, next, found, size, err := scanFile(fs, path, uint32(lognum), wal)
		if err != nil {
			return fmt.Errorf("cannot read %s: %w", path, err)
		}
		if found && repair {
			if err := cutFile(fs, path, stop); err != nil {
				return fmt.Errorf("cannot recover %s: %w", fs.PathJoin(dir, name), err)
			}
			continue
		}
		if found {
			what := "write-ahead log"
			if !wal {
				what = "MANIFEST (the list of the store's sstables)"
			}
			return corruptFile(fs.PathJoin(dir, name), stop, fmt.Sprintf(
				"damaged %s: the record at offset %d is invalid but a valid one follows at offset %d, so this is not an interrupted write; opening would drop %d bytes of committed data",
				what, stop, next, size-stop), nil)
		}
	}
	return nil
}

func scanFile(fs vfs.FS, path string, lognum uint32, wal bool) (stop, next int64, found bool, size int64, err error) {
	f, err := fs.Open(path)
	if err != nil {
		return 0, 0, false, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, false, 0, err
	}
	size = st.Size()
	stop, next, found, err = scanLog(f, size, lognum, wal)
	return stop, next, found, size, err
}

// cutFile replaces path with its first n bytes, keeping the original as
// path+".corrupt".
func cutFile(fs vfs.FS, path string, n int64) error {
	if err := fs.Rename(path, path+".corrupt"); err != nil {
		return err
	}
	src, err := fs.Open(path + ".corrupt")
	if err != nil {
		return err
	}
	defer src.Close()
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, io.NewSectionReader(src, 0, n)); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	d, err := fs.OpenDir(fs.PathDir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// minUnflushedLog reads the MANIFEST at path for the number of the oldest
// write-ahead log pebble will replay: logs below it were flushed, and
// pebble keeps one around to reuse its space. Each version edit starts
// with the comparer name (tag 1, first edit only) and then this number
// (tag 2) when it changes. 0 when none is found: every log is checked.
func minUnflushedLog(fs vfs.FS, path string) uint64 {
	f, err := fs.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	rr := record.NewReader(f, 0)
	var min uint64
	for {
		r, err := rr.Next()
		if err != nil {
			return min
		}
		head := make([]byte, 512)
		n, _ := io.ReadFull(r, head)
		head = head[:n]
		tag, k := binary.Uvarint(head)
		if k <= 0 {
			continue
		}
		head = head[k:]
		if tag == 1 {
			l, k := binary.Uvarint(head)
			if k <= 0 || uint64(len(head)-k) < l {
				continue
			}
			head = head[k+int(l):]
			if tag, k = binary.Uvarint(head); k <= 0 {
				continue
			}
			head = head[k:]
		}
		if tag == 2 {
			if v, k := binary.Uvarint(head); k > 0 && v > min {
				min = v
			}
		}
	}
}
