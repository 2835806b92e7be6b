#!/usr/bin/env node
// Side-by-side benchmark: tsnorm against what a user would reach for instead (../shared/bench:
// torch, numpy, pandas, Miller) and against `cp` of the same file, in one run, as ratios.
//
//   npm run bench [-- --only npy|csv|arrow|parquet|startup|scaling] [--repeat K] [--data DIR] [--miller] [--keep]
//                 [--node MAJOR,...]
//
// tsnorm runs on the Node that runs the bench, which every report names. `--node 20,24` runs each
// tsnorm job on each of those Nodes too, in the same run (`this` is the bench's own; other majors
// come from scripts/with-node.sh), with a bundle and code cache built by that Node, and prints
// each one's time as a ratio to the first's.
//
// `scaling` (not in the default run: it writes a 1 GB CSV) normalizes a 10 MB, the 100 MB and a
// 1 GB CSV (the same rows, repeated under new ids) and writes the rows/s curve as a table and as
// bench/results/scaling.svg.
//
// polars and DuckDB (multi-threaded) run from the project's venv (`npm run venv`); without it
// they are skipped with a message.
//
// Wall time is the median of K runs; peak RSS is the largest seen (GNU time's %M). Outputs are
// removed and the page cache's dirty pages flushed (sync, untimed) before each run, so that no
// command pays for replacing an older file or for another command's writeback.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const only = opt('--only');
const repeat = Number(opt('--repeat', '3'));
const data = path.resolve(opt('--data', path.join(root, 'bench/data')));
const out = path.join(root, 'bench/out');
const shared = path.resolve(root, '../shared/bench');
const python = '/usr/bin/python3';
const venvPython = path.join(root, '.venv/bin/python');
const hasVenv = (mod) => fs.existsSync(venvPython) && have([venvPython], ['-c', `import ${mod}`]);
const gnuTime = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
fs.mkdirSync(data, { recursive: true });
fs.mkdirSync(out, { recursive: true });

