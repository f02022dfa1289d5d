/**
 * Response shaping per RFC 7644 §3.4.2.5 and §3.9 (`attributes` / `excludedAttributes`) and the
 * `returned` characteristic of RFC 7643 §7:
 *
 * - `always` (`id`, `schemas`): returned whatever the lists say;
 * - `never` (`password`): never returned;
 * - `default`: returned unless excluded, or — when `attributes` is given — only if listed;
 * - `request`: returned only when listed in `attributes`.
 *
 * Names are case-insensitive and may be URN-qualified; `name.givenName` selects one
 * sub-attribute, an extension URN its whole object. Names no schema defines are ignored. The
 * output uses the schema's spelling and holds only attributes the schemas define.
 */
import type { ScimAttribute, ScimSchema } from './schema.types.js';
import { COMMON_ATTRIBUTES, findSchema, resolveAttribute } from './schemas.js';

export interface ProjectionOptions {
  /** The `attributes` parameter: a comma-separated string or a list (as in a `.search` body). */
  attributes?: string | string[] | undefined;
  /** The `excludedAttributes` parameter, in the same forms. */
  excludedAttributes?: string | string[] | undefined;
}

type JsonObject = Record<string, unknown>;

/** What a list of attribute names selects. */
interface Selection {
  /** Extension schemas named by their URN. */
  schemas: Set<ScimSchema>;
  /** Attributes named whole (`'all'`) or through some sub-attributes. */
  attributes: Map<ScimAttribute, 'all' | Set<ScimAttribute>>;
}

/**
 * Splits an `attributes` / `excludedAttributes` value into trimmed names: `"userName, emails"`,
 * `["userName", "emails"]` and absent values (→ `[]`) are all accepted.
 */
