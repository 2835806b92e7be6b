import { parse as parseCsv } from 'csv-parse/sync';
import { TsnormError } from '../../errors.js';
import { parseDecimalAt, parseNumber } from './numbers.js';

/**
 * Records of a delimited text, found in chunks as they arrive: a pure state machine (no I/O).
 * Each record keeps its raw text (without the line terminator) and the [start, end) span of
 * every cell in it, so that a writer can replace some cells and copy every other byte. Plain
 * text (no quote character) is split here; a region with quotes is handed to csv-parse, which
 * validates and unquotes it.
 */
export interface RecordBatch {
  /** Number of records. */
  count: number;
  /** Raw text of each record, without its line terminator. */
  raws: string[];
  /** 1-based line number where each record starts. */
  lines: number[];
  /** Cell spans: record r, column i is raws[r].slice(spans[(r*columns + i)*2], spans[(r*columns + i)*2 + 1]). */
  spans: Int32Array;
  /** For records that had quotes: their unquoted cells (the raw span then includes the quotes). */
  unquoted: (string[] | undefined)[];
  columns: number;
}

export function cellText(batch: RecordBatch, r: number, i: number): string {
  const u = batch.unquoted[r];
  if (u) return u[i]!;
  const k = (r * batch.columns + i) * 2;
  return batch.raws[r]!.slice(batch.spans[k]!, batch.spans[k + 1]!);
}

/**
 * The number in record r, column i; NaN for a missing value; undefined when it is not a number.
 * Plain cells are read in place; quoted, missing and unusual ones through parseNumber.
 */
export function cellNumber(batch: RecordBatch, r: number, i: number): number | undefined {
  if (batch.unquoted[r] === undefined) {
    const k = (r * batch.columns + i) * 2;
    const x = parseDecimalAt(batch.raws[r]!, batch.spans[k]!, batch.spans[k + 1]!);
    if (x !== undefined) return x;
  }
  return parseNumber(cellText(batch, r, i));
}

export class RecordSplitter {
  /**
   * Text of the record under way (no complete record in it yet), in pieces: joined once when the
   * record completes, so a line of any length costs time linear in its length.
   */
  private carry: string[] = [];
  /** Whether the carried text contains a quote, and whether it ends inside a quoted field. */
  private carryHasQuote = false;
  private carryInQuotes = false;
  private line = 1;

  /** The line where the record under way begins. */
  get currentLine(): number {
    return this.line;
  }
  /** Line terminator of the first record: '\r\n' or '\n'. */
  terminator: '\n' | '\r\n' | undefined;
  private readonly quote = '"';

  /** What the first record is, for messages: 'header', or 'first row' without one. */
  firstRecord = 'header';

  /** `columns` is set once the header (first record) is known. */
  constructor(
    readonly name: string,
    readonly delimiter: string,
    public columns = 0,
  ) {}

  /** Complete records in `text` (appended to what was left over); the rest waits for more. */
  push(text: string): RecordBatch {
    const end = this.completeEnd(text);
    if (end < 0) {
      // No record ends in this text: keep it, having looked at each of its characters once.
      if (text.length > 0) this.carry.push(text);
      return this.split('', false);
    }
    // One join, one flat copy (a + would make a rope that is copied again when flattened).
    if (this.carry.length > 0) this.carry.push(text.slice(0, end));
    const region = this.carry.length > 0 ? this.takeCarry() : text.slice(0, end);
    this.keep(text.slice(end));
    return this.split(region, false);
  }

  /** The last record, at the end of the input. */
  finish(): RecordBatch {
    return this.split(this.takeCarry(), true);
  }

  private takeCarry(): string {
    const text = this.carry.length === 1 ? this.carry[0]! : this.carry.join('');
    this.carry = [];
    this.carryHasQuote = false;
    this.carryInQuotes = false;
    return text;
  }

  private keep(rest: string): void {
    if (rest.length === 0) return;
    this.carry.push(rest);
    const quote = rest.indexOf(this.quote) >= 0;
    this.carryHasQuote = quote;
    this.carryInQuotes = quote && openQuote(rest) >= 0;
  }

