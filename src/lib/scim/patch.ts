/**
 * The SCIM PATCH applier (RFC 7644 §3.5.2) over a plain resource object, with the dialects real
 * identity providers send: Entra ID (capitalised ops, string booleans, member removal by value
 * list, the manager as a bare id, and with `aadOptscim062020` path-less values whose keys are
 * paths) and Okta (path-less replace, group rename carrying `id`, member filters).
 *
 * Resources are stored as SCIM JSON: core attributes at the top level, extension attributes
 * under their schema URN. Attributes named in `structural` (group `members`) are never written to
 * the resource: their operations come back as {@link StructuralOp}s for the caller to apply
 * against its own tables, in time proportional to the members named.
 *
 * Where RFC 7644 leaves room, this applier decides:
 * - `add`/`replace` through an equality filter (`emails[type eq "work"].value`) that matches
 *   nothing creates the value with those sub-attributes (Entra ID and Okta rely on it); any other
 *   filter without a match is `noTarget`. `remove` of something absent is a no-op.
 * - `add` and `replace` of a single-valued complex attribute merge sub-attributes (§3.5.2.3);
 *   a new `value` (e.g. another manager id) replaces the old value outright.
 * - `add` to a multi-valued attribute merges into an existing value with the same `value` (else
 *   the same `type`), the identity rule of property-mapping merges; otherwise it appends.
 * - `replace` through a filter replaces each matched value whole, keeping the filter's equality
 *   sub-attributes (`type: "work"`) unless the new value sets them.
 * - `null` (or `[]`) as a value unassigns (RFC 7643 §2.5). Read-only sub-attributes inside a
 *   value are ignored; a path that changes a read-only, set immutable or required attribute is
 *   `mutability`, but one that leaves it equal (Okta's rename carrying `id`) is accepted.
 * - Making more than one value `primary` in one operation is `invalidValue`; making one primary
 *   demotes the others.
 */
import { ScimError, PATCH_OP_SCHEMA, type ScimAttribute, type ScimSchema } from './schema.types.js';
import { findAttribute, findSchema } from './schemas.js';
import type { FilterAst } from './filter.js';
import {
  FORBIDDEN_NAMES,
  equalityConstraints,
  matchesValueFilter,
  parseAndResolvePath,
  readProperty,
  type ResolvedPath,
} from './path.js';

/** The most operations one PATCH request may carry. */
export const MAX_PATCH_OPERATIONS = 1000;

/** How deeply an operation's `value` may nest; SCIM values need at most four levels. */
export const MAX_VALUE_DEPTH = 8;

/** Attributes a caller may ask to handle itself instead of in the resource. */
export type StructuralAttribute = 'members';

/** One member named by a PATCH operation. */
export interface StructuralMember {
  value: string;
  type?: string;
  display?: string;
}

/**
 * A change to a structural attribute, in request order: `add` and `remove` name members,
 * `replace` sets the whole membership to `values`, `removeAll` empties it.
 */
export interface StructuralOp {
  attribute: StructuralAttribute;
  action: 'add' | 'remove' | 'replace' | 'removeAll';
  values: StructuralMember[];
}

export interface PatchOptions {
  /** The resource's schemas: the core schema first, then its extensions. */
  schemas: ScimSchema[];
  /** Paths handled structurally by the caller, e.g. `['members']` for groups. */
  structural?: readonly StructuralAttribute[];
}

export interface PatchResult {
  /** The patched resource: always a new object; the input is never mutated. */
  resource: Record<string, unknown>;
  /** Operations on structural attributes, for the caller to apply. */
  structural: StructuralOp[];
  /** False when `resource` deep-equals the input (structural operations are not counted). */
  changed: boolean;
}

type OperationName = 'add' | 'replace' | 'remove';

/** One PATCH operation after validation: lower-case `op`, blank paths dropped. */
export interface PatchOperation {
  op: OperationName;
  /** Absent, or a non-blank path. */
  path?: string;
  /** Whether the operation had a `value` member at all (`null` is a value). */
  hasValue: boolean;
  value: unknown;
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalidSyntax(message: string): ScimError {
  return new ScimError(400, 'invalidSyntax', message);
}

function invalidValue(message: string): ScimError {
  return new ScimError(400, 'invalidValue', message);
}

function mutability(message: string): ScimError {
  return new ScimError(400, 'mutability', message);
}

// -------------------------------------------------------------------------------------------------
// Request validation and op normalisation
// -------------------------------------------------------------------------------------------------

/** Rejects prototype keys anywhere in a value, and values nested deeper than any SCIM value. */
function checkValueShape(value: unknown, depth: number): void {
  if (typeof value !== 'object' || value === null) return;
  if (depth > MAX_VALUE_DEPTH)
    throw invalidValue(`Operation value is nested more than ${MAX_VALUE_DEPTH} levels deep.`);
  if (Array.isArray(value)) {
    for (const item of value) checkValueShape(item, depth + 1);
    return;
  }
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_NAMES.has(key)) throw invalidValue(`"${key}" is not an attribute name.`);
    checkValueShape((value as Json)[key], depth + 1);
  }
}

