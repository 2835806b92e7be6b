import { Option } from 'commander';
import { checkEps, checkMomentum } from '../core/state-dict.js';
import { FORMATS, parseFormat } from '../formats/detect.js';
import { type FormatFamily, OUTPUT_CODECS } from '../formats/format.js';
import { DEFAULT_ROW_GROUP_ROWS } from '../formats/parquet/defaults.js';
import { FORMAT_LIST } from '../formats/formats.js';
import type { FormatName } from '../formats/types.js';
import type { FormatFlag } from '../pipeline/plan.js';
import { REPORT_FORMATS } from '../pipeline/check-reports.js';
import { type ValueParser, atMost, columnTypes, delimiter, names, numberAbove, oneOf, positiveInteger, precision, wholeNumber } from './parsers.js';

/**
 * Every flag of the command line, declared once: its name, value, help, choices, the commands
 * that take it, the formats it means something for, and the manual's account of it. The
 * commander options (and so --help, shell completion and the man page), the refusal of a flag
 * the input or output format does not use, the checks of choices, and the manual's flag tables
 * (scripts/build-docs.mjs; a test holds docs/manual.md to them) all come from this list.
 */

export type CommandName = 'normalize' | 'fit' | 'apply' | 'inverse' | 'convert' | 'inspect' | 'check' | 'stats merge';

/** The manual's flag tables: which one a flag is listed in. */
export type DocTable = 'common' | 'tables' | 'text' | 'arrow';

export interface Flag {
  /** The long name, without dashes: 'output', 'no-header'. */
  readonly long: string;
  readonly short?: string;
  /** The value's placeholder (lower case, as --help shows it); none for a switch. */
  readonly value?: string;
  /** --help's line; `helpFor` where a command says it otherwise. */
  readonly help: string;
  readonly helpFor?: Partial<Record<CommandName, string>>;
  readonly choices?: readonly string[];
  /** Turns the text given into the value (a flag with choices and no parser takes one of them as given). */
  readonly parse?: ValueParser;
  /** The value commander fills in when the flag is not given. */
  readonly defaultValue?: string;
  readonly commands: readonly CommandName[];
  /** Commands that need it. */
  readonly requiredFor?: readonly CommandName[];
  /** Given more than once, its values are collected. */
  readonly repeatable?: boolean;
  /** For tests and tuning only: not in --help, completion or the manual. */
  readonly hidden?: boolean;
  /** The formats it means something for, on the input or the output side: refused for the others. */
  readonly formats?: { readonly side: 'input' | 'output'; readonly formats: readonly FormatName[] };
  /** The manual's account (Markdown), and the table it is listed in. */
  readonly doc?: { readonly table: DocTable; readonly text: string };
}

/** The formats of these families (each format's descriptor says its family). */
function formatsOf(...families: FormatFamily[]): readonly FormatName[] {
  return FORMAT_LIST.filter((f) => families.includes(f.family)).map((f) => f.name);
}

const TEXT = formatsOf('text');
const TABLES = formatsOf('text', 'arrow', 'parquet');
/** Formats of typed columns: Arrow IPC and Parquet. */
const COLUMNAR = formatsOf('arrow', 'parquet');

/** Commands that normalize (or map back), those that write data, those that read it. */
const NORMALIZING: readonly CommandName[] = ['normalize', 'fit', 'apply', 'inverse'];
const WRITING: readonly CommandName[] = ['normalize', 'apply', 'inverse', 'convert'];
const READING: readonly CommandName[] = ['normalize', 'fit', 'apply', 'inverse', 'convert', 'inspect', 'check'];

