import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { embeddedText } from './embedded.js';

/** How to start a worker: its script's file, or (in the single executable) its code. */
export type WorkerScript = { readonly file: string } | { readonly code: string };

/**
 * The worker script `name` (a bundle built beside the CLI's: dist/bundle/NAME), or undefined where
 * there is none (the library run from its sources, or its tsc output): callers then do the work
 * in their own thread.
 */
export function workerScript(name: string): WorkerScript | undefined {
  const code = embeddedText(name);
  if (code !== undefined) return { code };
  let file: string;
  try {
    file = fileURLToPath(new URL(`./${name}`, import.meta.url));
  } catch {
    return undefined;
  }
  return fs.existsSync(file) ? { file } : undefined;
}
