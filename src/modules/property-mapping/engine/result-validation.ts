import { isMultiValuedComplexAttribute } from '../../../lib/merge/deep-merge.js';
import { coerceResource } from '../../../lib/scim/coerce.js';
import { ScimError } from '../../../lib/scim/schema.types.js';
import { RESOURCE_SCHEMAS, findSchema, splitSchemaUrn } from '../../../lib/scim/schemas.js';
import type { MappingScope } from '../mappings/property-mapping.entity.js';
import { canonicalSchemas } from './canonical-check.js';
import { MappingErrors } from '../property-mapping.errors.js';

type JsonObject = Record<string, unknown>;

/** What validation needs to know about each mapping that ran. */
export interface ContributionSource {
  name: string;
  contribution: JsonObject | null;
}

const URN = /^urn:/i;
const EXTENSION_URN = /^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[A-Za-z0-9()+,\-.:=@;$_!*'%/?#]+$/;

const isPlainObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Validates a merged result against the SCIM schema of its resource and returns it normalised
 * (attribute names in the schema's spelling, `"True"` → `true`, empty values dropped):
 *
 * - `source:*` results are directory views: no `schemas`; `userName` (users) or `displayName`
 *   (groups) required; core and enterprise attributes type-checked, unknown ones rejected; other
 *   extensions kept as objects under their URN; users may carry `kind` (`person` | `service`).
 *   `id`, `meta`, `schemas`, `groups` and `password` are never stored and are dropped.
 * - `provider:*` results are SCIM payloads: `schemas` is required and lists the core schema; core
 *   and enterprise attributes are type-checked and unknown ones rejected; an extension this bridge
 *   does not define is passed on (as an object) only when `schemas` declares it. As in lib/scim,
 *   `schemas` comes out listing the core schema, then the known extensions declared or carrying
 *   data, then the declared custom ones. Read-only attributes (`id`, `meta`, `groups`) are dropped.
 * - Group membership is structural: `members` in a group result is an error.
 *
 * A failure throws `mapping_result_invalid` naming the attribute and the mappings that set it.
 * Results that are already canonical (the usual case) are checked by one quick walk
 * (`canonical-check.ts`) and returned as they are; the rest go through `coerceResource`.
 */
export function validateResult(
  scope: MappingScope,
  result: JsonObject,
  sources: readonly ContributionSource[],
): JsonObject {
  const resource = scope.endsWith(':user') ? 'User' : 'Group';
  const fail = (attribute: string, message: string): never => {
    throw MappingErrors.resultInvalid(responsibleMappings(attribute, sources, result), attribute, message);
  };
  if (resource === 'Group') {
    const members = Object.keys(result).find((key) => key.toLowerCase() === 'members');
    if (members !== undefined) fail(members, 'group membership is structural and cannot be set by a mapping');
  }
  return scope.startsWith('source:')
    ? validateView(resource, result, fail)
    : validatePayload(resource, result, fail);
}

type Fail = (attribute: string, message: string) => never;

/** Keys a directory view never stores (lower case). */
const NOT_STORED = new Set(['id', 'meta', 'schemas', 'groups', 'password']);

function validateView(resource: 'User' | 'Group', result: JsonObject, fail: Fail): JsonObject {
  if (result.password === undefined && canonicalSchemas(resource, result)) return result;
  const schemas = RESOURCE_SCHEMAS[resource];
  const known: JsonObject = {};
  const foreign: JsonObject = {};
  let kind: unknown;
  for (const [key, value] of Object.entries(result)) {
    if (NOT_STORED.has(key.toLowerCase())) continue;
    if (resource === 'User' && key === 'kind') {
      if (value !== 'person' && value !== 'service' && value !== undefined)
        fail('kind', 'must be "person" or "service"');
      kind = value;
      continue;
    }
    if (URN.test(key) && !splitSchemaUrn(schemas, key)) {
      if (!EXTENSION_URN.test(key)) fail(key, 'is not a valid schema URN');
      if (!isPlainObject(value)) fail(key, 'an extension must be an object of attributes');
      foreign[key] = value;
      continue;
    }
    known[key] = value;
  }
  let normalised: JsonObject;
  if (canonicalSchemas(resource, known)) {
    normalised = known;
  } else {
    const declared = schemas.filter(
      (schema, index) =>
        index === 0 ||
        Object.keys(known).some((key) => key.toLowerCase().startsWith(schema.id.toLowerCase())),
    );
    normalised = coerce({ ...known, schemas: declared.map((schema) => schema.id) }, resource, fail);
    delete normalised.schemas;
  }
  return { ...normalised, ...(kind !== undefined && { kind }), ...foreign };
}

function validatePayload(resource: 'User' | 'Group', result: JsonObject, fail: Fail): JsonObject {
  const schemas = RESOURCE_SCHEMAS[resource];
  const listed = result.schemas;
  if (!Array.isArray(listed) || listed.length === 0 || listed.some((urn) => typeof urn !== 'string')) {
    fail('schemas', 'a SCIM payload needs "schemas": an array of schema URNs starting with the core schema');
  }
  const urns = listed as string[];

  // Fast path: canonical attributes and only known schemas declared.
  const present = canonicalSchemas(resource, result, { ignoreSchemas: true });
  if (present && urns.every((urn) => schemas.some((schema) => schema.id === urn))) {
    const out = schemas
      .filter((schema) => present.includes(schema.id) || urns.includes(schema.id))
      .map((s) => s.id);
    if (out[0] !== schemas[0]!.id || !urns.includes(out[0]))
      fail('schemas', `must include "${schemas[0]!.id}"`);
    return sameList(out, urns) ? result : { ...result, schemas: out };
  }

  const lowerUrns = new Set(urns.map((urn) => urn.toLowerCase()));
  if (!lowerUrns.has(schemas[0]!.id.toLowerCase())) fail('schemas', `must include "${schemas[0]!.id}"`);
  const foreignUrns: string[] = [];
  for (const urn of urns) {
    if (findSchema(schemas, urn)) continue;
    if (!EXTENSION_URN.test(urn)) fail('schemas', `"${urn}" is not a valid schema URN`);
    foreignUrns.push(urn);
  }
  const known: JsonObject = {};
  const foreign: JsonObject = {};
  for (const [key, value] of Object.entries(result)) {
    if (key === 'schemas') continue;
    if (!URN.test(key) || splitSchemaUrn(schemas, key)) {
      known[key] = value;
      continue;
    }
    const urn = foreignUrns.find((candidate) => candidate.toLowerCase() === key.toLowerCase());
    if (urn === undefined) fail(key, 'an extension this bridge does not define must be listed in "schemas"');
    if (!isPlainObject(value)) fail(key, 'an extension must be an object of attributes');
    foreign[key] = value;
  }
  const coerced = coerce(
    { ...known, schemas: urns.filter((urn) => findSchema(schemas, urn)) },
    resource,
    fail,
  );
  return { ...coerced, schemas: [...(coerced.schemas as string[]), ...foreignUrns], ...foreign };
}

const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((item, index) => item === b[index]);

function coerce(input: JsonObject, resource: 'User' | 'Group', fail: Fail): JsonObject {
  try {
    return coerceResource(input, RESOURCE_SCHEMAS[resource], { strict: true });
  } catch (error) {
    if (!(error instanceof ScimError)) throw error;
    return fail(attributeOf(error.message), error.message);
  }
}

/** The attribute a lib/scim validation message names (its first quoted name). */
function attributeOf(message: string): string {
  return /"([^"]+)"/.exec(message)?.[1] ?? '(resource)';
}

