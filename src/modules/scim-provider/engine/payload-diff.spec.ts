import { describe, expect, it } from 'vitest';
import {
  diffPayload,
  memberPatches,
  samePayload,
  type MemberRef,
  type PatchOperation,
} from './payload-diff.js';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const relaxed = { addForNewAttributes: false };
const strict = { addForNewAttributes: true };

describe('diffPayload', () => {
  const cases: {
    name: string;
    before: Record<string, unknown> | null;
    after: Record<string, unknown>;
    strict?: boolean;
    ops: PatchOperation[];
  }[] = [
    {
      name: 'equal payloads give no operation',
      before: { userName: 'a', active: true },
      after: { active: true, userName: 'a' },
      ops: [],
    },
    {
      name: 'a changed scalar is replaced',
      before: { title: 'x' },
      after: { title: 'y' },
      ops: [{ op: 'replace', path: 'title', value: 'y' }],
    },
    {
      name: 'a removed scalar is removed',
      before: { title: 'x', userName: 'a' },
      after: { userName: 'a' },
      ops: [{ op: 'remove', path: 'title' }],
    },
    {
      name: 'null counts as absent',
      before: { title: 'x' },
      after: { title: null },
      ops: [{ op: 'remove', path: 'title' }],
    },
    {
      name: 'a new attribute is replaced (RFC: replace adds)',
      before: {},
      after: { title: 'x' },
      ops: [{ op: 'replace', path: 'title', value: 'x' }],
    },
    {
      name: 'a new attribute is added for strict apps',
      before: {},
      after: { title: 'x' },
      strict: true,
      ops: [{ op: 'add', path: 'title', value: 'x' }],
    },
    {
      name: 'a complex attribute is diffed by sub-attribute',
      before: { name: { givenName: 'Ada', familyName: 'L', middleName: 'B' } },
      after: { name: { givenName: 'Ada', familyName: 'Lovelace' } },
      ops: [
        { op: 'replace', path: 'name.familyName', value: 'Lovelace' },
        { op: 'remove', path: 'name.middleName' },
      ],
    },
    {
      name: 'a removed list item replaces the list',
      before: {
        emails: [
          { value: 'a@x', type: 'work' },
          { value: 'b@x', type: 'home' },
        ],
      },
      after: { emails: [{ value: 'a@x', type: 'work' }] },
      ops: [{ op: 'replace', path: 'emails', value: [{ value: 'a@x', type: 'work' }] }],
    },
    {
      name: 'a removed list is removed',
      before: { emails: [{ value: 'a@x' }] },
      after: {},
      ops: [{ op: 'remove', path: 'emails' }],
    },
    {
      name: 'extension attributes use the URN path',
      before: { [ENT]: { department: 'R&D', costCenter: '1' } },
      after: { [ENT]: { department: 'Sales' } },
      ops: [
        { op: 'replace', path: `${ENT}:department`, value: 'Sales' },
        { op: 'remove', path: `${ENT}:costCenter` },
      ],
    },
    {
      name: 'a complex extension attribute descends one level',
      before: { [ENT]: { manager: { value: 'm1', displayName: 'M' } } },
      after: { [ENT]: { manager: { value: 'm2', displayName: 'M' } } },
      ops: [{ op: 'replace', path: `${ENT}:manager.value`, value: 'm2' }],
    },
    {
      name: 'a removed extension removes each of its attributes',
      before: { [ENT]: { department: 'R&D', manager: { value: 'm1' } } },
      after: {},
      ops: [
        { op: 'remove', path: `${ENT}:department` },
        { op: 'remove', path: `${ENT}:manager` },
      ],
    },
    {
      name: 'schemas, id, meta and members are not diffed',
      before: { schemas: ['a'], members: [1] },
      after: { schemas: ['b'], id: 'x', meta: {} },
      ops: [],
    },
    {
      name: 'from nothing, everything is set',
      before: null,
      after: { userName: 'a', active: true },
      ops: [
        { op: 'replace', path: 'userName', value: 'a' },
        { op: 'replace', path: 'active', value: true },
      ],
    },
    {
      name: 'a boolean flip is a replace',
      before: { active: true },
      after: { active: false },
      ops: [{ op: 'replace', path: 'active', value: false }],
    },
    {
      name: 'a complex value replacing a scalar is replaced whole',
      before: { name: 'Ada' },
      after: { name: { givenName: 'Ada' } },
      ops: [{ op: 'replace', path: 'name', value: { givenName: 'Ada' } }],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(diffPayload(c.before, c.after, c.strict ? strict : relaxed)).toEqual(c.ops);
    });
  }

  it('samePayload ignores key order and structural keys', () => {
    expect(samePayload({ a: 1, b: { c: 2, d: 3 }, schemas: ['x'] }, { b: { d: 3, c: 2 }, a: 1 })).toBe(true);
    expect(samePayload({ a: 1 }, { a: 2 })).toBe(false);
  });
});

describe('memberPatches', () => {
  const users = (n: number, prefix = 'u'): MemberRef[] =>
    Array.from({ length: n }, (_, i) => ({ remoteId: `${prefix}${i}`, type: 'user' }));

  it('chunks adds by members per operation and operations per request, removals first', () => {
    const patches = memberPatches(users(5, 'a'), users(3, 'r'), {
      maxPatchOperations: 2,
      maxMembersPerOperation: 2,
      memberRemoval: 'value-list',
      memberType: null,
    });
    expect(patches.map((p) => p.operations.map((o) => `${o.op}:${(o.value as unknown[]).length}`))).toEqual([
      ['remove:2', 'remove:1'],
      ['add:2', 'add:2'],
      ['add:1'],
    ]);
    expect(patches.flatMap((p) => p.added).map((m) => m.remoteId)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
    expect(patches[0]!.operations[0]!.value).toEqual([{ value: 'r0' }, { value: 'r1' }]);
  });

  it('removes one member per operation with filter paths, typed members', () => {
    const patches = memberPatches(users(1, 'a'), users(2, 'r'), {
      maxPatchOperations: 10,
      maxMembersPerOperation: 10,
      memberRemoval: 'path-filter',
      memberType: 'User',
    });
    expect(patches).toHaveLength(1);
    expect(patches[0]!.operations).toEqual([
      { op: 'remove', path: 'members[value eq "r0"]' },
      { op: 'remove', path: 'members[value eq "r1"]' },
      { op: 'add', path: 'members', value: [{ value: 'a0', type: 'User' }] },
    ]);
  });

  it('gives nothing for no change', () => {
    expect(
      memberPatches([], [], {
        maxPatchOperations: 1,
        maxMembersPerOperation: 1,
        memberRemoval: 'value-list',
        memberType: null,
      }),
    ).toEqual([]);
  });
});
