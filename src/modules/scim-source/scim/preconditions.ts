import { ScimError } from '../../../lib/scim/schema.types.js';
import type { ScimResourceTypeName } from '../links/link.entity.js';
import { etagOfVersion } from './representation.js';

/** The entity tags of an `If-Match` / `If-None-Match` header (weak or strong), or `*`. */
function tagsOf(header: string): string[] | '*' {
  if (header.trim() === '*') return '*';
  return header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//i, ''))
    .filter((tag) => tag !== '');
}

function matches(header: string, version: number): boolean {
  const tags = tagsOf(header);
  return tags === '*' || tags.includes(`"${version}"`);
}

/** RFC 7644 §3.14 / RFC 7232: a write with an `If-Match` naming another version is 412. */
export function checkIfMatch(header: string | undefined, version: number): void {
  if (header === undefined || matches(header, version)) return;
  throw new ScimError(
    412,
    undefined,
    `The resource has changed: its current version is ${etagOfVersion(version)}`,
  );
}

/** A read with an `If-None-Match` naming the current version is answered 304. */
export function notModified(header: string | undefined, version: number): boolean {
  return header !== undefined && matches(header, version);
}

export const resourceNotFound = (type: ScimResourceTypeName, id: string): ScimError =>
  new ScimError(404, undefined, `${type} "${id}" not found`);
