/**
 * SCIM PATCH paths (RFC 7644 §3.5.2, ABNF in §3.4.2.2): parsing, resolution against a resource's
 * schemas, and in-memory evaluation of value-path filters over the items of one attribute.
 *
 *   PATH      = attrPath / valuePath [subAttr]
 *   attrPath  = [URI ":"] ATTRNAME *1subAttr
 *   valuePath = attrPath "[" valFilter "]"
 */
import { ScimError, type ScimAttribute, type ScimSchema } from './schema.types.js';
import { parseFilter, type CompareOperator, type FilterAst, type FilterValue } from './filter.js';
import { COMMON_ATTRIBUTES, findAttribute, findSchema } from './schemas.js';

/** Names that must never become object keys: they would reach `Object.prototype`. */
export const FORBIDDEN_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** The longest path we parse; real paths are well under 200 characters. */
export const MAX_PATH_LENGTH = 1024;

const ATTRIBUTE_NAME = /^(?:\$ref|[A-Za-z][A-Za-z0-9_-]*)$/;
const URN = /^urn:[A-Za-z0-9][A-Za-z0-9._:%-]*$/i;

/** A PATCH path as written, split into its parts (names not yet resolved against a schema). */
export interface ParsedPath {
  /** The text the client sent. */
  text: string;
  /** The schema URN prefix (`urn:…:enterprise:2.0:User`), when the path is URN-qualified. */
  urn?: string;
  /** The attribute name as written. */
  attribute: string;
  /** The sub-attribute: `givenName` in `name.givenName` or `value` in `emails[type eq "work"].value`. */
  subAttribute?: string;
  /** The filter text between the brackets of a value path, untrimmed. */
  filterText?: string;
}

function invalidPath(text: string, reason: string): ScimError {
  return new ScimError(400, 'invalidPath', `Invalid path "${text}": ${reason}.`);
}

function checkName(text: string, name: string): void {
  if (FORBIDDEN_NAMES.has(name)) throw invalidPath(text, `"${name}" is not an attribute name`);
  if (!ATTRIBUTE_NAME.test(name)) throw invalidPath(text, `"${name}" is not a valid attribute name`);
}

/** Index of the `]` closing the bracket opened at `open`, skipping quoted strings in the filter. */
function closingBracket(text: string, open: number): number {
  let inString = false;
  for (let index = open + 1; index < text.length; index += 1) {
    const char = text[index];
    if (inString) {
      if (char === '\\') index += 1;
      else if (char === '"') inString = false;
    } else if (char === '"') {
      inString = true;
    } else if (char === '[') {
      return -1;
    } else if (char === ']') {
      return index;
    }
  }
  return -1;
}

/**
 * Parses a PATCH path. Syntax only: names are checked against the ABNF (and the prototype
 * names), not against a schema — see {@link resolvePath}. Throws `400 invalidPath`.
 */
export function parsePath(text: string): ParsedPath {
  if (text.length > MAX_PATH_LENGTH) throw invalidPath(text.slice(0, 64), 'too long');
  const trimmed = text.trim();
  if (trimmed === '') throw invalidPath(text, 'empty');

  let head = trimmed;
  let filterText: string | undefined;
  let valueSubAttribute: string | undefined;
  const open = trimmed.indexOf('[');
  if (open !== -1) {
    const close = closingBracket(trimmed, open);
    if (close === -1) throw invalidPath(text, 'unbalanced "[" in value filter');
    head = trimmed.slice(0, open);
    filterText = trimmed.slice(open + 1, close);
    if (filterText.trim() === '') throw invalidPath(text, 'empty value filter');
    const tail = trimmed.slice(close + 1);
    if (tail !== '') {
      if (!tail.startsWith('.')) throw invalidPath(text, 'only ".subAttribute" may follow "]"');
      valueSubAttribute = tail.slice(1);
      checkName(text, valueSubAttribute);
    }
  } else if (trimmed.includes(']')) {
    throw invalidPath(text, 'unbalanced "]"');
  }

  let urn: string | undefined;
  let attributePath = head;
  if (/^urn:/i.test(head)) {
    const colon = head.lastIndexOf(':');
    urn = head.slice(0, colon);
    attributePath = head.slice(colon + 1);
    if (!URN.test(urn)) throw invalidPath(text, 'malformed schema URN');
  }

  const parts = attributePath.split('.');
  if (parts.length > 2) throw invalidPath(text, 'too many "." separators');
  const [attribute = '', subAttribute] = parts;
  checkName(text, attribute);
  if (subAttribute !== undefined) {
    checkName(text, subAttribute);
    if (filterText !== undefined)
      throw invalidPath(text, 'a value filter applies to an attribute, not a sub-attribute');
  }

  const parsed: ParsedPath = { text, attribute };
  if (urn !== undefined) parsed.urn = urn;
  const sub = subAttribute ?? valueSubAttribute;
  if (sub !== undefined) parsed.subAttribute = sub;
  if (filterText !== undefined) parsed.filterText = filterText;
  return parsed;
}

