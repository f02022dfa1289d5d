/**
 * Validation and normalisation of inbound SCIM resources against their schemas (RFC 7643 §2,
 * §3). Identity providers differ in spelling and typing — Entra sends `"True"` for booleans,
 * clients vary attribute-name case, some flatten extension attributes into URN-prefixed keys —
 * and everything past this point may rely on one canonical shape.
 */
import { ScimError, type ScimAttribute, type ScimSchema } from './schema.types.js';
import { findAttribute, findSchema, resolveAttribute, splitSchemaUrn } from './schemas.js';

export interface CoerceOptions {
  /**
   * Strict mode rejects (400 `invalidValue`) what lenient mode repairs or drops:
   * - attributes and sub-attributes no declared schema defines (lenient: dropped),
   * - schema URNs, in `schemas` or as keys, that the resource type does not declare (lenient: dropped),
   * - a missing `schemas`, or one without the core schema (lenient: filled in),
   * - more than one `primary: true` in a multi-valued attribute (lenient: the first one stays primary).
   * Everything else — type errors, forbidden keys, missing required attributes — fails in both.
   */
  strict?: boolean;
}

/** Keys that could reach an object's prototype chain downstream; rejected wherever they appear. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
/** JSON nesting deeper than any SCIM resource needs (resource → extension → attribute → element → sub). */
const MAX_NESTING = 32;

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const BOOLEAN = /^(?:true|false)$/i;
const BASE64 = /^[A-Za-z0-9+/\-_\s]*={0,2}\s*$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))?$/i;

type JsonObject = Record<string, unknown>;

function invalidValue(message: string): ScimError {
  return new ScimError(400, 'invalidValue', message);
}

function isPlainObject(value: unknown): value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/**
 * Whether `text` is an `xsd:dateTime` (RFC 7643 §2.3.5) that PostgreSQL's `timestamptz` also
 * accepts: `YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]`, with a real calendar date and time.
 */
export function isScimDateTime(text: string): boolean {
  const match = DATE_TIME.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second, offsetHour, offsetMinute] = match
    .slice(1)
    .map((part) => (part === undefined ? 0 : Number(part))) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return (
    year >= 1 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetHour <= 14 &&
    offsetMinute <= 59
  );
}

/** Rejects prototype-polluting keys and absurd nesting anywhere in the input, kept or not. */
function assertSafe(value: unknown, depth: number, path: string): void {
  if (depth > MAX_NESTING) throw invalidValue(`The resource is nested too deeply (at "${path}")`);
  if (Array.isArray(value)) {
    value.forEach((element, index) => assertSafe(element, depth + 1, `${path}[${index}]`));
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const key of Object.keys(value)) {
    const segments = key.split(/[.:]/);
    if (segments.some((segment) => FORBIDDEN_KEYS.has(segment))) {
      throw invalidValue(`Attribute name "${key}" is not allowed`);
    }
    assertSafe((value as JsonObject)[key], depth + 1, path ? `${path}.${key}` : key);
  }
}

/** Sets `key` once; a second spelling of the same attribute (`userName`, `username`) is an error. */
function assign(target: JsonObject, key: string, value: unknown, label: string): void {
  if (value === undefined) return;
  if (!Object.prototype.hasOwnProperty.call(target, key)) {
    target[key] = value;
    return;
  }
  const existing = target[key];
  if (isPlainObject(existing) && isPlainObject(value)) {
    for (const [subKey, subValue] of Object.entries(value))
      assign(existing, subKey, subValue, `${label}.${subKey}`);
    return;
  }
  throw invalidValue(`Attribute "${label}" is given more than once`);
}

function typeError(label: string, expected: string, value: unknown): ScimError {
  const got =
    value === null ? 'null' : Array.isArray(value) ? 'an array' : `${typeof value} ${JSON.stringify(value)}`;
  return invalidValue(`Attribute "${label}" must be ${expected}, got ${got}`);
}

/** Coerces one value of a single-valued attribute (or one element of a multi-valued one). */
function coerceSingle(attribute: ScimAttribute, value: unknown, label: string, strict: boolean): unknown {
  if (value === null || value === undefined) return undefined;
  switch (attribute.type) {
    case 'string':
    case 'reference':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
      throw typeError(label, 'a string', value);
    case 'binary':
      if (typeof value === 'string' && BASE64.test(value)) return value;
      throw typeError(label, 'a base64 string', value);
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && BOOLEAN.test(value)) return value.toLowerCase() === 'true';
      throw typeError(label, 'a boolean', value);
    case 'integer': {
      const number = typeof value === 'string' && INTEGER.test(value.trim()) ? Number(value) : value;
      if (typeof number === 'number' && Number.isSafeInteger(number)) return number;
      throw typeError(label, 'an integer', value);
    }
    case 'decimal': {
      const number = typeof value === 'string' && DECIMAL.test(value.trim()) ? Number(value) : value;
      if (typeof number === 'number' && Number.isFinite(number)) return number;
      throw typeError(label, 'a number', value);
    }
    case 'dateTime':
      if (typeof value === 'string' && isScimDateTime(value)) return value;
      throw typeError(label, 'a date-time such as "2011-05-13T04:42:34Z"', value);
    case 'complex':
      return coerceComplex(attribute, value, label, strict);
  }
}