function normaliseOperation(raw: unknown, index: number): PatchOperation {
  const where = `Operations[${index}]`;
  if (!isRecord(raw)) throw invalidSyntax(`${where} must be an object.`);
  const name = readProperty(raw, 'op');
  if (typeof name !== 'string') throw invalidSyntax(`${where} needs an "op" of add, replace or remove.`);
  const op = name.toLowerCase();
  if (op !== 'add' && op !== 'replace' && op !== 'remove') {
    throw invalidSyntax(`${where} has unknown op "${name}"; expected add, replace or remove.`);
  }

  const operation: PatchOperation = { op, hasValue: false, value: undefined };
  const path = readProperty(raw, 'path');
  if (typeof path === 'string') {
    if (path.trim() !== '') operation.path = path;
  } else if (path !== undefined && path !== null) {
    throw new ScimError(400, 'invalidPath', `${where} has a "path" that is not a string.`);
  }

  const valueKey = Object.keys(raw).find((key) => key.toLowerCase() === 'value');
  if (valueKey !== undefined) {
    operation.hasValue = true;
    operation.value = raw[valueKey];
    checkValueShape(operation.value, 1);
  }
  if (op !== 'remove' && !operation.hasValue) throw invalidSyntax(`${where}: "${op}" needs a "value".`);
  if (op === 'remove' && operation.path === undefined) {
    throw new ScimError(400, 'noTarget', `${where}: "remove" needs a "path".`);
  }
  return operation;
}

/**
 * Validates a PATCH request body (RFC 7644 §3.5.2) and returns its operations with lower-case op
 * names. Throws `400 invalidSyntax` for a malformed body, `400 invalidValue` for more than
 * {@link MAX_PATCH_OPERATIONS} operations.
 */
export function parsePatchRequest(request: unknown): PatchOperation[] {
  if (!isRecord(request)) throw invalidSyntax('A PATCH request body must be a JSON object.');
  const schemas = readProperty(request, 'schemas');
  const declared =
    Array.isArray(schemas) &&
    schemas.some(
      (schema) => typeof schema === 'string' && schema.toLowerCase() === PATCH_OP_SCHEMA.toLowerCase(),
    );
  if (!declared) throw invalidSyntax(`A PATCH request must declare the schema "${PATCH_OP_SCHEMA}".`);

  const operations = readProperty(request, 'Operations');
  if (!Array.isArray(operations) || operations.length === 0) {
    throw invalidSyntax('A PATCH request needs a non-empty "Operations" array.');
  }
  if (operations.length > MAX_PATCH_OPERATIONS) {
    throw invalidValue(
      `A PATCH request may carry at most ${MAX_PATCH_OPERATIONS} operations (got ${operations.length}).`,
    );
  }
  return operations.map(normaliseOperation);
}

// -------------------------------------------------------------------------------------------------
// Values: type checks and coercion against the schema
// -------------------------------------------------------------------------------------------------

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;
const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const BASE64 = /^[A-Za-z0-9+/_\-\s]*={0,2}\s*$/;

function wrongType(attribute: ScimAttribute, where: string, raw: unknown): ScimError {
  const shown = JSON.stringify(raw);
  const sample = shown === undefined ? String(raw) : shown.length > 60 ? `${shown.slice(0, 60)}…` : shown;
  return invalidValue(`"${where}" must be ${describeType(attribute)}; got ${sample}.`);
}

function describeType(attribute: ScimAttribute): string {
  switch (attribute.type) {
    case 'boolean':
      return 'a boolean';
    case 'integer':
      return 'an integer';
    case 'decimal':
      return 'a number';
    case 'dateTime':
      return 'a dateTime (e.g. 2024-01-31T12:00:00Z)';
    case 'binary':
      return 'a base64 string';
    case 'complex':
      return 'an object';
    case 'reference':
    case 'string':
      return 'a string';
  }
}

/**
 * One scalar value of a simple attribute. Booleans and numbers sent as strings (`"False"`, `"42"`)
 * become booleans and numbers, as Entra ID sends them.
 */
function coerceScalar(attribute: ScimAttribute, raw: unknown, where: string): string | number | boolean {
  switch (attribute.type) {
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'string' && /^(?:true|false)$/i.test(raw.trim()))
        return raw.trim().toLowerCase() === 'true';
      throw wrongType(attribute, where, raw);
    case 'integer': {
      const number = typeof raw === 'string' && INTEGER.test(raw.trim()) ? Number(raw) : raw;
      if (typeof number === 'number' && Number.isSafeInteger(number)) return number;
      throw wrongType(attribute, where, raw);
    }
    case 'decimal': {
      const number = typeof raw === 'string' && DECIMAL.test(raw.trim()) ? Number(raw) : raw;
      if (typeof number === 'number' && Number.isFinite(number)) return number;
      throw wrongType(attribute, where, raw);
    }
    case 'dateTime':
      if (typeof raw === 'string' && DATE_TIME.test(raw) && !Number.isNaN(Date.parse(raw))) return raw;
      throw wrongType(attribute, where, raw);
    case 'binary':
      if (typeof raw === 'string' && BASE64.test(raw)) return raw;
      throw wrongType(attribute, where, raw);
    case 'string':
    case 'reference':
      if (typeof raw === 'string') return raw;
      throw wrongType(attribute, where, raw);
    case 'complex':
      throw wrongType(attribute, where, raw);
  }
}

