import { describe, expect, it } from 'vitest';
import { SecretBox } from './secret-box.js';
import { digestToken, issueToken, tokenMatches, tokenPrefix } from './tokens.js';

describe('tokens', () => {
  it('issues 256-bit tokens whose prefix finds them and whose digest verifies them', () => {
    const { token, prefix, digest } = issueToken('adm');
    expect(token).toMatch(/^ibadm_/);
    expect(tokenPrefix(token, 'adm')).toBe(prefix);
    expect(tokenMatches(token, digest)).toBe(true);
    expect(tokenMatches(`${token.slice(0, -1)}x`, digest)).toBe(false);
  });

  it.each([
    ['wrong kind', (t: string) => t.replace('ibadm_', 'ibsrc_')],
    ['truncated', (t: string) => t.slice(0, -2)],
    ['garbage', () => 'Bearer nonsense'],
  ])('rejects a %s token at the prefix step', (_name, mutate) => {
    expect(tokenPrefix(mutate(issueToken('adm').token), 'adm')).toBeUndefined();
  });

  it('never issues the same token twice', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => issueToken('src').token));
    expect(tokens.size).toBe(1000);
    expect(digestToken('a').length).toBe(32);
  });
});

describe('SecretBox', () => {
  const box = new SecretBox('x'.repeat(32));

  it('round-trips and produces a different ciphertext each time', () => {
    const a = box.seal('s3cret', 'provider:1');
    expect(a).not.toContain('s3cret');
    expect(box.seal('s3cret', 'provider:1')).not.toBe(a);
    expect(box.open(a, 'provider:1')).toBe('s3cret');
  });

  it('refuses a ciphertext used for another purpose, tampered with, or under another key', () => {
    const sealed = box.seal('s3cret', 'provider:1');
    expect(() => box.open(sealed, 'provider:2')).toThrow();
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    expect(() => box.open(parts.join('.'), 'provider:1')).toThrow();
    expect(() => new SecretBox('y'.repeat(32)).open(sealed, 'provider:1')).toThrow();
  });
});