/** The top-level key of an attribute label: `emails[0].value` → `emails`, `urn:…:User:manager.value` → `urn:…:User`. */
function topLevelKey(attribute: string): string {
  if (URN.test(attribute)) {
    const split = splitSchemaUrn([...RESOURCE_SCHEMAS.User, ...RESOURCE_SCHEMAS.Group], attribute);
    return split ? split.schema.id : attribute;
  }
  return attribute.split(/[.[]/)[0] ?? attribute;
}

/**
 * The mappings to blame for an attribute: of those whose contributions set its top-level key
 * (case-insensitively, also as a flattened `urn:…:attr` key), the last one when the merged value is
 * a scalar, a replaced array or gone (the later mapping won), else all of them (objects and
 * multi-valued attributes are merged from several). When none set it — e.g. a missing `userName` —
 * every mapping that contributed.
 */
function responsibleMappings(
  attribute: string,
  sources: readonly ContributionSource[],
  merged: JsonObject,
): string[] {
  const top = topLevelKey(attribute).toLowerCase();
  const setters = sources.filter(
    (source) =>
      source.contribution !== null &&
      Object.keys(source.contribution).some((key) => {
        const lower = key.toLowerCase();
        return lower === top || lower.startsWith(`${top}:`);
      }),
  );
  if (setters.length === 0) return unique(sources.filter((source) => source.contribution !== null));
  const mergedKey = Object.keys(merged).find((key) => key.toLowerCase() === top);
  const value = mergedKey === undefined ? undefined : merged[mergedKey];
  const combined = isPlainObject(value) || (Array.isArray(value) && isMultiValuedComplexAttribute(top));
  return unique(combined ? setters : setters.slice(-1));
}

const unique = (sources: readonly ContributionSource[]): string[] => [
  ...new Set(sources.map((source) => source.name)),
];