/**
 * A complex value with canonical sub-attribute names. `null` sub-values are kept (they unassign
 * on merge). Sub-attributes that are `readOnly` are dropped, as RFC 7643 §2.2 says such values
 * are ignored — unless the attribute itself is read-only, whose whole value is compared instead.
 * A bare scalar for an attribute with a `value` sub-attribute (Entra's manager id) becomes
 * `{ value }`.
 */
function coerceComplex(attribute: ScimAttribute, raw: unknown, where: string): Json {
  const subAttributes = attribute.subAttributes ?? [];
  const valueSub = findAttribute(subAttributes, 'value');
  if (!isRecord(raw)) {
    if (valueSub && (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean')) {
      return { [valueSub.name]: coerceScalar(valueSub, raw, `${where}.${valueSub.name}`) };
    }
    throw wrongType(attribute, where, raw);
  }
  const result: Json = {};
  for (const key of Object.keys(raw)) {
    const sub = findAttribute(subAttributes, key);
    if (!sub) throw invalidValue(`"${where}" has no sub-attribute "${key}".`);
    if (sub.mutability === 'readOnly' && attribute.mutability !== 'readOnly') continue;
    result[sub.name] = coerceSubValue(sub, raw[key], `${where}.${sub.name}`);
  }
  return result;
}

function coerceSubValue(sub: ScimAttribute, raw: unknown, where: string): unknown {
  if (raw === null || raw === undefined) return null;
  if (!sub.multiValued) return coerceScalar(sub, raw, where);
  const items = Array.isArray(raw) ? raw : [raw];
  return items.filter((item) => item !== null).map((item) => coerceScalar(sub, item, where));
}

/** One element (or the single value) of an attribute; `null` for an explicit null. */
function coerceElement(attribute: ScimAttribute, raw: unknown, where: string): unknown {
  if (raw === null || raw === undefined) return null;
  return attribute.type === 'complex'
    ? withoutNulls(coerceComplex(attribute, raw, where))
    : coerceScalar(attribute, raw, where);
}

/**
 * The elements of a multi-valued attribute. A lone value is taken as a one-element list; `null`
 * as none. Rejects more than one `primary: true` (RFC 7643 §2.4).
 */
function coerceElements(attribute: ScimAttribute, raw: unknown, where: string): unknown[] {
  if (raw === null || raw === undefined) return [];
  const items = Array.isArray(raw) ? raw : [raw];
  const elements = items
    .map((item, index) => coerceElement(attribute, item, `${where}[${index}]`))
    .filter((element) => element !== null && !(isRecord(element) && Object.keys(element).length === 0));
  if (elements.filter(isPrimary).length > 1) {
    throw invalidValue(`"${where}" may have at most one value with "primary": true.`);
  }
  return elements;
}

function withoutNulls(value: Json): Json {
  const result: Json = {};
  for (const [key, item] of Object.entries(value)) if (item !== null) result[key] = item;
  return result;
}

function isPrimary(element: unknown): boolean {
  return isRecord(element) && element.primary === true;
}

// -------------------------------------------------------------------------------------------------
// Equality and element identity
// -------------------------------------------------------------------------------------------------

/** Structural equality of JSON values; object key order does not matter. */
export function deepEqual(left: unknown, right: unknown): boolean {
  if (left === right) return true;
  if (Array.isArray(left)) {
    return (
      Array.isArray(right) &&
      left.length === right.length &&
      left.every((item, i) => deepEqual(item, right[i]))
    );
  }
  if (isRecord(left) && isRecord(right)) {
    const keys = Object.keys(left);
    return (
      keys.length === Object.keys(right).length &&
      keys.every((key) => Object.hasOwn(right, key) && deepEqual(left[key], right[key]))
    );
  }
  return false;
}

function normalised(attribute: ScimAttribute | undefined, value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return attribute?.caseExact === false && typeof value === 'string' ? text.toLowerCase() : text;
}

/**
 * What makes two elements of a multi-valued attribute "the same value" (the property-mapping
 * merge rule of the spec): the `value` sub-attribute when present, else `type`; `undefined`
 * when the element has neither, and only deep equality identifies it.
 */
function identityOf(attribute: ScimAttribute, element: unknown): string | undefined {
  if (attribute.type !== 'complex') return `=${normalised(attribute, element)}`;
  if (!isRecord(element)) return undefined;
  for (const name of ['value', 'type']) {
    const sub = findAttribute(attribute.subAttributes ?? [], name);
    const value = sub ? element[sub.name] : undefined;
    if (sub && value !== undefined && value !== null) return `${name}=${normalised(sub, value)}`;
  }
  return undefined;
}

function sameElement(attribute: ScimAttribute, left: unknown, right: unknown): boolean {
  const identity = identityOf(attribute, left);
  return identity !== undefined ? identity === identityOf(attribute, right) : deepEqual(left, right);
}

function isUnassigned(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    (Array.isArray(value) && value.length === 0) ||
    (isRecord(value) && Object.keys(value).length === 0)
  );
}

