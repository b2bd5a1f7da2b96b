package main

import (
	"bytes"
	"os"
	"testing"
)

// TestUpToDate fails when kernel_amd64.s differs from what the generator
// writes now: run `go generate` in attention/.
func TestUpToDate(t *testing.T) {
	have, err := os.ReadFile("../../kernel_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, generate()) {
		t.Fatal("kernel_amd64.s is stale: run go generate in attention/")
	}
	have, err = os.ReadFile("../../kernel_avx512_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, generate512()) {
		t.Fatal("kernel_avx512_amd64.s is stale: run go generate in attention/")
	}
}