/** The Nodes tsnorm runs on: each one's version and the command that runs tsnorm with it. */
const nodes = opt('--node', 'this')
  .split(',')
  .map((major) => {
    if (major === 'this' || major === process.versions.node.split('.')[0])
      return { version: process.version, cmd: [process.execPath, path.join(root, 'bin/tsnorm.js')] };
    const r = spawnSync(path.join(root, 'scripts/with-node.sh'), [major, 'node', '-p', 'process.execPath'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`--node ${major}: scripts/with-node.sh could not provide it`);
    const execPath = r.stdout.trim();
    // A bundle whose code cache this Node made (V8 rejects another Node's cache: start-up would pay for it).
    const dir = path.join(out, `node-${major}`);
    const b = spawnSync(execPath, [path.join(root, 'scripts/bundle.mjs'), '--out', dir], { stdio: 'inherit' });
    if (b.status !== 0) throw new Error(`--node ${major}: scripts/bundle.mjs failed under ${execPath}`);
    const version = spawnSync(execPath, ['--version'], { encoding: 'utf8' }).stdout.trim();
    return { version, cmd: [execPath, path.join(dir, 'bin/tsnorm.js')] };
  });
const tsnorm = nodes[0].cmd;

/**
 * A tsnorm job on each Node of --node, their runs interleaved so that a noisy stretch of the
 * machine falls on each alike: the first Node's row, with the others' rows in `otherNodes` and
 * their wall times printed as ratios to the first's.
 */
function tsnormJob(label, args, options = {}) {
  return perNode(label, (node) => [...node.cmd, ...args], options);
}

/** A command made for each Node of --node (see tsnormJob). */
function perNode(label, cmdFor, options = {}) {
  if (nodes.length === 1) return measure(label, cmdFor(nodes[0]), options);
  const [first, ...others] = measureEach(
    nodes.map((node) => ({ label: `${label}, node ${node.version}`, cmd: cmdFor(node) })),
    options,
  );
  for (const [k, row] of others.entries())
    console.log(`    node ${nodes[k + 1].version} / node ${nodes[0].version}: ${(row.wall / first.wall).toFixed(3)} x wall`);
  return { ...first, otherNodes: Object.fromEntries(others.map((row, k) => [nodes[k + 1].version, row])) };
}

function have(cmd, probe) {
  return spawnSync(cmd[0], [...cmd.slice(1), ...probe], { stdio: 'ignore' }).status === 0;
}
const hasPy = (mod) => fs.existsSync(python) && have([python], ['-c', `import ${mod}`]);

/** Runs a command once: wall seconds and peak RSS in MB (null without GNU time). */
function runOnce(cmd, stdoutFile) {
  const argv = gnuTime ? [gnuTime, '-f', '%M', ...cmd] : cmd;
  const fd = stdoutFile ? fs.openSync(stdoutFile, 'w') : 'ignore';
  const t0 = performance.now();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
  const wall = (performance.now() - t0) / 1000;
  if (typeof fd === 'number') fs.closeSync(fd);
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const rss = gnuTime ? Number(r.stderr.trim().split('\n').pop()) / 1024 : null;
  return { wall, rss };
}

function measure(label, cmd, options = {}) {
  return measureEach([{ label, cmd }], options)[0];
}

/** Commands timed K times each, taking turns (in alternating order); a row each. */
function measureEach(entries, { outputs = [], stdoutFile, times = repeat } = {}) {
  const walls = entries.map(() => []);
  const rss = entries.map(() => 0);
  for (let i = 0; i < times; i++) {
    const order = entries.map((_, k) => (i % 2 === 0 ? k : entries.length - 1 - k));
    for (const k of order) {
      for (const f of outputs) fs.rmSync(f, { force: true });
      // Untimed: flush what earlier runs left dirty, so no command pays for another's writeback.
      spawnSync('sync');
      const r = runOnce(entries[k].cmd, stdoutFile);
      walls[k].push(r.wall);
      rss[k] = Math.max(rss[k], r.rss ?? 0);
    }
  }
  return entries.map(({ label }, k) => {
    walls[k].sort((a, b) => a - b);
    const row = { label, wall: walls[k][Math.floor(walls[k].length / 2)], rss: gnuTime ? rss[k] : null, runs: times };
    console.log(`  ${label.padEnd(34)} ${row.wall.toFixed(2).padStart(7)} s  ${row.rss === null ? '   ?' : row.rss.toFixed(0).padStart(5)} MB`);
    return row;
  });
}

/** Max |a - b| over two float32/float64 C-order NPY files, read a few MB at a time. */
function npyMaxAbsDiff(fileA, fileB) {
  const open = (f) => {
    const fd = fs.openSync(f, 'r');
    const head = Buffer.alloc(12);
    fs.readSync(fd, head, 0, 12, 0);
    const major = head[6];
    const hlen = major === 1 ? head.readUInt16LE(8) : head.readUInt32LE(8);
    const start = (major === 1 ? 10 : 12) + hlen;
    const text = Buffer.alloc(hlen);
    fs.readSync(fd, text, 0, hlen, major === 1 ? 10 : 12);
    const size = /'<f8'/.test(text.toString('latin1')) ? 8 : 4;
    return { fd, start, size, count: (fs.fstatSync(fd).size - start) / size };
  };
  const a = open(fileA);
  const b = open(fileB);
  if (a.count !== b.count) return Infinity;
  const chunk = 1 << 20;
  const ba = Buffer.alloc(chunk * 8);
  const bb = Buffer.alloc(chunk * 8);
  let worst = 0;
  for (let i = 0; i < a.count; i += chunk) {
    const k = Math.min(chunk, a.count - i);
    fs.readSync(a.fd, ba, 0, k * a.size, a.start + i * a.size);
    fs.readSync(b.fd, bb, 0, k * b.size, b.start + i * b.size);
    const va = a.size === 4 ? new Float32Array(ba.buffer, 0, k) : new Float64Array(ba.buffer, 0, k);
    const vb = b.size === 4 ? new Float32Array(bb.buffer, 0, k) : new Float64Array(bb.buffer, 0, k);
    for (let j = 0; j < k; j++) worst = Math.max(worst, Math.abs(va[j] - vb[j]));
  }
  fs.closeSync(a.fd);
  fs.closeSync(b.fd);
  return worst;
}

/** Max |a - b| over the numeric cells of two CSV files with the same rows (read line by line). */
async function csvMaxAbsDiff(fileA, fileB) {
  const la = readline.createInterface({ input: fs.createReadStream(fileA), crlfDelay: Infinity })[Symbol.asyncIterator]();
  const lb = readline.createInterface({ input: fs.createReadStream(fileB), crlfDelay: Infinity })[Symbol.asyncIterator]();
  let worst = 0;
  let line = 0;
  for (;;) {
    const [x, y] = [await la.next(), await lb.next()];
    if (x.done || y.done) return x.done === y.done ? worst : Infinity;
    if (line++ === 0) continue;
    const ca = x.value.split(',');
    const cb = y.value.split(',');
    for (let i = 2; i < ca.length; i++) worst = Math.max(worst, Math.abs(Number(ca[i]) - Number(cb[i])));
  }
}

function ensureData() {
  const npy = path.join(data, 'big.npy');
  const csv = path.join(data, 'big.csv');
  if (fs.existsSync(npy) && fs.existsSync(csv)) return { npy, csv };
  // numpy from Debian's python3, or from the project's .venv.
  const numpyPython = hasPy('numpy') ? python : hasVenv('numpy') ? venvPython : undefined;
  if (fs.existsSync(path.join(shared, 'gen.py')) && numpyPython) {
    console.log(`generating ${data}/big.npy and big.csv with ../shared/bench/gen.py ...`);
    const r = spawnSync(numpyPython, [path.join(shared, 'gen.py'), data], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('gen.py failed');
  } else {
    console.log('note: ../shared/bench/gen.py or numpy missing: generating big.npy with Node (CSV section skipped)');
    const N = 128,
      C = 16,
      L = 65536;
    const header = Buffer.from("{'descr': '<f4', 'fortran_order': False, 'shape': (128, 16, 65536), }");
    const pad = 64 - ((10 + header.length + 1) % 64);
    const h = Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]), Buffer.alloc(2), header, Buffer.alloc(pad, 0x20), Buffer.from('\n')]);
    h.writeUInt16LE(h.length - 10, 8);
    const fd = fs.openSync(npy, 'w');
    fs.writeSync(fd, h);
    let s = 7;
    const rand = () => {
      s = (s * 1103515245 + 12345) >>> 0;
      return s / 2 ** 32;
    };
    const series = new Float32Array(L);
    for (let q = 0; q < N * C; q++) {
      for (let i = 0; i < L; i++) series[i] = Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand()) * 3 + 10;
      fs.writeSync(fd, new Uint8Array(series.buffer));
    }
    fs.closeSync(fd);
  }
  return { npy, csv: fs.existsSync(csv) ? csv : null };
}