// -------------------------------------------------------------------------------------------------
// Reading and writing a resource by canonical attribute name
// -------------------------------------------------------------------------------------------------

/** Sets `name` on `object`, dropping any differently-cased spelling of the same key first. */
function writeProperty(object: Json, name: string, value: unknown): void {
  deleteProperty(object, name);
  if (!isUnassigned(value)) object[name] = value;
}

function deleteProperty(object: Json, name: string): void {
  const lower = name.toLowerCase();
  for (const key of Object.keys(object)) if (key.toLowerCase() === lower) delete object[key];
}

/** The object an attribute lives in: the resource itself, or its extension object (created on demand). */
function containerOf(resource: Json, schema: ScimSchema, extension: boolean): Json {
  if (!extension) return resource;
  const existing = readProperty(resource, schema.id);
  if (isRecord(existing)) return existing;
  const created: Json = {};
  deleteProperty(resource, schema.id);
  resource[schema.id] = created;
  return created;
}

// -------------------------------------------------------------------------------------------------
// The applier
// -------------------------------------------------------------------------------------------------

type AttributeTarget = Extract<ResolvedPath, { kind: 'attribute' }>;

class PatchApplier {
  readonly structural: StructuralOp[] = [];
  /** Extensions an operation wrote to or removed, whose `schemas` entry may need updating. */
  private readonly touchedExtensions = new Set<ScimSchema>();
  private readonly structuralNames: ReadonlySet<string>;

  constructor(
    readonly resource: Json,
    private readonly schemas: ScimSchema[],
    structural: readonly StructuralAttribute[],
  ) {
    if (schemas.length === 0) throw new ScimError(500, undefined, 'applyPatch needs the resource schemas.');
    this.structuralNames = new Set(structural.map((name) => name.toLowerCase()));
  }

  apply(operation: PatchOperation): void {
    if (operation.path === undefined) {
      this.applyWithoutPath(operation);
      return;
    }
    this.applyAt(operation, parseAndResolvePath(this.schemas, operation.path), operation.value);
  }

  /**
   * A path-less `add`/`replace`: every key of the value is a path relative to the resource — a
   * plain attribute name, or (Entra `aadOptscim062020`) `name.givenName`, a URN-qualified name or
   * a value path. An extension URN key holds that extension's attributes.
   */
  private applyWithoutPath(operation: PatchOperation): void {
    const { value } = operation;
    if (!isRecord(value)) {
      throw invalidValue(`A path-less "${operation.op}" needs an object of attributes as its value.`);
    }
    for (const key of Object.keys(value)) {
      if (key.toLowerCase() === 'schemas') {
        this.checkDeclaredSchemas(value[key]);
        continue;
      }
      this.applyAt(operation, parseAndResolvePath(this.schemas, key), value[key]);
    }
  }

  /** `schemas` inside a path-less value is accepted when it names only this resource's schemas. */
  private checkDeclaredSchemas(value: unknown): void {
    const known =
      Array.isArray(value) && value.every((urn) => typeof urn === 'string' && findSchema(this.schemas, urn));
    if (!known) throw invalidValue('"schemas" may list only the schemas of this resource.');
  }

  private applyAt(operation: PatchOperation, target: ResolvedPath, value: unknown): void {
    if (target.kind === 'extension') {
      this.applyToExtension(operation, target.schema, value);
      return;
    }
    if (!target.extension && this.structuralNames.has(target.attribute.name.toLowerCase())) {
      this.applyStructural(operation, target, value);
      return;
    }
    const container = containerOf(this.resource, target.schema, target.extension);
    const before = readProperty(container, target.attribute.name);
    const snapshot = before === undefined ? undefined : structuredClone(before);
    if (operation.op === 'remove') this.remove(container, target, operation);
    else this.addOrReplace(operation.op, container, target, value);
    const after = readProperty(container, target.attribute.name);
    this.checkMutability(target, snapshot, after);
    if (target.extension) {
      if (!deepEqual(snapshot ?? null, after ?? null)) this.touchedExtensions.add(target.schema);
      this.dropIfEmpty(target.schema);
    }
  }

