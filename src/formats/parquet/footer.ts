import * as A from 'apache-arrow';
import { type ThriftStruct, ThriftReader, list, num, str, sub } from './thrift.js';

/**
 * What the fast decoder needs of a Parquet footer, when it can read the file: flat columns of
 * doubles, floats, int32/int64 and UTF-8 strings, required or optional, in pages of the
 * encodings and codecs it knows. Anything else (nesting, logical types such as timestamps or
 * decimals, INT96, delta encodings, LZ4, columns in other files, an Arrow schema asking for
 * other types) is left to parquet-wasm: `fastPlan` then gives undefined.
 */

export type FastType = 'float64' | 'float32' | 'int64' | 'int32' | 'utf8';

export interface FastColumn {
  readonly name: string;
  readonly type: FastType;
  readonly optional: boolean;
  /** Text the Arrow schema stored in the file types as large_utf8 (pyarrow from pandas and polars' oldest level write it). */
  large?: boolean;
}

export interface FastChunk {
  /** Bytes [start, end) of the file: the dictionary page, if any, then the data pages. */
  readonly start: number;
  readonly end: number;
  readonly codec: number;
  readonly values: number;
}

export interface FastRowGroup {
  readonly rows: number;
  readonly chunks: readonly FastChunk[];
}

export interface FastPlan {
  readonly schema: A.Schema;
  readonly columns: readonly FastColumn[];
  readonly rowGroups: readonly FastRowGroup[];
}

/** Codecs decoded here: UNCOMPRESSED, SNAPPY, GZIP, BROTLI, ZSTD. */
export const FAST_CODECS = new Set([0, 1, 2, 4, 6]);
/** Encodings decoded here: PLAIN, PLAIN_DICTIONARY, RLE (levels), RLE_DICTIONARY. */
const FAST_ENCODINGS = new Set([0, 2, 3, 8]);

const ARROW_TYPES: Record<FastType, () => A.DataType> = {
  float64: () => new A.Float64(),
  float32: () => new A.Float32(),
  int64: () => new A.Int64(),
  int32: () => new A.Int32(),
  utf8: () => new A.Utf8(),
};

export function fastPlan(footer: Uint8Array, fileSize: number): FastPlan | undefined {
  let meta: ThriftStruct;
  try {
    meta = new ThriftReader(footer, 0, 'Parquet footer').struct();
  } catch {
    return undefined; // parquet-wasm says what is wrong with it
  }
  const elements = list(meta, 2) as ThriftStruct[];
  const root = elements[0];
  if (!root || num(root, 5) !== elements.length - 1) return undefined;
  const columns: FastColumn[] = [];
  for (const e of elements.slice(1)) {
    const column = fastColumn(e);
    if (!column) return undefined;
    columns.push(column);
  }
  const kv = new Map<string, string>();
  for (const pair of list(meta, 5) as ThriftStruct[]) {
    const key = str(pair, 1);
    if (key !== undefined) kv.set(key, str(pair, 2) ?? '');
  }
  const schema = arrowSchema(columns, kv);
  if (!schema) return undefined;
  const rowGroups: FastRowGroup[] = [];
  for (const g of list(meta, 4) as ThriftStruct[]) {
    const chunks: FastChunk[] = [];
    const cols = list(g, 1) as ThriftStruct[];
    if (cols.length !== columns.length) return undefined;
    for (const c of cols) {
      const m = sub(c, 3);
      if (!m || str(c, 1) !== undefined) return undefined;
      const codec = num(m, 4) ?? -1;
      if (!FAST_CODECS.has(codec)) return undefined;
      if (!(list(m, 2) as number[]).every((e) => FAST_ENCODINGS.has(e))) return undefined;
      const data = num(m, 9);
      const dict = num(m, 11);
      const size = num(m, 7);
      if (data === undefined || size === undefined) return undefined;
      const start = dict !== undefined && dict > 0 && dict < data ? dict : data;
      if (start < 4 || start + size > fileSize) return undefined;
      chunks.push({ start, end: start + size, codec, values: num(m, 5) ?? 0 });
    }
    rowGroups.push({ rows: num(g, 3) ?? 0, chunks });
  }
  return { schema, columns, rowGroups };
}

/** A leaf column of a type read here, or undefined. */
function fastColumn(e: ThriftStruct): FastColumn | undefined {
  const name = str(e, 4);
  const repetition = num(e, 3) ?? 0;
  if (name === undefined || (num(e, 5) ?? 0) > 0 || repetition > 1) return undefined;
  const physical = num(e, 1);
  const converted = num(e, 6);
  const logical = sub(e, 10);
  const integer = logical ? sub(logical, 10) : undefined;
  // A signed integer of its width: no annotation, the legacy INT_32 / INT_64 (17, 18), or INTEGER(bits, signed).
  const plainInteger = (bits: number) =>
    (logical === undefined && (converted === undefined || converted === (bits === 64 ? 18 : 17))) ||
    (integer !== undefined && num(integer, 1) === bits && integer.get(2) === true && logical?.size === 1);
  let type: FastType | undefined;
  if (physical === 5 && !logical && converted === undefined) type = 'float64';
  else if (physical === 4 && !logical && converted === undefined) type = 'float32';
  else if (physical === 2 && plainInteger(64)) type = 'int64';
  else if (physical === 1 && plainInteger(32)) type = 'int32';
  else if (physical === 6 && ((logical?.has(1) && logical.size === 1) || (!logical && converted === 0))) type = 'utf8';
  return type && { name, type, optional: repetition === 1 };
}

/**
 * The Arrow schema the file's readers give: the one stored in the footer (ARROW:schema, with its
 * metadata and each field's) when its types are the ones read here, else one made from the
 * Parquet columns; the file's key-value metadata is the schema's too, as arrow-rs gives it.
 */
function arrowSchema(columns: readonly FastColumn[], kv: Map<string, string>): A.Schema | undefined {
  const stored = kv.get('ARROW:schema');
  const metadata = new Map([...kv].filter(([k]) => k !== 'ARROW:schema'));
  if (stored === undefined) {
    return new A.Schema(
      columns.map((c) => new A.Field(c.name, ARROW_TYPES[c.type](), c.optional)),
      metadata,
    );
  }
  let schema: A.Schema;
  try {
    const bytes = Buffer.from(stored, 'base64');
    const framed = bytes.readUInt32LE(0) === 0xffffffff ? bytes : Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff]), bytes]);
    const reader = A.RecordBatchReader.from(Buffer.concat([framed, Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])]));
    reader.open();
    schema = reader.schema;
  } catch {
    return undefined;
  }
  if (schema.fields.length !== columns.length) return undefined;
  for (const [i, f] of schema.fields.entries()) {
    const c = columns[i]!;
    if (f.name !== c.name) return undefined;
    if (c.type === 'utf8' && A.DataType.isLargeUtf8(f.type)) c.large = true;
    else if (String(f.type) !== String(ARROW_TYPES[c.type]())) return undefined;
  }
  for (const [k, v] of schema.metadata) metadata.set(k, v);
  return new A.Schema(schema.fields, metadata);
}
