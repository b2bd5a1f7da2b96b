package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/softdb/softdb"
)

// TestRun runs the example in memory and twice on one directory (the
// second run finds the palette already there).
func TestRun(t *testing.T) {
	ctx := context.Background()
	if err := run(ctx, softdb.Memory); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "colours")
	for i := 0; i < 2; i++ {
		if err := run(ctx, dir); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
}
