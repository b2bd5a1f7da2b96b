// Package hugepage asks for transparent huge pages under large vector
// arrays: the storage's segment columns, and the buffers of the
// read-bandwidth references that the benchmarks compare scans with.
package hugepage

// Min is the array size in bytes from which Advise asks for huge pages.
const Min = 4 << 20