  /** RFC 7644 §3.5.2: read-only attributes never change, immutable ones only from unassigned,
   * required ones never become unassigned. An operation that changes nothing is always fine. */
  private checkMutability(target: AttributeTarget, before: unknown, after: unknown): void {
    if (deepEqual(before ?? null, after ?? null)) return;
    const { attribute } = target;
    if (attribute.mutability === 'readOnly') {
      throw mutability(`"${attribute.name}" is read-only; "${target.text}" would change it.`);
    }
    if (attribute.mutability === 'immutable' && !isUnassigned(before)) {
      throw mutability(`"${attribute.name}" is immutable once set; "${target.text}" would change it.`);
    }
    if (attribute.required && isUnassigned(after)) {
      throw mutability(`"${attribute.name}" is required and cannot be removed.`);
    }
  }

  /** `add`/`replace`/`remove` with a whole extension as the path (or as a path-less value key). */
  private applyToExtension(operation: PatchOperation, schema: ScimSchema, value: unknown): void {
    if (operation.op === 'remove' || value === null) {
      if (operation.op === 'add') return;
      const existing = readProperty(this.resource, schema.id);
      const required = schema.attributes.find(
        (attribute) =>
          attribute.required && isRecord(existing) && !isUnassigned(readProperty(existing, attribute.name)),
      );
      if (required)
        throw mutability(`"${required.name}" of "${schema.id}" is required and cannot be removed.`);
      deleteProperty(this.resource, schema.id);
      this.touchedExtensions.add(schema);
      return;
    }
    if (!isRecord(value)) throw invalidValue(`"${schema.id}" must be an object of its attributes.`);
    for (const key of Object.keys(value)) {
      this.applyAt(operation, parseAndResolvePath(this.schemas, `${schema.id}:${key}`), value[key]);
    }
  }

  private dropIfEmpty(schema: ScimSchema): void {
    const existing = readProperty(this.resource, schema.id);
    if (isRecord(existing) && Object.keys(existing).length === 0) deleteProperty(this.resource, schema.id);
  }

  // ---- add / replace --------------------------------------------------------------------------

  private addOrReplace(
    op: 'add' | 'replace',
    container: Json,
    target: AttributeTarget,
    value: unknown,
  ): void {
    const { attribute, subAttribute, filter, text } = target;
    if (filter) {
      this.addOrReplaceFiltered(op, container, target, filter, value);
      return;
    }
    if (!attribute.multiValued) {
      if (subAttribute) {
        const current = readProperty(container, attribute.name);
        const element = isRecord(current) ? { ...current } : {};
        setSubAttribute(element, attribute, subAttribute, value, text);
        writeProperty(container, attribute.name, element);
      } else if (attribute.type === 'complex') {
        if (value === null) {
          writeProperty(container, attribute.name, undefined);
          return;
        }
        const current = readProperty(container, attribute.name);
        const incoming = coerceComplex(attribute, value, text);
        writeProperty(
          container,
          attribute.name,
          mergeComplex(attribute, isRecord(current) ? current : {}, incoming, true),
        );
      } else {
        writeProperty(container, attribute.name, coerceElement(attribute, value, text));
      }
      return;
    }
    if (subAttribute) {
      throw new ScimError(
        400,
        'invalidPath',
        `"${text}" names a sub-attribute of every "${attribute.name}" value; select values with a filter, e.g. ${attribute.name}[type eq "work"].${subAttribute.name}.`,
      );
    }

    const incoming = coerceElements(attribute, value, text);
    if (op === 'replace') {
      writeProperty(container, attribute.name, incoming);
      return;
    }
    const current = readProperty(container, attribute.name);
    const elements = Array.isArray(current) ? [...current] : [];
    const promoted: unknown[] = [];
    for (const element of incoming) {
      const index = elements.findIndex((existing) => sameElement(attribute, existing, element));
      let stored = element;
      if (index === -1) elements.push(element);
      else if (isRecord(element) && isRecord(elements[index])) {
        stored = mergeComplex(attribute, elements[index], element, false);
        elements[index] = stored;
      }
      if (isPrimary(element)) promoted.push(stored);
    }
    writeProperty(container, attribute.name, demoteOthers(attribute, elements, promoted, text));
  }

