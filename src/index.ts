/** tsnorm as a library: the InstanceNorm1d core, with no I/O. */
export { InstanceNorm1d } from './core/instance-norm.js';
export type { InstanceNorm1dOptions, StateDict, Tensor } from './core/instance-norm.js';
export { ChannelMoments } from './core/moments.js';
export { RunningStats } from './core/running-stats.js';
export type { Momentum } from './core/running-stats.js';
export { ChannelTransform } from './core/transform.js';
export type { Affine } from './core/transform.js';
export { NormEngine } from './core/engine.js';
export type { NanPolicy, NormSettings } from './core/engine.js';
export type { Block } from './core/block.js';
export { ERROR_CODES, TsnormError } from './errors.js';
export type { ErrorCode } from './errors.js';
