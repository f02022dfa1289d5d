import { describe, expect, it } from 'vitest';
import { coerceResource } from '../../../lib/scim/coerce.js';
import { RESOURCE_SCHEMAS } from '../../../lib/scim/schemas.js';
import { canonicalSchemas } from './canonical-check.js';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const typical = {
  externalId: 'x',
  userName: 'ada@example.com',
  displayName: 'Ada',
  active: true,
  name: { givenName: 'Ada', familyName: 'Lovelace' },
  emails: [
    { value: 'ada@example.com', type: 'work', primary: true },
    { value: 'ada@home.example', type: 'home', primary: false },
  ],
  phoneNumbers: [{ value: '+1 555', type: 'mobile', primary: true }],
  addresses: [{ type: 'work', locality: 'London', primary: true }],
  [ENTERPRISE]: { employeeNumber: '1815', department: 'Engines', manager: { value: 'm1' } },
};

/** Inputs the fast check must pass (they are canonical). */
const canonical: [string, Record<string, unknown>][] = [
  ['a typical mapped user', typical],
  ['a minimal user', { userName: 'a' }],
  ['an empty string attribute', { userName: 'a', title: '' }],
];

/** Inputs it must hand to the coercion (which converts or rejects them). */
const notCanonical: [string, Record<string, unknown>][] = [
  ['a "True" boolean', { userName: 'a', active: 'True' }],
  ['a number for a string', { userName: 'a', title: 42 }],
  ['another spelling', { username: 'a' }],
  ['a read-only attribute', { userName: 'a', id: 'x' }],
  [
    'a read-only sub-attribute',
    { userName: 'a', [ENTERPRISE]: { manager: { value: 'm', displayName: 'M' } } },
  ],
  ['an empty object', { userName: 'a', name: {} }],
  ['an empty list', { userName: 'a', emails: [] }],
  ['a null value', { userName: 'a', title: null }],
  [
    'two primaries',
    {
      userName: 'a',
      emails: [
        { value: 'x', primary: true },
        { value: 'y', primary: true },
      ],
    },
  ],
  ['an unknown attribute', { userName: 'a', colour: 'blue' }],
  ['an unknown sub-attribute', { userName: 'a', name: { nick: 'x' } }],
  ['a flattened extension key', { userName: 'a', [`${ENTERPRISE}:department`]: 'x' }],
  ['a lower-case extension key', { userName: 'a', [ENTERPRISE.toLowerCase()]: { department: 'x' } }],
  ['no userName', { displayName: 'x' }],
  ['a blank userName', { userName: ' ' }],
  ['a list for a single value', { userName: ['a'] }],
  ['a single value for a list', { userName: 'a', emails: { value: 'x' } }],
  ['a binary value', { userName: 'a', x509Certificates: [{ value: 'TUlJ' }] }],
];

describe('canonicalSchemas', () => {
  it.each(canonical)('accepts %s, exactly as the strict coercion returns it', (_label, input) => {
    const schemas = canonicalSchemas('User', input);
    expect(schemas).toBeDefined();
    const coerced = coerceResource({ ...input, schemas: schemas! }, RESOURCE_SCHEMAS.User, { strict: true });
    expect(coerced).toEqual({ ...input, schemas });
  });

  it.each(notCanonical)('leaves %s to the coercion', (_label, input) => {
    expect(canonicalSchemas('User', input)).toBeUndefined();
  });

  it('lists the extensions that carry data, core first', () => {
    expect(canonicalSchemas('User', typical)).toEqual([CORE_USER, ENTERPRISE]);
    expect(canonicalSchemas('User', { userName: 'a' })).toEqual([CORE_USER]);
    expect(canonicalSchemas('Group', { displayName: 'G' })).toEqual([
      'urn:ietf:params:scim:schemas:core:2.0:Group',
    ]);
    expect(canonicalSchemas('Group', { displayName: 'G', members: [{ value: 'u' }] })).toBeDefined();
  });
});