/** A path resolved against a resource's schemas. Names are the schemas' canonical spellings. */
export type ResolvedPath =
  /** A whole extension, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`. */
  | { kind: 'extension'; text: string; schema: ScimSchema }
  | {
      kind: 'attribute';
      text: string;
      /** The schema holding the attribute (the core schema for `id`, `externalId`, `meta`). */
      schema: ScimSchema;
      /** True when the attribute lives under its schema URN key in the resource. */
      extension: boolean;
      attribute: ScimAttribute;
      subAttribute?: ScimAttribute;
      /** The value-path filter, its attribute names already checked against the sub-attributes. */
      filter?: FilterAst;
    };

/** The attributes a path may name in `schema`: the common ones (`id`, `meta`…) belong to the core. */
function attributesOf(schema: ScimSchema, isCore: boolean): readonly ScimAttribute[] {
  if (!isCore) return schema.attributes;
  const common = COMMON_ATTRIBUTES.filter((attribute) => !findAttribute(schema.attributes, attribute.name));
  return [...common, ...schema.attributes];
}

/**
 * Resolves a parsed path against a resource's schemas (`schemas[0]` is the core schema, the rest
 * its extensions). Unqualified names are looked up in the core schema first, then the extensions.
 * Throws `400 invalidPath` for unknown names (including undeclared extension URNs) and for
 * shapes the attribute cannot have (a sub-attribute of a simple attribute, a filter on a
 * single-valued one), and `400 invalidFilter` for a malformed value filter.
 */
export function resolvePath(schemas: readonly ScimSchema[], path: ParsedPath): ResolvedPath {
  const core = schemas[0];
  if (!core) throw new ScimError(500, undefined, 'No schemas given to resolve a PATCH path against.');
  const { text } = path;

  let candidates: readonly ScimSchema[] = schemas;
  if (path.urn !== undefined) {
    const whole = findSchema(schemas, `${path.urn}:${path.attribute}`);
    if (whole && path.subAttribute === undefined && path.filterText === undefined) {
      if (whole === core) throw invalidPath(text, 'the core schema URN is not a patchable target');
      return { kind: 'extension', text, schema: whole };
    }
    const schema = findSchema(schemas, path.urn);
    if (!schema) throw invalidPath(text, `"${path.urn}" is not a schema of this resource`);
    candidates = [schema];
  }

  for (const schema of candidates) {
    const attribute = findAttribute(attributesOf(schema, schema === core), path.attribute);
    if (!attribute) continue;
    const resolved: ResolvedPath = { kind: 'attribute', text, schema, extension: schema !== core, attribute };
    if (path.subAttribute !== undefined) {
      const subAttribute = findAttribute(attribute.subAttributes ?? [], path.subAttribute);
      if (!subAttribute)
        throw invalidPath(text, `"${attribute.name}" has no sub-attribute "${path.subAttribute}"`);
      resolved.subAttribute = subAttribute;
    }
    if (path.filterText !== undefined) {
      if (!attribute.multiValued)
        throw invalidPath(
          text,
          `"${attribute.name}" is single-valued; a value filter needs a multi-valued attribute`,
        );
      resolved.filter = checkValueFilter(text, attribute, parseFilter(path.filterText));
    }
    return resolved;
  }
  throw invalidPath(text, `unknown attribute "${path.attribute}"`);
}

/** Parses and resolves a PATCH path in one step. */
export function parseAndResolvePath(schemas: readonly ScimSchema[], text: string): ResolvedPath {
  return resolvePath(schemas, parsePath(text));
}

/**
 * The attribute a value-filter term names within one element of `attribute`: a sub-attribute of
 * a complex attribute, or `value` (the element itself) for a simple multi-valued one.
 */
function filterOperand(attribute: ScimAttribute, name: string): ScimAttribute | undefined {
  if (attribute.type === 'complex') return findAttribute(attribute.subAttributes ?? [], name);
  return name.toLowerCase() === 'value' ? { ...attribute, name: 'value', multiValued: false } : undefined;
}

/** Checks every name in a value filter against the attribute's sub-attributes (`400 invalidPath`). */
function checkValueFilter(text: string, attribute: ScimAttribute, filter: FilterAst): FilterAst {
  switch (filter.type) {
    case 'and':
    case 'or':
      filter.filters.forEach((inner) => checkValueFilter(text, attribute, inner));
      return filter;
    case 'not':
      checkValueFilter(text, attribute, filter.filter);
      return filter;
    case 'valuePath':
      throw invalidPath(text, 'value filters cannot be nested');
    case 'present':
    case 'compare': {
      const operand = filterOperand(attribute, filter.attribute);
      if (!operand)
        throw invalidPath(
          text,
          `"${attribute.name}" has no sub-attribute "${filter.attribute}" to filter on`,
        );
      if (filter.type === 'compare') checkComparison(operand, filter.operator, filter.value);
      return filter;
    }
  }
}

