/**
 * The deep-merge rules of property mappings (SPEC.md, "Property mappings — scopes and merge rules").
 *
 * Every mapping that runs for an object returns a contribution; contributions are merged in the
 * order the mappings are listed:
 *
 * | value kind | rule |
 * |---|---|
 * | objects | merged key by key, recursively |
 * | scalars | the later contribution wins |
 * | multi-valued complex attributes ({@link MULTI_VALUED_COMPLEX_ATTRIBUTES}) | merged by identity |
 * | any other array | the later contribution's array replaces the earlier one |
 * | explicit `null` | removes the key |
 *
 * Details the table leaves open, decided here:
 * - Multi-valued attributes are recognised by key name, case-insensitively, at any depth.
 * - An item's identity is its `value` when that is a string, number or boolean, else its `type`
 *   (likewise); identities compare exactly (`"a@x"` ≠ `"A@x"`) and `value` identities never match
 *   `type` identities. An item without either has no identity and is always appended.
 * - Each earlier item matches at most one item of a later contribution, so two items with the
 *   same identity inside one contribution stay two items (the schema validation reports them).
 * - Matched items merge field by field under these same rules (`null` removes a field).
 * - At most one item keeps `primary: true`: the last one the latest contribution marked primary,
 *   else the earlier primary. Every other item that said `primary: true` is set to
 *   `primary: false` (the flag is kept, not dropped, so the downstream sees an explicit value).
 * - A multi-valued key whose value is not an array follows the scalar rule (later wins);
 *   `null` items in such a list are ignored.
 * - Keys merge exactly as spelled: `emails` and `Emails` from two contributions stay two keys
 *   (the SCIM schema validation after the merge reports the duplicate). Case-insensitivity only
 *   decides which keys get the list rule.
 * - `undefined` contributes nothing (as in JSON); `null` on a key that is absent is a no-op.
 * - Keys `__proto__`, `constructor` and `prototype` are dropped wherever they appear, so merging
 *   can never reach or change a prototype.
 * - Inputs are never mutated and the result shares no plain object or array with them.
 */

/** SCIM multi-valued attributes of complex type that are merged item by item (RFC 7643 §4.1.2). */
export const MULTI_VALUED_COMPLEX_ATTRIBUTES = [
  'emails',
  'phoneNumbers',
  'addresses',
  'ims',
  'photos',
  'entitlements',
  'roles',
  'x509Certificates',
] as const;

/** Keys that are never merged: writing them could change an object's prototype. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

type PlainObject = Record<string, unknown>;

const multiValuedKeys: ReadonlySet<string> = new Set(
  MULTI_VALUED_COMPLEX_ATTRIBUTES.map((name) => name.toLowerCase()),
);

/** Whether `key` names a multi-valued complex attribute (case-insensitive). */
export function isMultiValuedComplexAttribute(key: string): boolean {
  return multiValuedKeys.has(key.toLowerCase());
}

/** Merges the contributions of several mappings, in order, into a new object. */
export function mergeContributions(contributions: readonly PlainObject[]): PlainObject {
  let merged: PlainObject = {};
  for (const contribution of contributions) {
    merged = mergeInto(merged, contribution);
  }
  return merged;
}

/** Merges a later contribution (`patch`) over an earlier result (`base`) into a new object. */
export function mergeInto(base: PlainObject, patch: PlainObject): PlainObject {
  return mergeObjects(base, patch);
}

function mergeObjects(base: PlainObject, patch: PlainObject): PlainObject {
  const result: PlainObject = {};
  for (const key of Object.keys(base)) {
    if (FORBIDDEN_KEYS.has(key) || base[key] === undefined) continue;
    result[key] = clone(base[key]);
  }
  for (const key of Object.keys(patch)) {
    if (FORBIDDEN_KEYS.has(key)) continue;
    const next = patch[key];
    if (next === undefined) continue;
    if (next === null) {
      delete result[key];
      continue;
    }
    result[key] = mergeValues(key, result[key], next);
  }
  return result;
}

function mergeValues(key: string, previous: unknown, next: unknown): unknown {
  if (Array.isArray(next)) {
    if (isMultiValuedComplexAttribute(key)) {
      return mergeMultiValued(Array.isArray(previous) ? previous : [], next);
    }
    return clone(next);
  }
  if (isPlainObject(next)) {
    return mergeObjects(isPlainObject(previous) ? previous : {}, next);
  }
  return next;
}

interface ListItem {
  value: unknown;
  /** 1 + the item's position in the later contribution if it said `primary: true` there, else 0. */
  primaryRank: number;
}

function mergeMultiValued(previous: readonly unknown[], next: readonly unknown[]): unknown[] {
  // `previous` is already a copy (see mergeObjects), so its items can be reused as they are.
  const items: ListItem[] = previous.map((value) => ({ value, primaryRank: 0 }));
  const matched = new Set<number>();
  next.forEach((incoming, position) => {
    if (incoming === undefined || incoming === null) return;
    const primaryRank = isPrimary(incoming) ? position + 1 : 0;
    const identity = identityOf(incoming);
    const index =
      identity === undefined
        ? -1
        : items.findIndex((item, at) => !matched.has(at) && sameIdentity(identityOf(item.value), identity));
    if (index === -1) {
      items.push({ value: mergeValues('', undefined, incoming), primaryRank });
      matched.add(items.length - 1);
    } else {
      // Both sides have an identity, so both are plain objects.
      const merged = mergeObjects(items[index]!.value as PlainObject, incoming as PlainObject);
      items[index] = { value: merged, primaryRank };
      matched.add(index);
    }
  });
  return keepOnePrimary(items);
}

/** Leaves `primary: true` on one item: the later contribution's last primary, else the last one. */
function keepOnePrimary(items: readonly ListItem[]): unknown[] {
  let winner = -1;
  items.forEach((item, index) => {
    if (isPrimary(item.value) && (winner === -1 || item.primaryRank >= items[winner]!.primaryRank)) {
      winner = index;
    }
  });
  return items.map((item, index) =>
    index !== winner && isPrimary(item.value)
      ? { ...(item.value as PlainObject), primary: false }
      : item.value,
  );
}

type Identity = { by: 'value' | 'type'; key: string | number | boolean };

function identityOf(item: unknown): Identity | undefined {
  if (!isPlainObject(item)) return undefined;
  if (isIdentityKey(item.value)) return { by: 'value', key: item.value };
  if (isIdentityKey(item.type)) return { by: 'type', key: item.type };
  return undefined;
}

function isIdentityKey(candidate: unknown): candidate is string | number | boolean {
  return typeof candidate === 'string' || typeof candidate === 'number' || typeof candidate === 'boolean';
}

function sameIdentity(a: Identity | undefined, b: Identity): boolean {
  return a !== undefined && a.by === b.by && a.key === b.key;
}

function isPrimary(item: unknown): boolean {
  return isPlainObject(item) && item.primary === true;
}

function isPlainObject(candidate: unknown): candidate is PlainObject {
  if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate)) return false;
  const prototype: unknown = Object.getPrototypeOf(candidate);
  return prototype === Object.prototype || prototype === null;
}

/** Deep copy of plain objects and arrays, dropping forbidden keys and `undefined` members. */
function clone(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clone);
  if (!isPlainObject(value)) return value;
  const copy: PlainObject = {};
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key) || value[key] === undefined) continue;
    copy[key] = clone(value[key]);
  }
  return copy;
}
