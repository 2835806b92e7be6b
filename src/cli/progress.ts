import { isTerminal } from '../io/terminal.js';
import { ReadMeter } from '../io/read-meter.js';

/** Inputs smaller than this finish before a bar would help: none is drawn. */
const SHOWN_FROM_BYTES = 4 * 1024 * 1024;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** How often the display looks at the meter (the reading itself never waits for it). */
const POLL_MS = 150;

/** The little cli-progress needs of us (its module is loaded only when a bar is drawn). */
interface Bar {
  start(total: number, value: number, payload: Record<string, string>): void;
  update(value: number, payload: Record<string, string>): void;
  setTotal(total: number): void;
  stop(): void;
}

export interface ProgressDisplay {
  readonly meter: ReadMeter;
  /** Clears the bar (before the result or an error is printed). Safe to call twice. */
  stop(): void;
}

export interface ProgressWhere {
  /** --quiet */
  readonly quiet: boolean;
  /** The command writes its data to stdout: if that is the terminal too, a bar would garble it. */
  readonly writesStdout: boolean;
  /** For tests: the terminal-ness of the streams (default: process.stderr/stdout.isTTY). */
  readonly stderrIsTTY?: boolean;
  readonly stdoutIsTTY?: boolean;
}

/**
 * A progress bar on stderr while inputs are read: bytes, rate, ETA (or bytes and rate when the
 * size is unknown, as from a pipe), for inputs over a few MB. Nothing unless stderr is a
 * terminal, nothing with --quiet, nothing when data goes to the same terminal on stdout.
 */
export function startProgress(where: ProgressWhere): ProgressDisplay | undefined {
  // isTerminal, not process.stderr.isTTY: making the stream object costs start-up time.
  const stderrTTY = where.stderrIsTTY ?? isTerminal(2);
  const stdoutTTY = where.stdoutIsTTY ?? isTerminal(1);
  if (where.quiet || !stderrTTY || (where.writesStdout && stdoutTTY)) return undefined;
  const meter = new ReadMeter();
  let bar: Bar | undefined;
  let loading = false;
  let stopped = false;
  let input = 0;

  // A set of inputs (a folder) is one bar over all of them; otherwise a bar per input.
  const done = (): number => (meter.set ? meter.setDone : meter.done);
  const size = (): number | undefined => (meter.set ? meter.set.bytes : meter.size);
  const payload = (): Record<string, string> => {
    const seconds = Math.max((Date.now() - (meter.set?.startedAt ?? meter.startedAt)) / 1000, 1e-3);
    const rate = done() / seconds;
    const total = size();
    const left = total === undefined || rate === 0 ? undefined : (total - done()) / rate;
    const name = meter.name.length > 24 ? `...${meter.name.slice(-21)}` : meter.name;
    return {
      // Not named value, total or eta: cli-progress fills those itself.
      file: meter.set ? `${meter.inputs}/${meter.set.files} ${name}` : name,
      read: bytes(done()),
      size: total === undefined ? '' : bytes(total),
      speed: `${bytes(rate)}/s`,
      left: left === undefined ? '' : duration(left),
    };
  };

  const tick = (): void => {
    if (stopped || loading) return;
    if (meter.inputs !== input) {
      input = meter.inputs;
      bar?.setTotal(size() ?? 0);
    }
    if (bar) {
      bar.update(done(), payload());
      return;
    }
    const big = (size() ?? done()) >= SHOWN_FROM_BYTES;
    if (!big) return;
    loading = true;
    void import('cli-progress').then(
      ({ default: cliProgress }) => {
        loading = false;
        if (stopped) return;
        const known = size() !== undefined;
        bar = new cliProgress.SingleBar({
          stream: process.stderr,
          format: known ? '{file} [{bar}] {percentage}% {read}/{size} {speed} ETA {left}' : '{file} {read} read, {speed}',
          barsize: 20,
          clearOnComplete: true,
          // A killed run must not leave the terminal changed: no hidden cursor, no line wrapping
          // turned off (linewrap: true cuts the line to the terminal's width instead).
          hideCursor: false,
          linewrap: true,
          fps: 8,
        });
        bar.start(size() ?? 0, done(), payload());
      },
      () => {
        loading = false;
        stopped = true;
      },
    );
  };

  const timer = setInterval(tick, POLL_MS);
  timer.unref();
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    for (const sig of SIGNALS) process.removeListener(sig, onSignal);
    bar?.stop();
  };
  // Ctrl-C: clear the bar's line, then let the signal end the process as it would have.
  const onSignal = (sig: NodeJS.Signals): void => {
    stop();
    process.kill(process.pid, sig);
  };
  for (const sig of SIGNALS) process.once(sig, onSignal);
  return { meter, stop };
}

function bytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let u = 0;
  while (n >= 1000 && u < units.length - 1) {
    n /= 1000;
    u++;
  }
  return `${u === 0 ? Math.round(n) : n.toFixed(n < 10 ? 1 : 0)} ${units[u]}`;
}

function duration(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}
