import { type DocTable, docTable } from './flags.js';

/** The manual's text with each `<!-- flags:TABLE -->` ... `<!-- /flags -->` block made from the flag list. */
export function withFlagTables(manual: string): string {
  return manual.replace(
    /(<!-- flags:(\w+) -->\n)[\s\S]*?(<!-- \/flags -->)/g,
    (_m, open: string, table: string, close: string) => `${open}${docTable(table as DocTable)}\n${close}`,
  );
}
