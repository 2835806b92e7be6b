/**
 * `tsnorm check`'s reports: text for a person, JSON for programs (its schema is
 * docs/check-report.schema.json), JUnit XML and GitHub workflow commands for CI systems, Markdown
 * for a CI job's summary page, HTML for a person (check-html.ts). Every report is well-formed
 * whatever the inputs' names and columns hold: control characters are written as escapes
 * (`\x1b`), as error messages write them.
 */
import { printable } from '../errors.js';
import { locationText } from '../formats/types.js';
import { type CheckReport, PROBLEM_KINDS, type Problem, type ProblemKind, plural, scoreText } from './check.js';
import { htmlReport } from './check-html.js';

export const REPORT_FORMATS = ['text', 'json', 'junit', 'github', 'markdown', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** The version of the JSON report's layout (docs/check-report.schema.json): raised when it changes. */
export const JSON_REPORT_VERSION = 1;

const KIND_NAMES: Record<ProblemKind, string> = {
  unreadable: 'unreadable inputs',
  schema: 'schema',
  grouping: 'grouping',
  missing: 'missing or infinite values',
  constant: 'flat channels',
  length: 'too short',
  'drift-mean': 'mean drift',
  'drift-std': 'spread drift',
  'drift-ks': 'distribution drift (KS)',
  'drift-psi': 'distribution drift (PSI)',
  'drift-wasserstein': 'distribution drift (Wasserstein)',
};

export function renderReport(format: ReportFormat, r: CheckReport): string {
  switch (format) {
    case 'text':
      return textReport(r);
    case 'json':
      return jsonReport(r);
    case 'junit':
      return junitReport(r);
    case 'github':
      return githubReport(r);
    case 'markdown':
      return markdownReport(r);
    case 'html':
      return htmlReport(r);
  }
}

const total = (r: CheckReport): number => Object.values(r.counts).reduce((a, b) => a + b, 0);

/** Where a problem is, as a person reads it: file, instance, channel, line or byte and column. */
function where(p: Problem): string {
  const at = p.at && locationText(p.at);
  return [p.file, p.instanceText, p.channel === undefined ? undefined : `channel '${p.channel}'`, at || undefined].filter((x) => x !== undefined).join(', ');
}

/** A problem as one printable line. */
const problemLine = (p: Problem): string => printable(`${where(p)}: ${p.message}`);

/** The last line of the text report: ok, or the count of each kind. */
function summaryLine(r: CheckReport): string {
  const n = total(r);
  if (n === 0) return `ok: ${plural(r.instances, 'instance')} in ${plural(r.files.length, 'file')}, no problem`;
  const kinds = PROBLEM_KINDS.filter((k) => r.counts[k] > 0).map((k) => `${r.counts[k]} ${KIND_NAMES[k]}`);
  return `${plural(n, 'problem')} in ${plural(r.instances, 'instance')}: ${kinds.join(', ')}`;
}

/** The report for a person: the first problems, one a line, then the count of each kind. */
export function textReport(r: CheckReport): string {
  const lines = r.problems.map(problemLine);
  if (total(r) > r.problems.length) lines.push(`... and ${total(r) - r.problems.length} more`);
  lines.push(summaryLine(r));
  return lines.join('\n') + '\n';
}

/** A number as JSON holds it: an infinity or NaN (a reference std of 0) as its name. */
const jsonNumber = (x: number | null | undefined): number | string | null => (x === undefined || x === null ? null : Number.isFinite(x) ? x : String(x));

/** JSON: every field of every listed problem, and per file and channel the scores of every check. */
export function jsonReport(r: CheckReport): string {
  const problem = (p: Problem) => ({
    kind: p.kind,
    file: p.file,
    instance: p.instance ? { index: p.instance.index, id: p.instance.id ?? null } : null,
    channel: p.channel ?? null,
    column: p.at?.column ?? null,
    line: p.at?.line ?? null,
    row: p.at?.row ?? null,
    byte: p.at?.byte ?? null,
    element: p.at?.element ?? null,
    value: jsonNumber(p.value),
    reference: jsonNumber(p.reference),
    score: jsonNumber(p.score),
    limit: jsonNumber(p.limit),
    count: p.count ?? null,
    message: p.message,
  });
  return (
    JSON.stringify(
      {
        version: JSON_REPORT_VERSION,
        ok: total(r) === 0,
        instances: r.instances,
        counts: r.counts,
        limits: r.limits,
        files: r.files.map((f) => ({
          file: f.file,
          ok: f.problems === 0,
          problems: f.problems,
          error: f.error ?? null,
          instances: f.instances,
          channels: f.channels.map((c) => ({
            name: c.name,
            instances: c.instances,
            values: c.values,
            missing: c.missing,
            flat: c.flat,
            max_z: jsonNumber(c.maxZ),
            max_z_instance: c.maxZInstance,
            min_std_ratio: jsonNumber(c.minStdRatio),
            max_std_ratio: jsonNumber(c.maxStdRatio),
            resolved: c.resolved,
            ks: jsonNumber(c.ks),
            psi: jsonNumber(c.psi),
            wasserstein: jsonNumber(c.wasserstein),
          })),
        })),
        problems: r.problems.map(problem),
      },
      null,
      2,
    ) + '\n'
  );
}

// ---------------------------------------------------------------------------------------------
// JUnit XML

/**
 * Text XML 1.0 can hold: characters it has no place for (controls but tab and line breaks, lone
 * surrogates, U+FFFE/U+FFFF) written as escapes, then markup characters as entities.
 */
function xmlText(s: string): string {
  return s
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, (ch) =>
      printable(ch) === ch ? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}` : printable(ch),
    )
    .replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** An attribute value: as text, and tab and line breaks as character references (a parser would make them spaces). */
const xmlAttr = (s: string): string => xmlText(s).replace(/[\t\n\r]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * JUnit XML: a test suite per file, a test case per listed problem (an error for an unreadable
 * input) and one for the file's problems past the listed ones, one passing case for a file
 * without: the counts add up to every problem found.
 */
export function junitReport(r: CheckReport): string {
  const out: string[] = [];
  let tests = 0;
  let failures = 0;
  let errors = 0;
  const suites: string[] = [];
  for (const f of r.files) {
    const mine = r.problems.filter((p) => p.file === f.file);
    const lines: string[] = [];
    let suiteFailures = 0;
    let suiteErrors = 0;
    if (f.problems === 0) lines.push(`    <testcase classname="tsnorm.check" name="${xmlAttr(f.file)}"/>`);
    for (const p of mine) {
      const element = p.kind === 'unreadable' ? 'error' : 'failure';
      if (p.kind === 'unreadable') suiteErrors++;
      else suiteFailures++;
      lines.push(`    <testcase classname="tsnorm.check.${p.kind}" name="${xmlAttr(where(p))}">`);
      lines.push(`      <${element} type="${p.kind}" message="${xmlAttr(p.message)}">${xmlText(`${where(p)}: ${p.message}`)}</${element}>`);
      lines.push('    </testcase>');
    }
    const unlisted = f.problems - mine.length;
    if (unlisted > 0) {
      suiteFailures++;
      lines.push(
        `    <testcase classname="tsnorm.check" name="${xmlAttr(`${f.file}: more problems`)}"><failure type="more" message="${unlisted} more problems, not listed (see the counts: tsnorm check --format json)"/></testcase>`,
      );
    }
    const cases = Math.max(1, mine.length + (unlisted > 0 ? 1 : 0));
    tests += cases;
    failures += suiteFailures;
    errors += suiteErrors;
    suites.push(`  <testsuite name="${xmlAttr(f.file)}" tests="${cases}" failures="${suiteFailures}" errors="${suiteErrors}">`, ...lines, '  </testsuite>');
  }
  out.push(
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="tsnorm check" tests="${tests}" failures="${failures}" errors="${errors}">`,
    ...suites,
    '</testsuites>',
  );
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// GitHub Actions workflow commands

