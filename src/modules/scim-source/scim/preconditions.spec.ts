import { describe, expect, it } from 'vitest';
import { checkIfMatch, notModified } from './preconditions.js';

describe('ETag preconditions (RFC 7232 weak comparison)', () => {
  it.each([
    [undefined, true],
    ['*', true],
    ['W/"3"', true],
    ['"3"', true],
    ['W/"2", W/"3"', true],
    ['W/"2"', false],
    ['banana', false],
    ['W/"33"', false],
  ])('If-Match %s on version 3 passes: %s', (header, passes) => {
    if (passes) expect(() => checkIfMatch(header, 3)).not.toThrow();
    else expect(() => checkIfMatch(header, 3)).toThrow(expect.objectContaining({ status: 412 }));
  });

  it('answers If-None-Match with "not modified" only for the current version or *', () => {
    expect(notModified('W/"3"', 3)).toBe(true);
    expect(notModified('*', 3)).toBe(true);
    expect(notModified('W/"2"', 3)).toBe(false);
    expect(notModified(undefined, 3)).toBe(false);
  });
});
