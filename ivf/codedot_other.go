//go:build !amd64 || purego

package ivf

const haveCodeDot = false

func codeDot32(q []float32, code []int8) (float32, int32) {
	panic("ivf: no code kernel on this platform")
}