function coerceComplex(
  attribute: ScimAttribute,
  value: unknown,
  label: string,
  strict: boolean,
): JsonObject | undefined {
  if (!isPlainObject(value)) throw typeError(label, 'an object', value);
  const result: JsonObject = {};
  for (const [key, subValue] of Object.entries(value)) {
    const subAttribute = findAttribute(attribute.subAttributes ?? [], key);
    const subLabel = `${label}.${subAttribute?.name ?? key}`;
    if (!subAttribute) {
      if (strict) throw invalidValue(`Unknown attribute "${subLabel}"`);
      continue;
    }
    if (subAttribute.mutability === 'readOnly') continue;
    assign(
      result,
      subAttribute.name,
      coerceValue(subAttribute, subValue, { strict, label: subLabel }),
      subLabel,
    );
  }
  return Object.keys(result).length > 0 ? result : undefined;
}

/** RFC 7643 §2.4: "primary" true appears at most once. */
function enforceSinglePrimary(elements: unknown[], label: string, strict: boolean): void {
  let seen = false;
  for (const element of elements) {
    if (!isPlainObject(element) || element['primary'] !== true) continue;
    if (!seen) {
      seen = true;
      continue;
    }
    if (strict) throw invalidValue(`At most one value of "${label}" may be primary`);
    element['primary'] = false;
  }
}

/**
 * Coerces a value for one attribute: type checks and the safe conversions (`"True"` → true,
 * `"42"` → 42 for integer/decimal, 42 → `"42"` for strings), canonical sub-attribute names,
 * read-only sub-attributes dropped. Returns `undefined` for an unassigned value (null, `[]`, `{}`).
 * Throws `ScimError(400, 'invalidValue')`. Exported for PATCH values.
 */
export function coerceValue(
  attribute: ScimAttribute,
  value: unknown,
  options: CoerceOptions & { label?: string } = {},
): unknown {
  const strict = options.strict ?? false;
  const label = options.label ?? attribute.name;
  assertSafe(value, 0, label);
  if (value === null || value === undefined) return undefined;
  if (!attribute.multiValued) {
    if (Array.isArray(value)) throw typeError(label, 'a single value', value);
    return coerceSingle(attribute, value, label, strict);
  }
  if (!Array.isArray(value)) throw typeError(label, 'an array', value);
  const elements = value
    .map((element, index) => coerceSingle(attribute, element, `${label}[${index}]`, strict))
    .filter((element) => element !== undefined);
  if (attribute.type === 'complex') enforceSinglePrimary(elements, label, strict);
  return elements.length > 0 ? elements : undefined;
}

/**
 * Validates and normalises an inbound resource against `schemas` (core first, then the
 * extensions the resource type declares) and returns a fresh object, never touching `input`:
 *
 * - attribute names take the schema's spelling; extension attributes live under their URN key,
 *   and flattened keys (`"urn:…:enterprise:2.0:User:department": "x"`) are nested there;
 * - values are type-checked and safely converted (see {@link coerceValue});
 * - read-only attributes from the client (`id`, `meta`, `groups`, …) are ignored;
 * - `schemas` lists the core schema first, then the extensions that are declared or carry data;
 * - required attributes (`userName`, Group `displayName`) must be present and non-blank;
 * - `__proto__`, `constructor` and `prototype` keys are rejected anywhere.
 *
 * Unknown attributes and URNs are dropped, or rejected when `strict` (see {@link CoerceOptions}).
 * Errors are `ScimError(400, 'invalidSyntax' | 'invalidValue')`.
 */
