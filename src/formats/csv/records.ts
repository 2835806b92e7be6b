import { parse as parseCsv } from 'csv-parse/sync';
import { TsnormError } from '../../errors.js';
import { latin1, parseDecimalAt, parseNumber } from './numbers.js';
import { CsvScanner, SCAN_MAX_REGION } from './scan/scanner.js';
import type { BufferPool } from '../../io/buffer-pool.js';

/**
 * Records of a delimited text, found in chunks of bytes as they arrive: a pure state machine (no
 * I/O). A batch keeps its records' bytes in one buffer, with the [start, end) of each record
 * (without its line terminator) and of every cell in it, so that a writer can replace some
 * cells and copy every other byte, and numbers are read from the bytes without making strings.
 * Plain text (no quote character) is split here; a region with quotes is handed to csv-parse,
 * which validates and unquotes it.
 */
export interface RecordBatch {
  /** Number of records. */
  count: number;
  /** The records' bytes (owned by the batch: not a read buffer that is reused). */
  bytes: Uint8Array;
  /** [start, end) in bytes of each record, without its line terminator: two entries a record. */
  records: Int32Array;
  /** 1-based line number where each record starts (the first `count` entries). */
  lines: Int32Array;
  /** Cell spans, in bytes: record r, column i is bytes[spans[(r*columns + i)*2], spans[(r*columns + i)*2 + 1]). */
  spans: Int32Array;
  /** For records that had quotes: their unquoted cells (the raw span then includes the quotes); a hole for others. */
  unquoted: (string[] | undefined)[];
  columns: number;
  /** The scan kernel that split it, when it did: its numbers are read there too (see readNumbers). */
  scanner?: CsvScanner | undefined;
  /** Buffers of the splitter's pool that its arrays are on (for the reader to give back when done). */
  buffers: ArrayBuffer[];
}

/** The longest record held: beyond it a line is refused (an unterminated quote, or not CSV). */
const MAX_RECORD_BYTES = 512 << 20;

/** Record r's text as a byte string (one character a byte), without its line terminator. */
export function recordText(batch: { bytes: Uint8Array; records: Int32Array }, r: number): string {
  return latin1(batch.bytes, batch.records[2 * r]!, batch.records[2 * r + 1]!);
}

/** Cell (r, i) as a byte string, unquoted. */
export function cellText(batch: RecordBatch, r: number, i: number): string {
  const u = batch.unquoted[r];
  if (u) return u[i]!;
  const k = (r * batch.columns + i) * 2;
  return latin1(batch.bytes, batch.spans[k]!, batch.spans[k + 1]!);
}

/**
 * The numbers of columns `cols` of every record into `out` (record-major): plain decimals by the
 * fast path (the scan kernel's, or parseDecimalAt), any other cell by `slow(r, column)`.
 */
export function readNumbers(batch: RecordBatch, cols: Int32Array, out: Float64Array, slow: (r: number, column: number) => number): void {
  const C = cols.length;
  if (batch.scanner) {
    batch.scanner.parse(batch.bytes, batch.spans, batch.columns, batch.count, cols, out, (q) => slow(Math.floor(q / C), cols[q % C]!));
    return;
  }
  for (let r = 0; r < batch.count; r++) {
    const plain = batch.unquoted[r] === undefined;
    for (let k = 0; k < C; k++) {
      const col = cols[k]!;
      const at = (r * batch.columns + col) * 2;
      const x = plain ? parseDecimalAt(batch.bytes, batch.spans[at]!, batch.spans[at + 1]!) : undefined;
      out[r * C + k] = x ?? slow(r, col);
    }
  }
}

/**
 * The number in record r, column i; NULL_VALUE for a missing value; undefined when it is not a number.
 * Plain cells are read in place; quoted, missing and unusual ones through parseNumber.
 */
export function cellNumber(batch: RecordBatch, r: number, i: number): number | undefined {
  if (batch.unquoted[r] === undefined) {
    const k = (r * batch.columns + i) * 2;
    const x = parseDecimalAt(batch.bytes, batch.spans[k]!, batch.spans[k + 1]!);
    if (x !== undefined) return x;
  }
  return parseNumber(cellText(batch, r, i));
}

const NL = 10;
const CR = 13;
const QUOTE = 34;

export class RecordSplitter {
  /**
   * Bytes of the record under way (no complete record in them yet), in pieces (copies: the
   * chunks given to push are read buffers that are reused): joined once when the record
   * completes, so a line of any length costs time linear in its length.
   */
  private carry: Uint8Array[] = [];
  private carryBytes = 0;
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