const results = {
  date: new Date().toISOString(),
  machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: nodes[0].version, nodes: nodes.map((n) => n.version) },
  npy: {},
  csv: {},
  arrow: {},
  startup: {},
};
const files = ensureData();
const o0 = (name) => path.join(out, name);
console.log(`machine: ${results.machine.cpu}, ${results.machine.cores} cores; median of ${repeat} runs`);
console.log(`tsnorm runs on node ${nodes.map((n) => n.version).join(', then on node ')}${nodes.length > 1 ? ' (the ratios are to the first)' : ''}`);
if (!gnuTime) console.log('note: /usr/bin/time (GNU time) not found: peak RSS not measured (apt-get install -y time)');

if (!only || only === 'npy') {
  console.log(`\nNPY: ${files.npy} (${(fs.statSync(files.npy).size / 2 ** 20).toFixed(0)} MiB, 128 x 16 x 65536 float32)`);
  spawnSync('cat', [files.npy], { stdio: ['ignore', 'ignore', 'ignore'] }); // warm the page cache
  const o = (name) => path.join(out, name);
  const rows = {};
  rows.cp = measure('cp', ['cp', files.npy, o('cp.npy')], { outputs: [o('cp.npy')] });
  rows.tsnorm = tsnormJob('tsnorm normalize', ['normalize', files.npy, '-o', o('tsnorm.npy')], { outputs: [o('tsnorm.npy')] });
  runOnce([...tsnorm, 'fit', files.npy, '--save-stats', o('stats.json')]);
  rows.apply = tsnormJob('tsnorm apply (eval)', ['apply', files.npy, '-o', o('apply.npy'), '--stats', o('stats.json')], { outputs: [o('apply.npy')] });
  if (hasPy('torch'))
    rows.torch = measure('torch (torch_norm.py)', [python, path.join(shared, 'torch_norm.py'), files.npy, o('torch.npy')], { outputs: [o('torch.npy')] });
  else console.log('  torch: skipped (python3-torch not installed)');
  if (hasPy('numpy') && fs.existsSync(path.join(shared, 'numpy_norm.py')))
    rows.numpy = measure('numpy (numpy_norm.py)', [python, path.join(shared, 'numpy_norm.py'), files.npy, o('numpy.npy')], { outputs: [o('numpy.npy')] });
  else console.log('  numpy: skipped (numpy or ../shared/bench missing)');
  const t = rows.tsnorm;
  console.log('\n  ratios (tsnorm normalize):');
  if (rows.torch)
    console.log(`    vs torch  ${(t.wall / rows.torch.wall).toFixed(2)} x wall   target <= 0.5  ${t.wall / rows.torch.wall <= 0.5 ? 'met' : 'NOT met'}`);
  if (rows.numpy) console.log(`    vs numpy  ${(t.wall / rows.numpy.wall).toFixed(2)} x wall`);
  console.log(`    vs cp     ${(t.wall / rows.cp.wall).toFixed(2)} x wall   target <= 2    ${t.wall / rows.cp.wall <= 2 ? 'met' : 'NOT met'}`);
  if (t.rss !== null) console.log(`    peak RSS  ${t.rss.toFixed(0)} MB        target < 150   ${t.rss < 150 ? 'met' : 'NOT met'}`);
  if (rows.numpy) {
    const d = npyMaxAbsDiff(o('tsnorm.npy'), o('numpy.npy'));
    console.log(`    max |tsnorm - numpy| = ${d.toExponential(2)} (both float32 output of float64 statistics)`);
    results.npy.maxAbsDiffNumpy = d;
  }
  results.npy.rows = rows;
}

