package storage

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/softdb/softdb/types"
)

// catalogEntry is the JSON value of a catalog key.
type catalogEntry struct {
	Name      string `json:"name"`
	ID        uint64 `json:"id"`
	NextRowID int64  `json:"next_rowid"`
	// Rows is the number of live rows, checked at Open against the rows
	// found. Entries written before it existed have none (nil): no check.
	Rows    *int64          `json:"rows,omitempty"`
	Columns []catalogColumn `json:"columns"`
}

type catalogColumn struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Dim        int    `json:"dim,omitempty"`
	NotNull    bool   `json:"not_null,omitempty"`
	PrimaryKey bool   `json:"primary_key,omitempty"`
	Generated  string `json:"generated,omitempty"`
}

func encodeCatalog(t *Table) []byte {
	live := t.live
	e := catalogEntry{Name: t.schema.Name, ID: t.id, NextRowID: t.nextRowID, Rows: &live}
	for _, c := range t.schema.Columns {
		e.Columns = append(e.Columns, catalogColumn{
			Name: c.Name, Type: c.Type.Kind.String(), Dim: c.Type.Dim,
			NotNull: c.NotNull, PrimaryKey: c.PrimaryKey, Generated: c.Generated,
		})
	}
	b, err := json.Marshal(e)
	if err != nil {
		panic(err) // plain strings and numbers always marshal
	}
	return b
}

func decodeCatalog(key, val []byte) (*catalogEntry, *Schema, error) {
	var e catalogEntry
	if err := json.Unmarshal(val, &e); err != nil {
		return nil, nil, &CorruptionError{Key: key, Msg: "bad catalog entry: " + err.Error()}
	}
	s := &Schema{Name: e.Name}
	for _, c := range e.Columns {
		col := Column{Name: c.Name, NotNull: c.NotNull, PrimaryKey: c.PrimaryKey, Generated: c.Generated}
		switch c.Type {
		case "INT":
			col.Type.Kind = types.Int
		case "FLOAT":
			col.Type.Kind = types.Float
		case "TEXT":
			col.Type.Kind = types.Text
		case "VECTOR":
			col.Type = types.Type{Kind: types.Vector, Dim: c.Dim}
		default:
			return nil, nil, &CorruptionError{Key: key, Msg: fmt.Sprintf("unknown column type %q", c.Type)}
		}
		s.Columns = append(s.Columns, col)
	}
	vs, err := s.validate()
	if err != nil {
		return nil, nil, &CorruptionError{Key: key, Msg: "bad catalog entry: " + err.Error()}
	}
	if string(key[1:]) != strings.ToLower(e.Name) || e.ID == 0 || e.NextRowID < 1 {
		return nil, nil, &CorruptionError{Key: key, Msg: "bad catalog entry"}
	}
	return &e, vs, nil
}