  /**
   * `add`/`replace` through a value filter. Matching values are merged (`add`), replaced
   * (`replace`), or get the sub-attribute after `]` set. When nothing matches and the filter is a
   * plain equality such as `type eq "work"`, the value is created with those sub-attributes set:
   * this is what Entra ID and Okta expect when they send `emails[type eq "work"].value` for a user
   * without a work email. Any other filter without a match is `400 noTarget` (RFC 7644 §3.5.2.3).
   */
  private addOrReplaceFiltered(
    op: 'add' | 'replace',
    container: Json,
    target: AttributeTarget,
    filter: FilterAst,
    value: unknown,
  ): void {
    const { attribute, subAttribute, text } = target;
    if (attribute.type !== 'complex' && subAttribute === undefined && op === 'add') {
      throw new ScimError(
        400,
        'invalidPath',
        `"${text}": add values to "${attribute.name}" without a filter.`,
      );
    }
    const current = readProperty(container, attribute.name);
    const elements = Array.isArray(current) ? [...current] : [];
    const matches = elements.flatMap((element, index) =>
      matchesValueFilter(attribute, filter, element) ? [index] : [],
    );
    const defaults = filterDefaults(attribute, filter, text);

    if (matches.length === 0) {
      if (!defaults || attribute.type !== 'complex') {
        throw new ScimError(400, 'noTarget', `No "${attribute.name}" value matches "${text}".`);
      }
      if (value === null) return;
      let created: Json;
      if (subAttribute) {
        created = { ...defaults };
        setSubAttribute(created, attribute, subAttribute, value, text);
      } else {
        created = { ...defaults, ...coerceElementObject(attribute, value, text) };
      }
      elements.push(created);
      writeProperty(
        container,
        attribute.name,
        demoteOthers(attribute, elements, isPrimary(created) ? [created] : [], text),
      );
      return;
    }

    const promoted: unknown[] = [];
    const removed = new Set<number>();
    for (const index of matches) {
      const element = elements[index];
      let updated: unknown;
      if (subAttribute) {
        if (!isRecord(element)) continue;
        updated = { ...element };
        setSubAttribute(updated as Json, attribute, subAttribute, value, text);
        if (subAttribute.name === 'primary' && isPrimary(updated)) promoted.push(updated);
      } else if (value === null) {
        removed.add(index);
        continue;
      } else if (attribute.type !== 'complex') {
        updated = coerceElement(attribute, value, text);
      } else if (op === 'replace') {
        updated = { ...defaults, ...coerceElementObject(attribute, value, text) };
        if (isPrimary(updated)) promoted.push(updated);
      } else {
        const incoming = coerceComplex(attribute, value, text);
        updated = mergeComplex(attribute, isRecord(element) ? element : {}, incoming, false);
        if (isPrimary(incoming)) promoted.push(updated);
      }
      elements[index] = updated;
    }
    const remaining = elements.filter((element, index) => !removed.has(index) && !isUnassigned(element));
    writeProperty(container, attribute.name, demoteOthers(attribute, remaining, promoted, text));
  }

  // ---- remove ---------------------------------------------------------------------------------

  /**
   * `remove` (RFC 7644 §3.5.2.2): the attribute, a sub-attribute (of every value, for a
   * multi-valued attribute), or the values a filter selects. A `value` on a multi-valued attribute
   * lists the values to remove (Entra ID); on a single-valued one it is ignored. Removing what is
   * not there, or what no value matches, changes nothing.
   */
  private remove(container: Json, target: AttributeTarget, operation: PatchOperation): void {
    const { attribute, subAttribute, filter, text } = target;
    const current = readProperty(container, attribute.name);
    if (current === undefined) return;

    if (!attribute.multiValued) {
      if (!subAttribute) {
        writeProperty(container, attribute.name, undefined);
        return;
      }
      if (!isRecord(current)) return;
      const element = { ...current };
      removeSubAttribute(element, subAttribute, text);
      writeProperty(container, attribute.name, element);
      return;
    }

    const elements: unknown[] = Array.isArray(current) ? current : [current];
    let remaining: unknown[];
    if (filter) {
      remaining = elements.flatMap((element) => {
        if (!matchesValueFilter(attribute, filter, element)) return [element];
        if (!subAttribute) return [];
        if (!isRecord(element)) return [element];
        const updated = { ...element };
        removeSubAttribute(updated, subAttribute, text);
        return [updated];
      });
    } else if (subAttribute) {
      remaining = elements.map((element) => {
        if (!isRecord(element)) return element;
        const updated = { ...element };
        removeSubAttribute(updated, subAttribute, text);
        return updated;
      });
    } else if (operation.hasValue && operation.value !== null) {
      // Entra ID: `{"op":"Remove","path":"emails","value":[{"value":"a@example.com"}]}` removes those values.
      const listed = coerceElements(attribute, operation.value, text);
      remaining = elements.filter((element) => !listed.some((item) => sameElement(attribute, item, element)));
    } else {
      remaining = [];
    }
    writeProperty(
      container,
      attribute.name,
      remaining.filter((element) => !isUnassigned(element)),
    );
  }

  // ---- structural attributes (group members) --------------------------------------------------

  /**
   * Turns an operation on a structural attribute into {@link StructuralOp}s. Member filters may
   * only name members by id: `members[value eq "a" or value eq "b"]`.
   */
  private applyStructural(operation: PatchOperation, target: AttributeTarget, value: unknown): void {
    const { attribute, subAttribute, filter, text } = target;
    if (subAttribute) {
      throw new ScimError(
        400,
        'invalidPath',
        `"${text}": "${attribute.name}" values can only be added or removed whole.`,
      );
    }
    const name = attribute.name as StructuralAttribute;
    const named = filter ? memberIdsOf(filter, text).map((id) => ({ value: id })) : undefined;

    switch (operation.op) {
      case 'add':
        if (named)
          throw new ScimError(400, 'invalidPath', `"${text}": add "${attribute.name}" without a filter.`);
        this.pushStructural({ attribute: name, action: 'add', values: membersOf(attribute, value, text) });
        return;
      case 'replace':
        if (named) {
          // Replacing the filtered members with the value: those leave, the new ones join.
          this.pushStructural({ attribute: name, action: 'remove', values: named });
          this.pushStructural({ attribute: name, action: 'add', values: membersOf(attribute, value, text) });
          return;
        }
        {
          const members = membersOf(attribute, value, text);
          this.pushStructural({
            attribute: name,
            action: members.length > 0 ? 'replace' : 'removeAll',
            values: members,
          });
        }
        return;
      case 'remove':
        if (named) this.pushStructural({ attribute: name, action: 'remove', values: named });
        else if (operation.hasValue && value !== null) {
          // Entra ID names the members to remove in `value`; it never means "remove all".
          this.pushStructural({
            attribute: name,
            action: 'remove',
            values: membersOf(attribute, value, text),
          });
        } else this.pushStructural({ attribute: name, action: 'removeAll', values: [] });
        return;
    }
  }