if ((!only || only === 'csv') && files.csv) {
  console.log(`\nCSV: ${files.csv} (${(fs.statSync(files.csv).size / 1e6).toFixed(0)} MB, 1,048,576 rows, id,t + 8 channels)`);
  const o = (name) => path.join(out, name);
  const rows = {};
  rows.tsnorm = tsnormJob('tsnorm normalize --id id --keep t', ['normalize', files.csv, '-o', o('tsnorm.csv'), '--id', 'id', '--keep', 't'], {
    outputs: [o('tsnorm.csv')],
  });
  runOnce([...tsnorm, 'fit', files.csv, '--save-stats', o('csv-stats.json'), '--id', 'id', '--keep', 't']);
  rows.apply = tsnormJob('tsnorm apply (eval)', ['apply', files.csv, '-o', o('apply.csv'), '--stats', o('csv-stats.json'), '--id', 'id', '--keep', 't'], {
    outputs: [o('apply.csv')],
  });
  if (hasPy('pandas'))
    rows.pandas = measure('pandas (pandas_norm.py)', [python, path.join(shared, 'pandas_norm.py'), files.csv, o('pandas.csv')], { outputs: [o('pandas.csv')] });
  else console.log('  pandas: skipped (python3-pandas not installed)');
  if (hasVenv('polars'))
    rows.polars = measure('polars (polars_norm.py)', [venvPython, path.join(shared, 'polars_norm.py'), files.csv, o('polars.csv')], {
      outputs: [o('polars.csv')],
    });
  else console.log('  polars: skipped (no venv with polars: npm run venv)');
  if (hasVenv('duckdb'))
    rows.duckdb = measure('DuckDB (duckdb_norm.py)', [venvPython, path.join(shared, 'duckdb_norm.py'), files.csv, o('duckdb.csv')], {
      outputs: [o('duckdb.csv')],
    });
  else console.log('  DuckDB: skipped (no venv with duckdb: .venv/bin/pip install duckdb)');
  if (args.includes('--miller') && spawnSync('mlr', ['--version']).status === 0) {
    rows.miller = measure('Miller (mlr_norm.mlr), 1 run', ['mlr', '--icsv', '--ocsv', 'put', '-q', '-f', path.join(shared, 'mlr_norm.mlr'), files.csv], {
      stdoutFile: o('mlr.csv'),
      times: 1,
    });
  } else console.log('  Miller: skipped (pass --miller; it takes ~90 s and ~11 GB)');
  const t = rows.tsnorm;
  const mrows = 1048576 / 1e6;
  console.log('\n  ratios (tsnorm normalize):');
  if (rows.pandas)
    console.log(`    vs pandas ${(t.wall / rows.pandas.wall).toFixed(2)} x wall   target <= 0.33 ${t.wall / rows.pandas.wall <= 1 / 3 ? 'met' : 'NOT met'}`);
  if (rows.miller) console.log(`    vs Miller ${(t.wall / rows.miller.wall).toFixed(3)} x wall`);
  if (rows.polars) console.log(`    vs polars ${(t.wall / rows.polars.wall).toFixed(2)} x wall`);
  if (rows.duckdb) console.log(`    vs DuckDB ${(t.wall / rows.duckdb.wall).toFixed(2)} x wall`);
  const peers = [rows.polars, rows.duckdb].filter(Boolean);
  if (peers.length > 0) {
    const best = Math.min(...peers.map((p) => p.wall));
    const r = t.wall / best;
    console.log(
      `    vs the faster of polars and DuckDB ${r.toFixed(2)} x   target <= 1 (aim 0.7)  ${r <= 1 ? 'met' : 'NOT met'}${r <= 0.7 ? ', aim met' : ''}`,
    );
  }
  if (t.rss !== null) console.log(`    peak RSS  ${t.rss.toFixed(0)} MB        target <= 150  ${t.rss <= 150 ? 'met' : 'NOT met'}`);
  const applyRate = mrows / rows.apply.wall;
  console.log(
    `    throughput: normalize ${(mrows / t.wall).toFixed(2)} M rows/s, apply (eval) ${applyRate.toFixed(2)} M rows/s   apply target >= 1.5  ${applyRate >= 1.5 ? 'met' : 'NOT met'}`,
  );
  if (rows.pandas) {
    const d = await csvMaxAbsDiff(o('tsnorm.csv'), o('pandas.csv'));
    console.log(`    max |tsnorm - pandas| = ${d.toExponential(2)} (target 1e-9)`);
    results.csv.maxAbsDiffPandas = d;
  }
  results.csv.rows = rows;
}

