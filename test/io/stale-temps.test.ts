/**
 * What a later run may remove of the temporary files a killed run left: only what it can prove
 * dead (its own host, an earlier boot, or its own boot and pid namespace with the owner's pid gone
 * or reused), only regular files and folders of this user, never through a link.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Owner, SCRATCH_NAME, SIBLING_NAME, isDeadOwner, ownerTag, removeStaleTemps, startTimeOf, thisOwner } from '../../src/io/stale-temps.js';
import { ROOT, tempDir } from '../helpers/cli.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const me = thisOwner()!;
const other = (hex: string): string => (hex === 'aaaaaa' ? 'bbbbbb' : 'aaaaaa');
const sibling = (o: Owner): string => `.tsnorm-${ownerTag(o)}.abc12345.tmp`;
const scratch = (o: Owner): string => `tsnorm-${ownerTag(o)}.Ab3xYz`;

/** A process that has ended, with the pid and start time it had. */
async function deadProcess(): Promise<Owner> {
  const child = spawn('sleep', ['30']);
  await new Promise((r) => child.once('spawn', r));
  const start = startTimeOf(child.pid!);
  expect(typeof start).toBe('string');
  const closed = new Promise((r) => child.once('close', r));
  child.kill('SIGKILL');
  await closed;
  return { ...me, pid: child.pid!, start: start as string };
}

describe('the owner of a temporary file', () => {
  it('is read from /proc: this process, with a start time', () => {
    expect(me.pid).toBe(process.pid);
    expect(me.start).toMatch(/^\d+$/);
    expect(startTimeOf(process.pid)).toBe(me.start);
    expect(SIBLING_NAME.test(sibling(me))).toBe(true);
    expect(SCRATCH_NAME.test(scratch(me))).toBe(true);
  });

  it("is unknown in a pid namespace whose /proc is another namespace's: names then carry no owner", () => {
    // The built module (npm test builds first), in a child with a pid namespace of its own.
    const module = path.join(ROOT, 'dist/io/stale-temps.js');
    const probe = `import(${JSON.stringify(module)}).then((m) => console.log(JSON.stringify(m.thisOwner())))`;
    const inside = spawnSync('unshare', ['--user', '--map-root-user', '--pid', '--fork', process.execPath, '-e', probe], { encoding: 'utf8' });
    expect(inside.stderr, 'unshare must work here (Linux, root or unprivileged user namespaces)').toBe('');
    expect(inside.stdout.trim()).toBe('null');
    const outside = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
    expect(JSON.parse(outside.stdout)).toMatchObject({ pid: outside.pid, host: me.host, boot: me.boot, ns: me.ns });
  });

  it('is dead only where that can be proved', async () => {
    const dead = await deadProcess();
    const now = Date.now();
    const bootMs = now - 3_600_000;
    const verdict = (o: Owner, writtenMs = now) => isDeadOwner(SIBLING_NAME.exec(sibling(o))!, me, writtenMs, bootMs);
    expect(verdict(me)).toBe(false);
    expect(verdict(dead)).toBe(true);
    expect(verdict({ ...me, start: String(Number(me.start) + 1) })).toBe(true); // this pid, reused
    expect(verdict({ ...dead, host: other(me.host) })).toBe(false); // another machine's
    expect(verdict({ ...dead, ns: other(me.ns) })).toBe(false); // another container's
    // Another boot: dead if written before this boot began; written since, it is another
    // machine's that shares this one's name (a cloned VM), alive for all this run can tell.
    expect(verdict({ ...me, boot: other(me.boot) }, bootMs - 1)).toBe(true);
    expect(verdict({ ...me, boot: other(me.boot) }, bootMs + 1)).toBe(false);
    expect(isDeadOwner(SIBLING_NAME.exec(sibling({ ...me, boot: other(me.boot) }))!, me, 0, NaN)).toBe(false); // no boot time known
    // A process that exists but cannot be read is taken as alive.
    expect(isDeadOwner(SIBLING_NAME.exec(sibling(dead))!, me, now, bootMs, () => null)).toBe(false);
    expect(isDeadOwner(SIBLING_NAME.exec(sibling(dead))!, me, now, bootMs, () => undefined)).toBe(true);
    expect(isDeadOwner(SIBLING_NAME.exec(sibling(dead))!, me, now, bootMs, () => dead.start)).toBe(false);
  });
});

describe('removeStaleTemps', () => {
  it("removes dead owners' output temporaries, and nothing else", async () => {
    const dead = await deadProcess();
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'out-'));
    const put = (name: string) => {
      fs.writeFileSync(path.join(dir, name), 'x');
      return name;
    };
    const keep = [
      put(sibling(me)),
      put(sibling({ ...dead, host: other(me.host) })),
      put(sibling({ ...dead, ns: other(me.ns) })),
      put('.tsnorm-abcdefabcdef.tmp'), // an older name, with no owner: unprovable
      put('data.npy'),
      put(scratch(dead)), // a scratch folder's name, as a file
    ];
    const earlierBoot = put(sibling({ ...me, boot: other(me.boot) }));
    fs.utimesSync(path.join(dir, earlierBoot), 1000, 1000); // written in 1970: before this boot
    keep.push(put(sibling({ ...me, boot: other(me.boot), pid: me.pid + 1 }))); // another boot's, written now
    const gone = [put(sibling(dead)), earlierBoot];
    // A link named like a dead owner's file, to a file that must survive, is left alone.
    const target = path.join(tmp.dir, 'precious');
    fs.writeFileSync(target, 'keep me');
    const link = sibling({ ...dead, start: String(Number(dead.start) + 7) });
    fs.symlinkSync(target, path.join(dir, link));
    keep.push(link);
    // A folder named like one too.
    const folder = sibling({ ...dead, start: String(Number(dead.start) + 8) });
    fs.mkdirSync(path.join(dir, folder));
    keep.push(folder);
    // Another user's file.
    const theirs = put(sibling({ ...dead, start: String(Number(dead.start) + 9) }));
    fs.chownSync(path.join(dir, theirs), 4242, 4242);
    keep.push(theirs);

    expect(removeStaleTemps(dir, 'sibling')).toBe(gone.length);
    expect(fs.readdirSync(dir).sort()).toEqual([...keep].sort());
    expect(fs.readFileSync(target, 'utf8')).toBe('keep me');
  });

  it("removes dead owners' scratch folders with what is in them", async () => {
    const dead = await deadProcess();
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'scratch-'));
    const deadFolder = path.join(dir, scratch(dead));
    fs.mkdirSync(deadFolder);
    fs.writeFileSync(path.join(deadFolder, 'spool-abc'), 'rows');
    fs.mkdirSync(path.join(dir, scratch(me)));
    fs.writeFileSync(path.join(dir, scratch({ ...dead, start: String(Number(dead.start) + 1) })), 'a file, not a folder');
    fs.writeFileSync(path.join(dir, sibling(dead)), 'an output temporary: not this kind');
    expect(removeStaleTemps(dir, 'scratch')).toBe(1);
    expect(fs.readdirSync(dir).sort()).toEqual([scratch(me), scratch({ ...dead, start: String(Number(dead.start) + 1) }), sibling(dead)].sort());
  });

  it('does nothing in a folder it cannot read', () => {
    expect(removeStaleTemps(path.join(tmp.dir, 'no-such-folder'), 'sibling')).toBe(0);
  });
});