  /**
   * Appends a structural op, coalescing consecutive `add`s (or `remove`s) into one — Entra ID
   * sends one operation per member — and dropping ops a later `replace`/`removeAll` supersedes.
   */
  private pushStructural(op: StructuralOp): void {
    if (op.values.length === 0 && (op.action === 'add' || op.action === 'remove')) return;
    const sameAttribute = this.structural.filter((existing) => existing.attribute === op.attribute);
    if (op.action === 'replace' || op.action === 'removeAll') {
      for (const superseded of sameAttribute) this.structural.splice(this.structural.indexOf(superseded), 1);
      this.structural.push(op);
      return;
    }
    const last = sameAttribute.at(-1);
    if (last && last === this.structural.at(-1) && last.action === op.action) {
      last.values = dedupeMembers([...last.values, ...op.values]);
      return;
    }
    this.structural.push({ ...op, values: dedupeMembers(op.values) });
  }

  /** Keeps the `schemas` list in step with the extensions the patch wrote or removed. */
  finish(): void {
    const declared = readProperty(this.resource, 'schemas');
    if (!Array.isArray(declared)) return;
    let schemas = [...declared] as unknown[];
    for (const schema of this.touchedExtensions) {
      const present = isRecord(readProperty(this.resource, schema.id));
      const listed = schemas.some(
        (urn) => typeof urn === 'string' && urn.toLowerCase() === schema.id.toLowerCase(),
      );
      if (present && !listed) schemas.push(schema.id);
      if (!present && listed) {
        schemas = schemas.filter(
          (urn) => typeof urn !== 'string' || urn.toLowerCase() !== schema.id.toLowerCase(),
        );
      }
    }
    if (schemas.length !== declared.length) writeProperty(this.resource, 'schemas', schemas);
  }
}

/** Merges sub-attributes into a complex value; `null` unassigns. `single` marks a single-valued
 * attribute, whose value is replaced outright when its `value` (the thing it refers to) changes,
 * so no `$ref` or display name of the old referent survives (Entra changing a user's manager). */
function mergeComplex(attribute: ScimAttribute, current: Json, incoming: Json, single: boolean): Json {
  const valueSub = findAttribute(attribute.subAttributes ?? [], 'value');
  const base =
    single &&
    valueSub &&
    incoming[valueSub.name] !== undefined &&
    incoming[valueSub.name] !== null &&
    current[valueSub.name] !== undefined &&
    normalised(valueSub, current[valueSub.name]) !== normalised(valueSub, incoming[valueSub.name])
      ? {}
      : current;
  const merged: Json = { ...base };
  for (const [key, item] of Object.entries(incoming)) {
    const sub = findAttribute(attribute.subAttributes ?? [], key);
    if (sub?.mutability === 'immutable' && !isUnassigned(merged[key]) && !deepEqual(merged[key], item)) {
      throw mutability(`"${attribute.name}.${key}" is immutable once set.`);
    }
    if (item === null) delete merged[key];
    else if (
      sub !== valueSub ||
      merged[key] === undefined ||
      normalised(sub, merged[key]) !== normalised(sub, item)
    ) {
      // The same `value` in other letter case (non-caseExact) is the same value: keep its spelling.
      merged[key] = item;
    }
  }
  return merged;
}

/** A complex element from an operation value, which must be an object (or a bare `value`). */
function coerceElementObject(attribute: ScimAttribute, value: unknown, where: string): Json {
  const element = coerceElement(attribute, value, where);
  if (!isRecord(element)) throw wrongType(attribute, where, value);
  return element;
}

/** Sets (or with `null`, unassigns) one sub-attribute of a complex element, checking its mutability. */
function setSubAttribute(
  element: Json,
  attribute: ScimAttribute,
  sub: ScimAttribute,
  raw: unknown,
  where: string,
): void {
  const value = coerceSubValue(sub, raw, where);
  const current = element[sub.name];
  if (deepEqual(current ?? null, value)) return;
  if (sub.mutability === 'readOnly' || attribute.mutability === 'readOnly') {
    throw mutability(`"${attribute.name}.${sub.name}" is read-only.`);
  }
  if (sub.mutability === 'immutable' && !isUnassigned(current)) {
    throw mutability(`"${attribute.name}.${sub.name}" is immutable once set.`);
  }
  if (isUnassigned(value)) delete element[sub.name];
  else element[sub.name] = value;
}

