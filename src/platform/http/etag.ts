import { DomainError } from '../errors/domain-error.js';

/** The ETag of a versioned object: a weak validator of its version number. */
export const etagOf = (version: number): string => `W/"${version}"`;

/**
 * The version named by an `If-Match` header (`W/"3"`, `"3"`), undefined when absent or `*`.
 * A header naming no version at all is a 400, not a silent unconditional write.
 */
export function versionFromIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"(\d{1,9})"\s*$/.exec(header);
  if (!match) {
    throw new DomainError(
      'invalid_if_match',
      'validation',
      'If-Match must be an ETag returned by this API, e.g. W/"3"',
    );
  }
  return Number(match[1]);
}
