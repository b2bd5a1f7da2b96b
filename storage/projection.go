package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/softdb/softdb/types"
)

// Projection is a stored matrix W of In rows and Out columns (float32,
// row-major: W[i*Out+j]). project(x, W) is x·W. A Projection obtained
// from a Snapshot is shared and must not be modified.
type Projection struct {
	Name    string
	In, Out int
	W       []float32
}

// MaxProjectionElems bounds In·Out: a projection is one pebble value and
// is held in memory by every snapshot that sees it (16 Mi elements is
// 64 MiB).
const MaxProjectionElems = 1 << 24

// ErrProjectionExists and ErrNoProjection are wrapped by a
// *ProjectionError.
var (
	ErrNoProjection     = errors.New("does not exist")
	ErrProjectionExists = errors.New("already exists")
)

// ProjectionError reports an error about a whole projection.
type ProjectionError struct {
	Name string
	Err  error
}

func (e *ProjectionError) Error() string { return fmt.Sprintf("projection %q %v", e.Name, e.Err) }
func (e *ProjectionError) Unwrap() error { return e.Err }

// projSet holds the projections of a snapshot by lower-case name. A set
// reachable from a Snapshot is never modified; a Tx copies it before its
// first change.
type projSet map[string]*Projection

// Projection returns the named projection (case-insensitive), or nil.
func (s *Snapshot) Projection(name string) *Projection { return s.projs[strings.ToLower(name)] }

// Projections returns every projection sorted by name.
func (s *Snapshot) Projections() []*Projection {
	out := make([]*Projection, 0, len(s.projs))
	for _, p := range s.projs {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

const (
	prefixProjection  = 'p'
	projectionVersion = 1 // first byte of a projection value
)

func projectionKey(name string) []byte {
	return append([]byte{prefixProjection}, strings.ToLower(name)...)
}

// validate checks a projection's name, shape and values.
func (p *Projection) validate() error {
	bad := func(format string, args ...any) error {
		return &ValueError{Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case p.Name == "":
		return bad("projection name must not be empty")
	case p.In < 1 || p.In > types.MaxDim || p.Out < 1 || p.Out > types.MaxDim:
		return bad("projection %q: dimensions must be between 1 and %d, got %d -> %d", p.Name, types.MaxDim, p.In, p.Out)
	case p.In*p.Out > MaxProjectionElems:
		return bad("projection %q: %d -> %d has %d elements, more than the limit of %d", p.Name, p.In, p.Out, p.In*p.Out, MaxProjectionElems)
	case len(p.W) != p.In*p.Out:
		return bad("projection %q: %d -> %d needs %d values, got %d", p.Name, p.In, p.Out, p.In*p.Out, len(p.W))
	}
	for i, x := range p.W {
		if x-x != 0 {
			return bad("projection %q: element (%d, %d) is %v", p.Name, i/p.Out+1, i%p.Out+1, x)
		}
	}
	return nil
}

// encodeProjection is the value of a projection key:
// version, uvarint name length, name, uvarint In, uvarint Out, then In·Out
// float32 values little-endian (docs/storage-format.md).
func encodeProjection(p *Projection) []byte {
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64+len(p.Name)+4*len(p.W))
	b = append(b, projectionVersion)
	b = binary.AppendUvarint(b, uint64(len(p.Name)))
	b = append(b, p.Name...)
	b = binary.AppendUvarint(b, uint64(p.In))
	b = binary.AppendUvarint(b, uint64(p.Out))
	for _, x := range p.W {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func decodeProjection(key, val []byte) (*Projection, error) {
	bad := func(msg string) error {
		return &CorruptionError{Key: append([]byte(nil), key...), Msg: "bad projection: " + msg}
	}
	if len(val) == 0 || val[0] != projectionVersion {
		return nil, bad("unknown version")
	}
	b := val[1:]
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	nl, ok := next()
	if !ok || nl > uint64(len(b)) {
		return nil, bad("truncated name")
	}
	p := &Projection{Name: string(b[:nl])}
	b = b[nl:]
	in, ok1 := next()
	out, ok2 := next()
	if !ok1 || !ok2 || in < 1 || out < 1 || in > types.MaxDim || out > types.MaxDim || in*out > MaxProjectionElems {
		return nil, bad("bad shape")
	}
	p.In, p.Out = int(in), int(out)
	if uint64(len(b)) != 4*in*out {
		return nil, bad(fmt.Sprintf("%d -> %d needs %d bytes of values, found %d", in, out, 4*in*out, len(b)))
	}
	p.W = make([]float32, p.In*p.Out)
	for i := range p.W {
		p.W[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	if string(key[1:]) != strings.ToLower(p.Name) {
		return nil, bad("name does not match its key")
	}
	if err := p.validate(); err != nil {
		return nil, bad(err.Error())
	}
	return p, nil
}

// loadProjections reads every projection key.
func (db *DB) loadProjections() (projSet, error) {
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixProjection}, UpperBound: []byte{prefixProjection + 1}})
	if err != nil {
		return nil, err
	}
	set := projSet{}
	for it.First(); it.Valid(); it.Next() {
		p, err := decodeProjection(it.Key(), it.Value())
		if err != nil {
			_ = it.Close()
			return nil, err
		}
		set[strings.ToLower(p.Name)] = p
	}
	return set, it.Close()
}

// ownProjs makes the Tx's projection set private to it.
func (tx *Tx) ownProjs() projSet {
	if !tx.projsOwned {
		m := make(projSet, len(tx.projs)+1)
		for k, v := range tx.projs {
			m[k] = v
		}
		tx.projs, tx.projsOwned = m, true
	}
	return tx.projs
}

// CreateProjection stores a new projection; its values are copied.
func (tx *Tx) CreateProjection(p Projection) error {
	if err := tx.writable(); err != nil {
		return err
	}
	if err := p.validate(); err != nil {
		return err
	}
	low := strings.ToLower(p.Name)
	if tx.projs[low] != nil {
		return &ProjectionError{Name: p.Name, Err: ErrProjectionExists}
	}
	return tx.putProjection(&Projection{Name: p.Name, In: p.In, Out: p.Out, W: append([]float32(nil), p.W...)})
}

// SetProjection replaces the values of an existing projection (same
// shape); w is copied.
func (tx *Tx) SetProjection(name string, w []float32) error {
	if err := tx.writable(); err != nil {
		return err
	}
	old := tx.projs[strings.ToLower(name)]
	if old == nil {
		return &ProjectionError{Name: name, Err: ErrNoProjection}
	}
	p := &Projection{Name: old.Name, In: old.In, Out: old.Out, W: append([]float32(nil), w...)}
	if err := p.validate(); err != nil {
		return err
	}
	return tx.putProjection(p)
}

func (tx *Tx) putProjection(p *Projection) error {
	val := encodeProjection(p)
	if err := tx.checkSize(len(val) + 64); err != nil {
		return err
	}
	_ = tx.reserve(len(val)+64).Set(projectionKey(p.Name), val, nil)
	tx.touch()
	tx.ownProjs()[strings.ToLower(p.Name)] = p
	return nil
}

// DropProjection removes a projection.
func (tx *Tx) DropProjection(name string) error {
	if err := tx.writable(); err != nil {
		return err
	}
	low := strings.ToLower(name)
	if tx.projs[low] == nil {
		return &ProjectionError{Name: name, Err: ErrNoProjection}
	}
	_ = tx.reserve(64).Delete(projectionKey(low), nil)
	tx.touch()
	delete(tx.ownProjs(), low)
	return nil
}
