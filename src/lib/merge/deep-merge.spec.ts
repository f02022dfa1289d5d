import { describe, expect, it } from 'vitest';

import {
  isMultiValuedComplexAttribute,
  mergeContributions,
  mergeInto,
  MULTI_VALUED_COMPLEX_ATTRIBUTES,
} from './deep-merge.js';

type Row = { rule: string; contributions: Record<string, unknown>[]; expected: Record<string, unknown> };

const rows: Row[] = [
  // One row per rule of SPEC.md.
  {
    rule: 'objects merge key by key, recursively',
    contributions: [
      { name: { givenName: 'Ada', familyName: 'Lovelace' } },
      { name: { familyName: 'King', honorificPrefix: 'Countess' } },
    ],
    expected: { name: { givenName: 'Ada', familyName: 'King', honorificPrefix: 'Countess' } },
  },
  {
    rule: 'scalars: the later mapping wins',
    contributions: [{ title: 'Engineer', active: true }, { title: 'Manager' }, { active: false }],
    expected: { title: 'Manager', active: false },
  },
  {
    rule: 'multi-valued: same value → later wins field by field',
    contributions: [
      { emails: [{ value: 'ada@example.com', type: 'work', display: 'Ada' }] },
      { emails: [{ value: 'ada@example.com', type: 'home' }] },
    ],
    expected: { emails: [{ value: 'ada@example.com', type: 'home', display: 'Ada' }] },
  },
  {
    rule: 'multi-valued: new identity → appended',
    contributions: [{ emails: [{ value: 'ada@example.com' }] }, { emails: [{ value: 'ada@home.example' }] }],
    expected: { emails: [{ value: 'ada@example.com' }, { value: 'ada@home.example' }] },
  },
  {
    rule: 'multi-valued: at most one primary survives, the later one',
    contributions: [
      { emails: [{ value: 'a@x', primary: true }] },
      { emails: [{ value: 'b@x', primary: true }] },
    ],
    expected: {
      emails: [
        { value: 'a@x', primary: false },
        { value: 'b@x', primary: true },
      ],
    },
  },
  {
    rule: 'any other array: the later array replaces the earlier',
    contributions: [{ schemas: ['a', 'b'] }, { schemas: ['c'] }],
    expected: { schemas: ['c'] },
  },
  {
    rule: 'explicit null from a later mapping removes the key',
    contributions: [{ title: 'Engineer', nickName: 'ada' }, { title: null }],
    expected: { nickName: 'ada' },
  },

  // Identity.
  {
    rule: 'identity is the type when an item has no value (addresses)',
    contributions: [
      {
        addresses: [
          { type: 'work', locality: 'London' },
          { type: 'home', locality: 'Bath' },
        ],
      },
      { addresses: [{ type: 'work', postalCode: 'EC1' }] },
    ],
    expected: {
      addresses: [
        { type: 'work', locality: 'London', postalCode: 'EC1' },
        { type: 'home', locality: 'Bath' },
      ],
    },
  },
  {
    rule: 'identity by value wins over type: same type, different value → appended',
    contributions: [
      { emails: [{ value: 'a@x', type: 'work' }] },
      { emails: [{ value: 'b@x', type: 'work' }] },
    ],
    expected: {
      emails: [
        { value: 'a@x', type: 'work' },
        { value: 'b@x', type: 'work' },
      ],
    },
  },
  {
    rule: 'a value identity never matches a type identity',
    contributions: [{ phoneNumbers: [{ type: 'work' }] }, { phoneNumbers: [{ value: 'work' }] }],
    expected: { phoneNumbers: [{ type: 'work' }, { value: 'work' }] },
  },
  {
    rule: 'identities compare exactly (no case folding)',
    contributions: [{ emails: [{ value: 'Ada@x' }] }, { emails: [{ value: 'ada@x' }] }],
    expected: { emails: [{ value: 'Ada@x' }, { value: 'ada@x' }] },
  },
  {
    rule: 'an item without value or type is appended',
    contributions: [{ photos: [{ display: 'me' }] }, { photos: [{ display: 'me' }] }],
    expected: { photos: [{ display: 'me' }, { display: 'me' }] },
  },
  {
    rule: 'same identity twice inside one contribution stays two items',
    contributions: [
      { roles: [{ value: 'admin' }] },
      {
        roles: [
          { value: 'admin', display: 'A' },
          { value: 'admin', display: 'B' },
        ],
      },
    ],
    expected: {
      roles: [
        { value: 'admin', display: 'A' },
        { value: 'admin', display: 'B' },
      ],
    },
  },
  {
    rule: 'null inside a matched item removes that field',
    contributions: [
      { ims: [{ value: 'ada', type: 'xmpp', display: 'Ada' }] },
      { ims: [{ value: 'ada', display: null }] },
    ],
    expected: { ims: [{ value: 'ada', type: 'xmpp' }] },
  },
  {
    rule: 'null items in a multi-valued list are ignored',
    contributions: [{ entitlements: [{ value: 'e1' }] }, { entitlements: [null, { value: 'e2' }] }],
    expected: { entitlements: [{ value: 'e1' }, { value: 'e2' }] },
  },
  {
    rule: 'a multi-valued key holding a non-array follows the scalar rule',
    contributions: [{ emails: [{ value: 'a@x' }] }, { emails: 'a@x' }],
    expected: { emails: 'a@x' },
  },
  {
    rule: 'multi-valued names match case-insensitively',
    contributions: [
      { Emails: [{ value: 'a@x', type: 'work' }] },
      { Emails: [{ value: 'a@x', primary: true }] },
    ],
    expected: { Emails: [{ value: 'a@x', type: 'work', primary: true }] },
  },
  {
    rule: 'multi-valued names are recognised at any depth',
    contributions: [
      { 'urn:example:ext': { x509Certificates: [{ value: 'MIIC', display: 'old' }] } },
      { 'urn:example:ext': { x509Certificates: [{ value: 'MIIC', display: 'new' }, { value: 'MIID' }] } },
    ],
    expected: {
      'urn:example:ext': { x509Certificates: [{ value: 'MIIC', display: 'new' }, { value: 'MIID' }] },
    },
  },

  // Primary conflicts.
  {
    rule: 'primary conflicts across three contributions: the latest primary wins',
    contributions: [
      { emails: [{ value: 'a@x', primary: true }] },
      { emails: [{ value: 'b@x', primary: true }] },
      { emails: [{ value: 'a@x', primary: true }, { value: 'c@x' }] },
    ],
    expected: {
      emails: [{ value: 'a@x', primary: true }, { value: 'b@x', primary: false }, { value: 'c@x' }],
    },
  },
  {
    rule: 'a later contribution without a primary keeps the earlier primary',
    contributions: [
      { emails: [{ value: 'a@x', primary: true }] },
      { emails: [{ value: 'b@x', type: 'home' }] },
    ],
    expected: {
      emails: [
        { value: 'a@x', primary: true },
        { value: 'b@x', type: 'home' },
      ],
    },
  },
  {
    rule: 'two primaries inside one contribution: the later item wins',
    contributions: [
      {
        emails: [
          { value: 'a@x', primary: true },
          { value: 'b@x', primary: true },
        ],
      },
    ],
    expected: {
      emails: [
        { value: 'a@x', primary: false },
        { value: 'b@x', primary: true },
      ],
    },
  },
  {
    rule: 'a later primary: false on the primary item leaves no primary',
    contributions: [
      { emails: [{ value: 'a@x', primary: true }] },
      { emails: [{ value: 'a@x', primary: false }] },
    ],
    expected: { emails: [{ value: 'a@x', primary: false }] },
  },

  // Nesting, null and kind changes.
  {
    rule: 'null removes a nested key and keeps its siblings',
    contributions: [
      { name: { givenName: 'Ada', middleName: 'Augusta', familyName: 'King' } },
      { name: { middleName: null } },
    ],
    expected: { name: { givenName: 'Ada', familyName: 'King' } },
  },
  {
    rule: 'null removes a whole multi-valued attribute',
    contributions: [{ emails: [{ value: 'a@x' }], userName: 'ada' }, { emails: null }],
    expected: { userName: 'ada' },
  },
  {
    rule: 'null in the first contribution leaves no key',
    contributions: [{ title: null, name: { givenName: null } }],
    expected: { name: {} },
  },
  {
    rule: 'undefined contributes nothing',
    contributions: [{ title: 'Engineer' }, { title: undefined }],
    expected: { title: 'Engineer' },
  },
  {
    rule: 'arrays of scalars are replaced, not concatenated',
    contributions: [
      { tags: ['a', 'b'], nested: { ids: [1, 2] } },
      { tags: [], nested: { ids: [3] } },
    ],
    expected: { tags: [], nested: { ids: [3] } },
  },
  {
    rule: 'an array of objects outside the list is replaced',
    contributions: [{ members: [{ value: '1' }] }, { members: [{ value: '2' }] }],
    expected: { members: [{ value: '2' }] },
  },
  {
    rule: 'an object replaces a scalar',
    contributions: [{ manager: 'bob' }, { manager: { value: 'u-1' } }],
    expected: { manager: { value: 'u-1' } },
  },
  {
    rule: 'a scalar replaces an object',
    contributions: [{ manager: { value: 'u-1', displayName: 'Bob' } }, { manager: 'bob' }],
    expected: { manager: 'bob' },
  },
  {
    rule: 'an array replaces an object and vice versa',
    contributions: [
      { a: { x: 1 }, b: [1] },
      { a: [1], b: { x: 1 } },
    ],
    expected: { a: [1], b: { x: 1 } },
  },
  {
    rule: 'a list replaces a scalar on a multi-valued key',
    contributions: [{ emails: 'a@x' }, { emails: [{ value: 'a@x' }] }],
    expected: { emails: [{ value: 'a@x' }] },
  },
  {
    rule: 'no contributions merge to an empty object',
    contributions: [],
    expected: {},
  },
];