if ((!only || only === 'arrow') && files.csv) {
  // The same table as big.csv, as an Arrow file (pyarrow: id utf8, t int64, 8 float64 channels).
  const arrow = path.join(data, 'big.arrow');
  if (!fs.existsSync(arrow)) {
    if (hasVenv('pyarrow')) {
      spawnSync(
        venvPython,
        [
          '-c',
          `import pyarrow.csv as c, pyarrow.feather as f; f.write_feather(c.read_csv(${JSON.stringify(files.csv)}), ${JSON.stringify(arrow)}, compression='uncompressed')`,
        ],
        { stdio: 'inherit' },
      );
    } else {
      console.log('  (no venv with pyarrow: big.arrow made by tsnorm convert)');
      runOnce([...tsnorm, 'convert', files.csv, '-o', arrow, '--id', 'id', '--keep', 't']);
    }
  }
  console.log(`\nArrow: ${arrow} (${(fs.statSync(arrow).size / 1e6).toFixed(0)} MB, the table of big.csv)`);
  const o = (name) => path.join(out, name);
  const rows = {};
  rows.tsnorm = tsnormJob('tsnorm normalize --id id --keep t', ['normalize', arrow, '-o', o('tsnorm.arrow'), '--id', 'id', '--keep', 't'], {
    outputs: [o('tsnorm.arrow')],
  });
  if (hasVenv('polars'))
    rows.polars = measure('polars (polars_norm.py)', [venvPython, path.join(shared, 'polars_norm.py'), arrow, o('polars.arrow')], {
      outputs: [o('polars.arrow')],
    });
  else console.log('  polars: skipped (no venv with polars: npm run venv)');
  const t = rows.tsnorm;
  console.log('\n  ratios (tsnorm normalize):');
  if (rows.polars)
    console.log(`    vs polars ${(t.wall / rows.polars.wall).toFixed(2)} x wall   target <= 0.5  ${t.wall / rows.polars.wall <= 0.5 ? 'met' : 'NOT met'}`);
  if (t.rss !== null) console.log(`    peak RSS  ${t.rss.toFixed(0)} MB        target < 150   ${t.rss < 150 ? 'met' : 'NOT met'}`);
  if (rows.polars) {
    const A = await import('apache-arrow');
    const read = (f) => A.tableFromIPC(fs.readFileSync(f));
    const [a, b] = [read(o('tsnorm.arrow')), read(o('polars.arrow'))];
    let worst = 0;
    for (const c of a.schema.fields.map((f) => f.name).filter((n) => n !== 'id' && n !== 't')) {
      const x = a.getChild(c).toArray();
      const y = b.getChild(c).toArray();
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
    }
    console.log(`    max |tsnorm - polars| = ${worst.toExponential(2)}`);
    results.arrow.maxAbsDiffPolars = worst;
  }
  // A writer that flushes every row: 100,000 one-row record batches of the same table.
  const tiny = path.join(data, 'tiny-batches.arrow');
  if (!fs.existsSync(tiny) && hasVenv('pyarrow')) {
    spawnSync(
      venvPython,
      [
        '-c',
        `import pyarrow as pa, pyarrow.feather as f\nt = f.read_table(${JSON.stringify(arrow)}).slice(0, 100000)\nwith pa.OSFile(${JSON.stringify(tiny)}, 'wb') as o:\n  w = pa.ipc.new_file(o, t.schema)\n  for b in t.to_batches(max_chunksize=1): w.write_batch(b)\n  w.close()`,
      ],
      { stdio: 'inherit' },
    );
  }
  if (fs.existsSync(tiny)) {
    rows.tiny = tsnormJob('tsnorm, 100,000 one-row batches', ['normalize', tiny, '-o', o('tiny.arrow'), '--id', 'id', '--keep', 't'], {
      outputs: [o('tiny.arrow')],
    });
    console.log(`    100,000 one-row batches: ${rows.tiny.wall.toFixed(2)} s   target <= 1 s  ${rows.tiny.wall <= 1 ? 'met' : 'NOT met'}`);
  }
  results.arrow.rows = rows;
}

