// The single executable's entry (scripts/build-exe.mjs): what bin/tsnorm.js does for `node`.
import { main } from './main.js';

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
