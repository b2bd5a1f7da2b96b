// Package ivf holds softdb's vector indexes: an inverted-file (IVF) layout
// of a VECTOR column with bounds that make skipping provable.
//
// An index has three separable parts, as in FAISS's IndexIVF: a quantizer
// (the centroids, trained by k-means on a sample, Train) that assigns
// each vector to a list; per-row data (Part: the list, the distance to its
// centroid, the norm, and optionally int8 codes with a per-row scale, or
// bfloat16 codes, with a proven bound on the coding error); and the lists themselves with their
// bounds (View: members, radius, norms), over which the searches
// (SearchHard, SearchSoft) skip what a bound proves cannot matter.
//
// Every bound here is an inequality on exact real numbers widened by the
// rounding error of the float32 kernels that compute the scores it is
// compared with (Slack), so a skipped row can never have been scored, in
// float32, above the bound it was skipped by. docs/indexes.md gives each
// bound's proof.
//
// The package knows nothing of SQL or storage: rows are named by int64
// ids, and the caller supplies their keys and which of them take part
// (Source).
package ivf
