package server

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestTextPos: positions found at increasing offsets, each byte read once,
// equal those counted from the start of the text.
func TestTextPos(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	var b strings.Builder
	for range 2000 {
		b.WriteString([]string{"a", "\n", "é", ";", " ", "\n\n"}[r.IntN(6)])
	}
	text := b.String()
	var p textPos
	for off := 0; off <= len(text); off += r.IntN(7) {
		got := p.at(text, off)
		line := 1 + strings.Count(text[:off], "\n")
		col := off - strings.LastIndexByte(text[:off], "\n"[0]) // the byte after the last newline is column 1
		if int(got.Line) != line || int(got.Col) != col || int(got.Offset) != off {
			t.Fatalf("offset %d: %d:%d (offset %d), want %d:%d", off, got.Line, got.Col, got.Offset, line, col)
		}
	}
}
