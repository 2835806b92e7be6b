// The CLI's bundle entry (scripts/bundle.mjs): bin/tsnorm.js loads it with a V8 code cache.
export { main } from './main.js';
