import { describe, expect, it } from 'vitest';
import { batchProgram, isJsonData } from './object-batcher.js';

describe('isJsonData', () => {
  it.each<[string, unknown, boolean]>([
    ['a view', { userName: 'a', active: true, n: 1, emails: [{ value: 'x' }], extra: null }, true],
    ['an absent attribute variable', { userName: 'a', displayName: undefined }, true],
    ['a null-prototype object', Object.assign(Object.create(null) as object, { a: 1 }), true],
    ['a Date', { at: new Date(0) }, false],
    ['undefined in a list', { list: [1, undefined] }, false],
    ['NaN', { n: Number.NaN }, false],
    ['-0', { n: -0 }, false],
    ['a Map', { m: new Map() }, false],
    ['a function', { f: () => 1 }, false],
    ['a bigint', { b: 1n }, false],
  ])('%s → %s', (_label, value, expected) => {
    expect(isJsonData(value, 0)).toBe(expected);
  });
});

describe('batchProgram', () => {
  it('names its own variables with the private prefix and leaves the expressions as written', () => {
    const expression = "const $value = '@@LIMIT@@ $& $1'; return { a: $value };";
    const program = batchProgram('ibX_', [{ id: 'm', version: 1, expression }], ['provider', 'user'], 50);
    expect(program).toContain(expression);
    expect(program).toContain('ibX_fns[ibX_k](ibX_c.provider, ibX_c.user)');
    expect(program).toContain('> 50) throw ibX_bad');
    expect(program.replace(expression, '')).not.toMatch(/\$[a-z]/i);
  });
});
