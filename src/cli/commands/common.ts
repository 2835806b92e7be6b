import type { Command } from 'commander';
import { printable } from '../../errors.js';
import { type GroupingHint, groupingText } from '../../pipeline/grouping.js';
import { type CommandName, commanderOption, flagsOf } from '../flags.js';

// What the commands' modules share: their flags from the one list, their help's examples, the
// notes they print, and the outcomes main() turns into exit codes.

/** The command's flags, from the one table of them (flags.ts). */
export function withFlags(cmd: Command, command: CommandName): Command {
  for (const f of flagsOf(command)) cmd.addOption(commanderOption(f, command));
  return cmd;
}

/** The "Examples:" section of a command's --help. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`;
}

/** An error message as one printable line of sensible length (inputs can put megabytes in one). */
export function errorLine(message: string): string {
  const line = printable(message);
  return line.length > 2000 ? `${line.slice(0, 1200)} ... ${line.slice(-600)}` : line;
}

/** Help was shown instead of running (no input and a terminal on stdin): a usage error. */
export class UsageShown extends Error {}

/** The note for a file read as one instance whose rows look like several (check reports it as a problem). */
export function groupingNote(file: string, hint: GroupingHint): void {
  process.stderr.write(`tsnorm: note: ${printable(`${file}: ${groupingText(hint)}; --id ${shellWord(hint.column)}? (-q if the file is one instance)`)}\n`);
}

/** `check` found problems (reported already): exit code 1. */
export class ChecksFailed extends Error {}

/** `check` could not read an input (reported already, and said on stderr): exit code 2. */
export class InputsUnreadable extends Error {}

/** A word as a shell takes it: as it is when it is plain, else in single quotes. */
export function shellWord(word: string): string {
  return /^[\w.,:@%+=-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}
