// `tsnorm check` as a CI job uses it: each problem at the place of the value that shows it, in
// every format and every report; no silent pass of a file that holds several instances; a report
// that is always written and always valid (JUnit against an XML schema with libxml2, JSON against
// the committed JSON Schema, GitHub workflow commands against the runner's escaping rules).
import fs from 'node:fs';
import path from 'node:path';
import * as A from 'apache-arrow';
import { Ajv } from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { validateXML } from 'xmllint-wasm';
import { ROOT, tempDir, tsnorm } from '../helpers/cli.js';
import { handMadeNpy, headerDict } from '../helpers/hand-made-npy.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const at = (name: string): string => path.join(tmp.dir, name);

const JUNIT_XSD = fs.readFileSync(path.join(ROOT, 'test/schemas/junit.xsd'), 'utf8');
const validateJson = new Ajv({ allErrors: true }).compile(JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/check-report.schema.json'), 'utf8')));

/** Errors libxml2 finds in the document: not well-formed, or not the JUnit XML CI systems read. */
async function junitErrors(xml: string): Promise<string[]> {
  const r = await validateXML({ xml: [{ fileName: 'check.xml', contents: xml }], schema: [{ fileName: 'junit.xsd', contents: JUNIT_XSD }] });
  return r.errors.map((e) => e.message);
}

function jsonErrors(report: unknown): string[] {
  return validateJson(report) ? [] : (validateJson.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/**
 * Whether a line is a workflow command as the runner parses it (`::name key=value,...::message`),
 * with its properties and message escaped as it unescapes them (`%25`, `%0D`, `%0A`, and in
 * properties `%3A`, `%2C`), or a plain line that no runner takes for a command.
 */
function githubLineErrors(line: string): string[] {
  if (!line.startsWith('::')) return /^\s*::/.test(line) || /[\r\n]/.test(line) ? [`a plain line the runner may take for a command: ${line}`] : [];
  const m = /^::([a-z-]+)( [^:]*)?::(.*)$/.exec(line);
  if (!m) return [`not a workflow command: ${line}`];
  const errors: string[] = [];
  for (const prop of (m[2] ?? '')
    .trim()
    .split(',')
    .filter((p) => p !== '')) {
    const [key, value] = prop.split(/=(.*)/s);
    if (!/^[a-z]+$/.test(key!) || value === undefined) errors.push(`bad property '${prop}'`);
    else if (/%(?!25|0D|0A|3A|2C)|[\r\n:,]/.test(value)) errors.push(`property ${key} not escaped: ${value}`);
  }
  if (/%(?!25|0D|0A)|[\r\n]/.test(m[3]!)) errors.push(`message not escaped: ${m[3]}`);
  return errors;
}

/** The runner's unescaping of a message. */
const githubMessage = (s: string): string => s.replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%');

// ---------------------------------------------------------------------------------------------
// Data: three instances (ids u, v, w) of three channels (a, b, c), six steps each. Each healthy
// series is -1, 1, -1, 1, -1, 1 (mean 0, std 1), as the reference says. Instance u: channel c
// misses step 2. Instance v: channel b is flat at 5. Instance w: channel c is shifted by 10 (a
// mean drift of 10 running stds); channel a is 50 times wider (a spread drift).
const IDS = ['u', 'v', 'w'];
const NAMES = ['a', 'b', 'c'];
const L = 6;
function value(n: number, c: number, t: number): number {
  const base = t % 2 === 0 ? -1 : 1;
  if (n === 0 && c === 2 && t === 2) return NaN;
  if (n === 1 && c === 1) return 5;
  if (n === 2 && c === 2) return base + 10;
  if (n === 2 && c === 0) return base * 50;
  return base;
}
const reference = at('reference.json');
fs.writeFileSync(reference, JSON.stringify({ running_mean: [0, 0, 0], running_var: [1, 1, 1], channels: NAMES }));

const csv = at('sensors.csv');
fs.writeFileSync(
  csv,
  [
    'id,a,b,c',
    ...IDS.flatMap((id, n) =>
      Array.from({ length: L }, (_, t) => [id, ...NAMES.map((_c, c) => (Number.isNaN(value(n, c, t)) ? '' : String(value(n, c, t))))].join(',')),
    ),
  ].join('\n') + '\n',
);

const arrow = at('sensors.arrow');
fs.writeFileSync(
  arrow,
  A.tableToIPC(
    new A.Table({
      id: A.vectorFromArray(
        IDS.flatMap((id) => Array<string>(L).fill(id)),
        new A.Utf8(),
      ),
      ...Object.fromEntries(
        NAMES.map((name, c) => [
          name,
          A.vectorFromArray(
            IDS.flatMap((_id, n) => Array.from({ length: L }, (_, t) => value(n, c, t))),
            new A.Float64(),
          ),
        ]),
      ),
    }),
    'file',
  ),
);

const npyData = new Float64Array(3 * 3 * L);
for (let n = 0; n < 3; n++) for (let c = 0; c < 3; c++) for (let t = 0; t < L; t++) npyData[(n * 3 + c) * L + t] = value(n, c, t);
const npyBytes = handMadeNpy(headerDict(`(3, 3, ${L})`, '<f8'), { data: new Uint8Array(npyData.buffer) });
const npy = at('sensors.npy');
fs.writeFileSync(npy, npyBytes);
/** Where value (n, c, t) is in the NPY file: after the header, C order, 8 bytes each. */
const npyByte = (n: number, c: number, t: number): number => npyBytes.length - npyData.byteLength + ((n * 3 + c) * L + t) * 8;

/** What every format must report, with the place each format gives (CSV line from 1 under a header; Arrow row from 0). */
const EXPECTED = [
  { kind: 'missing', n: 0, channel: 'c', t: 2, count: 1 },
  { kind: 'constant', n: 1, channel: 'b', t: 0, value: 5 },
  { kind: 'drift-mean', n: 2, channel: 'c', t: 0, value: 10, reference: 0, score: 10, limit: 6 },
  { kind: 'drift-std', n: 2, channel: 'a', t: 0, value: 50, reference: 1, score: 50, limit: 10 },
] as const;

const FORMATS = [
  { name: 'CSV', file: csv, args: ['--id', 'id'], id: true, place: (n: number, c: string, t: number) => ({ line: 2 + n * L + t, column: c }) },
  { name: 'Arrow', file: arrow, args: ['--id', 'id'], id: true, place: (n: number, c: string, t: number) => ({ row: n * L + t, column: c }) },
  // NPY has no names: the stats file's name its channels.
  { name: 'NPY', file: npy, args: [], id: false, place: (n: number, c: string, t: number) => ({ byte: npyByte(n, NAMES.indexOf(c), t) }) },
];

function check(args: string[]) {
  const r = tsnorm(['check', ...args, '--stats', reference]);
  return { ...r, out: r.stdout.toString() };
}

describe('every location is right', () => {
  it('the flat channel of the repro is named with its own column', () => {
    const f = at('repro.csv');
    fs.writeFileSync(f, 'id,a,b\nx,1,5\nx,2,5\nx,3,5\n');
    const s = at('repro.json');
    fs.writeFileSync(s, '{"running_mean":[2,5],"running_var":[1,1]}');
    const r = tsnorm(['check', f, '--stats', s, '--id', 'id']);
    expect(r.status).toBe(1);
    expect(r.stdout.toString()).toBe(
      `${f}, instance 0 (id 'x', from line 2), channel 'b', line 2, column 'b': flat: every value is 5 (a stuck sensor? --allow-constant to accept)\n1 problem in 1 instance: 1 flat channels\n`,
    );
  });

  for (const format of FORMATS) {
    it(`${format.name}: each kind of problem at the value that shows it, in every report`, async () => {
      const json = check([format.file, ...format.args, '--format', 'json']);
      expect(json.status).toBe(1);
      const report = JSON.parse(json.out);
      expect(jsonErrors(report)).toEqual([]);
      expect(report.problems).toHaveLength(EXPECTED.length);
      for (const want of EXPECTED) {
        const got = report.problems.find((p: { kind: string }) => p.kind === want.kind);
        const place = format.place(want.n, want.channel, want.t);
        expect(got, want.kind).toEqual({
          kind: want.kind,
          file: format.file,
          instance: { index: want.n, id: format.id ? IDS[want.n] : null },
          channel: want.channel,
          column: null,
          line: null,
          row: null,
          byte: null,
          element: null,
          ...place,
          value: 'value' in want ? want.value : null,
          reference: 'reference' in want ? want.reference : null,
          score: 'score' in want ? want.score : null,
          limit: 'limit' in want ? want.limit : null,
          count: 'count' in want ? want.count : null,
          message: got.message,
        });
      }
      // The other reports name the same places.
      const placeText = (want: (typeof EXPECTED)[number]): string => {
        const p = format.place(want.n, want.channel, want.t) as { line?: number; row?: number; byte?: number; column?: string };
        return [
          p.line !== undefined ? `line ${p.line}` : undefined,
          p.row !== undefined ? `row ${p.row}` : undefined,
          p.byte !== undefined ? `byte ${p.byte}` : undefined,
          p.column !== undefined ? `column '${p.column}'` : undefined,
        ]
          .filter(Boolean)
          .join(', ');
      };
      const text = check([format.file, ...format.args]).out.split('\n');
      const junit = check([format.file, ...format.args, '--format', 'junit']).out;
      expect(await junitErrors(junit)).toEqual([]);
      const github = check([format.file, ...format.args, '--format', 'github'])
        .out.trimEnd()
        .split('\n');
      for (const line of github) expect(githubLineErrors(line)).toEqual([]);
      for (const want of EXPECTED) {
        const where = `channel '${want.channel}', ${placeText(want)}: `;
        expect(
          text.filter((l) => l.includes(where)),
          want.kind,
        ).toHaveLength(1);
        expect(junit.split(where.slice(0, -2).replace(/'/g, '&apos;')).length - 1, want.kind).toBe(2); // the case's name and its text
        const annotation = github.filter((l) => githubMessage(l).includes(where));
        expect(annotation, want.kind).toHaveLength(1);
        if (format.name === 'CSV') expect(annotation[0]).toContain(`,line=${2 + want.n * L + want.t},`);
      }
    });
  }

  it('Arrow list layout: the row of the instance and the element in its list', () => {
    const lists = at('lists.arrow');
    fs.writeFileSync(
      lists,
      A.tableToIPC(
        new A.Table({
          id: A.vectorFromArray(IDS, new A.Utf8()),
          ...Object.fromEntries(
            NAMES.map((name, c) => [
              name,
              A.vectorFromArray(
                IDS.map((_id, n) => Array.from({ length: L }, (_, t) => value(n, c, t))),
                new A.List(new A.Field('item', new A.Float64(), true)),
              ),
            ]),
          ),
        }),
        'file',
      ),
    );
    const report = JSON.parse(check([lists, '--layout', 'list', '--id', 'id', '--format', 'json']).out);
    expect(report.problems.map((p: Record<string, unknown>) => [p.kind, p.row, p.column, p.element])).toEqual([
      ['missing', 0, 'c', 2],
      ['constant', 1, 'b', 0],
      ['drift-std', 2, 'a', 0],
      ['drift-mean', 2, 'c', 0],
    ]);
  });

  it('a too short instance is placed where it begins', () => {
    const report = JSON.parse(check([csv, '--id', 'id', '--min-length', '7', '--format', 'json']).out);
    const short = report.problems.filter((p: { kind: string }) => p.kind === 'length');
    expect(short.map((p: Record<string, unknown>) => [p.instance, p.line, p.column, p.count, p.limit])).toEqual(
      IDS.map((id, n) => [{ index: n, id }, 2 + n * L, null, L, 7]),
    );
  });

  it('a schema problem names each channel that differs', () => {
    const other = at('other-channels.csv');
    fs.writeFileSync(other, 'id,a,b,d\nx,1,2,3\nx,2,3,4\n');
    const report = JSON.parse(check([other, '--id', 'id', '--format', 'json']).out);
    expect(report.problems.map((p: Record<string, unknown>) => [p.kind, p.channel, p.message])).toEqual([
      ['schema', 'c', "no channel 'c', which the stats file has"],
      ['schema', 'd', "channel 'd' is not in the stats file"],
    ]);
  });
});

describe('no silent pass without --id', () => {
  // 20 devices, 30 rows each: the whole file as one instance blurs them.
  const devices = at('devices.csv');
  const rows = ['device,x,y'];
  for (let d = 0; d < 20; d++) for (let t = 0; t < 30; t++) rows.push(`dev${d},${(t % 2 ? 1 : -1) + d * 0.01},${t % 3}`);
  fs.writeFileSync(devices, rows.join('\n') + '\n');
  const stats = at('devices.json');
  fs.writeFileSync(stats, JSON.stringify({ running_mean: [0, 1], running_var: [1, 1], channels: ['x', 'y'] }));

  it('check reports a grouping problem, at the row where the column first changes', () => {
    const r = tsnorm(['check', devices, '--stats', stats, '--format', 'json']);
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout.toString());
    expect(jsonErrors(report)).toEqual([]);
    expect(report.counts.grouping).toBe(1);
    expect(report.problems[0]).toMatchObject({ kind: 'grouping', instance: null, column: 'device', line: 32, count: 19 });
    expect(report.problems[0].message).toBe(
      "one instance, but column 'device' changes value 19 times, so its rows look like several instances: --id device? (--one-instance if the file is one instance)",
    );
  });

  it('not with --id, nor with --one-instance', () => {
    expect(tsnorm(['check', devices, '--stats', stats, '--id', 'device']).stdout.toString()).toBe('ok: 20 instances in 1 file, no problem\n');
    expect(tsnorm(['check', devices, '--stats', stats, '--one-instance']).stdout.toString()).toBe('ok: 1 instance in 1 file, no problem\n');
  });

  it('a step or time column that changes at every row is not a grouping', () => {
    const steps = at('steps.csv');
    fs.writeFileSync(steps, ['t,x', ...Array.from({ length: 40 }, (_, t) => `${t},${t % 2 ? 1 : -1}`)].join('\n') + '\n');
    const s = at('steps.json');
    fs.writeFileSync(s, JSON.stringify({ running_mean: [0], running_var: [1] }));
    expect(tsnorm(['check', steps, '--keep', 't', '--stats', s]).stdout.toString()).toBe('ok: 1 instance in 1 file, no problem\n');
  });

  it('time in runs (named like time, or dates and times as text) is not a grouping', () => {
    const s = at('time-runs.json');
    fs.writeFileSync(s, JSON.stringify({ running_mean: [0], running_var: [1] }));
    const stamps = at('stamps.csv');
    fs.writeFileSync(
      stamps,
      ['when,x', ...Array.from({ length: 60 }, (_, r) => `2024-01-01 00:00:${String(Math.floor(r / 10)).padStart(2, '0')},${r % 2 ? 1 : -1}`)].join('\n') +
        '\n',
    );
    const epoch = at('epoch.csv');
    fs.writeFileSync(epoch, ['epoch_s,x', ...Array.from({ length: 60 }, (_, r) => `${1700000000 + Math.floor(r / 4)},${r % 2 ? 1 : -1}`)].join('\n') + '\n');
    for (const [f, extra] of [
      [stamps, []],
      [epoch, ['--keep', 'epoch_s']],
    ] as const) {
      const r = tsnorm(['check', f, '--stats', s, ...extra]);
      expect(r.stdout.toString(), f).toBe('ok: 1 instance in 1 file, no problem\n');
      // No grouping note (only the one that the hand-written reference has no sketch).
      expect(r.stderr, f).not.toContain('changes value');
      expect(tsnorm(['normalize', f, ...extra, '-o', at('time-runs-out.csv')]).stderr, f).toBe('');
    }
  });

  it('an (N, C, 0) array is N instances too short', () => {
    const empty = at('no-steps.npy');
    fs.writeFileSync(empty, handMadeNpy(headerDict('(2, 3, 0)', '<f8')));
    const report = JSON.parse(check([empty, '--format', 'json']).out);
    expect(report.instances).toBe(2);
    expect(report.problems.map((p: Record<string, unknown>) => [p.kind, p.instance, p.count, p.limit])).toEqual([
      ['length', { index: 0, id: null }, 0, 2],
      ['length', { index: 1, id: null }, 0, 2],
    ]);
  });

  it('a column whose values come back (a status, a label) is not a grouping', () => {
    const labels = at('labels.csv');
    fs.writeFileSync(
      labels,
      ['status,x', ...Array.from({ length: 40 }, (_, t) => `${Math.floor(t / 4) % 2 ? 'moving' : 'idle'},${t % 2 ? 1 : -1}`)].join('\n') + '\n',
    );
    const s = at('labels.json');
    fs.writeFileSync(s, JSON.stringify({ running_mean: [0], running_var: [1] }));
    expect(tsnorm(['check', labels, '--stats', s, '-q']).stdout.toString()).toBe('ok: 1 instance in 1 file, no problem\n');
  });

  it('the other commands say it in a note', () => {
    const note = `tsnorm: note: ${devices}: one instance, but column 'device' changes value 19 times; --id device? (-q if the file is one instance)\n`;
    for (const args of [
      ['normalize', devices, '-o', at('n.csv')],
      ['fit', devices, '--save-stats', at('fit.json')],
      ['apply', devices, '--stats', stats, '-o', at('a.csv')],
      ['inspect', devices],
    ]) {
      const r = tsnorm(args);
      expect(r.status, args[0]).toBe(0);
      expect(r.stderr, args[0]).toBe(note);
      expect(tsnorm([...args, '-q']).stderr, args[0]).toBe('');
    }
  });
});

describe('a report is always written and always valid', () => {
  const missing = at('no-such.csv');
  const broken = at('broken.csv');
  fs.writeFileSync(broken, 'id,a,b,c\nu,1,2,3\nu,x,2,3\n');

  it('an unreadable input is a failing entry of every report; the other inputs are checked; exit 2', async () => {
    const inputs = [missing, csv, broken];
    // -q: no note that the hand-written reference has no sketch; errors are still said.
    const json = check([...inputs, '--id', 'id', '--format', 'json', '-q']);
    expect(json.status).toBe(2);
    expect(json.stderr).toBe(
      `tsnorm: ${missing}: no such file\ntsnorm: ${broken}: line 3, column 'a': 'x' is not a number (a channel column; pass it through with --keep, or choose --channels)\n`,
    );
    const report = JSON.parse(json.out);
    expect(jsonErrors(report)).toEqual([]);
    expect(report.files.map((f: Record<string, unknown>) => [f.file, f.ok, f.error === null, f.instances])).toEqual([
      [missing, false, false, 0],
      [csv, false, true, 3],
      [broken, false, false, 0],
    ]);
    expect(report.counts).toMatchObject({ unreadable: 2, missing: 1, constant: 1, 'drift-mean': 1, 'drift-std': 1 });
    const junit = check([...inputs, '--id', 'id', '--format', 'junit']);
    expect(junit.status).toBe(2);
    expect(await junitErrors(junit.out)).toEqual([]);
    expect(junit.out).toContain('<testsuites name="tsnorm check" tests="6" failures="4" errors="2">');
    expect(junit.out).toContain(
      `<testsuite name="${missing}" tests="1" failures="0" errors="1">\n    <testcase classname="tsnorm.check.unreadable" name="${missing}">\n      <error type="unreadable" message="no such file">`,
    );
    const github = check([...inputs, '--id', 'id', '--format', 'github']);
    expect(github.status).toBe(2);
    expect(github.out.split('\n')[0]).toBe(`::error file=${missing},title=tsnorm check%3A unreadable input::${missing}: no such file`);
    const text = check([...inputs, '--id', 'id']);
    expect(text.out.split('\n').at(-2)).toBe(
      '6 problems in 3 instances: 2 unreadable inputs, 1 missing or infinite values, 1 flat channels, 1 mean drift, 1 spread drift',
    );
  });

  it('a stats file that cannot be read fails the run with a report that says so', async () => {
    const r = tsnorm(['check', csv, '--id', 'id', '--stats', at('no-stats.json'), '--format', 'junit']);
    expect(r.status).toBe(2);
    expect(await junitErrors(r.stdout.toString())).toEqual([]);
    expect(r.stdout.toString()).toContain('<error type="unreadable"');
    expect(r.stderr).toMatch(/^tsnorm: .*no-stats\.json: .*\n$/);
  });

  it('several reports in one run, the text on stdout; a report never replaces an input or the stats', async () => {
    const xml = at('check.xml');
    const md = at('summary.md');
    const js = at('check.json');
    const r = check([csv, '--id', 'id', '--report', `junit=${xml}`, '--report', `markdown=${md}`, '--report', `json=${js}`]);
    expect(r.status).toBe(1);
    expect(r.out.split('\n').at(-2)).toBe('4 problems in 3 instances: 1 missing or infinite values, 1 flat channels, 1 mean drift, 1 spread drift');
    expect(await junitErrors(fs.readFileSync(xml, 'utf8'))).toEqual([]);
    expect(jsonErrors(JSON.parse(fs.readFileSync(js, 'utf8')))).toEqual([]);
    expect(check([csv, '--id', 'id', '--report', 'json=-']).stderr).toBe('tsnorm: --report json=-: stdout has the --format report; name a file\n');
    expect(check([csv, '--id', 'id', '--report', 'json=/dev/stdout']).stderr).toBe(
      "tsnorm: the --format report (stdout) and --report both write to stdout and '/dev/stdout' (the same file): the one would overwrite or mix with the other; give them different files\n",
    );
    const summary = fs.readFileSync(md, 'utf8');
    expect(summary).toContain('## tsnorm check: 4 problems\n');
    expect(summary).toContain(
      "| mean drift | instance 2 (id 'w', from line 14) | c | line 14, column 'c' | mean 10 is 10 running standard deviations from the running mean 0 (--max-z 6) |",
    );
    // Channel c without its missing value in instance u (-1, 1, 1, -1, 1): std 0.9798 (sqrt(0.96)).
    expect(summary).toContain('| c | 17 | 1 | 0 | 10 | 0.9798 to 1 |');
    const before = fs.readFileSync(csv);
    const clobber = check([csv, '--id', 'id', '--report', `junit=${csv}`]);
    expect(clobber.status).toBe(2);
    expect(clobber.stderr).toBe(`tsnorm: --report and INPUT name '${csv}': writing --report would destroy the input; choose another file\n`);
    expect(fs.readFileSync(csv)).toEqual(before);
    expect(check([csv, '--report', 'yaml=x.yaml']).stderr).toBe("tsnorm: --report: expected one of text, json, junit, github, markdown, html, got 'yaml'\n");
  });

  it('JUnit counts every problem, also those of a file past the listed ones', async () => {
    const gappy = (name: string, n: number): string => {
      const values = new Float64Array(n * 4).map((_, i) => (i % 4 === 0 ? NaN : i % 2));
      fs.writeFileSync(at(name), handMadeNpy(headerDict(`(${n}, 1, 4)`, '<f8'), { data: new Uint8Array(values.buffer) }));
      return at(name);
    };
    const s = at('gappy.json');
    fs.writeFileSync(s, JSON.stringify({ running_mean: [0.5], running_var: [0.25] }));
    const [many, few] = [gappy('many.npy', 150), gappy('few.npy', 10)];
    const xml = tsnorm(['check', many, few, '--stats', s, '--format', 'junit', '-q']).stdout.toString();
    expect(await junitErrors(xml)).toEqual([]);
    expect(xml).toContain('<testsuites name="tsnorm check" tests="102" failures="102" errors="0">');
    expect(xml).toContain(`<testsuite name="${many}" tests="101" failures="101" errors="0">`);
    expect(xml).toContain(
      `<testsuite name="${few}" tests="1" failures="1" errors="0">\n    <testcase classname="tsnorm.check" name="${few}: more problems"><failure type="more" message="10 more problems, not listed`,
    );
  });

  it('names with control characters, quotes and line breaks: JUnit stays XML, text and annotations stay one line each', async () => {
    const hostile = at('hostile\x1b[2J\nname&<".csv');
    fs.writeFileSync(hostile, 'id,"a\x1b[2J","b\nc",\x07\nu,1,5,1\nu,2,5,2\nu,3,5,3\n');
    const s = at('hostile.json');
    fs.writeFileSync(s, JSON.stringify({ running_mean: [2, 5, 2], running_var: [1, 1, 1] }));
    const run = (format: string) => tsnorm(['check', hostile, '--id', 'id', '--stats', s, '--format', format]);
    const junit = run('junit').stdout.toString();
    expect(await junitErrors(junit)).toEqual([]);
    expect(junit).toContain('\\x1b[2J');
    expect(junit).not.toMatch(/[\x00-\x08\x0b\x0c\x0e-\x1f]/);
    const text = run('text').stdout.toString();
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f]/);
    expect(text.trimEnd().split('\n')).toHaveLength(2);
    expect(text).toContain("channel 'b\\nc'");
    const github = run('github').stdout.toString().trimEnd().split('\n');
    expect(github).toHaveLength(2);
    for (const line of github) expect(githubLineErrors(line)).toEqual([]);
    const json = JSON.parse(run('json').stdout.toString());
    expect(jsonErrors(json)).toEqual([]);
    expect(json.problems[0].channel).toBe('b\nc');
  });
});

describe("the README's CI recipes, run as the CI job would", () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  /** A sample repository: training data fitted into models/reference.json, and incoming files, one drifting. */
  function sampleRepo(): string {
    const repo = at(`repo-${Math.random().toString(36).slice(2)}`);
    fs.mkdirSync(path.join(repo, 'data/incoming'), { recursive: true });
    fs.mkdirSync(path.join(repo, 'models'));
    const rows = (shift: number, devices: number) =>
      [
        'device,ts,ax,ay',
        ...Array.from({ length: devices * 50 }, (_, r) => {
          const t = r % 50;
          return `d${Math.floor(r / 50)},${1700000000000 + r},${(Math.sin(t) + shift).toFixed(4)},${Math.cos(t * 1.3).toFixed(4)}`;
        }),
      ].join('\n') + '\n';
    fs.writeFileSync(path.join(repo, 'train.csv'), rows(0, 40));
    fs.writeFileSync(path.join(repo, 'data/incoming/a.csv'), rows(0, 30));
    fs.writeFileSync(path.join(repo, 'data/incoming/b.csv'), rows(0.5, 30));
    expect(
      tsnorm(['fit', path.join(repo, 'train.csv'), '--id', 'device', '--keep', 'ts', '--save-stats', path.join(repo, 'models/reference.json')]).status,
    ).toBe(0);
    return repo;
  }
  /** A recipe's shell command, with `tsnorm` the CLI of this checkout. */
  const shell = (command: string) => command.replace(/^tsnorm /, `${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(ROOT, 'bin/tsnorm.js'))} `);

  it('GitHub Actions: annotations, the step summary, the HTML page and the JUnit file', async () => {
    const block = /```yaml\n(- name: Validate the incoming data[\s\S]*?)```/.exec(readme)![1]!;
    // The step's folded `run: >` block: its lines joined by spaces, as YAML folds them.
    const run = /run: >\n((?: {4}.*\n)+)/
      .exec(block)![1]!
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join(' ');
    expect(block).toContain('path: |\n      check.html\n      check.xml');
    const repo = sampleRepo();
    const summary = path.join(repo, 'step-summary.md');
    fs.writeFileSync(summary, '');
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync('bash', ['-c', shell(run)], { cwd: repo, env: { ...process.env, GITHUB_STEP_SUMMARY: summary }, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    for (const line of lines) expect(githubLineErrors(line)).toEqual([]);
    const annotations = lines.filter((l) => l.startsWith('::error '));
    expect(annotations.length).toBeGreaterThan(0);
    expect(annotations.every((a) => a.startsWith('::error file=data/incoming/b.csv,'))).toBe(true);
    expect(fs.readFileSync(summary, 'utf8')).toContain('### data/incoming/b.csv');
    expect(await junitErrors(fs.readFileSync(path.join(repo, 'check.xml'), 'utf8'))).toEqual([]);
    expect(fs.readFileSync(path.join(repo, 'check.html'), 'utf8')).toContain('<figure class="chart"');
  });

  it('GitLab CI: the JUnit report, also when an input is unreadable', async () => {
    const block = /```yaml\n(validate-data:[\s\S]*?)```/.exec(readme)![1]!;
    const script = /script:\n {4}- (.*)\n/.exec(block)![1]!.replace('data/incoming/*.npy', 'data/incoming/*.csv --id device --keep ts');
    expect(block).toContain('when: always');
    const repo = sampleRepo();
    fs.writeFileSync(path.join(repo, 'data/incoming/c.csv'), 'device,ts,ax\n');
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync('bash', ['-c', shell(script)], { cwd: repo, encoding: 'utf8' });
    expect(r.status).toBe(2);
    const xml = fs.readFileSync(path.join(repo, 'check.xml'), 'utf8');
    expect(await junitErrors(xml)).toEqual([]);
    expect(xml).toContain('<testsuite name="data/incoming/a.csv" tests="1" failures="0" errors="0">');
    expect(xml).toContain('<testsuite name="data/incoming/c.csv" tests="1" failures="0" errors="1">');
  });
});