if ((!only || only === 'parquet') && files.csv) {
  // The same table as big.csv as one zstd Parquet file (pyarrow's defaults: one row group).
  const parquet = path.join(data, 'big.parquet');
  if (!fs.existsSync(parquet) && hasVenv('pyarrow')) {
    spawnSync(
      venvPython,
      [
        '-c',
        `import pyarrow.csv as c, pyarrow.parquet as p; p.write_table(c.read_csv(${JSON.stringify(files.csv)}), ${JSON.stringify(parquet)}, compression='zstd')`,
      ],
      { stdio: 'inherit' },
    );
  }
  if (fs.existsSync(parquet)) {
    console.log(`\nParquet: ${parquet} (${(fs.statSync(parquet).size / 1e6).toFixed(0)} MB zstd, the table of big.csv)`);
    const o = (name) => path.join(out, name);
    const rows = {};
    rows.tsnorm = tsnormJob('tsnorm normalize --id id --keep t', ['normalize', parquet, '-o', o('tsnorm.parquet'), '--id', 'id', '--keep', 't'], {
      outputs: [o('tsnorm.parquet')],
    });
    if (hasVenv('polars'))
      rows.polars = measure('polars (polars_norm.py)', [venvPython, path.join(shared, 'polars_norm.py'), parquet, o('polars.parquet')], {
        outputs: [o('polars.parquet')],
      });
    if (hasVenv('duckdb'))
      rows.duckdb = measure('DuckDB (duckdb_norm.py)', [venvPython, path.join(shared, 'duckdb_norm.py'), parquet, o('duckdb.parquet')], {
        outputs: [o('duckdb.parquet')],
      });
    const t = rows.tsnorm;
    const peers = [rows.polars, rows.duckdb].filter(Boolean);
    if (peers.length > 0) {
      const best = Math.min(...peers.map((r) => r.wall));
      console.log('\n  ratios (tsnorm normalize):');
      console.log(`    vs the faster of polars and DuckDB ${(t.wall / best).toFixed(2)} x wall   target <= 1 (aim 0.7)  ${t.wall <= best ? 'met' : 'NOT met'}`);
    }
    if (t.rss !== null) console.log(`    peak RSS  ${t.rss.toFixed(0)} MB        target <= 200  ${t.rss <= 200 ? 'met' : 'NOT met'}`);
    if (rows.polars && hasVenv('pyarrow')) {
      // The same numbers: the largest difference of a channel value from polars', by pyarrow.
      const r = spawnSync(
        venvPython,
        [
          '-c',
          `import pyarrow.parquet as p, numpy as n
a = p.read_table(${JSON.stringify(o('tsnorm.parquet'))}); b = p.read_table(${JSON.stringify(o('polars.parquet'))})
print(max(float(n.max(n.abs(a[c].to_numpy() - b[c].to_numpy()))) for c in a.column_names if c not in ('id', 't')))`,
        ],
        { encoding: 'utf8' },
      );
      console.log(`    max |tsnorm - polars| = ${Number(r.stdout).toExponential(2)}`);
    }
    results.parquet = { rows };
  } else console.log('\nParquet: skipped (no venv with pyarrow to write big.parquet: npm run venv)');
}

