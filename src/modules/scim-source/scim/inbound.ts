import { coerceResource } from '../../../lib/scim/coerce.js';
import { findSchema, RESOURCE_SCHEMAS } from '../../../lib/scim/schemas.js';
import { ENTERPRISE_USER_SCHEMA, ScimError, type ScimSchema } from '../../../lib/scim/schema.types.js';
import type { LinkValues } from '../links/links.repository.js';

/** Longest identifier (userName, externalId, displayName, email) we index; IdPs send far shorter ones. */
export const MAX_IDENTIFIER_LENGTH = 512;
/** Longest string anywhere else in a resource. */
export const MAX_STRING_LENGTH = 16_384;

const invalidValue = (message: string) => new ScimError(400, 'invalidValue', message);

type Json = Record<string, unknown>;

/** A member named in a group payload or patch. */
export interface MemberReference {
  value: string;
  type?: string;
}

export interface InboundUser {
  /** The resource as it will be stored and shown to the source (no id, meta, groups, password). */
  payload: Json;
  values: LinkValues;
  /** `manager.value` of the enterprise extension, to check it names a user of this source. */
  managerId?: string;
}

export interface InboundGroup {
  payload: Json;
  values: LinkValues;
  /** The members the payload lists; undefined when it has no `members` attribute at all. */
  members?: MemberReference[];
}

function checkStrings(value: unknown, path: string): void {
  if (typeof value === 'string') {
    if (value.length > MAX_STRING_LENGTH)
      throw invalidValue(`"${path}" is longer than ${MAX_STRING_LENGTH} characters`);
    return;
  }
  if (Array.isArray(value)) value.forEach((item, i) => checkStrings(item, `${path}[${i}]`));
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) checkStrings(item, path ? `${path}.${key}` : key);
  }
}

/**
 * Entra ID lists schemas of its own in `schemas` (e.g. the ADSCIM Group schema) without sending
 * any attribute of them. Such a URN promises nothing we would lose, so it is left out; a URN that
 * does carry attributes stays and is refused by strict validation like any unknown schema.
 */
function withoutForeignSchemas(body: unknown, schemas: ScimSchema[]): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const record = body as Json;
  const key = Object.keys(record).find((k) => k.toLowerCase() === 'schemas');
  const listed = key === undefined ? undefined : record[key];
  if (!Array.isArray(listed)) return body;
  const keys = Object.keys(record).map((k) => k.toLowerCase());
  const carriesData = (urn: string) =>
    keys.some((k) => k === urn.toLowerCase() || k.startsWith(`${urn.toLowerCase()}:`));
  const kept = listed.filter(
    (urn) => typeof urn !== 'string' || findSchema(schemas, urn) !== undefined || carriesData(urn),
  );
  if (kept.length === listed.length) return body;
  const copy: Json = {};
  for (const [k, v] of Object.entries(record))
    Object.defineProperty(copy, k, {
      value: k === key ? kept : v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return copy;
}

function identifier(payload: Json, name: string): string | null {
  const value = payload[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalidValue(`"${name}" must be a string`);
  if (value.length > MAX_IDENTIFIER_LENGTH)
    throw invalidValue(`"${name}" is longer than ${MAX_IDENTIFIER_LENGTH} characters`);
  return value;
}

/**
 * Validates and normalises an inbound User (POST, PUT, or the result of a PATCH) against the
 * User schemas, strictly: unknown attributes or schemas, wrong types and missing `userName` are
 * 400. Read-only attributes are ignored; the password is never kept.
 */
export function inboundUser(body: unknown): InboundUser {
  const payload = coerceResource(withoutForeignSchemas(body, RESOURCE_SCHEMAS.User), RESOURCE_SCHEMAS.User, {
    strict: true,
  });
  delete payload['password'];
  checkStrings(payload, '');
  const emails = payload['emails'];
  if (Array.isArray(emails)) {
    for (const email of emails as Json[]) {
      if (typeof email['value'] === 'string' && email['value'].length > MAX_IDENTIFIER_LENGTH) {
        throw invalidValue(`An email address is longer than ${MAX_IDENTIFIER_LENGTH} characters`);
      }
    }
  }
  const values: LinkValues = {
    payload,
    userName: identifier(payload, 'userName'),
    externalId: identifier(payload, 'externalId'),
    displayName: identifier(payload, 'displayName'),
  };
  const enterprise = payload[ENTERPRISE_USER_SCHEMA] as Json | undefined;
  const manager = enterprise?.['manager'] as Json | undefined;
  const managerId = typeof manager?.['value'] === 'string' ? manager['value'] : undefined;
  return { payload, values, ...(managerId !== undefined ? { managerId } : {}) };
}

/**
 * Validates and normalises an inbound Group. Members are taken out of the payload: membership is
 * structural, applied to the directory by id, never stored as an attribute.
 */
export function inboundGroup(body: unknown): InboundGroup {
  const payload = coerceResource(
    withoutForeignSchemas(body, RESOURCE_SCHEMAS.Group),
    RESOURCE_SCHEMAS.Group,
    { strict: true },
  );
  const rawMembers = payload['members'];
  delete payload['members'];
  checkStrings(payload, '');
  const values: LinkValues = {
    payload,
    userName: null,
    externalId: identifier(payload, 'externalId'),
    displayName: identifier(payload, 'displayName'),
  };
  const membersKey = Object.keys(body as Json).find((key) => key.toLowerCase() === 'members');
  if (membersKey === undefined) return { payload, values };
  // Validated against the raw input: coercion drops read-only sub-attributes, and an element
  // holding only those would otherwise vanish instead of being refused.
  const raw = (body as Json)[membersKey];
  const rawList = raw === null ? [] : (raw as unknown[]);
  rawList.forEach((element, index) => {
    const entry = element as Json;
    const key = Object.keys(entry).find((k) => k.toLowerCase() === 'value');
    const value = key === undefined ? undefined : entry[key];
    if (typeof value !== 'string' || value.trim() === '')
      throw invalidValue(`"members[${index}].value" must be the id of a User or Group`);
  });
  const members = ((rawMembers as Json[] | undefined) ?? []).map((member): MemberReference => ({
    value: member['value'] as string,
    ...(typeof member['type'] === 'string' ? { type: member['type'] } : {}),
  }));
  return { payload, values, members };
}
