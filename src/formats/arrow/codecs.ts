import { createRequire } from 'node:module';
import * as A from 'apache-arrow';
import { TsnormError } from '../../errors.js';
import { embeddedAddon } from '../../io/embedded.js';

/**
 * Compression codecs for Arrow record batch bodies, LZ4_FRAME and ZSTD: apache-arrow reads and
 * writes them only through codecs registered here. The codec libraries (lz4-napi, node-zstd:
 * the only ones measured to decode both pyarrow's and polars' files correctly, at 350+ MB/s)
 * are native modules, loaded when the first compressed buffer is met: uncompressed jobs never
 * load them.
 */
interface NativeCodec {
  encode(data: Buffer): Buffer;
  decode(data: Buffer): Buffer;
}

const require = createRequire(import.meta.url);
let lz4: NativeCodec | undefined;
let zstd: NativeCodec | undefined;

function loadLz4(): NativeCodec {
  if (!lz4) {
    const m = loadModule<{ compressFrameSync(b: Buffer): Buffer; decompressFrameSync(b: Buffer): Buffer }>('lz4-napi', 'LZ4');
    lz4 = { encode: (b) => m.compressFrameSync(b), decode: (b) => m.decompressFrameSync(b) };
  }
  return lz4;
}

function loadZstd(): NativeCodec {
  if (!zstd) {
    const m = loadModule<{ Encoder: new (level: number) => { encodeSync(b: Buffer): Buffer }; Decoder: new () => { decodeSync(b: Buffer): Buffer } }>(
      '@toondepauw/node-zstd',
      'ZSTD',
    );
    const encoder = new m.Encoder(1);
    const decoder = new m.Decoder();
    zstd = { encode: (b) => encoder.encodeSync(b), decode: (b) => decoder.decodeSync(b) };
  }
  return zstd;
}

function loadModule<T>(name: string, codec: string): T {
  try {
    // Inside the single executable the addons are its assets; otherwise packages in node_modules.
    return (embeddedAddon(name) ?? require(name)) as T;
  } catch (err) {
    throw new TsnormError(
      `${codec}-compressed Arrow data needs the ${name} package, which could not be loaded here (${(err as Error).message.split('\n')[0]})`,
      'TSNORM_ARROW',
    );
  }
}

const asBuffer = (u8: Uint8Array): Buffer => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
/** apache-arrow views decoded bytes as Float64Array/BigInt64Array: they must start on an 8-byte boundary. */
const aligned = (u8: Uint8Array): Uint8Array => (u8.byteOffset % 8 === 0 ? u8 : u8.slice());

let decoders = false;

/**
 * Decoders for reading, loaded on the first compressed buffer. (apache-arrow tries a codec's
 * encoder when it is registered, which would load the library: readers register decoders only.)
 */
export function registerDecoders(): void {
  if (decoders) return;
  decoders = true;
  A.compressionRegistry.set(A.CompressionType.LZ4_FRAME, { decode: (u8) => aligned(loadLz4().decode(asBuffer(u8))) });
  A.compressionRegistry.set(A.CompressionType.ZSTD, { decode: (u8) => aligned(loadZstd().decode(asBuffer(u8))) });
}

/** The codec an output is compressed with (--compression), encoder and decoder. */
export function registerEncoder(kind: 'lz4' | 'zstd'): void {
  const load = kind === 'lz4' ? loadLz4 : loadZstd;
  A.compressionRegistry.set(kind === 'lz4' ? A.CompressionType.LZ4_FRAME : A.CompressionType.ZSTD, {
    encode: (u8) => load().encode(asBuffer(u8)),
    decode: (u8) => aligned(load().decode(asBuffer(u8))),
  });
}

type Compressed = ReturnType<A.RecordBatchFileWriter['_compressBodyBuffers']>;

/**
 * apache-arrow <= 21.2 writes each compressed buffer's compressed length where the format wants
 * the uncompressed one (apache/arrow-js#470): pyarrow then refuses the file. Put it right.
 */
function uncompressedLengths(input: ArrayBufferView[], out: Compressed): Compressed {
  input.forEach((b, i) => {
    const prefix = out.buffers[2 * i] as Uint8Array | undefined;
    if (prefix?.byteLength !== 8) return;
    const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
    // -1: the buffer was left uncompressed.
    if (view.getBigInt64(0, true) !== -1n) view.setBigInt64(0, BigInt(b.byteLength), true);
  });
  return out;
}

export class ArrowFileWriter extends A.RecordBatchFileWriter {
  protected override _compressBodyBuffers(buffers: ArrayBufferView[]): Compressed {
    return uncompressedLengths(buffers, super._compressBodyBuffers(buffers));
  }
}

export class ArrowStreamWriter extends A.RecordBatchStreamWriter {
  protected override _compressBodyBuffers(buffers: ArrayBufferView[]): Compressed {
    return uncompressedLengths(buffers, super._compressBodyBuffers(buffers));
  }
}

/** ZSTD frames decompressed by the native codec (Parquet pages use it too). */
export function zstdDecompress(data: Uint8Array): Uint8Array {
  return loadZstd().decode(asBuffer(data));
}