export function coerceResource(
  input: unknown,
  schemas: ScimSchema[],
  options: CoerceOptions = {},
): Record<string, unknown> {
  const strict = options.strict ?? false;
  const core = schemas[0];
  if (!core) throw new Error('coerceResource needs at least the core schema');
  if (!isPlainObject(input)) throw new ScimError(400, 'invalidSyntax', 'The resource must be a JSON object');
  assertSafe(input, 0, '');

  const declared = declaredSchemas(input, schemas, strict);
  const containers = new Map<ScimSchema, JsonObject>(schemas.map((schema) => [schema, {}]));

  const put = (schema: ScimSchema, path: string, value: unknown): void => {
    const qualified = schema === core ? path : `${schema.id}:${path}`;
    const resolved = resolveAttribute(schema === core ? [core] : [core, schema], qualified);
    if (!resolved || resolved.schema !== schema) {
      if (strict) throw invalidValue(`Unknown attribute "${qualified}"`);
      return;
    }
    const { attribute, subAttribute } = resolved;
    if (attribute.mutability === 'readOnly' || subAttribute?.mutability === 'readOnly') return;
    const container = containers.get(schema)!;
    const label = schema === core ? attribute.name : `${schema.id}:${attribute.name}`;
    if (!subAttribute) {
      assign(container, attribute.name, coerceValue(attribute, value, { strict, label }), label);
      return;
    }
    const subLabel = `${label}.${subAttribute.name}`;
    if (attribute.multiValued) {
      throw invalidValue(`"${subLabel}" cannot be set on its own: send "${label}" as an array of objects`);
    }
    const coerced = coerceValue(subAttribute, value, { strict, label: subLabel });
    if (coerced !== undefined) assign(container, attribute.name, { [subAttribute.name]: coerced }, label);
  };

  for (const [key, value] of Object.entries(input)) {
    if (key.toLowerCase() === 'schemas') continue;
    if (!key.toLowerCase().startsWith('urn:')) {
      put(core, key, value);
      continue;
    }
    const split = splitSchemaUrn(schemas, key);
    if (!split) {
      if (strict) throw invalidValue(`Schema extension "${key}" is not supported by this resource type`);
      continue;
    }
    if (split.rest !== '') {
      put(split.schema, split.rest, value);
      continue;
    }
    if (value === null || value === undefined) continue;
    if (!isPlainObject(value)) throw typeError(split.schema.id, 'an object', value);
    for (const [attributeKey, attributeValue] of Object.entries(value))
      put(split.schema, attributeKey, attributeValue);
  }

  for (const [schema, container] of containers) {
    const present = schema === core || declared.has(schema) || Object.keys(container).length > 0;
    if (present) assertRequired(schema, container, schema === core ? '' : `${schema.id}:`);
  }

  const result: JsonObject = {
    schemas: schemas
      .filter(
        (schema) =>
          schema === core || declared.has(schema) || Object.keys(containers.get(schema)!).length > 0,
      )
      .map((schema) => schema.id),
  };
  const coreValues = containers.get(core)!;
  for (const attribute of [...commonFirst(core, coreValues)]) result[attribute] = coreValues[attribute];
  for (const schema of schemas.slice(1)) {
    const values = containers.get(schema)!;
    if (Object.keys(values).length > 0) result[schema.id] = inSchemaOrder(schema, values);
  }
  return result;
}

/** The URNs of the client's `schemas` attribute that `schemas` declares. */
function declaredSchemas(input: JsonObject, schemas: ScimSchema[], strict: boolean): Set<ScimSchema> {
  const core = schemas[0]!;
  const key = Object.keys(input).find((candidate) => candidate.toLowerCase() === 'schemas');
  const listed = key === undefined ? undefined : input[key];
  if (listed === undefined || listed === null) {
    if (strict) throw invalidValue(`The "schemas" attribute is required and must include "${core.id}"`);
    return new Set();
  }
  if (!Array.isArray(listed) || listed.some((urn) => typeof urn !== 'string')) {
    throw new ScimError(400, 'invalidSyntax', '"schemas" must be an array of schema URNs');
  }
  const declared = new Set<ScimSchema>();
  for (const urn of listed as string[]) {
    const schema = findSchema(schemas, urn);
    if (schema) declared.add(schema);
    else if (strict) throw invalidValue(`Schema "${urn}" is not supported by this resource type`);
  }
  if (strict && !declared.has(core)) throw invalidValue(`"schemas" must include "${core.id}"`);
  return declared;
}

function assertRequired(schema: ScimSchema, values: JsonObject, prefix: string): void {
  for (const attribute of schema.attributes) {
    if (!attribute.required || attribute.mutability === 'readOnly') continue;
    const value = values[attribute.name];
    if (value === undefined || (typeof value === 'string' && value.trim() === '')) {
      throw invalidValue(`Attribute "${prefix}${attribute.name}" is required`);
    }
  }
}

/** Core keys in a stable order: `externalId`, then the schema's attributes in definition order. */
function commonFirst(core: ScimSchema, values: JsonObject): string[] {
  return ['externalId', ...core.attributes.map((attribute) => attribute.name)].filter((name) =>
    Object.prototype.hasOwnProperty.call(values, name),
  );
}

function inSchemaOrder(schema: ScimSchema, values: JsonObject): JsonObject {
  const ordered: JsonObject = {};
  for (const attribute of schema.attributes) {
    if (Object.prototype.hasOwnProperty.call(values, attribute.name))
      ordered[attribute.name] = values[attribute.name];
  }
  return ordered;
}
