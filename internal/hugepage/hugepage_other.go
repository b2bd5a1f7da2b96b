//go:build !linux

package hugepage

// Advise does nothing where transparent huge pages are not known.
func Advise([]float32) {}

// Floats returns n zeroed floats.
func Floats(n int) []float32 { return make([]float32, n) }

// Make returns n zeroed floats.
func Make(n int) []float32 { return make([]float32, n) }

// off: there is no advice to give.
const off = true