export const FLAGS: readonly Flag[] = [
  {
    long: 'output',
    short: 'o',
    value: 'file',
    help: 'output file, - for stdout',
    defaultValue: '-',
    helpFor: { 'stats merge': 'where to write the merged stats file' },
    commands: [...WRITING, 'stats merge'],
    requiredFor: ['stats merge'],
    doc: {
      table: 'common',
      text: "output (default `-`, stdout). A regular file is written to a temporary file beside it and renamed at the end (see Outputs). Its extension names the format (`.npy`, `.csv`, `.tsv`, `.tab`, `.arrow`, `.arrows`, `.parquet`, `+.gz` for text); an extension that names none (`.txt`) is refused unless `--to` is given; no extension means the input's format. With a folder, a glob or several inputs: the folder each input's output goes to, under its own path (see Datasets).",
    },
  },
  {
    long: 'quiet',
    short: 'q',
    help: 'no progress bar and no notes on stderr (errors are still reported)',
    commands: READING,
    doc: {
      table: 'common',
      text: 'no progress bar and no notes on stderr (errors are still reported). The bar (bytes, rate, ETA; bytes and rate from a pipe) is drawn only when stderr is a terminal, an input is over 4 MB and the data does not go to that same terminal on stdout; it is cleared when the run ends. Every command that reads data takes `--quiet`.',
    },
  },
  {
    long: 'eps',
    parse: (v, name) => checkEps(v, name),
    value: 'e',
    help: "added to the variance for numerical stability (default 1e-5, or the stats file's)",
    commands: NORMALIZING,
    doc: { table: 'common', text: "default `1e-5`; with `--stats`, the stats file's `eps` when the flag is not given." },
  },
  {
    long: 'affine',
    value: 'file',
    help: 'JSON with per-channel "weight" and "bias" (a stats file or state_dict JSON works too)',
    commands: NORMALIZING,
    doc: { table: 'common', text: 'JSON with `weight` and `bias` (C numbers each); a stats file or a state_dict JSON holding them works too.' },
  },
  {
    long: 'no-affine',
    help: 'do not apply the "weight" and "bias" a --stats file holds',
    commands: NORMALIZING,
    doc: { table: 'common', text: 'do not apply the `weight` and `bias` that a `--stats` file holds.' },
  },
  {
    long: 'momentum',
    parse: (v, name) => checkMomentum(v, name),
    value: 'm',
    help: 'running-stats momentum in [0, 1], or "cumulative" (default 0.1, or the stats file\'s)',
    helpFor: { fit: 'running-stats momentum in [0, 1], or "cumulative" (default cumulative: every instance weighs the same; or the stats file\'s)' },
    commands: ['normalize', 'fit'],
    doc: {
      table: 'common',
      text: "`[0, 1]` or `cumulative` (equal-weight average over batches, BatchNorm's `momentum=None`); default `0.1` for `normalize`, `cumulative` for `fit`, or the `--stats` file's. Only where running stats are updated.",
    },
  },
  {
    long: 'batch-size',
    parse: positiveInteger,
    value: 'b',
    help: 'instances per running-stats update (default: the whole input)',
    helpFor: { fit: 'instances per running-stats update (default 1 with the default momentum, else the whole input)' },
    commands: ['normalize', 'fit'],
    doc: {
      table: 'common',
      text: 'instances per running-stats update. Default: the whole input (one update per input file, as one forward call), except `fit` without `--momentum`: one instance. Only where running stats are updated.',
    },
  },
  {
    long: 'stats',
    value: 'file',
    help: 'running stats to start from',
    helpFor: { apply: 'running stats to apply', inverse: 'running stats to apply', check: 'the fitted reference: a stats file' },
    commands: [...NORMALIZING, 'check'],
    doc: {
      table: 'common',
      text: 'running stats to start from (training) or to apply (eval): a tsnorm stats file, `{"running_mean", "running_var"}`, or a torch state_dict saved as JSON. If it holds `weight` and `bias`, they are applied, as the torch module would (unless `--affine` or `--no-affine`).',
    },
  },
  {
    long: 'stats-key',
    value: 'prefix',
    help: 'the layer of a model state_dict to take (e.g. "norm" for norm.running_mean), when it holds several',
    commands: [...NORMALIZING, 'check'],
    doc: {
      table: 'common',
      text: 'the layer of a state_dict with prefixed keys (`encoder.norm.running_mean`) to take, when more than one holds `running_mean`; the error lists them.',
    },
  },
  {
    long: 'save-stats',
    value: 'file',
    help: 'where to write the updated running stats (may equal --stats)',
    commands: ['normalize', 'fit'],
    doc: { table: 'common', text: 'where to write the updated running stats (may equal `--stats`).' },
  },
  {
    long: 'track-running-stats',
    help: 'keep running statistics (training) or use them (with --eval)',
    commands: ['normalize'],
    doc: { table: 'common', text: 'keep running stats (training) or use them (`--eval`). Implied by `--stats` and `--save-stats`.' },
  },
  {
    long: 'eval',
    help: "eval mode: normalize with running statistics instead of each series' own",
    commands: ['normalize'],
    doc: { table: 'common', text: 'eval mode.' },
  },
  {
    long: 'nan',
    value: 'policy',
    choices: ['propagate', 'ignore', 'error'],
    help: 'missing values: propagate (as torch), ignore (skip in statistics), error',
    commands: NORMALIZING,
    doc: {
      table: 'common',
      text: 'missing values: `propagate` (default, as torch: the series becomes NaN, and one note on stderr says how many series), `ignore` (left out of the statistics, stay missing in the output; infinite values are not missing, and a note counts the series they made NaN), `error` (fail at the first, naming its position).',
    },
  },
  {
    long: 'from',
    parse: parseFormat,
    value: 'format',
    choices: FORMATS,
    help: 'input format (default: by extension, else by content)',
    commands: READING,
    doc: {
      table: 'common',
      text: '`npy`, `csv`, `tsv`, `arrow` (the IPC file format, Feather v2: `.arrow`, `.feather`, `.ipc`), `arrows` (the IPC stream format: `.arrows`), `parquet` (`.parquet`, `.pq`); default from the extension (`.gz` looked through), else sniffed from the content (NPY magic, `ARROW1`, the Arrow stream marker, `PAR1`, else CSV text). Parquet is read a row group at a time (from a pipe, after a copy to a temporary file).',
    },
  },
  {
    long: 'to',
    parse: parseFormat,
    value: 'format',
    choices: FORMATS,
    help: "output format (default: by extension, else the input's)",
    commands: WRITING,
    doc: {
      table: 'common',
      text: "the output's format, as `--from` names them; default from the output's extension, else the input's format. Arrow to stdout is the stream format.",
    },
  },
  {
    long: 'id',
    value: 'col',
    help: 'long layout (CSV, Arrow, Parquet): consecutive rows with equal values in COL form one instance',
    commands: READING,
    formats: { side: 'input', formats: TABLES },
    doc: {
      table: 'tables',
      text: 'long layout: consecutive rows with equal values in COL form one instance (instances may differ in length). Without it the whole file is one instance. An id that comes back after another is an error naming both lines.',
    },
  },
  {
    long: 'channels',
    parse: names,
    value: 'a,b,...',
    help: 'the channel columns (default: every numeric column but --id and --keep)',
    commands: READING,
    formats: { side: 'input', formats: TABLES },
    doc: {
      table: 'tables',
      text: 'the channel columns. Default: every column whose first non-missing cell (in the first 1 MB of rows) is a number, except `--id` and `--keep`. Read in one streaming pass (`apply`, `convert`: rows are used as they arrive), a column with no value in the rows read first is refused with a message asking for `--channels`, rather than guessed.',
    },
  },
  {
    long: 'keep',
    parse: names,
    value: 'a,b,...',
    help: 'numeric columns that pass through unchanged (a timestamp, say)',
    commands: READING,
    formats: { side: 'input', formats: TABLES },
    doc: { table: 'tables', text: 'numeric columns that pass through unchanged (timestamps).' },
  },
  {
    long: 'types',
    parse: columnTypes,
    value: 'col=type,...',
    help: 'CSV: types of columns that pass through (int64, uint64, float64, utf8), instead of what their first rows suggest',
    commands: READING,
    formats: { side: 'input', formats: TEXT },
    doc: {
      table: 'text',
      text: "long layout: the types of columns that pass through, for typed outputs (Arrow, Parquet): `int64`, `uint64`, `float64` or `utf8` (text, kept exactly as written). Default: what the column's first rows hold (see Across formats in [layouts.md](layouts.md)). A column named here is not a channel.",
    },
  },
  {
    long: 'layout',
    value: 'layout',
    choices: ['long', 'wide', 'list'],
    help: 'long (a row per time step), wide (CSV: a row per series) or list (Arrow, Parquet: a row per instance)',
    commands: READING,
    formats: { side: 'input', formats: TABLES },
    doc: {
      table: 'tables',
      text: 'long (default): a row per time step. wide (CSV/TSV): a row per series (UCR); leading non-numeric or `--keep` columns pass through; `--num-channels C` rows form one instance (default 1); UCR files start with a numeric class label: keep it with `--keep 1` (with `--no-header`). list (Arrow, Parquet): a row per instance, each channel a list column (`List`, `LargeList`, `FixedSizeList`), or one column of lists of lists holding C x L (Hugging Face `datasets`, GluonTS `target`); every other column is a per-instance value, written back with its type and value.',
    },
  },
  {
    long: 'num-channels',
    parse: positiveInteger,
    value: 'c',
    help: 'CSV wide layout: consecutive rows that form one instance (default 1)',
    commands: READING,
    formats: { side: 'input', formats: TEXT },
    doc: { table: 'text', text: "the wide layout's rows per instance (default 1)." },
  },
  {
    long: 'delimiter',
    parse: delimiter,
    value: 'char',
    help: 'CSV: the input\'s field delimiter (default , for .csv, tab for .tsv; "tab" works)',
    commands: READING,
    formats: { side: 'input', formats: TEXT },
    doc: {
      table: 'text',
      text: "the input's delimiter: default `,` for CSV, tab for TSV (`tab`, `comma`, `semicolon`, `space`, `pipe` work as names). One ASCII character that cannot be part of a number.",
    },
  },
  {
    long: 'precision',
    parse: precision,
    value: 'n',
    help: 'CSV output: significant digits (default: shortest text that reads back as the same double)',
    commands: WRITING,
    formats: { side: 'output', formats: TEXT },
    doc: { table: 'text', text: 'write N significant digits instead of the shortest text that reads back as the same double.' },
  },
  {
    long: 'output-delimiter',
    parse: delimiter,
    value: 'char',
    help: "CSV output: field delimiter (default: the input's for CSV to CSV, else , for .csv and tab for .tsv)",
    commands: WRITING,
    formats: { side: 'output', formats: TEXT },
    doc: { table: 'text', text: "the output's: default the input's when both are CSV (or both TSV), else `,` for CSV and tab for TSV." },
  },
  {
    long: 'compression',
    value: 'codec',
    choices: OUTPUT_CODECS,
    help: 'Arrow output: compress record batches with lz4 or zstd (default: none); Parquet output: the codec (default snappy)',
    commands: WRITING,
    formats: { side: 'output', formats: COLUMNAR },
    doc: {
      table: 'arrow',
      text: "Arrow: compress the output's record batches, `lz4` (LZ4_FRAME) or `zstd` (default `none`; readers need the codec). Parquet: the pages' codec, any of the list (default `snappy`, as pyarrow, DuckDB and Spark write; `zstd` for a smaller, slower-written file; `lz4` is LZ4_RAW). Compressed input is read whatever this says.",
    },
  },
  {
    long: 'output-layout',
    value: 'layout',
    choices: ['long', 'list'],
    help: 'Arrow/Parquet output: long or list (default: list for list input, else long)',
    commands: WRITING,
    formats: { side: 'output', formats: COLUMNAR },
    doc: {
      table: 'arrow',
      text: "the Arrow or Parquet output's layout: default list for list input, else long. From a long input, a list output has one row per instance: the id once, every other column as the list of its rows' values. From a list input, a long output repeats each per-instance value on its instance's rows, and a list column whose lists have the series' length spreads over them, an element a row (a list of another length is refused).",
    },
  },
  {
    long: 'dtype',
    value: 'dtype',
    choices: ['float32', 'float64'],
    help: 'NPY/Arrow/Parquet output dtype (default: float64 for float64 input, else float32)',
    commands: WRITING,
    helpFor: { convert: "NPY/Arrow/Parquet output dtype (default: each channel's own type, or float64 beside other types in NPY)" },
    formats: { side: 'output', formats: formatsOf('npy', 'arrow', 'parquet') },
    doc: {
      table: 'common',
      text: "NPY, Arrow and Parquet output type; default float64 for float64 input (and CSV), float32 otherwise (integers and float16 included). For Arrow and Parquet, per channel column: Float64 where the input column was. `convert` without `--dtype` keeps each channel's own type (see [layouts.md](layouts.md)).",
    },
  },
  {
    long: 'copy-others',
    help: 'folder inputs: copy the files tsnorm does not read (state.json, _SUCCESS) to the output folder unchanged',
    commands: WRITING,
    doc: {
      table: 'common',
      text: "with a folder input (or a glob) and `-o FOLDER`: copy the files of the input folders that tsnorm does not read (a Hugging Face dataset's `state.json` and `dataset_info.json`, Spark's `_SUCCESS`) to the output folder, under the same paths, unchanged. Without it they are left out, and a note names them. Hidden files (`.name`) are neither read nor copied.",
    },
  },
  {
    long: 'row-group-size',
    value: 'rows',
    parse: atMost(2 ** 31 - 1, positiveInteger),
    help: `Parquet output: rows per row group (default ${DEFAULT_ROW_GROUP_ROWS})`,
    commands: WRITING,
    formats: { side: 'output', formats: formatsOf('parquet') },
    doc: {
      table: 'arrow',
      text: `rows per row group (default ${DEFAULT_ROW_GROUP_ROWS}): what a reader holds in memory at once, and what tsnorm buffers before it writes one. Each row group's column chunks carry statistics (min, max, nulls).`,
    },
  },
  {
    long: 'no-header',
    help: 'CSV: the input has no header row (columns are named 1, 2, ...)',
    commands: READING,
    formats: { side: 'input', formats: TEXT },
    doc: { table: 'text', text: 'the input has no header row: columns are named `1`, `2`, ... for `--id`/`--channels`/`--keep`; no header is written.' },
  },
  {
    long: 'threads',
    parse: positiveInteger,
    value: 'n',
    help: "threads to use (default: the machine's cores): N - 1 of them write CSV output read from CSV; 1: everything in one",
    commands: WRITING,
    doc: {
      table: 'common',
      text: "threads to use; default: the machine's cores. The N - 1 threads beside the main one write CSV/TSV output read from CSV/TSV (long layout, same delimiter): they format rows while the main thread reads, parses and normalizes the next ones; each read's rows go to the worker with the least waiting, and come out in order. An output stays in one thread until it passes 4 MB (a small job ends before a worker would have started). `--threads 1`: everything in one thread. More threads than cores is slower. The output is the same bytes whatever N.",
    },
  },
  { long: 'json', help: 'print JSON (an array, one object per input) instead of a table', commands: ['inspect'] },
  { long: 'allow-nan', help: 'accept missing and infinite values', commands: ['check'] },
  { long: 'allow-constant', help: 'accept flat channels (std 0)', commands: ['check'] },
  { long: 'min-length', parse: positiveInteger, value: 'n', help: 'fewest steps an instance may have (default 2)', commands: ['check'] },
  {
    long: 'max-z',
    parse: numberAbove(0),
    value: 'k',
    help: "largest distance of an instance's channel mean from the running mean, in running standard deviations (default 6)",
    commands: ['check'],
  },
  {
    long: 'max-std-ratio',
    parse: numberAbove(1),
    value: 'r',
    help: "an instance's channel std must be within a factor R of the running std (default 10)",
    commands: ['check'],
  },
  {
    long: 'max-ks',
    parse: numberAbove(0),
    value: 'd',
    help: "largest KS distance of a channel's distribution in a file from the reference's (default 0.1)",
    commands: ['check'],
  },
  {
    long: 'max-psi',
    parse: numberAbove(0),
    value: 'p',
    help: 'largest population stability index of a channel in a file against the reference (default 0.1)',
    commands: ['check'],
  },
  {
    long: 'max-wasserstein',
    parse: numberAbove(0),
    value: 'w',
    help: 'largest Wasserstein distance of a channel in a file from the reference, in reference standard deviations (default 0.1)',
    commands: ['check'],
  },
  {
    long: 'min-values',
    parse: positiveInteger,
    value: 'n',
    help: 'fewest values of a channel in a file for its distribution to be judged (default 1000; the scores are reported below it)',
    commands: ['check'],
  },
  { long: 'one-instance', help: 'the input (read without --id) is one instance: no grouping check', commands: ['check'] },
  {
    long: 'format',
    value: 'format',
    choices: REPORT_FORMATS,
    help: 'report on stdout: text (default), json, junit (JUnit XML), github (workflow annotations), markdown, html (a page with charts)',
    commands: ['check'],
  },
  { long: 'report', value: 'format=file', help: 'also write a report to a file (repeatable): --report junit=check.xml', commands: ['check'], repeatable: true },
  {
    long: 'spill-bytes',
    parse: positiveInteger,
    value: 'n',
    help: 'bytes of one CSV instance held in memory before it spills to a temporary file',
    commands: READING,
    hidden: true,
  },
  {
    long: 'off-thread-after',
    parse: wholeNumber,
    value: 'n',
    help: 'CSV output bytes written by the main thread before the formatting worker takes over (default 4 MB)',
    commands: WRITING,
    hidden: true,
  },
  {
    long: 'budget',
    parse: positiveInteger,
    value: 'values',
    help: 'values held in memory per group (testing the streaming paths)',
    commands: READING,
    hidden: true,
  },
];