  /** What the first record is, for messages: 'header', or 'first row' without one. */
  firstRecord = 'header';
  private readonly delim: number;
  private scanner: CsvScanner | undefined;
  /** Where batches' regions (and the kernel's results) are taken from, when set: see RecordBatch.buffers. */
  pool: BufferPool | undefined;
  /** The region of the batch being made, and its buffer when pooled. */
  private regionBuffers: ArrayBuffer[] = [];

  /** `columns` is set once the header (first record) is known. */
  constructor(
    readonly name: string,
    readonly delimiter: string,
    public columns = 0,
  ) {
    this.delim = delimiter.charCodeAt(0);
  }

  /** Complete records in `chunk` (after what was left over); the rest waits for more. */
  push(chunk: Uint8Array): RecordBatch {
    const end = this.completeEnd(chunk);
    if (end < 0) {
      // No record ends in this chunk: keep a copy, having looked at each of its bytes once.
      this.keep(chunk);
      return this.split(EMPTY, false);
    }
    // One copy into a buffer of the batch's own: the carry, then the chunk up to the last record end.
    const region = this.region(this.carryBytes + end);
    let at = 0;
    for (const piece of this.carry) {
      region.set(piece, at);
      at += piece.length;
    }
    region.set(chunk.subarray(0, end), at);
    this.dropCarry();
    this.keep(chunk.subarray(end));
    return this.split(region, false);
  }

  /** The last record, at the end of the input. */
  finish(): RecordBatch {
    const region = this.region(this.carryBytes);
    let at = 0;
    for (const piece of this.carry) {
      region.set(piece, at);
      at += piece.length;
    }
    this.dropCarry();
    this.carryHasQuote = false;
    this.carryInQuotes = false;
    return this.split(region, true);
  }

  private region(n: number): Uint8Array {
    if (!this.pool) return new Uint8Array(n);
    const buffer = this.pool.take(n);
    this.regionBuffers = [buffer];
    return new Uint8Array(buffer, 0, n);
  }

  /** Empties the carry (its quote state is kept: completeEnd has set it for what follows). */
  private dropCarry(): void {
    this.carry = [];
    this.carryBytes = 0;
  }

  private keep(rest: Uint8Array): void {
    if (rest.length === 0) return;
    if (this.carryBytes + rest.length > MAX_RECORD_BYTES) throw this.tooLong();
    this.carry.push(rest.slice());
    this.carryBytes += rest.length;
    if (asBuffer(rest).indexOf(QUOTE) >= 0) this.carryHasQuote = true;
  }

  private split(region: Uint8Array, atEnd: boolean): RecordBatch {
    const batch: RecordBatch = {
      count: 0,
      bytes: region,
      records: new Int32Array(0),
      lines: new Int32Array(0),
      spans: new Int32Array(0),
      unquoted: [],
      columns: this.columns,
      buffers: this.regionBuffers,
    };
    this.regionBuffers = [];
    if (region.length === 0) return batch;
    if (asBuffer(region).indexOf(QUOTE) >= 0) this.splitQuoted(region, batch);
    else if (region.length <= SCAN_MAX_REGION && this.countColumns(region, batch) > 0) this.splitScanned(region, atEnd, batch);
    else this.splitPlain(region, atEnd, batch);
    return batch;
  }

