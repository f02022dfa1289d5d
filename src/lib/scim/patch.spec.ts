import { describe, expect, it } from 'vitest';
import {
  applyPatch,
  MAX_PATCH_OPERATIONS,
  parsePatchRequest,
  type PatchOptions,
  type StructuralOp,
} from './patch.js';
import {
  CORE_GROUP_SCHEMA,
  CORE_USER_SCHEMA,
  ENTERPRISE_USER_SCHEMA,
  PATCH_OP_SCHEMA,
  ScimError,
  type ScimSchema,
} from './schema.types.js';
import { RESOURCE_SCHEMAS } from './schemas.js';

type Json = Record<string, unknown>;

const USER: PatchOptions = { schemas: RESOURCE_SCHEMAS.User };
const GROUP: PatchOptions = { schemas: RESOURCE_SCHEMAS.Group, structural: ['members'] };

function patch(...operations: unknown[]): Json {
  return { schemas: [PATCH_OP_SCHEMA], Operations: operations };
}

function user(overrides: Json = {}): Json {
  return {
    schemas: [CORE_USER_SCHEMA],
    id: 'u1',
    userName: 'bjensen',
    name: { givenName: 'Barbara', familyName: 'Jensen' },
    active: true,
    emails: [
      { value: 'bjensen@example.com', type: 'work', primary: true },
      { value: 'babs@jensen.org', type: 'home' },
    ],
    addresses: [
      { type: 'work', streetAddress: '100 Universal City Plaza', locality: 'Hollywood', primary: true },
      { type: 'home', streetAddress: '456 Hollywood Blvd', locality: 'Hollywood' },
    ],
    meta: { resourceType: 'User', created: '2024-01-01T00:00:00Z' },
    ...overrides,
  };
}

function enterpriseUser(extension: Json, overrides: Json = {}): Json {
  return user({
    schemas: [CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
    [ENTERPRISE_USER_SCHEMA]: extension,
    ...overrides,
  });
}

function group(overrides: Json = {}): Json {
  return { schemas: [CORE_GROUP_SCHEMA], id: 'g1', displayName: 'Tour Guides', ...overrides };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

function errorOf(run: () => unknown): { status: number; scimType: string | undefined } | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof ScimError) return { status: error.status, scimType: error.scimType };
    throw error;
  }
  return undefined;
}

interface Case {
  name: string;
  resource: Json;
  request: Json;
  options?: PatchOptions;
  /** The whole patched resource. */
  expected: Json;
  structural?: StructuralOp[];
  changed?: boolean;
}

function run(cases: Case[]): void {
  it.each(cases)('$name', ({ resource, request, options, expected, structural, changed }) => {
    const input = deepFreeze(structuredClone(resource));
    const result = applyPatch(input, request, options ?? USER);
    expect(result.resource).toEqual(expected);
    expect(result.structural).toEqual(structural ?? []);
    expect(result.changed).toBe(changed ?? true);
    expect(input).toEqual(resource);
  });
}

interface ErrorCase {
  name: string;
  resource?: Json;
  request: unknown;
  options?: PatchOptions;
  scimType: string;
}

function runErrors(cases: ErrorCase[]): void {
  it.each(cases)('$name → 400 $scimType', ({ resource, request, options, scimType }) => {
    expect(errorOf(() => applyPatch(resource ?? user(), request, options ?? USER))).toEqual({
      status: 400,
      scimType,
    });
  });
}

const MEMBER_A = '2819c223-7f76-453a-919d-413861904646';
const MEMBER_B = '902c246b-6245-4190-8e05-00816be7344a';