describe('mergeContributions', () => {
  it.each(rows)('$rule', ({ contributions, expected }) => {
    expect(mergeContributions(contributions)).toEqual(expected);
  });

  it('never mutates its inputs and shares no objects with them', () => {
    const first = { name: { givenName: 'Ada' }, emails: [{ value: 'a@x', primary: true }], tags: ['x'] };
    const second = { name: { familyName: 'King' }, emails: [{ value: 'b@x', primary: true }] };
    const snapshot = structuredClone([first, second]);

    const merged = mergeContributions([first, second]);

    expect([first, second]).toEqual(snapshot);
    expect(merged.name).not.toBe(first.name);
    expect(merged.tags).not.toBe(first.tags);
    (merged.emails as Record<string, unknown>[])[0]!.display = 'changed';
    expect(first.emails[0]).toEqual({ value: 'a@x', primary: true });
  });

  describe('prototype safety', () => {
    const hostile = JSON.parse(
      '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "prototype": 1,' +
        ' "name": {"__proto__": {"polluted": true}, "givenName": "Ada"},' +
        ' "emails": [{"value": "a@x", "__proto__": {"polluted": true}}],' +
        ' "other": [{"__proto__": {"polluted": true}, "ok": 1}]}',
    ) as Record<string, unknown>;

    it('drops __proto__, constructor and prototype at every depth', () => {
      const merged = mergeContributions([{ name: { familyName: 'King' } }, hostile]);

      expect(merged).toEqual({
        name: { givenName: 'Ada', familyName: 'King' },
        emails: [{ value: 'a@x' }],
        other: [{ ok: 1 }],
      });
      expect(Object.keys(merged)).not.toContain('__proto__');
      expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
      expect(Object.getPrototypeOf(merged.name)).toBe(Object.prototype);
    });

    it('never pollutes Object.prototype', () => {
      mergeContributions([hostile, hostile]);
      mergeInto(hostile, hostile);

      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    });
  });
});

