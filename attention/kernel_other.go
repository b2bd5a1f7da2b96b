//go:build !amd64 || purego

package attention

func archKernels() []*kernelSet { return []*kernelSet{&genericKernels} }
