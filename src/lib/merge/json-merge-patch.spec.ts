import { describe, expect, it } from 'vitest';
import { applyMergePatch } from './json-merge-patch.js';

// RFC 7396 appendix A, one row per example.
const cases: [string, unknown, unknown, unknown][] = [
  ['replaces a scalar', { a: 'b' }, { a: 'c' }, { a: 'c' }],
  ['adds a key', { a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  ['removes a key with null', { a: 'b' }, { a: null }, {}],
  ['removes one of two keys', { a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  ['replaces an array', { a: ['b'] }, { a: 'c' }, { a: 'c' }],
  ['replaces a scalar with an array', { a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [
    'merges nested objects and removes nested keys',
    { a: { b: 'c' } },
    { a: { b: 'd', c: null } },
    { a: { b: 'd' } },
  ],
  ['replaces arrays of objects whole', { a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  ['replaces arrays', ['a', 'b'], ['c', 'd'], ['c', 'd']],
  ['replaces an object with an array', { a: 'b' }, ['c'], ['c']],
  ['replaces an object with null', { a: 'foo' }, null, null],
  ['replaces an object with a string', { a: 'foo' }, 'bar', 'bar'],
  ['keeps nulls inside new values out', { e: null }, { a: 1 }, { e: null, a: 1 }],
  ['creates nested objects and drops their nulls', {}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

describe('applyMergePatch (RFC 7396)', () => {
  it.each(cases)('%s', (_name, target, patch, expected) => {
    expect(applyMergePatch(target, patch)).toEqual(expected);
  });

  it('never mutates its inputs', () => {
    const target = { a: { b: 1 } };
    applyMergePatch(target, { a: { b: 2 } });
    expect(target).toEqual({ a: { b: 1 } });
  });

  it('ignores prototype-polluting keys', () => {
    const patch = JSON.parse(
      '{"__proto__": {"polluted": true}, "a": {"constructor": {"prototype": {"x": 1}}}}',
    );
    const result = applyMergePatch({}, patch) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(result).toEqual({ a: {} });
  });
});
