import type { OutputCodec } from '../format.js';

// Parquet output's defaults, apart from the writer so that the flag table (and --help) names
// them without loading the writer's libraries.

/**
 * zstd: the smallest files of the fast codecs, and what polars writes by default; every reader
 * of the last years (pyarrow, polars, DuckDB, Spark 3) reads it.
 */
export const DEFAULT_PARQUET_CODEC: OutputCodec = 'zstd';

/** Rows per row group: what a reader holds at once, and what the writer buffers before it writes one. */
export const DEFAULT_ROW_GROUP_ROWS = 131072;
