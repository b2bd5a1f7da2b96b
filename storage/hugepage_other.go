//go:build !linux

package storage

func adviseHuge([]float32) {}