describe('mergeInto', () => {
  it('merges a patch over a base into a new object', () => {
    const base = { userName: 'ada', emails: [{ value: 'a@x', primary: true }] };

    const merged = mergeInto(base, { emails: [{ value: 'a@x', type: 'work' }], userName: null });

    expect(merged).toEqual({ emails: [{ value: 'a@x', primary: true, type: 'work' }] });
    expect(base).toEqual({ userName: 'ada', emails: [{ value: 'a@x', primary: true }] });
  });

  it('keeps the last primary of a base that has several when the patch adds none', () => {
    const base = {
      emails: [
        { value: 'a@x', primary: true },
        { value: 'b@x', primary: true },
      ],
    };

    expect(mergeInto(base, { emails: [{ value: 'c@x' }] })).toEqual({
      emails: [{ value: 'a@x', primary: false }, { value: 'b@x', primary: true }, { value: 'c@x' }],
    });
  });
});

describe('isMultiValuedComplexAttribute', () => {
  it.each(MULTI_VALUED_COMPLEX_ATTRIBUTES.flatMap((name) => [name, name.toUpperCase()]))(
    '%s → true',
    (name) => {
      expect(isMultiValuedComplexAttribute(name)).toBe(true);
    },
  );

  it.each(['members', 'groups', 'schemas', 'email', 'name'])('%s → false', (name) => {
    expect(isMultiValuedComplexAttribute(name)).toBe(false);
  });
});
