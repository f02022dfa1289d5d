import { parseFilter, type FilterAst } from '../../../lib/scim/filter.js';
import type { ProjectionOptions } from '../../../lib/scim/projection.js';
import { ScimError, SEARCH_REQUEST_SCHEMA } from '../../../lib/scim/schema.types.js';

/** The most resources one page may hold (advertised as `filter.maxResults` and `pagination.maxPageSize`). */
export const MAX_RESULTS = 1000;
/** The page size when the client names none (advertised as `pagination.defaultPageSize`). */
export const DEFAULT_COUNT = 100;
/** Beyond this, an offset finds nothing anyway: clamp instead of passing huge numbers to SQL. */
const MAX_START_INDEX = 2_147_483_647;

/** A list or `.search` request, validated. */
export interface ListRequest {
  filter?: FilterAst;
  sortBy?: string;
  sortOrder?: string;
  /** 1-based (index paging). */
  startIndex: number;
  /** 0 … {@link MAX_RESULTS}; 0 asks only for `totalResults`. */
  count: number;
  /** RFC 9865 cursor paging: `''` starts it, a value continues it; undefined means index paging. */
  cursor?: string;
  projection: ProjectionOptions;
}

const invalidValue = (message: string) => new ScimError(400, 'invalidValue', message);

const INTEGER = /^\s*[+-]?\d+\s*$/;

function integer(name: string, value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const number =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && INTEGER.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isFinite(number) || !Number.isInteger(number))
    throw invalidValue(`"${name}" must be an integer`);
  return number;
}

function text(name: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidValue(`"${name}" must be given once, as a string`);
  return value;
}

function attributeList(name: string, value: unknown): string | string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value as string[];
  throw invalidValue(`"${name}" must be a comma-separated string or a list of attribute names`);
}

/**
 * Validates the paging, sorting, filtering and projection parameters of RFC 7644 §3.4.2 and
 * RFC 9865, from a query string (all strings) or a `.search` body (typed JSON). Edge cases follow
 * the RFC: `startIndex` < 1 means 1, a negative `count` means 0, a `count` above the maximum is
 * clamped. Malformed values are 400 `invalidValue`; a malformed filter is 400 `invalidFilter`.
 */
export function parseListRequest(input: Record<string, unknown>): ListRequest {
  const get = (name: string): unknown => {
    const key = Object.keys(input).find((k) => k.toLowerCase() === name.toLowerCase());
    return key === undefined ? undefined : input[key];
  };
  const filterText = text('filter', get('filter'));
  const sortBy = text('sortBy', get('sortBy'));
  const sortOrder = text('sortOrder', get('sortOrder'));
  const rawStart = integer('startIndex', get('startIndex'));
  const rawCount = integer('count', get('count'));
  const cursor = text('cursor', get('cursor'));
  if (cursor !== undefined && rawStart !== undefined) {
    throw invalidValue('Use either "cursor" (cursor paging) or "startIndex" (index paging), not both');
  }
  if (sortOrder !== undefined && !/^(ascending|descending)$/i.test(sortOrder)) {
    throw invalidValue(`sortOrder must be "ascending" or "descending", not "${sortOrder}"`);
  }
  return {
    ...(filterText !== undefined && filterText.trim() !== '' ? { filter: parseFilter(filterText) } : {}),
    ...(sortBy !== undefined && sortBy.trim() !== '' ? { sortBy: sortBy.trim() } : {}),
    ...(sortOrder !== undefined ? { sortOrder } : {}),
    startIndex: Math.min(Math.max(rawStart ?? 1, 1), MAX_START_INDEX),
    count: Math.min(Math.max(rawCount ?? DEFAULT_COUNT, 0), MAX_RESULTS),
    ...(cursor !== undefined ? { cursor } : {}),
    projection: {
      attributes: attributeList('attributes', get('attributes')),
      excludedAttributes: attributeList('excludedAttributes', get('excludedAttributes')),
    },
  };
}

/** A `POST …/.search` body (RFC 7644 §3.4.3): a SearchRequest message. */
export function parseSearchRequest(body: unknown): ListRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ScimError(400, 'invalidSyntax', 'A search request must be a JSON object');
  }
  const record = body as Record<string, unknown>;
  const schemasKey = Object.keys(record).find((k) => k.toLowerCase() === 'schemas');
  const schemas = schemasKey === undefined ? undefined : record[schemasKey];
  const declared =
    Array.isArray(schemas) &&
    schemas.some((s) => typeof s === 'string' && s.toLowerCase() === SEARCH_REQUEST_SCHEMA.toLowerCase());
  if (!declared)
    throw new ScimError(
      400,
      'invalidSyntax',
      `A search request must declare the schema "${SEARCH_REQUEST_SCHEMA}"`,
    );
  return parseListRequest(record);
}

/** Query strings carry repeated parameters as arrays: reject those rather than guess. */
export function queryParameters(query: unknown): Record<string, unknown> {
  if (typeof query !== 'object' || query === null) return {};
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(query as Record<string, unknown>)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
    if (Array.isArray(value) || (typeof value === 'object' && value !== null)) {
      throw invalidValue(`Query parameter "${key}" must be given once`);
    }
    result[key] = value;
  }
  return result;
}