describe('RFC 7644 §3.5.2 examples', () => {
  run([
    {
      name: 'add a member to a group (§3.5.2.1)',
      resource: group(),
      options: GROUP,
      request: patch({
        op: 'add',
        path: 'members',
        value: [
          { display: 'Babs Jensen', $ref: `https://example.com/v2/Users/${MEMBER_A}`, value: MEMBER_A },
        ],
      }),
      expected: group(),
      structural: [
        { attribute: 'members', action: 'add', values: [{ value: MEMBER_A, display: 'Babs Jensen' }] },
      ],
      changed: false,
    },
    {
      name: 'path-less add of emails and nickname (§3.5.2.1), names canonicalised',
      resource: user(),
      request: patch({
        op: 'add',
        value: { emails: [{ value: 'babs@example.net', type: 'other' }], nickname: 'Babs' },
      }),
      expected: user({
        nickName: 'Babs',
        emails: [...(user().emails as unknown[]), { value: 'babs@example.net', type: 'other' }],
      }),
    },
    {
      name: 'remove one member by value filter (§3.5.2.2)',
      resource: group(),
      options: GROUP,
      request: patch({ op: 'remove', path: `members[value eq "${MEMBER_A}"]` }),
      expected: group(),
      structural: [{ attribute: 'members', action: 'remove', values: [{ value: MEMBER_A }] }],
      changed: false,
    },
    {
      name: 'remove all members (§3.5.2.2)',
      resource: group(),
      options: GROUP,
      request: patch({ op: 'remove', path: 'members' }),
      expected: group(),
      structural: [{ attribute: 'members', action: 'removeAll', values: [] }],
      changed: false,
    },
    {
      name: 'remove all members then add new ones (§3.5.2.2 replace-all idiom)',
      resource: group(),
      options: GROUP,
      request: patch(
        { op: 'remove', path: 'members' },
        { op: 'add', path: 'members', value: [{ value: MEMBER_A }, { value: MEMBER_B }] },
      ),
      expected: group(),
      structural: [
        { attribute: 'members', action: 'removeAll', values: [] },
        { attribute: 'members', action: 'add', values: [{ value: MEMBER_A }, { value: MEMBER_B }] },
      ],
      changed: false,
    },
    {
      name: 'replace all members (§3.5.2.3)',
      resource: group(),
      options: GROUP,
      request: patch({
        op: 'replace',
        path: 'members',
        value: [{ display: 'Babs Jensen', value: MEMBER_A }, { value: MEMBER_B }],
      }),
      expected: group(),
      structural: [
        {
          attribute: 'members',
          action: 'replace',
          values: [{ value: MEMBER_A, display: 'Babs Jensen' }, { value: MEMBER_B }],
        },
      ],
      changed: false,
    },
    {
      name: 'remove emails matched by type eq and value ew (§3.5.2.2)',
      resource: user(),
      request: patch({ op: 'remove', path: 'emails[type eq "work" and value ew "example.com"]' }),
      expected: user({ emails: [{ value: 'babs@jensen.org', type: 'home' }] }),
    },
    {
      name: 'remove an x509 certificate by value, leaving the attribute unassigned (§3.5.2.2)',
      resource: user({ x509Certificates: [{ value: 'MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw' }] }),
      request: patch({
        op: 'remove',
        path: 'x509Certificates[value eq "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw"]',
      }),
      expected: user(),
    },
    {
      name: 'replace the whole work address; primary moves to it (§3.5.2.3)',
      resource: user({
        addresses: [
          { type: 'work', streetAddress: 'old', locality: 'Hollywood' },
          { type: 'home', streetAddress: '456 Hollywood Blvd', primary: true },
        ],
      }),
      request: patch({
        op: 'replace',
        path: 'addresses[type eq "work"]',
        value: {
          type: 'work',
          streetAddress: '911 Universal City Plaza',
          locality: 'Hollywood',
          region: 'CA',
          postalCode: '91608',
          country: 'US',
          formatted: '911 Universal City Plaza\nHollywood, CA 91608 US',
          primary: true,
        },
      }),
      expected: user({
        addresses: [
          {
            type: 'work',
            streetAddress: '911 Universal City Plaza',
            locality: 'Hollywood',
            region: 'CA',
            postalCode: '91608',
            country: 'US',
            formatted: '911 Universal City Plaza\nHollywood, CA 91608 US',
            primary: true,
          },
          { type: 'home', streetAddress: '456 Hollywood Blvd', primary: false },
        ],
      }),
    },
    {
      name: 'replace one sub-attribute of the work address (§3.5.2.3)',
      resource: user(),
      request: patch({
        op: 'replace',
        path: 'addresses[type eq "work"].streetAddress',
        value: '1010 Broadway Ave',
      }),
      expected: user({
        addresses: [
          { type: 'work', streetAddress: '1010 Broadway Ave', locality: 'Hollywood', primary: true },
          { type: 'home', streetAddress: '456 Hollywood Blvd', locality: 'Hollywood' },
        ],
      }),
    },
    {
      name: 'path-less replace of emails and nickname (§3.5.2.3)',
      resource: user(),
      request: patch({
        op: 'replace',
        value: { emails: [{ value: 'bjensen@example.com', type: 'work', primary: true }], nickname: 'Babs' },
      }),
      expected: user({
        nickName: 'Babs',
        emails: [{ value: 'bjensen@example.com', type: 'work', primary: true }],
      }),
    },
    {
      name: 'add a sub-attribute of a single-valued complex attribute',
      resource: user(),
      request: patch({ op: 'add', path: 'name.middleName', value: 'Jane' }),
      expected: user({ name: { givenName: 'Barbara', familyName: 'Jensen', middleName: 'Jane' } }),
    },
    {
      name: 'replace a complex attribute keeps unspecified sub-attributes (§3.5.2.3)',
      resource: user(),
      request: patch({ op: 'replace', path: 'name', value: { givenName: 'Babs' } }),
      expected: user({ name: { givenName: 'Babs', familyName: 'Jensen' } }),
    },
    {
      name: 'replace of an absent attribute adds it (§3.5.2.3)',
      resource: user(),
      request: patch({ op: 'replace', path: 'title', value: 'Tour Guide' }),
      expected: user({ title: 'Tour Guide' }),
    },
    {
      name: 'add of a value already present changes nothing (§3.5.2.1)',
      resource: user(),
      request: patch({ op: 'add', path: 'emails', value: [{ value: 'BJENSEN@example.com', type: 'work' }] }),
      expected: user(),
      changed: false,
    },
    {
      name: 'remove a sub-attribute of the selected values',
      resource: user(),
      request: patch({ op: 'remove', path: 'addresses[type eq "home"].locality' }),
      expected: user({
        addresses: [
          { type: 'work', streetAddress: '100 Universal City Plaza', locality: 'Hollywood', primary: true },
          { type: 'home', streetAddress: '456 Hollywood Blvd' },
        ],
      }),
    },
    {
      name: 'remove a single-valued attribute',
      resource: user({ nickName: 'Babs' }),
      request: patch({ op: 'remove', path: 'nickName' }),
      expected: user(),
    },
    {
      name: 'remove a sub-attribute; the emptied complex attribute becomes unassigned',
      resource: user({ name: { givenName: 'Barbara' } }),
      request: patch({ op: 'remove', path: 'name.givenName' }),
      expected: (() => {
        const expected = user();
        delete expected.name;
        return expected;
      })(),
    },
    {
      name: 'operations apply in order',
      resource: user(),
      request: patch(
        { op: 'replace', path: 'displayName', value: 'first' },
        { op: 'replace', path: 'displayName', value: 'second' },
        { op: 'remove', path: 'emails[type eq "home"]' },
      ),
      expected: user({
        displayName: 'second',
        emails: [{ value: 'bjensen@example.com', type: 'work', primary: true }],
      }),
    },
  ]);
});

