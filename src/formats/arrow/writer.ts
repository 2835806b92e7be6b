import { TsnormError } from '../../errors.js';
import type { ByteSink } from '../../io/byte-sink.js';
import type { DataBlock, SeriesWriter, WriterNeeds } from '../types.js';

export class ArrowWriter implements SeriesWriter {
  readonly needs: WriterNeeds = { orientation: 'rows', wholeInstances: false, passThrough: true };
  readonly valueType = 'float64';
  constructor(private readonly sink: ByteSink, _options: unknown) {}
  get name(): string { return this.sink.name; }
  async start(): Promise<void> { throw new TsnormError(`${this.sink.name}: Arrow output is not built yet`); }
  async write(_b: readonly DataBlock[]): Promise<void> {}
  async finish(): Promise<void> {}
  async abort(): Promise<void> { await this.sink.abort(); }
}