if (!only || only === 'startup') {
  console.log('\nStart-up');
  const rows = {};
  const times = Math.max(5, repeat);
  rows.node = perNode('node -e 0', (node) => [node.cmd[0], '-e', '0'], { times });
  rows.version = tsnormJob('tsnorm --version', ['--version'], { times });
  const tiny = path.join(root, 'fixtures/csv/long_quoted/input.csv');
  rows.tiny = tsnormJob('tsnorm on a 4 KB CSV', [tiny, '--id', 'device', '--keep', 'ts', '-o', o0('tiny.csv')], { outputs: [o0('tiny.csv')], times });
  const [v, j] = [rows.version.wall / rows.node.wall, rows.tiny.wall / rows.node.wall];
  console.log(`    --version ${v.toFixed(2)} x node -e 0; a tiny CSV job ${j.toFixed(2)} x   target <= 1.3  ${v <= 1.3 && j <= 1.3 ? 'met' : 'NOT met'}`);
  results.startup.rows = rows;
}

if (only === 'scaling' && files.csv) {
  console.log('\nScaling: the same rows at 10 MB, 100 MB and 1 GB (normalize --id id --keep t)');
  const base = fs.readFileSync(files.csv, 'latin1');
  const nl = base.indexOf('\n');
  const header = base.slice(0, nl + 1);
  const body = base.slice(nl + 1);
  const rowsIn = (text) => text.split('\n').length - 1;
  const sizes = [];
  // 10 MB: the first tenth of the rows (whole instances: 16384 rows each, 64 ids).
  const lines = body.split('\n');
  const small = path.join(data, 'scale-10mb.csv');
  if (!fs.existsSync(small)) fs.writeFileSync(small, header + lines.slice(0, 16384 * 6).join('\n') + '\n');
  sizes.push({ label: '10 MB', file: small, rows: 16384 * 6 });
  sizes.push({ label: '100 MB', file: files.csv, rows: rowsIn(body) });
  // 1 GB: ten copies of the rows, each under ids of its own (so instances stay whole).
  const large = path.join(data, 'scale-1gb.csv');
  if (!fs.existsSync(large)) {
    const fd = fs.openSync(large, 'w');
    fs.writeSync(fd, header);
    for (let k = 0; k < 10; k++) fs.writeSync(fd, body.replace(/^([^,\n]+),/gm, `r${k}_$1,`));
    fs.closeSync(fd);
  }
  sizes.push({ label: '1 GB', file: large, rows: rowsIn(body) * 10 });
  const o = (name) => path.join(out, name);
  for (const sz of sizes) {
    const m = measure(`tsnorm normalize, ${sz.label}`, [...tsnorm, 'normalize', sz.file, '-o', o('scale.csv'), '--id', 'id', '--keep', 't', '-q'], {
      outputs: [o('scale.csv')],
      times: sz.label === '1 GB' ? 1 : repeat,
    });
    sz.wall = m.wall;
    sz.rss = m.rss;
    sz.bytes = fs.statSync(sz.file).size;
    sz.rowsPerSecond = sz.rows / m.wall;
  }
  const mid = sizes[1].rowsPerSecond;
  console.log('\n  | input | rows | wall | M rows/s | vs 100 MB | peak RSS |');
  console.log('  | --- | --- | --- | --- | --- | --- |');
  for (const sz of sizes)
    console.log(
      `  | ${sz.label} | ${sz.rows.toLocaleString('en')} | ${sz.wall.toFixed(2)} s | ${(sz.rowsPerSecond / 1e6).toFixed(3)} | ${(sz.rowsPerSecond / mid).toFixed(2)} | ${sz.rss === null ? '-' : `${sz.rss.toFixed(0)} MB`} |`,
    );
  const spread = Math.max(...sizes.map((x) => x.rowsPerSecond)) / Math.min(...sizes.map((x) => x.rowsPerSecond));
  console.log(`  rows/s within ${((spread - 1) * 100).toFixed(0)}% of each other   target <= 20%   ${spread <= 1.2 ? 'met' : 'NOT met'}`);
  results.scaling = sizes.map(({ label, rows, bytes, wall, rss, rowsPerSecond }) => ({ label, rows, bytes, wall, rss, rowsPerSecond }));
  fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench/results/scaling.svg'), scalingSvg(sizes));
  fs.writeFileSync(
    path.join(root, 'bench/results/scaling.json'),
    `${JSON.stringify({ date: results.date, machine: results.machine, sizes: results.scaling }, null, 2)}\n`,
  );
  console.log('  plot: bench/results/scaling.svg, figures: bench/results/scaling.json');
}