  private split(region: string, atEnd: boolean): RecordBatch {
    const batch: RecordBatch = { count: 0, raws: [], lines: [], spans: new Int32Array(0), unquoted: [], columns: this.columns };
    if (region.length === 0) return batch;
    if (region.indexOf(this.quote) < 0) this.splitPlain(region, atEnd, batch);
    else this.splitQuoted(region, batch);
    return batch;
  }

  /**
   * Where the last complete record in `text` ends (after its newline, outside quotes), given the
   * carried text before it; -1 when none ends in it. Updates the carried quote state when none does.
   */
  private completeEnd(text: string): number {
    const firstQuote = text.indexOf(this.quote);
    if (firstQuote < 0 && !this.carryHasQuote) {
      const lastNl = text.lastIndexOf('\n');
      return lastNl < 0 ? -1 : lastNl + 1;
    }
    let inQuotes = this.carryInQuotes;
    let end = -1;
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      if (ch === 34) inQuotes = !inQuotes;
      else if (ch === 10 && !inQuotes) end = i + 1;
    }
    if (end < 0) {
      this.carryHasQuote ||= firstQuote >= 0;
      this.carryInQuotes = inQuotes;
    }
    return end;
  }

  private ensureSpans(batch: RecordBatch, records: number): void {
    const need = records * Math.max(1, batch.columns) * 2;
    if (batch.spans.length < need) {
      const grown = new Int32Array(Math.max(need, batch.spans.length * 2));
      grown.set(batch.spans.subarray(0, batch.count * batch.columns * 2));
      batch.spans = grown;
    }
  }

  private splitPlain(region: string, atEnd: boolean, batch: RecordBatch): void {
    const delim = this.delimiter.charCodeAt(0);
    let start = 0;
    while (start < region.length) {
      let nl = region.indexOf('\n', start);
      if (nl < 0) {
        if (!atEnd) break;
        nl = region.length;
      }
      let stop = nl;
      if (stop > start && region.charCodeAt(stop - 1) === 13) stop--;
      if (this.terminator === undefined) this.terminator = stop < nl ? '\r\n' : '\n';
      const raw = region.slice(start, stop);
      const line = this.line++;
      start = nl + 1;
      if (raw.length === 0) continue; // blank lines are skipped
      if (batch.columns === 0) batch.columns = this.columns = countCells(raw, delim);
      this.ensureSpans(batch, batch.count + 1);
      const spans = batch.spans;
      let k = batch.count * batch.columns * 2;
      const last = batch.columns - 1;
      let cellStart = 0;
      let cells = 0;
      for (let i = raw.indexOf(this.delimiter); i >= 0; i = raw.indexOf(this.delimiter, cellStart)) {
        if (cells === last) throw this.raggedError(line, countCells(raw, delim), batch.columns);
        spans[k++] = cellStart;
        spans[k++] = i;
        cellStart = i + 1;
        cells++;
      }
      spans[k++] = cellStart;
      spans[k++] = raw.length;
      if (cells !== last) throw this.raggedError(line, cells + 1, batch.columns);
      batch.raws.push(raw);
      batch.lines.push(line);
      batch.unquoted.push(undefined);
      batch.count++;
    }
  }

  private splitQuoted(region: string, batch: RecordBatch): void {
    type Parsed = { record: string[]; raw: string; info: { lines: number } };
    let parsed: Parsed[];
    try {
      parsed = parseCsv(region, {
        delimiter: this.delimiter, raw: true, info: true, relax_column_count: true,
        skip_empty_lines: true, record_delimiter: ['\r\n', '\n'],
      }) as unknown as Parsed[];
    } catch (err) {
      throw this.csvParseError(err, region);
    }
    const startLine = this.line;
    for (const p of parsed) {
      // csv-parse's raw text keeps the \r of a skipped blank CRLF line before the record.
      const raw = p.raw.replace(/^[\r\n]+/, '').replace(/\n$/, '').replace(/\r$/, '');
      if (this.terminator === undefined) this.terminator = /\r\n?$/.test(p.raw) ? '\r\n' : '\n';
      const lines = (raw.match(/\n/g)?.length ?? 0) + 1;
      const line = startLine + p.info.lines - lines;
      if (batch.columns === 0) batch.columns = this.columns = p.record.length;
      if (p.record.length !== batch.columns) throw this.raggedError(line, p.record.length, batch.columns);
      this.ensureSpans(batch, batch.count + 1);
      quotedSpans(raw, this.delimiter, batch.spans, batch.count * batch.columns * 2, batch.columns);
      batch.raws.push(raw);
      batch.lines.push(line);
      batch.unquoted.push(p.record);
      batch.count++;
    }
    this.line += (region.match(/\n/g)?.length ?? 0);
  }

  private raggedError(line: number, got: number, want: number): TsnormError {
    return new TsnormError(`${this.name}: line ${line}: ${got} cell${got === 1 ? '' : 's'}, expected ${want} (as in the ${this.firstRecord})`);
  }

  private csvParseError(err: unknown, region: string): TsnormError {
    const e = err as { code?: string; message?: string; lines?: number; index?: number };
    const line = this.line + (e.lines ?? 1) - 1;
    if (e.code === 'CSV_QUOTE_NOT_CLOSED') {
      const open = Math.max(0, openQuote(region));
      const at = this.line + (region.slice(0, open).match(/\n/g)?.length ?? 0);
      return new TsnormError(`${this.name}: line ${at}: unterminated quoted field (a " opens here and is never closed)`);
    }
    const cell = typeof e.index === 'number' ? `, cell ${e.index + 1}` : '';
    if (e.code === 'INVALID_OPENING_QUOTE') {
      return new TsnormError(`${this.name}: line ${line}${cell}: a quote (") inside a cell that is not quoted: quote the whole cell and double the quote ("5"" screen")`);
    }
    if (e.code === 'CSV_INVALID_CLOSING_QUOTE') {
      return new TsnormError(`${this.name}: line ${line}${cell}: text after the closing quote of a quoted cell: a quote inside a quoted cell is written twice ("")`);
    }
    const what = (e.message ?? String(err)).replace(/ at line \d+.*$/, '');
    return new TsnormError(`${this.name}: line ${line}: malformed quoting: ${what}`);
  }
}

