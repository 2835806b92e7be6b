// The CLI's bundle entry (scripts/bundle.mjs): bin/tsnorm.js loads it with a V8 code cache.
export { main } from './main.js';
// For scripts/bundle.mjs, which makes the code caches.
export { jitTuningFor, setV8Flag } from './jit.js';
