// esbuild plugins shared by scripts/bundle.mjs and scripts/build-exe.mjs.
import path from 'node:path';

/**
 * commander requires node:child_process when it loads (to run executable subcommands, of which
 * tsnorm has none), and that loads net and stream: ~4 ms of every start-up. commander gets a
 * stand-in that loads the real module when it is first used.
 */
export const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(build) {
    build.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes(`${path.sep}commander${path.sep}`) ? { path: 'child_process', namespace: 'tsnorm-lazy' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'tsnorm-lazy' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_, key) => require('node:child_process')[key] });",
      loader: 'js',
    }));
  },
};

/**
 * apache-arrow as a script of its own (dist/bundle/apache-arrow.cjs, with its own code cache),
 * read only by a run that reads or writes Arrow: other runs read a 0.66 MB bundle instead of
 * 1.1 MB, and an Arrow job gets apache-arrow's compiled code without the main cache carrying it
 * (a cache is deserialised whole: with Arrow's code in it, --version took ~3 ms longer). 40
 * alternating runs: --version and a 4 KB CSV job as before, a small Arrow job 106 -> 102 ms.
 * bin/tsnorm.js hands the bundle a require() that loads this script with its cache.
 */
export const arrowChunk = {
  name: 'arrow-chunk',
  setup(build) {
    build.onResolve({ filter: /^apache-arrow$/ }, () => ({ path: './apache-arrow.cjs', external: true }));
  },
};
