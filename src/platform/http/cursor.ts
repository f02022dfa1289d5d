import { DomainError } from '../errors/domain-error.js';

/**
 * Opaque keyset cursors for `?cursor=`: base64url JSON of the last row's sort key. A cursor that
 * does not decode to the expected shape is a 400, never a database error.
 */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const invalidCursor = (): DomainError =>
  new DomainError('invalid_cursor', 'validation', 'The cursor is invalid or from another list');

export function decodeCursor(
  cursor: string,
  shape: readonly ('uuid' | 'string' | 'number')[],
): (string | number)[] {
  const invalid = invalidCursor;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(key) || key.length !== shape.length) throw invalid();
  shape.forEach((kind, i) => {
    const v: unknown = key[i];
    const ok =
      kind === 'uuid'
        ? typeof v === 'string' && UUID.test(v)
        : kind === 'number'
          ? typeof v === 'number' && Number.isFinite(v)
          : typeof v === 'string' && v.length <= 1024;
    if (!ok) throw invalid();
  });
  return key as (string | number)[];
}

/** Cuts a `limit + 1` result into a page and the cursor of its last item. */
export function toPage<T, R = T>(
  rows: T[],
  limit: number,
  keyOf: (row: T) => (string | number)[],
  map: (row: T) => R = (row) => row as unknown as R,
): { items: R[]; nextCursor: string | null } {
  const pageRows = rows.slice(0, limit);
  const last = pageRows[pageRows.length - 1];
  return {
    items: pageRows.map(map),
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null,
  };
}
