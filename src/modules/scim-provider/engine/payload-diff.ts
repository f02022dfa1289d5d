import { isDeepStrictEqual } from 'node:util';

/** A SCIM PATCH operation (RFC 7644 §3.5.2). */
export interface PatchOperation {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

export interface DiffOptions {
  /** `add` (not `replace`) for attributes that were absent in the previous payload. */
  addForNewAttributes: boolean;
  /** Top-level keys that are never diffed (structural or server-assigned). */
  ignore?: readonly string[];
}

/** Keys that are never part of an attribute diff. */
export const NEVER_DIFFED = ['schemas', 'id', 'meta', 'members', 'groups'] as const;

type Json = Record<string, unknown>;

/**
 * The minimal PATCH operations that turn what we last sent into what we send now, including the
 * removal of attributes, sub-attributes and list items (a multi-valued attribute whose list
 * changed is replaced as a whole, which also removes the items that went away).
 *
 * Paths follow RFC 7644's grammar: `attr`, `attr.sub`, `urn:…:Ext:attr` and `urn:…:Ext:attr.sub`;
 * anything deeper is replaced at the deepest addressable level. An empty result means nothing to send.
 */
export function diffPayload(
  previous: Json | null | undefined,
  next: Json,
  options: DiffOptions,
): PatchOperation[] {
  const ignore = new Set<string>(options.ignore ?? NEVER_DIFFED);
  const before = present(previous ?? {});
  const after = present(next);
  const ops: PatchOperation[] = [];
  for (const key of orderedKeys(before, after)) {
    if (ignore.has(key)) continue;
    if (isExtensionUrn(key)) {
      diffObject(ops, `${key}:`, asObject(before[key]), asObject(after[key]), true, options);
    } else {
      diffAttribute(ops, key, before[key], after[key], true, options);
    }
  }
  return ops;
}

/** Whether two payloads are equal for sync purposes (ignoring structural keys). */
export function samePayload(
  previous: Json | null | undefined,
  next: Json,
  ignore: readonly string[] = NEVER_DIFFED,
): boolean {
  const strip = (o: Json) =>
    Object.fromEntries(Object.entries(present(o)).filter(([k]) => !ignore.includes(k)));
  return isDeepStrictEqual(strip(previous ?? {}), strip(next));
}

/**
 * One attribute at `path`. `canDescend`: a complex value may be diffed by its sub-attributes
 * (true for top-level attributes and extension attributes; false below that: SCIM paths stop there).
 */
function diffAttribute(
  ops: PatchOperation[],
  path: string,
  a: unknown,
  b: unknown,
  canDescend: boolean,
  options: DiffOptions,
): void {
  const hadA = a !== undefined && a !== null;
  const hasB = b !== undefined && b !== null;
  if (!hadA && !hasB) return;
  if (hadA && !hasB) {
    ops.push({ op: 'remove', path });
    return;
  }
  if (hadA && isDeepStrictEqual(a, b)) return;
  if (canDescend && isPlainObject(a) && isPlainObject(b)) {
    diffObject(ops, `${path}.`, a, b, false, options);
    return;
  }
  ops.push({ op: !hadA && options.addForNewAttributes ? 'add' : 'replace', path, value: b });
}

function diffObject(
  ops: PatchOperation[],
  prefix: string,
  a: Json,
  b: Json,
  canDescend: boolean,
  options: DiffOptions,
): void {
  const before = present(a);
  const after = present(b);
  for (const key of orderedKeys(before, after)) {
    diffAttribute(ops, `${prefix}${key}`, before[key], after[key], canDescend, options);
  }
}

/** Keys of `after` in its order, then keys only in `before` (removals). */
function orderedKeys(before: Json, after: Json): string[] {
  return [...Object.keys(after), ...Object.keys(before).filter((k) => !(k in after))];
}

/** Drops `null`/`undefined` values: absent and null mean the same on the wire for our purposes. */
function present(o: Json): Json {
  const result: Json = {};
  for (const [key, value] of Object.entries(o))
    if (value !== undefined && value !== null) result[key] = value;
  return result;
}

function asObject(value: unknown): Json {
  return isPlainObject(value) ? value : {};
}

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isExtensionUrn(key: string): boolean {
  return key.startsWith('urn:');
}

// -------------------------------------------------------------------------------------------------
// Group membership
// -------------------------------------------------------------------------------------------------

export interface MemberRequestShape {
  maxPatchOperations: number;
  maxMembersPerOperation: number;
  memberRemoval: 'value-list' | 'path-filter';
  memberType: null | 'User' | 'user';
}

export interface MemberRef {
  remoteId: string;
  type: 'user' | 'group';
}

/** One PATCH request of membership changes and the members it carries. */
export interface MemberPatch {
  operations: PatchOperation[];
  added: MemberRef[];
  removed: MemberRef[];
}

export function memberValue(
  member: MemberRef,
  shape: Pick<MemberRequestShape, 'memberType'>,
): Record<string, string> {
  if (shape.memberType === null) return { value: member.remoteId };
  const type = member.type === 'group' ? (shape.memberType === 'User' ? 'Group' : 'group') : shape.memberType;
  return { value: member.remoteId, type };
}

/**
 * Member additions and removals as PATCH requests: removals first, each request at most
 * `maxPatchOperations` operations, each operation at most `maxMembersPerOperation` members.
 */
export function memberPatches(
  added: readonly MemberRef[],
  removed: readonly MemberRef[],
  shape: MemberRequestShape,
): MemberPatch[] {
  const ops: { op: PatchOperation; added: MemberRef[]; removed: MemberRef[] }[] = [];
  const perOp = Math.max(1, shape.maxMembersPerOperation);
  if (shape.memberRemoval === 'path-filter') {
    for (const member of removed) {
      ops.push({
        op: { op: 'remove', path: `members[value eq ${JSON.stringify(member.remoteId)}]` },
        added: [],
        removed: [member],
      });
    }
  } else {
    for (const chunk of chunks(removed, perOp)) {
      ops.push({
        op: { op: 'remove', path: 'members', value: chunk.map((m) => memberValue(m, shape)) },
        added: [],
        removed: chunk,
      });
    }
  }
  for (const chunk of chunks(added, perOp)) {
    ops.push({
      op: { op: 'add', path: 'members', value: chunk.map((m) => memberValue(m, shape)) },
      added: chunk,
      removed: [],
    });
  }
  return chunks(ops, Math.max(1, shape.maxPatchOperations)).map((group) => ({
    operations: group.map((g) => g.op),
    added: group.flatMap((g) => g.added),
    removed: group.flatMap((g) => g.removed),
  }));
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}
