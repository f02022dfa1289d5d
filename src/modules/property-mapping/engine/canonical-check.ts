import { isScimDateTime } from '../../../lib/scim/coerce.js';
import type { ScimAttribute, ScimSchema } from '../../../lib/scim/schema.types.js';
import { COMMON_ATTRIBUTES, RESOURCE_SCHEMAS } from '../../../lib/scim/schemas.js';

/**
 * A fast yes/no: is a resource already exactly what `coerceResource(…, { strict: true })` would
 * return for it — every attribute known and spelled as the schema spells it, every value of its
 * type without conversion, no read-only or empty values, at most one primary, required attributes
 * present? Mapping results almost always are; then validation is this single walk over precompiled
 * lookup tables instead of a full coercion. Anything else answers false, and the caller runs
 * `coerceResource`, which converts it or reports the error in its own words. So this check can
 * only be stricter than the coercion, never looser (a spec runs both over the same cases).
 */
interface Compiled {
  attribute: ScimAttribute;
  sub?: ReadonlyMap<string, Compiled>;
}

interface CompiledSchema {
  id: string;
  attributes: ReadonlyMap<string, Compiled>;
  required: readonly string[];
}

const compileAttributes = (attributes: readonly ScimAttribute[]): ReadonlyMap<string, Compiled> =>
  new Map(
    attributes.map((attribute) => [
      attribute.name,
      { attribute, ...(attribute.subAttributes && { sub: compileAttributes(attribute.subAttributes) }) },
    ]),
  );

const compileSchema = (schema: ScimSchema, core: boolean): CompiledSchema => ({
  id: schema.id,
  attributes: compileAttributes(core ? [...COMMON_ATTRIBUTES, ...schema.attributes] : schema.attributes),
  required: schema.attributes.filter((a) => a.required && a.mutability !== 'readOnly').map((a) => a.name),
});

const COMPILED: Record<'User' | 'Group', CompiledSchema[]> = {
  User: RESOURCE_SCHEMAS.User.map((schema, index) => compileSchema(schema, index === 0)),
  Group: RESOURCE_SCHEMAS.Group.map((schema, index) => compileSchema(schema, index === 0)),
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

function singleOk(compiled: Compiled, value: unknown): boolean {
  switch (compiled.attribute.type) {
    case 'string':
    case 'reference':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'decimal':
      return typeof value === 'number' && Number.isFinite(value);
    case 'dateTime':
      return typeof value === 'string' && isScimDateTime(value);
    case 'binary':
      return false; // rare; the coercion checks the encoding
    case 'complex':
      return objectOk(compiled.sub!, value);
  }
}

function objectOk(attributes: ReadonlyMap<string, Compiled>, value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  let any = false;
  for (const key in value) {
    const compiled = attributes.get(key);
    if (compiled === undefined || compiled.attribute.mutability === 'readOnly') return false;
    if (!valueOk(compiled, value[key])) return false;
    any = true;
  }
  return any;
}

function valueOk(compiled: Compiled, value: unknown): boolean {
  if (value === null || value === undefined) return false;
  if (!compiled.attribute.multiValued) return singleOk(compiled, value);
  if (!Array.isArray(value) || value.length === 0) return false;
  let primaries = 0;
  for (const element of value) {
    if (!singleOk(compiled, element)) return false;
    if (
      compiled.attribute.type === 'complex' &&
      (element as Record<string, unknown>).primary === true &&
      ++primaries > 1
    ) {
      return false;
    }
  }
  return true;
}

/**
 * Whether `resource` is already canonical for its type's schemas (extension attributes under their
 * exact URN key; a `schemas` key only with `ignoreSchemas`). Returns the schemas carrying data,
 * core first, or undefined.
 */
export function canonicalSchemas(
  resourceType: 'User' | 'Group',
  resource: Record<string, unknown>,
  options: { ignoreSchemas?: boolean } = {},
): string[] | undefined {
  const [core, ...extensions] = COMPILED[resourceType];
  const present = new Set<string>();
  for (const key in resource) {
    if (key === 'schemas') {
      if (options.ignoreSchemas) continue;
      return undefined;
    }
    const compiled = core!.attributes.get(key);
    if (compiled !== undefined) {
      if (compiled.attribute.mutability === 'readOnly' || !valueOk(compiled, resource[key])) return undefined;
      continue;
    }
    const extension = extensions.find((schema) => schema.id === key);
    if (extension === undefined || !objectOk(extension.attributes, resource[key])) return undefined;
    if (extension.required.some((name) => !nonBlank((resource[key] as Record<string, unknown>)[name])))
      return undefined;
    present.add(extension.id);
  }
  if (core!.required.some((name) => !nonBlank(resource[name]))) return undefined;
  return [core!.id, ...extensions.filter((schema) => present.has(schema.id)).map((schema) => schema.id)];
}

const nonBlank = (value: unknown): boolean =>
  typeof value === 'string' ? value.trim() !== '' : value !== undefined && value !== null;
