import { describe, expect, it } from 'vitest';
import { IdRegistry } from '../../src/formats/id-registry.js';
import { xorshift32 } from '../helpers/random.js';

describe('IdRegistry', () => {
  it('answers as a Map of the same ids would, through growth and hash collisions', () => {
    const next = xorshift32(11);
    const reference = new Map<string, number>();
    const ids = new IdRegistry();
    const order: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      // Short ids over a small alphabet (many shared prefixes), some bytes above 0x7f (Latin-1 text).
      const id = Array.from({ length: 1 + (next() % 6) }, () => String.fromCharCode(next() % 3 === 0 ? 0xe0 + (next() % 8) : 97 + (next() % 4))).join('');
      expect(ids.lineOf(id)).toBe(reference.get(id));
      if (!reference.has(id)) {
        reference.set(id, i + 2);
        ids.add(id, i + 2);
        order.push(id);
      }
    }
    expect(ids.size).toBe(reference.size);
    order.forEach((id, k) => {
      expect(ids.idAt(k)).toBe(id);
      expect(ids.lineAt(k)).toBe(reference.get(id));
    });
    expect(ids.idAt(order.length)).toBeUndefined();
    expect(ids.lineOf('never-seen')).toBeUndefined();
  });

  it('tells apart ids that are prefixes of each other, and the empty id', () => {
    const ids = new IdRegistry();
    ids.add('ab', 2);
    ids.add('', 3);
    expect(ids.lineOf('a')).toBeUndefined();
    expect(ids.lineOf('abc')).toBeUndefined();
    expect(ids.lineOf('ab')).toBe(2);
    expect(ids.lineOf('')).toBe(3);
  });
});
