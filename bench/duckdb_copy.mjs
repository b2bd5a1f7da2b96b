// DuckDB loading the CSV (read_csv) and JSONL (read_json) files of
// BenchmarkCopyKV into a table of a fresh on-disk database, the peer of
// softdb's COPY on the same bytes. Run by bench/copy_text.sh:
//   node duckdb_copy.mjs FILE.csv|FILE.jsonl ROWS DIM REPS
// Prints one line per run in the form of a Go benchmark line, so that
// copy_text.sh takes medians of both the same way.
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [file, rowsArg, dimArg, repsArg] = process.argv.slice(2);
const rows = Number(rowsArg), dim = Number(dimArg), reps = Number(repsArg || 1);
const isCSV = file.endsWith('.csv');
const cols = `{'key': 'FLOAT[${dim}]', 'value': 'FLOAT[${dim}]'}`;
const src = isCSV
  ? `read_csv('${file}', header = true, columns = ${cols})`
  : `read_json('${file}', format = 'newline_delimited', columns = ${cols})`;
const vecBytes = rows * 2 * dim * 4;
const fileBytes = statSync(file).size;

for (let i = 0; i < reps; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'duckdb-copy-'));
  const db = await DuckDBInstance.create(join(dir, 'db.duckdb'));
  const c = await db.connect();
  await c.run(`CREATE TABLE t (key FLOAT[${dim}], value FLOAT[${dim}])`);
  const t0 = process.hrtime.bigint();
  await c.run(`INSERT INTO t SELECT key, value FROM ${src}`);
  await c.run('CHECKPOINT'); // the rows on disk, as a COPY of softdb
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const n = Number((await c.runAndReadAll('SELECT count(*) FROM t')).getRows()[0][0]);
  if (n !== rows) throw new Error(`loaded ${n} rows, want ${rows}`);
  c.closeSync?.();
  db.closeSync?.();
  rmSync(dir, { recursive: true, force: true });
  const name = isCSV ? 'csv' : 'jsonl';
  console.log(`BenchmarkDuckDB/${name}/read_${name}\t1\t${Math.round(s * 1e9)} ns/op\t${(vecBytes / s / 1e6).toFixed(2)} MB/s\t${(fileBytes / s / 1e6).toFixed(1)} file-MB/s`);
}
