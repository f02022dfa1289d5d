import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Bearer tokens: `ib<kind>_<prefix>_<secret>`. The prefix is public and finds the stored row; the
 * secret carries 256 random bits. Only a SHA-256 digest of the whole token is stored — a single
 * hash is the right tool for high-entropy tokens (no password stretching on the request path).
 */
export type TokenKind = 'adm' | 'src';

export interface IssuedToken {
  token: string;
  prefix: string;
  digest: Buffer;
}

const PREFIX_BYTES = 9; // 12 base64url characters
const SECRET_BYTES = 32; // 256 bits
const TOKEN_PATTERN = /^ib(adm|src)_([A-Za-z0-9_-]{12})_([A-Za-z0-9_-]{43})$/;

export function issueToken(kind: TokenKind): IssuedToken {
  const prefix = randomBytes(PREFIX_BYTES).toString('base64url');
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  const token = `ib${kind}_${prefix}_${secret}`;
  return { token, prefix, digest: digestToken(token) };
}

/** The lookup prefix of a well-formed token of the given kind, or undefined. */
export function tokenPrefix(token: string, kind: TokenKind): string | undefined {
  const match = TOKEN_PATTERN.exec(token);
  return match && match[1] === kind ? match[2] : undefined;
}

export function digestToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Constant-time comparison of a presented token with a stored digest. */
export function tokenMatches(token: string, digest: Buffer): boolean {
  const presented = digestToken(token);
  return presented.length === digest.length && timingSafeEqual(presented, digest);
}
