// Writes the duckdb_*.parquet test files with DuckDB (see README.md).
// Usage: node make_duckdb.mjs OUTDIR DIGITS_CSV
import { DuckDBInstance } from '@duckdb/node-api';

const [out, digits] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();

// Nullable scalars; FLOAT[] lists, a fixed-size FLOAT[3] array, DOUBLE[];
// NULL lists, subnormal and extreme floats, a non-ASCII string.
await c.run(`COPY (
  SELECT * FROM (VALUES
    (1, 'one',   [0.5, -1.25, 3.0]::FLOAT[],  [1.0, 2.0, 3.0]::FLOAT[3],  [0.1, 0.2, 0.3]::DOUBLE[], 1.5::DOUBLE),
    (2, NULL,    [1e-45, -0.0, 3.4028235e38]::FLOAT[], [4.0, 5.0, 6.0]::FLOAT[3], [1e-300, -2.5, 1e30]::DOUBLE[], NULL),
    (3, 'three', NULL,                           NULL,                         NULL,                       -2.0::DOUBLE),
    (NULL, 'späť "q"', [7, 8, 9]::FLOAT[], [7, 8, 9]::FLOAT[3], [7, 8, 9]::DOUBLE[], 0.0::DOUBLE)
  ) AS t(id, name, v, a, d, x)
) TO '${out}/duckdb_vectors.parquet' (FORMAT parquet)`);

// A wide table: the first 20 rows of digits.csv, p0..p63 and label as BIGINT.
await c.run(`COPY (SELECT * FROM read_csv('${digits}') LIMIT 20) TO '${out}/duckdb_digits20.parquet' (FORMAT parquet)`);

// Every codec, data page v2.
for (const codec of ['uncompressed', 'gzip', 'zstd', 'lz4_raw', 'brotli']) {
  await c.run(`COPY (SELECT i AS id, [i * 0.5, -i, i / 3]::FLOAT[] AS v, 'row ' || i AS s FROM range(300) t(i))
    TO '${out}/duckdb_${codec}_v2.parquet' (FORMAT parquet, COMPRESSION ${codec}, PARQUET_VERSION v2, ROW_GROUP_SIZE 100)`);
}