function removeSubAttribute(element: Json, sub: ScimAttribute, where: string): void {
  if (!Object.hasOwn(element, sub.name)) return;
  if (sub.mutability === 'readOnly' || sub.mutability === 'immutable' || sub.required) {
    throw mutability(`"${where}": "${sub.name}" cannot be removed.`);
  }
  delete element[sub.name];
}

/** The sub-attribute values an equality filter pins down (`{ type: "work" }`), coerced to their types. */
function filterDefaults(attribute: ScimAttribute, filter: FilterAst, where: string): Json | undefined {
  const constraints = equalityConstraints(attribute, filter);
  if (!constraints) return undefined;
  const defaults: Json = {};
  for (const { attribute: sub, value } of constraints) {
    try {
      defaults[sub.name] = coerceScalar(sub, value, where);
    } catch {
      return undefined;
    }
  }
  return defaults;
}

/**
 * After an operation made `promoted` primary, every other value loses `primary` (RFC 7643 §2.4:
 * at most one `primary: true`). Making two values primary in one operation is `400 invalidValue`.
 */
function demoteOthers(
  attribute: ScimAttribute,
  elements: unknown[],
  promoted: unknown[],
  where: string,
): unknown[] {
  if (promoted.length > 1)
    throw invalidValue(`"${where}" would make ${promoted.length} values primary; at most one may be.`);
  const [winner] = promoted;
  if (winner === undefined || !findAttribute(attribute.subAttributes ?? [], 'primary')) return elements;
  return elements.map((element) =>
    element !== winner && isPrimary(element) ? { ...(element as Json), primary: false } : element,
  );
}

// -------------------------------------------------------------------------------------------------
// Members
// -------------------------------------------------------------------------------------------------

/** Member objects from an operation value: `[{ value, type?, display?, $ref? }]` or one such object. */
function membersOf(attribute: ScimAttribute, raw: unknown, where: string): StructuralMember[] {
  if (raw === null || raw === undefined) return [];
  const items = Array.isArray(raw) ? raw : [raw];
  const members = items.map((item, index): StructuralMember => {
    const at = `${where}[${index}]`;
    if (!isRecord(item)) throw invalidValue(`"${at}" must be an object like {"value": "<id>"}.`);
    const member: StructuralMember = { value: '' };
    for (const key of Object.keys(item)) {
      const sub = findAttribute(attribute.subAttributes ?? [], key);
      if (!sub) throw invalidValue(`"${at}" has no sub-attribute "${key}".`);
      const value = item[key];
      if (value === null || value === undefined || sub.name === '$ref') continue;
      if (typeof value !== 'string') throw invalidValue(`"${at}.${sub.name}" must be a string.`);
      if (sub.name === 'value' || sub.name === 'type' || sub.name === 'display') member[sub.name] = value;
    }
    if (member.value.trim() === '') throw invalidValue(`"${at}" needs a non-empty "value" (the member id).`);
    return member;
  });
  return dedupeMembers(members);
}

function dedupeMembers(members: StructuralMember[]): StructuralMember[] {
  const byId = new Map<string, StructuralMember>();
  for (const member of members) {
    byId.delete(member.value);
    byId.set(member.value, member);
  }
  return [...byId.values()];
}

/** Member ids from a `value eq "…"` filter, alone or joined by `or`; any other filter is refused. */
function memberIdsOf(filter: FilterAst, where: string): string[] {
  const terms = filter.type === 'or' ? filter.filters : [filter];
  return terms.map((term) => {
    if (
      term.type === 'compare' &&
      term.operator === 'eq' &&
      term.attribute.toLowerCase() === 'value' &&
      typeof term.value === 'string'
    ) {
      return term.value;
    }
    throw new ScimError(
      400,
      'invalidFilter',
      `"${where}": member filters may only name members by id, e.g. members[value eq "<id>" or value eq "<id>"].`,
    );
  });
}

// -------------------------------------------------------------------------------------------------
// Entry point
// -------------------------------------------------------------------------------------------------

/**
 * Applies a SCIM PATCH request (RFC 7644 §3.5.2) to `resource` and returns the patched copy.
 * Atomic: the first failing operation throws a {@link ScimError} and nothing is returned.
 * Operations on `structural` attributes are returned, not applied.
 */
export function applyPatch(
  resource: Record<string, unknown>,
  request: unknown,
  opts: PatchOptions,
): PatchResult {
  const operations = parsePatchRequest(request);
  const applier = new PatchApplier(structuredClone(resource), opts.schemas, opts.structural ?? []);
  for (const operation of operations) applier.apply(operation);
  applier.finish();
  return {
    resource: applier.resource,
    structural: applier.structural,
    changed: !deepEqual(resource, applier.resource),
  };
}