export function parseAttributeList(value: string | string[] | undefined | null): string[] {
  if (value === undefined || value === null) return [];
  const parts = Array.isArray(value) ? value.flatMap((item) => item.split(',')) : value.split(',');
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

function select(names: string[], schemas: ScimSchema[]): Selection {
  const selection: Selection = { schemas: new Set(), attributes: new Map() };
  for (const name of names) {
    const schema = findSchema(schemas, name);
    if (schema) {
      selection.schemas.add(schema);
      continue;
    }
    const resolved = resolveAttribute(schemas, name);
    if (!resolved) continue;
    const current = selection.attributes.get(resolved.attribute);
    if (!resolved.subAttribute) {
      selection.attributes.set(resolved.attribute, 'all');
    } else if (current === undefined) {
      selection.attributes.set(resolved.attribute, new Set([resolved.subAttribute]));
    } else if (current !== 'all') {
      current.add(resolved.subAttribute);
    }
  }
  return selection;
}

/** Decides, for one attribute, whether it is returned and which of its sub-attributes. */
class Projector {
  private readonly included: Selection | undefined;
  private readonly excluded: Selection;

  constructor(options: ProjectionOptions, schemas: ScimSchema[]) {
    const attributes = parseAttributeList(options.attributes);
    this.included = attributes.length > 0 ? select(attributes, schemas) : undefined;
    this.excluded = select(parseAttributeList(options.excludedAttributes), schemas);
  }

  /** `undefined` when the attribute is not returned, else a predicate over its sub-attributes. */
  returns(schema: ScimSchema, attribute: ScimAttribute): ((sub: ScimAttribute) => boolean) | undefined {
    if (attribute.returned === 'never') return undefined;
    const visible = (sub: ScimAttribute) => sub.returned !== 'never';
    if (attribute.returned === 'always') return (sub) => visible(sub) && sub.returned !== 'request';

    const excluded = this.excluded.attributes.get(attribute);
    if (excluded === 'all' || this.excluded.schemas.has(schema)) return undefined;
    const notExcluded = (sub: ScimAttribute) => sub.returned === 'always' || !excluded?.has(sub);

    if (!this.included) {
      if (attribute.returned === 'request') return undefined;
      return (sub) => visible(sub) && sub.returned !== 'request' && notExcluded(sub);
    }
    const included = this.included.attributes.get(attribute);
    if (included instanceof Set) {
      return (sub) => visible(sub) && (sub.returned === 'always' || included.has(sub)) && notExcluded(sub);
    }
    const wholeSchema = this.included.schemas.has(schema);
    if (included === 'all' || (wholeSchema && attribute.returned !== 'request')) {
      return (sub) => visible(sub) && sub.returned !== 'request' && notExcluded(sub);
    }
    return undefined;
  }
}

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads `name` from `object` case-insensitively (stored resources use the schema spelling). */
function read(object: JsonObject, name: string): unknown {
  if (Object.prototype.hasOwnProperty.call(object, name)) return object[name];
  const wanted = name.toLowerCase();
  const key = Object.keys(object).find((candidate) => candidate.toLowerCase() === wanted);
  return key === undefined ? undefined : object[key];
}

function projectComplex(
  attribute: ScimAttribute,
  value: unknown,
  keep: (sub: ScimAttribute) => boolean,
): unknown {
  if (!isPlainObject(value)) return undefined;
  const result: JsonObject = {};
  for (const sub of attribute.subAttributes ?? []) {
    const subValue = read(value, sub.name);
    if (subValue !== undefined && subValue !== null && keep(sub))
      result[sub.name] = structuredClone(subValue);
  }
  return Object.keys(result).length > 0 ? result : undefined;
}

function projectValue(
  attribute: ScimAttribute,
  value: unknown,
  keep: (sub: ScimAttribute) => boolean,
): unknown {
  if (value === undefined || value === null) return undefined;
  if (attribute.type !== 'complex') return structuredClone(value);
  if (!attribute.multiValued) return projectComplex(attribute, value, keep);
  if (!Array.isArray(value)) return undefined;
  const elements = value
    .map((element) => projectComplex(attribute, element, keep))
    .filter((element) => element !== undefined);
  return elements.length > 0 ? elements : undefined;
}

function projectAttributes(
  projector: Projector,
  schema: ScimSchema,
  attributes: readonly ScimAttribute[],
  source: JsonObject,
): JsonObject {
  const result: JsonObject = {};
  for (const attribute of attributes) {
    const keep = projector.returns(schema, attribute);
    if (!keep) continue;
    const value = projectValue(attribute, read(source, attribute.name), keep);
    if (value !== undefined) result[attribute.name] = value;
  }
  return result;
}

/**
 * Returns a fresh copy of `resource` holding what the client asked for (see the module comment).
 * `schemas` are the resource type's schemas, core first; extensions are read from and written to
 * their URN key. When both lists are given, an attribute is returned if `attributes` selects it
 * and `excludedAttributes` does not remove it (RFC 7644 leaves the combination open).
 */
export function projectResource(
  resource: Record<string, unknown>,
  options: ProjectionOptions,
  schemas: ScimSchema[],
): Record<string, unknown> {
  const [core, ...extensions] = schemas;
  if (!core) throw new Error('projectResource needs at least the core schema');
  const projector = new Projector(options, schemas);

  const result: JsonObject = {};
  const listed = read(resource, 'schemas');
  if (Array.isArray(listed)) result['schemas'] = [...(listed as unknown[])];
  Object.assign(
    result,
    projectAttributes(projector, core, [...COMMON_ATTRIBUTES, ...core.attributes], resource),
  );
  for (const extension of extensions) {
    const values = read(resource, extension.id);
    if (!isPlainObject(values)) continue;
    const projected = projectAttributes(projector, extension, extension.attributes, values);
    if (Object.keys(projected).length > 0) result[extension.id] = projected;
  }
  return result;
}

/**
 * Whether a response shaped by `options` includes the attribute at `path` at all — e.g. to skip
 * loading a large group's members when the client sent `excludedAttributes=members`.
 */
export function isAttributeReturned(
  path: string,
  options: ProjectionOptions,
  schemas: ScimSchema[],
): boolean {
  const resolved = resolveAttribute(schemas, path);
  if (!resolved) return false;
  const keep = new Projector(options, schemas).returns(resolved.schema, resolved.attribute);
  if (!keep) return false;
  return resolved.subAttribute ? keep(resolved.subAttribute) : true;
}