/** A workflow command's message: `%`, CR and LF escaped, as the runner unescapes them. */
const githubData = (s: string): string => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
/** A workflow command's property value: its message escapes, and `:` and `,`, which end a property. */
const githubProperty = (s: string): string => githubData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

/** GitHub Actions workflow commands: an error annotation per problem (with the line when there is one), then the summary line. */
export function githubReport(r: CheckReport): string {
  const lines = r.problems.map((p) => {
    const line = p.at?.line;
    const title = p.kind === 'unreadable' ? 'tsnorm check: unreadable input' : `tsnorm check: ${KIND_NAMES[p.kind]}`;
    return `::error file=${githubProperty(printable(p.file))}${line === undefined ? '' : `,line=${line}`},title=${githubProperty(title)}::${githubData(problemLine(p))}`;
  });
  if (total(r) > r.problems.length)
    lines.push(
      `::error title=${githubProperty('tsnorm check')}::${githubData(`... and ${total(r) - r.problems.length} more problems (tsnorm check --format json counts them all)`)}`,
    );
  // A plain line: not a command, whatever a name in it says.
  lines.push(githubData(printable(summaryLine(r))).replace(/^::/, ' ::'));
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Markdown

/** A table cell: printable, pipes escaped, and the characters Markdown would read as markup made literal. */
const cell = (s: string): string =>
  printable(s)
    .replace(/&/g, '&amp;')
    .replace(/[\\`*_[\]<>|]/g, (c) => `\\${c}`);

/** Markdown (for a CI job summary, $GITHUB_STEP_SUMMARY): the summary, then per file its problems and its channels' scores. */
export function markdownReport(r: CheckReport): string {
  const out: string[] = [`## tsnorm check: ${total(r) === 0 ? 'ok' : plural(total(r), 'problem')}`, '', cell(summaryLine(r)), ''];
  for (const f of r.files) {
    out.push(`### ${cell(f.file)}`, '');
    if (f.error !== undefined) out.push(`**Unreadable:** ${cell(f.error)}`, '');
    const mine = r.problems.filter((p) => p.file === f.file && p.kind !== 'unreadable');
    if (mine.length > 0) {
      out.push('| problem | instance | channel | where | what |', '| --- | --- | --- | --- | --- |');
      for (const p of mine)
        out.push(
          `| ${KIND_NAMES[p.kind]} | ${cell(p.instanceText ?? '')} | ${cell(p.channel ?? '')} | ${cell(p.at ? locationText(p.at) : '')} | ${cell(p.message)} |`,
        );
      out.push('');
    }
    if (f.channels.length > 0) {
      const l = r.limits;
      out.push(
        `${plural(f.instances, 'instance')}. Scores per channel (limits: z ${l.maxZ}, std ratio ${l.maxStdRatio}, KS ${l.maxKs}, PSI ${l.maxPsi}, Wasserstein ${l.maxWasserstein}):`,
        '',
      );
      out.push(
        '| channel | values | missing | flat | largest z | std ratio | KS | PSI | Wasserstein |',
        '| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |',
      );
      for (const c of f.channels) {
        out.push(
          `| ${cell(c.name)} | ${c.values} | ${c.missing} | ${c.flat} | ${scoreText(c.maxZ)} | ${c.minStdRatio === null ? '' : `${scoreText(c.minStdRatio)} to ${scoreText(c.maxStdRatio)}`} | ${scoreText(c.ks)} | ${scoreText(c.psi)} | ${scoreText(c.wasserstein)} |`,
        );
      }
      out.push('');
    }
  }
  if (total(r) > r.problems.length) out.push(`... and ${total(r) - r.problems.length} more problems, not listed.`, '');
  return out.join('\n');
}