function countCells(raw: string, delim: number): number {
  let n = 1;
  for (let i = 0; i < raw.length; i++) if (raw.charCodeAt(i) === delim) n++;
  return n;
}

/**
 * Cell spans of a record that may contain quoted cells (quotes included in the span): `columns`
 * pairs written at spans[k...], or as many as the record has when `columns` is not given.
 */
export function quotedSpans(raw: string, delimiter: string, spans?: Int32Array, k = 0, columns = Infinity): Int32Array {
  const out = spans ?? new Int32Array(2 * (countCells(raw, delimiter.charCodeAt(0))));
  const delim = delimiter.charCodeAt(0);
  let inQuotes = false;
  let cellStart = 0;
  let cells = 0;
  for (let i = 0; i < raw.length && cells < columns - 1; i++) {
    const ch = raw.charCodeAt(i);
    if (ch === 34) inQuotes = !inQuotes;
    else if (ch === delim && !inQuotes) {
      out[k++] = cellStart;
      out[k++] = i;
      cellStart = i + 1;
      cells++;
    }
  }
  out[k++] = cellStart;
  out[k++] = raw.length;
  return spans ? out : out.subarray(0, k);
}

/** Position of the quote left open at the end of text[from, to), or -1 when every quote is closed. */
function openQuote(text: string, from = 0, to = text.length): number {
  let open = -1;
  for (let i = text.indexOf('"', from); i >= 0 && i < to; i = text.indexOf('"', i + 1)) open = open < 0 ? i : -1;
  return open;
}
