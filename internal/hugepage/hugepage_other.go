//go:build !linux

package hugepage

// Floats returns n zeroed floats.
func Floats(n int) []float32 { return make([]float32, n) }

// Make returns n zeroed floats.
func Make(n int) []float32 { return make([]float32, n) }

// MakeLazy returns n zeroed floats.
func MakeLazy(n int) []float32 { return make([]float32, n) }

// Advise does nothing: there is no advice to give.
func Advise(b []byte) {}

// off: there is no advice to give.
const off = true
