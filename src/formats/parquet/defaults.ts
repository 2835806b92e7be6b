import type { OutputCodec } from '../format.js';

// Parquet output's defaults, apart from the writer so that the flag table (and --help) names
// them without loading the writer's libraries.

/**
 * snappy: what pyarrow, DuckDB and Spark write by default, and several times faster to write
 * than zstd here (zstd runs inside the WebAssembly encoder), for files about an eighth larger.
 * `--compression zstd` for the smaller file.
 */
export const DEFAULT_PARQUET_CODEC: OutputCodec = 'snappy';

/** Rows per row group: what a reader holds at once, and what the writer buffers before it writes one. */
export const DEFAULT_ROW_GROUP_ROWS = 131072;
