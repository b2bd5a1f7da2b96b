// Package hugepage asks for transparent huge pages under large vector
// arrays: the storage's segment columns, and the buffers of the
// read-bandwidth references that the benchmarks compare scans with.
package hugepage

// minBytes is the array size in bytes from which Make asks for huge pages.
const minBytes = 4 << 20
