/**
 * The JIT tuning a job applies: only flags this V8 has (checked against `node --v8-options` of
 * the Node running the tests: CI runs them on every supported major), and setting them prints
 * nothing.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { JIT_TUNING_BY_V8_MAJOR, jitTuningFor } from '../../src/cli/jit.js';

const v8Options = (): string => spawnSync(process.execPath, ['--v8-options'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }).stdout;

describe('JIT tuning', () => {
  it('is chosen by V8 major version', () => {
    expect(jitTuningFor('11.3.244.8-node.38')).toEqual({ flag: '--interrupt-budget', value: 300000 });
    expect(jitTuningFor('13.6.233.17-node.63')).toBeUndefined();
    expect(jitTuningFor('')).toBeUndefined();
    expect(Object.keys(JIT_TUNING_BY_V8_MAJOR)).toEqual(['11']);
  });

  it("names a flag this Node's V8 has, as an integer, or none", () => {
    const tuning = jitTuningFor(process.versions.v8);
    const options = v8Options();
    expect(options).toMatch(/^ {2}--stack-size \(/m); // the listing is what this test reads
    if (tuning === undefined) {
      // Nothing is tuned where --interrupt-budget is gone (V8 12 and later).
      expect(options).not.toMatch(/^ {2}--interrupt-budget /m);
      return;
    }
    expect(options).toMatch(new RegExp(`^  ${tuning.flag} \\(.*\\)\\n\\s+type: int\\s`, 'm'));
  });

  it('is set without a word on stderr', () => {
    const tuning = jitTuningFor(process.versions.v8) ?? { flag: '--interrupt-budget', value: 300000 };
    const r = spawnSync(process.execPath, ['-e', `require('node:v8').setFlagsFromString(${JSON.stringify(`${tuning.flag}=${tuning.value}`)})`], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    if (jitTuningFor(process.versions.v8)) expect(r.stderr).toBe('');
    // Where V8 has no such flag it would complain: the reason tsnorm does not set it there.
    else expect(r.stderr).toContain('unrecognized flag');
  });
});
