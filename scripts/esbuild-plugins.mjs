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
    build.onResolve({ filter: /^(node:)?child_process$/ }, (args) => (args.importer.includes(`${path.sep}commander${path.sep}`) ? { path: 'child_process', namespace: 'tsnorm-lazy' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'tsnorm-lazy' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_, key) => require('node:child_process')[key] });",
      loader: 'js',
    }));
  },
};