/** RFC 7644 §3.4.2.2: booleans and binaries support only equality; other orderings need an order. */
function checkComparison(operand: ScimAttribute, operator: CompareOperator, value: FilterValue): void {
  const ordering = operator !== 'eq' && operator !== 'ne';
  const unsupported =
    (ordering && (operand.type === 'boolean' || operand.type === 'binary' || operand.type === 'complex')) ||
    (ordering && value === null) ||
    ((operator === 'co' || operator === 'sw' || operator === 'ew') && typeof value !== 'string');
  if (unsupported) {
    throw new ScimError(
      400,
      'invalidFilter',
      `The "${operator}" operator cannot compare "${operand.name}" (${operand.type}) with ${JSON.stringify(value)}.`,
    );
  }
}

// -------------------------------------------------------------------------------------------------
// In-memory evaluation of a value filter over the elements of one multi-valued attribute.
// -------------------------------------------------------------------------------------------------

/** Reads an own property by name, case-insensitively (stored resources use canonical names). */
export function readProperty(object: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(object, name)) return object[name];
  const wanted = name.toLowerCase();
  for (const key of Object.keys(object)) if (key.toLowerCase() === wanted) return object[key];
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isUnassigned(value: unknown): boolean {
  return (
    value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)
  );
}

/** The operand value of a filter term within one element. */
function operandValue(attribute: ScimAttribute, element: unknown, name: string): unknown {
  if (attribute.type !== 'complex') return element;
  return isRecord(element) ? readProperty(element, name) : undefined;
}

function compareScalars(
  operand: ScimAttribute,
  actual: unknown,
  operator: CompareOperator,
  expected: FilterValue,
): boolean {
  if (expected === null) return operator === 'eq' ? isUnassigned(actual) : !isUnassigned(actual);
  if (isUnassigned(actual)) return operator === 'ne';

  if (operand.type === 'boolean') {
    const wanted = typeof expected === 'string' ? expected.toLowerCase() === 'true' : expected;
    const equal = actual === wanted;
    return operator === 'eq' ? equal : !equal;
  }

  let left: string | number;
  let right: string | number;
  if (operand.type === 'integer' || operand.type === 'decimal') {
    left = Number(actual);
    right = Number(expected);
    if (Number.isNaN(left) || Number.isNaN(right)) return operator === 'ne';
  } else if (operand.type === 'dateTime' && operator !== 'co' && operator !== 'sw' && operator !== 'ew') {
    left = Date.parse(String(actual));
    right = Date.parse(String(expected));
    if (Number.isNaN(left) || Number.isNaN(right)) return operator === 'ne';
  } else {
    left = String(actual);
    right = String(expected);
    if (!operand.caseExact) {
      left = left.toLowerCase();
      right = right.toLowerCase();
    }
  }

  switch (operator) {
    case 'eq':
      return left === right;
    case 'ne':
      return left !== right;
    case 'co':
      return String(left).includes(String(right));
    case 'sw':
      return String(left).startsWith(String(right));
    case 'ew':
      return String(left).endsWith(String(right));
    case 'gt':
      return left > right;
    case 'ge':
      return left >= right;
    case 'lt':
      return left < right;
    case 'le':
      return left <= right;
  }
}

/**
 * Whether one element of a multi-valued `attribute` matches a value filter (as returned by
 * {@link resolvePath}). Strings compare case-insensitively unless the sub-attribute is `caseExact`;
 * dateTimes compare chronologically; numbers numerically (RFC 7644 §3.4.2.2).
 */
export function matchesValueFilter(attribute: ScimAttribute, filter: FilterAst, element: unknown): boolean {
  switch (filter.type) {
    case 'and':
      return filter.filters.every((inner) => matchesValueFilter(attribute, inner, element));
    case 'or':
      return filter.filters.some((inner) => matchesValueFilter(attribute, inner, element));
    case 'not':
      return !matchesValueFilter(attribute, filter.filter, element);
    case 'valuePath':
      return false;
    case 'present':
      return !isUnassigned(operandValue(attribute, element, filter.attribute));
    case 'compare': {
      const operand = filterOperand(attribute, filter.attribute);
      if (!operand) return false;
      const actual = operandValue(attribute, element, filter.attribute);
      if (Array.isArray(actual))
        return actual.some((one) => compareScalars(operand, one, filter.operator, filter.value));
      return compareScalars(operand, actual, filter.operator, filter.value);
    }
  }
}

/**
 * The sub-attribute values a filter pins down by equality (`type eq "work"`, or several joined
 * by `and`), keyed by canonical sub-attribute name; `undefined` for any other filter shape.
 * Used to create the element a lenient `add`/`replace` targets when none matches yet.
 */
export function equalityConstraints(
  attribute: ScimAttribute,
  filter: FilterAst,
): { attribute: ScimAttribute; value: Exclude<FilterValue, null> }[] | undefined {
  const terms = filter.type === 'and' ? filter.filters : [filter];
  const constraints: { attribute: ScimAttribute; value: Exclude<FilterValue, null> }[] = [];
  for (const term of terms) {
    if (term.type !== 'compare' || term.operator !== 'eq' || term.value === null) return undefined;
    const operand = filterOperand(attribute, term.attribute);
    if (!operand || constraints.some((constraint) => constraint.attribute.name === operand.name))
      return undefined;
    constraints.push({ attribute: operand, value: term.value });
  }
  return constraints;
}
