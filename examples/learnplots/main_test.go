package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestRun draws the figures from a short TRAIN into a temporary
// directory and checks that the three PNGs and the four npy files exist.
func TestRun(t *testing.T) {
	data := "../../../shared/data/digits.csv"
	if _, err := os.Stat(data); err != nil {
		if data = "../../../../shared/data/digits.csv"; func() bool { _, err := os.Stat(data); return err != nil }() {
			t.Skip("shared/data/digits.csv not found next to the repository")
		}
	}
	img, files := t.TempDir(), t.TempDir()
	if err := run(context.Background(), data, img, files, 3); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{filepath.Join(img, "learn_loss.png"), filepath.Join(img, "learn_pca2.png"), filepath.Join(img, "learn_trained2.png"),
		filepath.Join(files, "x.npy"), filepath.Join(files, "label.npy"), filepath.Join(files, "pca4.npy"), filepath.Join(files, "pca2.npy")} {
		if st, err := os.Stat(f); err != nil || st.Size() < 100 {
			t.Errorf("%s: %v", f, err)
		}
	}
}