/** The rows/s of each size as a small SVG line chart (x: input size, log scale). */
function scalingSvg(sizes) {
  const W = 560,
    H = 300,
    L = 70,
    R = 20,
    T = 40,
    B = 50;
  const xs = sizes.map((s) => Math.log10(s.bytes));
  const x0 = Math.min(...xs) - 0.15,
    x1 = Math.max(...xs) + 0.15;
  const yMax = (Math.max(...sizes.map((s) => s.rowsPerSecond)) * 1.25) / 1e6;
  const px = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const py = (y) => T + (1 - y / yMax) * (H - T - B);
  const pts = sizes.map((s, i) => [px(xs[i]), py(s.rowsPerSecond / 1e6)]);
  const ticks = Array.from({ length: 5 }, (_, i) => (yMax * i) / 4);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">tsnorm normalize (CSV, --id): rows per second by input size</text>
${ticks.map((t) => `<line x1="${L}" x2="${W - R}" y1="${py(t).toFixed(1)}" y2="${py(t).toFixed(1)}" stroke="#ddd"/><text x="${L - 8}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end">${t.toFixed(2)}</text>`).join('\n')}
<text x="18" y="${(T + (H - T - B) / 2).toFixed(1)}" transform="rotate(-90 18 ${(T + (H - T - B) / 2).toFixed(1)})" text-anchor="middle">M rows/s</text>
<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>
${sizes.map((s, i) => `<circle cx="${pts[i][0].toFixed(1)}" cy="${pts[i][1].toFixed(1)}" r="4" fill="#1f77b4"/><text x="${pts[i][0].toFixed(1)}" y="${H - B + 18}" text-anchor="middle">${s.label}</text><text x="${pts[i][0].toFixed(1)}" y="${(pts[i][1] - 10).toFixed(1)}" text-anchor="middle">${(s.rowsPerSecond / 1e6).toFixed(2)}</text>`).join('\n')}
<text x="${W / 2}" y="${H - 10}" text-anchor="middle">input size (log scale)</text>
</svg>
`;
}

fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
fs.writeFileSync(path.join(root, 'bench/results/latest.json'), JSON.stringify(results, null, 2) + '\n');
if (!args.includes('--keep')) fs.rmSync(out, { recursive: true, force: true });
console.log('\nresults: bench/results/latest.json');