  /**
   * Where the last complete record in `chunk` ends (after its newline, outside quotes), given the
   * carried text before it; -1 when none ends in it. Keeps the quote state of the text carried on.
   */
  private completeEnd(chunk: Uint8Array): number {
    const firstQuote = asBuffer(chunk).indexOf(QUOTE);
    if (firstQuote < 0 && !this.carryHasQuote) {
      const lastNl = asBuffer(chunk).lastIndexOf(NL);
      return lastNl < 0 ? -1 : lastNl + 1;
    }
    let inQuotes = this.carryInQuotes;
    let end = -1;
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i]!;
      if (ch === QUOTE) inQuotes = !inQuotes;
      else if (ch === NL && !inQuotes) end = i + 1;
    }
    if (end >= 0) {
      // What is carried on starts after the record end: quotes open in it only.
      let inQuotesAtEnd = false;
      for (let i = end; i < chunk.length; i++) if (chunk[i] === QUOTE) inQuotesAtEnd = !inQuotesAtEnd;
      this.carryHasQuote = false;
      this.carryInQuotes = inQuotesAtEnd;
    } else {
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
    if (batch.records.length < records * 2) {
      const grown = new Int32Array(Math.max(records * 2, batch.records.length * 2));
      grown.set(batch.records.subarray(0, batch.count * 2));
      batch.records = grown;
      const lines = new Int32Array(grown.length >> 1);
      lines.set(batch.lines.subarray(0, batch.count));
      batch.lines = lines;
    }
  }

  /** The number of columns: known, or that of the region's first record (0 when all its lines are blank). */
  private countColumns(region: Uint8Array, batch: RecordBatch): number {
    const n = region.length;
    for (let s = 0; s < n && batch.columns === 0; ) {
      const nl = asBuffer(region).indexOf(NL, s);
      const stop = nl < 0 ? n : nl > s && region[nl - 1] === CR ? nl - 1 : nl;
      if (stop > s) batch.columns = this.columns = countCells(region, s, stop, this.delim);
      s = nl < 0 ? n : nl + 1;
    }
    return batch.columns;
  }

  /** Text without quotes, split by the scan kernel (as splitPlain would split it). */
  private splitScanned(region: Uint8Array, atEnd: boolean, batch: RecordBatch): void {
    if (this.terminator === undefined) {
      const nl = asBuffer(region).indexOf(NL);
      this.terminator = nl > 0 && region[nl - 1] === CR ? '\r\n' : '\n';
    }
    this.scanner ??= new CsvScanner();
    // Its capacity is every record the region can hold: one call splits all of it.
    const scan = this.scanner.split(region, atEnd, this.delim, batch.columns, this.line, this.pool);
    if (scan.ragged) throw this.raggedError(scan.ragged.line, scan.ragged.cells, batch.columns);
    batch.count = scan.count;
    batch.records = scan.records;
    batch.spans = scan.spans;
    batch.lines = scan.lines;
    batch.scanner = this.scanner;
    batch.buffers.push(...scan.buffers);
    this.line = scan.line;
  }

  private splitPlain(region: Uint8Array, atEnd: boolean, batch: RecordBatch): void {
    const delim = this.delim;
    const n = region.length;
    let start = 0;
    const columns = this.countColumns(region, batch);
    if (columns === 0) {
      // Blank lines only (the region ends with a line feed, or the input ends here).
      let lines = 0;
      for (let i = asBuffer(region).indexOf(NL); i >= 0; i = asBuffer(region).indexOf(NL, i + 1)) lines++;
      if (region[n - 1] !== NL) lines++;
      this.line += lines;
      return;
    }
    // Room for as many records as the region holds at 8 bytes a cell; grown when that is short.
    this.ensureSpans(batch, batch.count + Math.ceil(n / (8 * columns)) + 1);
    let { spans, records, lines, count } = batch;
    let line = this.line;
    try {
      while (start < n) {
        if (count === records.length >> 1) {
          batch.count = count;
          this.ensureSpans(batch, count * 2);
          ({ spans, records, lines } = batch);
        }
        // One scan of the record's bytes finds its cells and its end.
        let k = count * columns * 2;
        const limit = k + columns * 2 - 2;
        const from = start;
        let cellStart = from;
        let i = from;
        for (; i < n; i++) {
          const c = region[i]!;
          if (c === NL) break;
          if (c !== delim) continue;
          if (k === limit) {
            const nl = asBuffer(region).indexOf(NL, i);
            throw this.raggedError(line, countCells(region, from, nl < 0 ? n : nl, delim), columns);
          }
          spans[k++] = cellStart;
          spans[k++] = i;
          cellStart = i + 1;
        }
        if (i === n && !atEnd) break;
        let stop = i;
        if (stop > from && region[stop - 1] === CR) stop--;
        if (this.terminator === undefined) this.terminator = stop < i ? '\r\n' : '\n';
        start = i + 1;
        if (stop === from) {
          line++;
          continue; // blank lines are skipped
        }
        if (k !== limit) throw this.raggedError(line, (k - count * columns * 2) / 2 + 1, columns);
        spans[k++] = cellStart;
        spans[k++] = stop;
        records[count * 2] = from;
        records[count * 2 + 1] = stop;
        lines[count] = line++;
        count++;
      }
    } finally {
      batch.count = count;
      this.line = line;
    }
  }

  private splitQuoted(region: Uint8Array, batch: RecordBatch): void {
    type Parsed = { record: string[]; raw: string; info: { lines: number } };
    const text = latin1(region, 0, region.length);
    let parsed: Parsed[];
    try {
      parsed = parseCsv(text, {
        delimiter: this.delimiter,
        raw: true,
        info: true,
        relax_column_count: true,
        skip_empty_lines: true,
        record_delimiter: ['\r\n', '\n'],
      }) as unknown as Parsed[];
    } catch (err) {
      throw this.csvParseError(err, text);
    }
    const startLine = this.line;
    let cursor = 0;
    for (const p of parsed) {
      // csv-parse's raw text keeps the \r of a skipped blank CRLF line before the record.
      const raw = p.raw
        .replace(/^[\r\n]+/, '')
        .replace(/\n$/, '')
        .replace(/\r$/, '');
      if (this.terminator === undefined) this.terminator = /\r\n?$/.test(p.raw) ? '\r\n' : '\n';
      const lines = (raw.match(/\n/g)?.length ?? 0) + 1;
      const line = startLine + p.info.lines - lines;
      if (batch.columns === 0) batch.columns = this.columns = p.record.length;
      if (p.record.length !== batch.columns) throw this.raggedError(line, p.record.length, batch.columns);
      // The record in the region: only line breaks (blank lines, terminators) come before it.
      const from = text.indexOf(raw, cursor);
      cursor = from + raw.length;
      this.ensureSpans(batch, batch.count + 1);
      const k = batch.count * batch.columns * 2;
      quotedSpans(raw, this.delimiter, batch.spans, k, batch.columns);
      for (let j = k; j < k + batch.columns * 2; j++) batch.spans[j]! += from;
      batch.records[batch.count * 2] = from;
      batch.records[batch.count * 2 + 1] = cursor;
      batch.lines[batch.count] = line;
      batch.unquoted[batch.count] = p.record;
      batch.count++;
    }
    this.line += text.match(/\n/g)?.length ?? 0;
  }

  /** The record under way is longer than tsnorm holds. */
  tooLong(): TsnormError {
    return new TsnormError(
      `${this.name}: line ${this.line}: a record longer than ${MAX_RECORD_BYTES >> 20} MB (more than tsnorm holds as one line; an unterminated quote?)`,
      'TSNORM_CSV',
    );
  }

  private raggedError(line: number, got: number, want: number): TsnormError {
    return new TsnormError(`${this.name}: line ${line}: ${got} cell${got === 1 ? '' : 's'}, expected ${want} (as in the ${this.firstRecord})`, 'TSNORM_CSV');
  }

  private csvParseError(err: unknown, region: string): TsnormError {
    const e = err as { code?: string; message?: string; lines?: number; index?: number };
    const line = this.line + (e.lines ?? 1) - 1;
    if (e.code === 'CSV_QUOTE_NOT_CLOSED') {
      const open = Math.max(0, openQuote(region));
      const at = this.line + (region.slice(0, open).match(/\n/g)?.length ?? 0);
      return new TsnormError(`${this.name}: line ${at}: unterminated quoted field (a " opens here and is never closed)`, 'TSNORM_CSV');
    }
    const cell = typeof e.index === 'number' ? `, cell ${e.index + 1}` : '';
    if (e.code === 'INVALID_OPENING_QUOTE') {
      return new TsnormError(
        `${this.name}: line ${line}${cell}: a quote (") inside a cell that is not quoted: quote the whole cell and double the quote ("5"" screen")`,
        'TSNORM_CSV',
      );
    }
    if (e.code === 'CSV_INVALID_CLOSING_QUOTE') {
      return new TsnormError(
        `${this.name}: line ${line}${cell}: text after the closing quote of a quoted cell: a quote inside a quoted cell is written twice ("")`,
        'TSNORM_CSV',
      );
    }
    const what = (e.message ?? String(err)).replace(/ at line \d+.*$/, '');
    return new TsnormError(`${this.name}: line ${line}: malformed quoting: ${what}`, 'TSNORM_CSV');
  }
}

const EMPTY = new Uint8Array(0);

/** A Buffer over the same bytes: its indexOf is memchr, far faster than a typed array's. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

function countCells(bytes: Uint8Array, from: number, to: number, delim: number): number {
  let n = 1;
  for (let i = from; i < to; i++) if (bytes[i] === delim) n++;
  return n;
}

/**
 * Cell spans of a record that may contain quoted cells (quotes included in the span): `columns`
 * pairs written at spans[k...], or as many as the record has when `columns` is not given.
 */
export function quotedSpans(raw: string, delimiter: string, spans?: Int32Array, k = 0, columns = Infinity): Int32Array {
  const out = spans ?? new Int32Array(2 * raw.split(delimiter).length);
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