/** The flags a command takes, in the table's order. */
export function flagsOf(command: CommandName): Flag[] {
  return FLAGS.filter((f) => f.commands.includes(command));
}

/** The flag of a long name. */
export function flag(long: string): Flag {
  const found = FLAGS.find((f) => f.long === long);
  if (!found) throw new Error(`no flag --${long}`);
  return found;
}

/** A flag's choices, typed as the caller names them. */
export function choicesOf<T extends string>(long: string): readonly T[] {
  return (flag(long).choices ?? []) as readonly T[];
}

/**
 * The value of flag `long` among commander's options, parsed and checked by the table's parser
 * (or its choices), typed as the caller names it; undefined when not given.
 */
export function flagValue<T>(raw: object, long: string): T | undefined {
  const f = flag(long);
  const v = (raw as Readonly<Record<string, unknown>>)[optionKey(f)];
  if (typeof v !== 'string') return v as T | undefined;
  if (f.parse) return f.parse(v, `--${f.long}`) as T;
  if (f.choices) return oneOf(v, f.choices, `--${f.long}`) as T;
  return v as T;
}

/** The key commander gives a flag's value under: 'save-stats' -> saveStats; 'no-header' -> header (false when given). */
export function optionKey(f: Flag): string {
  return f.long.replace(/^no-/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** The commander option for a flag, as `command` takes it. */
export function commanderOption(f: Flag, command: CommandName): Option {
  const term = `${f.short ? `-${f.short}, ` : ''}--${f.long}${f.value ? ` <${f.value}>` : ''}`;
  const option = new Option(term, f.helpFor?.[command] ?? f.help);
  if (f.choices) option.choices(f.choices);
  if (f.repeatable) option.argParser((v: string, all: string[] = []) => [...all, v]);
  if (f.requiredFor?.includes(command)) option.makeOptionMandatory();
  else if (f.defaultValue !== undefined) option.default(f.defaultValue);
  if (f.hidden) option.hideHelp();
  return option;
}

/** The format-specific flags among the given options, with the formats they are for (in the list's order, the order an error names them in). */
export function givenFormatFlags(raw: Readonly<Record<string, unknown>>): FormatFlag[] {
  return FLAGS.filter((f) => f.formats !== undefined && (f.long.startsWith('no-') ? raw[optionKey(f)] === false : raw[optionKey(f)] !== undefined)).map(
    (f) => ({ flag: `--${f.long}`, side: f.formats!.side, formats: f.formats!.formats }),
  );
}

/** The manual's flag table `table`, as Markdown rows (a header, then a row per flag). */
export function docTable(table: DocTable): string {
  const rows = FLAGS.filter((f) => f.doc?.table === table).map((f) => {
    const value = f.choices ? ` ${f.choices.join('\\|')}` : f.value ? ` ${f.value.toUpperCase()}` : '';
    return `| \`${f.short ? `-${f.short}, ` : ''}--${f.long}${value}\` | ${f.doc!.text} |`;
  });
  return ['| flag | meaning |', '| --- | --- |', ...rows].join('\n');
}