describe('Microsoft Entra ID (default dialect)', () => {
  run([
    {
      name: 'capitalised Replace with a string boolean',
      resource: user(),
      request: patch({ op: 'Replace', path: 'active', value: 'False' }),
      expected: user({ active: false }),
    },
    {
      name: 'string boolean "True" when already true changes nothing',
      resource: user(),
      request: patch({ op: 'Replace', path: 'active', value: 'True' }),
      expected: user(),
      changed: false,
    },
    {
      name: 'Add of a work email value creates the work email when none exists',
      resource: user({ emails: [{ value: 'babs@jensen.org', type: 'home' }] }),
      request: patch({ op: 'Add', path: 'emails[type eq "work"].value', value: 'bjensen@contoso.com' }),
      expected: user({
        emails: [
          { value: 'babs@jensen.org', type: 'home' },
          { type: 'work', value: 'bjensen@contoso.com' },
        ],
      }),
    },
    {
      name: 'Replace of a work email value updates the existing one',
      resource: user(),
      request: patch({ op: 'Replace', path: 'emails[type eq "work"].value', value: 'barbara@contoso.com' }),
      expected: user({
        emails: [
          { value: 'barbara@contoso.com', type: 'work', primary: true },
          { value: 'babs@jensen.org', type: 'home' },
        ],
      }),
    },
    {
      name: 'Replace of a mobile phone number creates it when absent',
      resource: user(),
      request: patch({ op: 'Replace', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 0100' }),
      expected: user({ phoneNumbers: [{ type: 'mobile', value: '+1 555 0100' }] }),
    },
    {
      name: 'Add of a work address street creates the work address when absent',
      resource: user({ addresses: undefined }),
      request: patch({
        op: 'Add',
        path: 'addresses[type eq "work"].streetAddress',
        value: '1 Microsoft Way',
      }),
      expected: user({ addresses: [{ type: 'work', streetAddress: '1 Microsoft Way' }] }),
    },
    {
      name: 'Add of externalId and name parts',
      resource: user(),
      request: patch(
        { op: 'Add', path: 'externalId', value: 'ext-1' },
        { op: 'Replace', path: 'name.givenName', value: 'Barb' },
      ),
      expected: user({ externalId: 'ext-1', name: { givenName: 'Barb', familyName: 'Jensen' } }),
    },
    {
      name: 'manager set by a bare id is stored as { value }, and the extension is declared',
      resource: user(),
      request: patch({ op: 'Add', path: `${ENTERPRISE_USER_SCHEMA}:manager`, value: 'm-42' }),
      expected: enterpriseUser({ manager: { value: 'm-42' } }),
    },
    {
      name: 'a new manager id replaces the old manager, dropping its $ref and display name',
      resource: enterpriseUser({ manager: { value: 'm-1', $ref: '../Users/m-1', displayName: 'Old Boss' } }),
      request: patch({ op: 'Replace', path: `${ENTERPRISE_USER_SCHEMA}:manager`, value: 'm-2' }),
      expected: enterpriseUser({ manager: { value: 'm-2' } }),
    },
    {
      name: 'manager removal drops the emptied extension and its schema URN',
      resource: enterpriseUser({ manager: { value: 'm-42' } }),
      request: patch({ op: 'Remove', path: `${ENTERPRISE_USER_SCHEMA}:manager` }),
      expected: user(),
    },
    {
      name: 'manager removal with a value removes the manager',
      resource: enterpriseUser({ manager: { value: 'm-42' }, department: 'Tours' }),
      request: patch({ op: 'Remove', path: `${ENTERPRISE_USER_SCHEMA}:manager`, value: [{ value: 'm-42' }] }),
      expected: enterpriseUser({ department: 'Tours' }),
    },
    {
      name: 'Remove of emails with a value list removes only those values',
      resource: user(),
      request: patch({ op: 'Remove', path: 'emails', value: [{ value: 'babs@jensen.org' }] }),
      expected: user({ emails: [{ value: 'bjensen@example.com', type: 'work', primary: true }] }),
    },
    {
      name: 'Remove of members with a value list removes those members, not all',
      resource: group(),
      options: GROUP,
      request: patch({ op: 'Remove', path: 'members', value: [{ value: MEMBER_A }, { value: MEMBER_B }] }),
      expected: group(),
      structural: [
        { attribute: 'members', action: 'remove', values: [{ value: MEMBER_A }, { value: MEMBER_B }] },
      ],
      changed: false,
    },
    {
      name: 'one Add per member coalesces into one structural add',
      resource: group(),
      options: GROUP,
      request: patch(
        { op: 'Add', path: 'members', value: [{ value: MEMBER_A }] },
        { op: 'Add', path: 'members', value: [{ value: MEMBER_B }] },
        { op: 'Add', path: 'members', value: [{ value: MEMBER_A }] },
      ),
      expected: group(),
      structural: [
        { attribute: 'members', action: 'add', values: [{ value: MEMBER_B }, { value: MEMBER_A }] },
      ],
      changed: false,
    },
    {
      name: 'group rename with Replace displayName',
      resource: group(),
      options: GROUP,
      request: patch({ op: 'Replace', path: 'displayName', value: 'Guides' }),
      expected: group({ displayName: 'Guides' }),
    },
  ]);
});

describe('Microsoft Entra ID with aadOptscim062020', () => {
  run([
    {
      name: 'path-less replace whose keys are paths',
      resource: user(),
      request: patch({
        op: 'replace',
        value: {
          'name.givenName': 'A',
          'name.familyName': 'B',
          [`${ENTERPRISE_USER_SCHEMA}:department`]: 'X',
          'emails[type eq "work"].value': 'a@b.example',
        },
      }),
      expected: enterpriseUser(
        { department: 'X' },
        {
          name: { givenName: 'A', familyName: 'B' },
          emails: [
            { value: 'a@b.example', type: 'work', primary: true },
            { value: 'babs@jensen.org', type: 'home' },
          ],
        },
      ),
    },
    {
      name: 'path-less replace of a boolean',
      resource: user(),
      request: patch({ op: 'replace', value: { active: false } }),
      expected: user({ active: false }),
    },
    {
      name: 'path-less add of a manager id by URN-qualified key',
      resource: user(),
      request: patch({ op: 'add', value: { [`${ENTERPRISE_USER_SCHEMA}:manager`]: 'm-7' } }),
      expected: enterpriseUser({ manager: { value: 'm-7' } }),
    },
  ]);
});

describe('Okta', () => {
  run([
    {
      name: 'path-less replace to deactivate',
      resource: user(),
      request: patch({ op: 'replace', value: { active: false } }),
      expected: user({ active: false }),
    },
    {
      name: 'group rename carrying the group id',
      resource: group(),
      options: GROUP,
      request: patch({ op: 'replace', value: { id: 'g1', displayName: 'Tour Leaders' } }),
      expected: group({ displayName: 'Tour Leaders' }),
    },
    {
      name: 'member removal by filter, then member add',
      resource: group(),
      options: GROUP,
      request: patch(
        { op: 'remove', path: `members[value eq "${MEMBER_A}"]` },
        { op: 'add', path: 'members', value: [{ value: MEMBER_B, display: 'Mandy' }] },
      ),
      expected: group(),
      structural: [
        { attribute: 'members', action: 'remove', values: [{ value: MEMBER_A }] },
        { attribute: 'members', action: 'add', values: [{ value: MEMBER_B, display: 'Mandy' }] },
      ],
      changed: false,
    },
    {
      name: 'removal of several members by an or filter',
      resource: group(),
      options: GROUP,
      request: patch({ op: 'remove', path: `members[value eq "${MEMBER_A}" or value eq "${MEMBER_B}"]` }),
      expected: group(),
      structural: [
        { attribute: 'members', action: 'remove', values: [{ value: MEMBER_A }, { value: MEMBER_B }] },
      ],
      changed: false,
    },
    {
      name: 'path-less replace with members and a new name',
      resource: group(),
      options: GROUP,
      request: patch({
        op: 'replace',
        value: { id: 'g1', displayName: 'New', members: [{ value: MEMBER_A }] },
      }),
      expected: group({ displayName: 'New' }),
      structural: [{ attribute: 'members', action: 'replace', values: [{ value: MEMBER_A }] }],
    },
    {
      name: 'path-less add of members',
      resource: group(),
      options: GROUP,
      request: patch({ op: 'add', value: { members: [{ value: MEMBER_A, type: 'User' }] } }),
      expected: group(),
      structural: [{ attribute: 'members', action: 'add', values: [{ value: MEMBER_A, type: 'User' }] }],
      changed: false,
    },
  ]);
});

describe('structural members', () => {
  run([
    {
      name: 'replace with an empty list removes all members',
      resource: group(),
      options: GROUP,
      request: patch({ op: 'replace', path: 'members', value: [] }),
      expected: group(),
      structural: [{ attribute: 'members', action: 'removeAll', values: [] }],
      changed: false,
    },
    {
      name: 'a later replace supersedes earlier member operations',
      resource: group(),
      options: GROUP,
      request: patch(
        { op: 'add', path: 'members', value: [{ value: MEMBER_A }] },
        { op: 'replace', path: 'members', value: [{ value: MEMBER_B }] },
      ),
      expected: group(),
      structural: [{ attribute: 'members', action: 'replace', values: [{ value: MEMBER_B }] }],
      changed: false,
    },
    {
      name: 'replace through a member filter removes the matched member and adds the value',
      resource: group(),
      options: GROUP,
      request: patch({
        op: 'replace',
        path: `members[value eq "${MEMBER_A}"]`,
        value: [{ value: MEMBER_B }],
      }),
      expected: group(),
      structural: [
        { attribute: 'members', action: 'remove', values: [{ value: MEMBER_A }] },
        { attribute: 'members', action: 'add', values: [{ value: MEMBER_B }] },
      ],
      changed: false,
    },
    {
      name: 'a single member object is taken as a one-element list',
      resource: group(),
      options: GROUP,
      request: patch({ op: 'add', path: 'members', value: { value: MEMBER_A } }),
      expected: group(),
      structural: [{ attribute: 'members', action: 'add', values: [{ value: MEMBER_A }] }],
      changed: false,
    },
    {
      name: 'an add with an empty list yields no operation',
      resource: group(),
      options: GROUP,
      request: patch({ op: 'add', path: 'members', value: [] }),
      expected: group(),
      structural: [],
      changed: false,
    },
    {
      name: 'without the structural option, members are patched in the resource',
      resource: group({ members: [{ value: MEMBER_A }] }),
      options: { schemas: RESOURCE_SCHEMAS.Group },
      request: patch({ op: 'add', path: 'members', value: [{ value: MEMBER_B }] }),
      expected: group({ members: [{ value: MEMBER_A }, { value: MEMBER_B }] }),
    },
  ]);
});

describe('semantics', () => {
  run([
    {
      name: 'attribute names in paths are case-insensitive; output uses canonical names',
      resource: user(),
      request: patch(
        { op: 'replace', path: 'NAME.GIVENNAME', value: 'Babs' },
        { op: 'add', path: 'NickName', value: 'B' },
      ),
      expected: user({ name: { givenName: 'Babs', familyName: 'Jensen' }, nickName: 'B' }),
    },
    {
      name: 'a differently-cased stored key is rewritten canonically',
      resource: { ...user(), displayname: 'old' },
      request: patch({ op: 'replace', path: 'displayName', value: 'new' }),
      expected: user({ displayName: 'new' }),
    },
    {
      name: 'adding a primary email demotes the previous primary',
      resource: user(),
      request: patch({
        op: 'add',
        path: 'emails',
        value: [{ value: 'new@example.com', type: 'other', primary: true }],
      }),
      expected: user({
        emails: [
          { value: 'bjensen@example.com', type: 'work', primary: false },
          { value: 'babs@jensen.org', type: 'home' },
          { value: 'new@example.com', type: 'other', primary: true },
        ],
      }),
    },
    {
      name: 'setting primary through a filter demotes the others',
      resource: user(),
      request: patch({ op: 'replace', path: 'emails[type eq "home"].primary', value: 'True' }),
      expected: user({
        emails: [
          { value: 'bjensen@example.com', type: 'work', primary: false },
          { value: 'babs@jensen.org', type: 'home', primary: true },
        ],
      }),
    },
    {
      name: 'add of an existing value merges the new sub-attributes into it',
      resource: user(),
      request: patch({ op: 'add', path: 'emails', value: [{ value: 'babs@jensen.org', display: 'Babs' }] }),
      expected: user({
        emails: [
          { value: 'bjensen@example.com', type: 'work', primary: true },
          { value: 'babs@jensen.org', type: 'home', display: 'Babs' },
        ],
      }),
    },
    {
      name: 'add through a filter merges into the matching values',
      resource: user(),
      request: patch({ op: 'add', path: 'emails[type eq "home"]', value: { display: 'Home' } }),
      expected: user({
        emails: [
          { value: 'bjensen@example.com', type: 'work', primary: true },
          { value: 'babs@jensen.org', type: 'home', display: 'Home' },
        ],
      }),
    },
    {
      name: 'replace of a multi-valued attribute with an empty list unassigns it',
      resource: user(),
      request: patch({ op: 'replace', path: 'emails', value: [] }),
      expected: (() => {
        const expected = user();
        delete expected.emails;
        return expected;
      })(),
    },
    {
      name: 'replace with null unassigns a single-valued attribute',
      resource: user({ title: 'Guide' }),
      request: patch({ op: 'replace', path: 'title', value: null }),
      expected: user(),
    },
    {
      name: 'a null sub-attribute in a complex value unassigns it',
      resource: user(),
      request: patch({ op: 'replace', value: { name: { familyName: null } } }),
      expected: user({ name: { givenName: 'Barbara' } }),
    },
    {
      name: 'a lone email object for a multi-valued attribute is one value',
      resource: user({ emails: undefined }),
      request: patch({ op: 'add', path: 'emails', value: { value: 'a@example.com', type: 'work' } }),
      expected: user({ emails: [{ value: 'a@example.com', type: 'work' }] }),
    },
    {
      name: 'remove through a filter that matches nothing changes nothing',
      resource: user(),
      request: patch({ op: 'remove', path: 'emails[type eq "other"]' }),
      expected: user(),
      changed: false,
    },
    {
      name: 'remove of an absent attribute changes nothing',
      resource: user(),
      request: patch({ op: 'remove', path: 'nickName' }),
      expected: user(),
      changed: false,
    },
    {
      name: 'a whole extension as the path replaces its attributes',
      resource: enterpriseUser({ department: 'Tours', costCenter: '4130' }),
      request: patch({
        op: 'replace',
        path: ENTERPRISE_USER_SCHEMA,
        value: { department: 'Guides', division: 'West' },
      }),
      expected: enterpriseUser({ department: 'Guides', costCenter: '4130', division: 'West' }),
    },
    {
      name: 'a whole extension as a path-less key',
      resource: user(),
      request: patch({ op: 'add', value: { [ENTERPRISE_USER_SCHEMA]: { employeeNumber: '701984' } } }),
      expected: enterpriseUser({ employeeNumber: '701984' }),
    },
    {
      name: 'remove of a whole extension',
      resource: enterpriseUser({ department: 'Tours' }),
      request: patch({ op: 'remove', path: ENTERPRISE_USER_SCHEMA }),
      expected: user(),
    },
    {
      name: 'an unqualified extension attribute lands under its URN',
      resource: user(),
      request: patch({ op: 'add', path: 'costCenter', value: '4130' }),
      expected: enterpriseUser({ costCenter: '4130' }),
    },
    {
      name: 'read-only id equal to the current one is accepted',
      resource: user(),
      request: patch({
        op: 'replace',
        value: { id: 'u1', meta: { resourceType: 'User', created: '2024-01-01T00:00:00Z' } },
      }),
      expected: user(),
      changed: false,
    },
    {
      name: 'read-only manager display name in a value is ignored',
      resource: enterpriseUser({ manager: { value: 'm-1' } }),
      request: patch({
        op: 'replace',
        path: `${ENTERPRISE_USER_SCHEMA}:manager`,
        value: { value: 'm-1', displayName: 'Boss' },
      }),
      expected: enterpriseUser({ manager: { value: 'm-1' } }),
      changed: false,
    },
    {
      name: 'schemas inside a path-less value naming this resource’s schemas are accepted',
      resource: user(),
      request: patch({ op: 'replace', value: { schemas: [CORE_USER_SCHEMA], displayName: 'Babs' } }),
      expected: user({ displayName: 'Babs' }),
    },
    {
      name: 'blank path is treated as no path',
      resource: user(),
      request: patch({ op: 'replace', path: '', value: { nickName: 'B' } }),
      expected: user({ nickName: 'B' }),
    },
    {
      name: 'a lower-case "operations" key is accepted',
      resource: user(),
      request: { schemas: [PATCH_OP_SCHEMA], operations: [{ op: 'replace', path: 'title', value: 'Guide' }] },
      expected: user({ title: 'Guide' }),
    },
    {
      name: 'integer and decimal strings are coerced for numeric attributes',
      resource: { id: 't1', code: 'c' },
      options: { schemas: [numericSchema()] },
      request: patch({ op: 'replace', value: { count: '42', ratio: '0.5' } }),
      expected: { id: 't1', code: 'c', count: 42, ratio: 0.5 },
    },
    {
      name: 'an immutable attribute may be set while unassigned',
      resource: { id: 't1' },
      options: { schemas: [numericSchema()] },
      request: patch({ op: 'add', path: 'code', value: 'c' }),
      expected: { id: 't1', code: 'c' },
    },
  ]);

  it('never mutates the input and returns a new object', () => {
    const input = deepFreeze(user());
    const result = applyPatch(input, patch({ op: 'replace', path: 'title', value: 'x' }), USER);
    expect(result.resource).not.toBe(input);
    const unchanged = applyPatch(input, patch({ op: 'replace', path: 'active', value: true }), USER);
    expect(unchanged.resource).not.toBe(input);
    expect(unchanged.changed).toBe(false);
  });

  it('accepts exactly the maximum number of operations', () => {
    const operations = Array.from({ length: MAX_PATCH_OPERATIONS }, (_, i) => ({
      op: 'replace',
      path: 'title',
      value: `t${i}`,
    }));
    expect(applyPatch(user(), patch(...operations), USER).resource.title).toBe(
      `t${MAX_PATCH_OPERATIONS - 1}`,
    );
  });

  it('normalises op names and keeps whether a value was given', () => {
    expect(parsePatchRequest(patch({ op: 'REMOVE', path: 'members', value: null }))).toEqual([
      { op: 'remove', path: 'members', hasValue: true, value: null },
    ]);
  });
});

/** A test schema with numeric and immutable attributes, which the SCIM core schemas lack. */
function numericSchema(): ScimSchema {
  const base = {
    multiValued: false,
    description: '',
    required: false,
    caseExact: false,
    returned: 'default',
    uniqueness: 'none',
  } as const;
  return {
    id: 'urn:example:params:scim:schemas:core:2.0:Thing',
    name: 'Thing',
    description: 'Thing',
    attributes: [
      { ...base, name: 'count', type: 'integer', mutability: 'readWrite' },
      { ...base, name: 'ratio', type: 'decimal', mutability: 'readWrite' },
      { ...base, name: 'code', type: 'string', mutability: 'immutable' },
    ],
  };
}

describe('errors', () => {
  runErrors([
    { name: 'a body that is not an object', request: [], scimType: 'invalidSyntax' },
    {
      name: 'a missing schemas',
      request: { Operations: [{ op: 'remove', path: 'title' }] },
      scimType: 'invalidSyntax',
    },
    {
      name: 'schemas without the PatchOp URN',
      request: { schemas: [CORE_USER_SCHEMA], Operations: [{ op: 'remove', path: 'title' }] },
      scimType: 'invalidSyntax',
    },
    {
      name: 'Operations that is not an array',
      request: { schemas: [PATCH_OP_SCHEMA], Operations: {} },
      scimType: 'invalidSyntax',
    },
    { name: 'an empty Operations list', request: patch(), scimType: 'invalidSyntax' },
    { name: 'an operation that is not an object', request: patch('remove'), scimType: 'invalidSyntax' },
    { name: 'an operation without op', request: patch({ path: 'title' }), scimType: 'invalidSyntax' },
    {
      name: 'an unknown op',
      request: patch({ op: 'merge', path: 'title', value: 'x' }),
      scimType: 'invalidSyntax',
    },
    { name: 'add without a value', request: patch({ op: 'add', path: 'title' }), scimType: 'invalidSyntax' },
    { name: 'remove without a path', request: patch({ op: 'remove' }), scimType: 'noTarget' },
    {
      name: 'remove of members without a path',
      request: patch({ op: 'remove', value: { members: [] } }),
      scimType: 'noTarget',
    },
    {
      name: 'a path that is not a string',
      request: patch({ op: 'replace', path: 7, value: 'x' }),
      scimType: 'invalidPath',
    },
    {
      name: 'an unknown attribute',
      request: patch({ op: 'replace', path: 'favouriteColour', value: 'x' }),
      scimType: 'invalidPath',
    },
    {
      name: 'an unknown attribute as a path-less key',
      request: patch({ op: 'replace', value: { favouriteColour: 'x' } }),
      scimType: 'invalidPath',
    },
    {
      name: 'an attribute of an undeclared extension',
      request: patch({
        op: 'add',
        path: 'urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge',
        value: 'x',
      }),
      scimType: 'invalidPath',
    },
    {
      name: 'a malformed path',
      request: patch({ op: 'replace', path: 'emails[type eq "work"', value: 'x' }),
      scimType: 'invalidPath',
    },
    {
      name: 'a malformed filter in brackets',
      request: patch({ op: 'replace', path: 'emails[type equals "work"].value', value: 'x' }),
      scimType: 'invalidFilter',
    },
    {
      name: 'a sub-attribute of every value without a filter',
      request: patch({ op: 'replace', path: 'emails.value', value: 'x' }),
      scimType: 'invalidPath',
    },
    {
      name: 'replace through a non-equality filter that matches nothing',
      request: patch({ op: 'replace', path: 'emails[value ew "example.org"].value', value: 'x' }),
      scimType: 'noTarget',
    },
    {
      name: 'replace through an or filter that matches nothing',
      request: patch({ op: 'replace', path: 'emails[type eq "a" or type eq "b"].value', value: 'x' }),
      scimType: 'noTarget',
    },
    {
      name: 'a non-boolean string for a boolean',
      request: patch({ op: 'replace', path: 'active', value: 'maybe' }),
      scimType: 'invalidValue',
    },
    {
      name: 'a number for a string',
      request: patch({ op: 'replace', path: 'userName', value: 42 }),
      scimType: 'invalidValue',
    },
    {
      name: 'a string for a complex attribute',
      request: patch({ op: 'replace', path: 'name', value: 'Bob' }),
      scimType: 'invalidValue',
    },
    {
      name: 'an object for a sub-attribute',
      request: patch({ op: 'replace', path: 'name.givenName', value: {} }),
      scimType: 'invalidValue',
    },
    {
      name: 'a list for a single-valued attribute',
      request: patch({ op: 'replace', path: 'title', value: ['a'] }),
      scimType: 'invalidValue',
    },
    {
      name: 'an unknown sub-attribute in a value',
      request: patch({ op: 'add', path: 'emails', value: [{ value: 'a@b', colour: 'red' }] }),
      scimType: 'invalidValue',
    },
    {
      name: 'a path-less value that is not an object',
      request: patch({ op: 'replace', value: 'x' }),
      scimType: 'invalidValue',
    },
    {
      name: 'a path-less value that is a list',
      request: patch({ op: 'add', value: [{ title: 'x' }] }),
      scimType: 'invalidValue',
    },
    {
      name: 'two primary values in one operation',
      request: patch({
        op: 'replace',
        path: 'emails',
        value: [
          { value: 'a@b', primary: true },
          { value: 'c@d', primary: true },
        ],
      }),
      scimType: 'invalidValue',
    },
    {
      name: 'a filter making two values primary',
      resource: user({
        emails: [
          { value: 'a@b', type: 'work' },
          { value: 'c@d', type: 'work' },
        ],
      }),
      request: patch({ op: 'replace', path: 'emails[type eq "work"].primary', value: true }),
      scimType: 'invalidValue',
    },
    {
      name: 'a malformed dateTime',
      request: patch({ op: 'replace', path: 'meta.lastModified', value: 'yesterday' }),
      scimType: 'invalidValue',
    },
    {
      name: 'schemas in a path-less value naming an undeclared schema',
      request: patch({ op: 'replace', value: { schemas: ['urn:acme'] } }),
      scimType: 'invalidValue',
    },
    {
      name: 'more than the maximum number of operations',
      request: patch(...tooManyOperations()),
      scimType: 'invalidValue',
    },
    {
      name: 'a value nested too deeply',
      request: patch({ op: 'add', path: 'title', value: nested(20) }),
      scimType: 'invalidValue',
    },
    {
      name: 'a different id (Okta rename of another group)',
      request: patch({ op: 'replace', value: { id: 'other' } }),
      scimType: 'mutability',
    },
    {
      name: 'a changed id by path',
      request: patch({ op: 'replace', path: 'id', value: 'u2' }),
      scimType: 'mutability',
    },
    { name: 'removal of id', request: patch({ op: 'remove', path: 'id' }), scimType: 'mutability' },
    {
      name: 'a changed meta sub-attribute',
      request: patch({ op: 'replace', path: 'meta.created', value: '2020-01-01T00:00:00Z' }),
      scimType: 'mutability',
    },
    {
      name: 'writing the read-only groups',
      request: patch({ op: 'add', path: 'groups', value: [{ value: 'g1' }] }),
      scimType: 'mutability',
    },
    {
      name: 'removal of the required userName',
      request: patch({ op: 'remove', path: 'userName' }),
      scimType: 'mutability',
    },
    {
      name: 'replace of the required userName with null',
      request: patch({ op: 'replace', path: 'userName', value: null }),
      scimType: 'mutability',
    },
    {
      name: 'removal of the required group displayName',
      resource: group(),
      options: GROUP,
      request: patch({ op: 'remove', path: 'displayName' }),
      scimType: 'mutability',
    },
    {
      name: 'a manager display name set by path',
      request: patch({ op: 'replace', path: `${ENTERPRISE_USER_SCHEMA}:manager.displayName`, value: 'Boss' }),
      scimType: 'mutability',
    },
    {
      name: 'a change to a set immutable attribute',
      resource: { id: 't1', code: 'c' },
      options: { schemas: [numericSchema()] },
      request: patch({ op: 'replace', path: 'code', value: 'd' }),
      scimType: 'mutability',
    },
    {
      name: 'a non-integer for an integer',
      resource: { id: 't1' },
      options: { schemas: [numericSchema()] },
      request: patch({ op: 'replace', path: 'count', value: '4.5' }),
      scimType: 'invalidValue',
    },
    {
      name: 'member filters other than value eq',
      resource: group(),
      options: GROUP,
      request: patch({ op: 'remove', path: 'members[display eq "Babs"]' }),
      scimType: 'invalidFilter',
    },
    {
      name: 'a member sub-attribute path',
      resource: group(),
      options: GROUP,
      request: patch({ op: 'replace', path: `members[value eq "${MEMBER_A}"].display`, value: 'x' }),
      scimType: 'invalidPath',
    },
    {
      name: 'add to members through a filter',
      resource: group(),
      options: GROUP,
      request: patch({ op: 'add', path: `members[value eq "${MEMBER_A}"]`, value: [{ value: MEMBER_A }] }),
      scimType: 'invalidPath',
    },
    {
      name: 'a member that is a bare id',
      resource: group(),
      options: GROUP,
      request: patch({ op: 'add', path: 'members', value: [MEMBER_A] }),
      scimType: 'invalidValue',
    },
    {
      name: 'a member without a value',
      resource: group(),
      options: GROUP,
      request: patch({ op: 'add', path: 'members', value: [{ display: 'Babs' }] }),
      scimType: 'invalidValue',
    },
    {
      name: 'a member with a non-string value',
      resource: group(),
      options: GROUP,
      request: patch({ op: 'add', path: 'members', value: [{ value: 42 }] }),
      scimType: 'invalidValue',
    },
    {
      name: 'a failing later operation (atomicity: nothing is returned)',
      request: patch({ op: 'replace', path: 'title', value: 'x' }, { op: 'remove', path: 'userName' }),
      scimType: 'mutability',
    },
  ]);
});

function tooManyOperations(): unknown[] {
  return Array.from({ length: MAX_PATCH_OPERATIONS + 1 }, () => ({
    op: 'replace',
    path: 'title',
    value: 'x',
  }));
}

function nested(depth: number): unknown {
  let value: unknown = 'x';
  for (let i = 0; i < depth; i += 1) value = { a: value };
  return value;
}

describe('hostile input: prototype pollution', () => {
  const attempts: { name: string; request: unknown; scimType: string }[] = [
    {
      name: '__proto__ as the path',
      request: patch({ op: 'add', path: '__proto__', value: { polluted: 'yes' } }),
      scimType: 'invalidPath',
    },
    {
      name: '__proto__.polluted as the path',
      request: patch({ op: 'add', path: '__proto__.polluted', value: 'yes' }),
      scimType: 'invalidPath',
    },
    {
      name: 'constructor.prototype as the path',
      request: patch({ op: 'add', path: 'constructor.prototype', value: { polluted: 'yes' } }),
      scimType: 'invalidPath',
    },
    {
      name: 'a URN-qualified __proto__',
      request: patch({ op: 'add', path: `${ENTERPRISE_USER_SCHEMA}:__proto__`, value: { polluted: 'yes' } }),
      scimType: 'invalidPath',
    },
    {
      name: '__proto__ as a path-less key (from JSON.parse)',
      request: JSON.parse(
        `{"schemas":["${PATCH_OP_SCHEMA}"],"Operations":[{"op":"add","value":{"__proto__":{"polluted":"yes"}}}]}`,
      ) as unknown,
      scimType: 'invalidValue',
    },
    {
      name: '__proto__ inside a complex value (from JSON.parse)',
      request: JSON.parse(
        `{"schemas":["${PATCH_OP_SCHEMA}"],"Operations":[{"op":"add","path":"name","value":{"__proto__":{"polluted":"yes"}}}]}`,
      ) as unknown,
      scimType: 'invalidValue',
    },
    {
      name: '__proto__ inside an email (from JSON.parse)',
      request: JSON.parse(
        `{"schemas":["${PATCH_OP_SCHEMA}"],"Operations":[{"op":"add","path":"emails","value":[{"value":"a@b","__proto__":{"polluted":"yes"}}]}]}`,
      ) as unknown,
      scimType: 'invalidValue',
    },
    {
      name: 'constructor inside an extension value',
      request: patch({
        op: 'add',
        value: { [ENTERPRISE_USER_SCHEMA]: { constructor: { prototype: { polluted: 'yes' } } } },
      }),
      scimType: 'invalidValue',
    },
    {
      name: 'prototype as a member key',
      request: patch({ op: 'add', path: 'members', value: [{ value: 'x', prototype: { polluted: 'yes' } }] }),
      scimType: 'invalidValue',
    },
    {
      name: '__proto__ inside a value filter',
      request: patch({ op: 'replace', path: 'emails[__proto__ eq "x"].value', value: 'yes' }),
      scimType: 'invalidFilter',
    },
  ];

  it.each(attempts)(
    'refuses $name (400 $scimType) and leaves Object.prototype alone',
    ({ request, scimType }) => {
      expect(errorOf(() => applyPatch(user(), request, USER))).toEqual({
        status: 400,
        scimType,
      });
      expect(errorOf(() => applyPatch(group(), request, GROUP))?.status).toBe(400);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    },
  );
});
