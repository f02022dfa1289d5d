import { describe, expect, it } from 'vitest';
import { coerceResource, coerceValue, isScimDateTime } from './coerce.js';
import {
  CORE_GROUP_SCHEMA,
  CORE_USER_SCHEMA,
  ENTERPRISE_USER_SCHEMA,
  ScimError,
  type ScimAttribute,
} from './schema.types.js';
import { RESOURCE_SCHEMAS, resolveAttribute } from './schemas.js';

const USER = RESOURCE_SCHEMAS.User;
const GROUP = RESOURCE_SCHEMAS.Group;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

function errorOf(run: () => unknown): ScimError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ScimError);
    return error as ScimError;
  }
  throw new Error('expected a ScimError');
}

describe('coerceResource: accepted payloads', () => {
  const cases: {
    name: string;
    input: unknown;
    schemas?: typeof USER;
    strict?: boolean;
    output: Record<string, unknown>;
  }[] = [
    {
      name: 'Entra ID user with string booleans and the enterprise extension',
      strict: true,
      input: {
        schemas: [CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        externalId: '8f5a1a3e-0d0c-4e5b-9f43-2b0a5e3a1f00',
        userName: 'Test_User_ab6490ee@contoso.com',
        active: 'True',
        displayName: 'Test User',
        emails: [{ primary: true, type: 'work', value: 'Test_User@contoso.com' }],
        meta: { resourceType: 'User' },
        name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
        roles: [],
        [ENTERPRISE_USER_SCHEMA]: {
          employeeNumber: '701984',
          department: 'Tour Operations',
          manager: { value: 'm1' },
        },
      },
      output: {
        schemas: [CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        externalId: '8f5a1a3e-0d0c-4e5b-9f43-2b0a5e3a1f00',
        userName: 'Test_User_ab6490ee@contoso.com',
        name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
        displayName: 'Test User',
        active: true,
        emails: [{ primary: true, type: 'work', value: 'Test_User@contoso.com' }],
        [ENTERPRISE_USER_SCHEMA]: {
          employeeNumber: '701984',
          department: 'Tour Operations',
          manager: { value: 'm1' },
        },
      },
    },
    {
      name: 'Okta user',
      strict: true,
      input: {
        schemas: [CORE_USER_SCHEMA],
        userName: 'isabella@example.com',
        name: { givenName: 'Isabella', familyName: 'Ng' },
        emails: [{ primary: true, value: 'isabella@example.com', type: 'work' }],
        displayName: 'Isabella Ng',
        locale: 'en-US',
        externalId: '00u1',
        groups: [],
        password: 'pw',
        active: true,
      },
      output: {
        schemas: [CORE_USER_SCHEMA],
        externalId: '00u1',
        userName: 'isabella@example.com',
        name: { givenName: 'Isabella', familyName: 'Ng' },
        displayName: 'Isabella Ng',
        locale: 'en-US',
        active: true,
        password: 'pw',
        emails: [{ primary: true, value: 'isabella@example.com', type: 'work' }],
      },
    },
    {
      name: 'string booleans of any case become booleans',
      input: { userName: 'a', active: 'FALSE', emails: [{ value: 'a@x', primary: 'true' }] },
      output: {
        schemas: [CORE_USER_SCHEMA],
        userName: 'a',
        active: false,
        emails: [{ value: 'a@x', primary: true }],
      },
    },
    {
      name: 'attribute names take the schema spelling',
      input: {
        username: 'a',
        DISPLAYNAME: 'A',
        Emails: [{ VALUE: 'a@x', Type: 'work' }],
        NAME: { GivenName: 'A' },
      },
      output: {
        schemas: [CORE_USER_SCHEMA],
        userName: 'a',
        displayName: 'A',
        name: { givenName: 'A' },
        emails: [{ value: 'a@x', type: 'work' }],
      },
    },
    {
      name: 'flattened extension keys are nested under the URN',
      input: {
        userName: 'a',
        [`${ENTERPRISE_USER_SCHEMA}:department`]: 'Sales',
        [`${ENTERPRISE_USER_SCHEMA}:manager.value`]: 'm1',
        [`${ENTERPRISE_USER_SCHEMA.toLowerCase()}:costcenter`]: 'CC1',
      },
      output: {
        schemas: [CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        userName: 'a',
        [ENTERPRISE_USER_SCHEMA]: { costCenter: 'CC1', department: 'Sales', manager: { value: 'm1' } },
      },
    },
    {
      name: 'flattened and nested parts of one extension merge',
      input: {
        userName: 'a',
        [ENTERPRISE_USER_SCHEMA]: { manager: { value: 'm1' } },
        [`${ENTERPRISE_USER_SCHEMA}:department`]: 'Sales',
      },
      output: {
        schemas: [CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        userName: 'a',
        [ENTERPRISE_USER_SCHEMA]: { department: 'Sales', manager: { value: 'm1' } },
      },
    },
    {
      name: 'URN-qualified core keys and dotted keys are nested',
      input: { [`${CORE_USER_SCHEMA}:userName`]: 'a', 'name.givenName': 'A', 'name.familyName': 'B' },
      output: { schemas: [CORE_USER_SCHEMA], userName: 'a', name: { givenName: 'A', familyName: 'B' } },
    },
    {
      name: 'read-only attributes from the client are ignored',
      input: {
        id: 'client-chosen',
        userName: 'a',
        meta: { created: '2020-01-01T00:00:00Z' },
        groups: [{ value: 'g1' }],
        [ENTERPRISE_USER_SCHEMA]: { manager: { value: 'm1', displayName: 'Boss' } },
      },
      output: {
        schemas: [CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        userName: 'a',
        [ENTERPRISE_USER_SCHEMA]: { manager: { value: 'm1' } },
      },
    },
    {
      name: 'null, empty arrays and empty objects are unassigned',
      input: {
        userName: 'a',
        title: null,
        emails: [],
        name: {},
        phoneNumbers: [null],
        [ENTERPRISE_USER_SCHEMA]: null,
      },
      output: { schemas: [CORE_USER_SCHEMA], userName: 'a' },
    },
    {
      name: 'numbers become strings for string attributes',
      input: { userName: 'a', [ENTERPRISE_USER_SCHEMA]: { employeeNumber: 1234 } },
      output: {
        schemas: [CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        userName: 'a',
        [ENTERPRISE_USER_SCHEMA]: { employeeNumber: '1234' },
      },
    },
    {
      name: 'lenient: unknown attributes, sub-attributes and extensions are dropped',
      input: {
        schemas: [CORE_USER_SCHEMA, 'urn:example:custom:1.0:User'],
        userName: 'a',
        shoeSize: 44,
        department: 'core has none',
        emails: [{ value: 'a@x', verified: true }],
        'urn:example:custom:1.0:User': { badge: 7 },
      },
      output: { schemas: [CORE_USER_SCHEMA], userName: 'a', emails: [{ value: 'a@x' }] },
    },
    {
      name: 'lenient: missing schemas and missing core URN are filled in',
      input: { schemas: [ENTERPRISE_USER_SCHEMA], userName: 'a' },
      output: { schemas: [CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA], userName: 'a' },
    },
    {
      name: 'schema URNs are matched case-insensitively and canonicalized',
      input: { schemas: [CORE_USER_SCHEMA.toUpperCase()], userName: 'a' },
      strict: true,
      output: { schemas: [CORE_USER_SCHEMA], userName: 'a' },
    },
    {
      name: 'lenient: only the first primary stays primary',
      input: {
        userName: 'a',
        emails: [
          { value: 'a@x', primary: true },
          { value: 'b@x', primary: true },
        ],
      },
      output: {
        schemas: [CORE_USER_SCHEMA],
        userName: 'a',
        emails: [
          { value: 'a@x', primary: true },
          { value: 'b@x', primary: false },
        ],
      },
    },
    {
      name: 'group with members; read-only member display is ignored',
      schemas: GROUP,
      strict: true,
      input: {
        schemas: [CORE_GROUP_SCHEMA],
        displayName: 'Sales',
        externalId: 'e1',
        members: [{ value: 'u1', display: 'User One', type: 'User', $ref: 'https://x/Users/u1' }],
      },
      output: {
        schemas: [CORE_GROUP_SCHEMA],
        externalId: 'e1',
        displayName: 'Sales',
        members: [{ value: 'u1', type: 'User', $ref: 'https://x/Users/u1' }],
      },
    },
  ];

  it.each(cases)('$name', ({ input, schemas, strict, output }) => {
    const frozen = deepFreeze(structuredClone(input));
    const result = coerceResource(frozen, schemas ?? USER, { strict: strict ?? false });
    expect(result).toEqual(output);
    expect(frozen).toEqual(input);
  });

  it('returns keys in schema order and shares no objects with the input', () => {
    const input = { emails: [{ value: 'a@x' }], userName: 'a', externalId: 'e', name: { givenName: 'A' } };
    const result = coerceResource(input, USER);
    expect(Object.keys(result)).toEqual(['schemas', 'externalId', 'userName', 'name', 'emails']);
    expect(result['name']).not.toBe(input.name);
    expect(result['emails']).not.toBe(input.emails);
    expect((result['emails'] as unknown[])[0]).not.toBe(input.emails[0]);
  });
});

describe('coerceResource: rejected payloads', () => {
  const nested = (depth: number): unknown => (depth === 0 ? 'x' : { a: nested(depth - 1) });
  const cases: {
    name: string;
    input: unknown;
    schemas?: typeof USER;
    strict?: boolean;
    scimType: string;
    message: RegExp;
  }[] = [
    { name: 'an array body', input: [{ userName: 'a' }], scimType: 'invalidSyntax', message: /JSON object/ },
    { name: 'a string body', input: 'userName=a', scimType: 'invalidSyntax', message: /JSON object/ },
    { name: 'a null body', input: null, scimType: 'invalidSyntax', message: /JSON object/ },
    {
      name: '__proto__ at the top level',
      input: JSON.parse('{"userName":"a","__proto__":{"isAdmin":true}}'),
      scimType: 'invalidValue',
      message: /"__proto__" is not allowed/,
    },
    {
      name: '__proto__ inside a multi-valued element',
      input: JSON.parse('{"userName":"a","emails":[{"value":"x","__proto__":{"polluted":1}}]}'),
      scimType: 'invalidValue',
      message: /"__proto__" is not allowed/,
    },
    {
      name: 'constructor inside a complex attribute',
      input: { userName: 'a', name: { constructor: 'x' } },
      scimType: 'invalidValue',
      message: /"constructor" is not allowed/,
    },
    {
      name: 'prototype in a flattened extension key',
      input: { userName: 'a', [`${ENTERPRISE_USER_SCHEMA}:prototype`]: 'x' },
      scimType: 'invalidValue',
      message: /"urn:.*:prototype" is not allowed/,
    },
    {
      name: 'forbidden key inside an unknown attribute that would be dropped',
      input: { userName: 'a', custom: JSON.parse('{"__proto__":{}}') },
      scimType: 'invalidValue',
      message: /"__proto__" is not allowed/,
    },
    {
      name: 'absurd nesting',
      input: { userName: 'a', custom: nested(100) },
      scimType: 'invalidValue',
      message: /nested too deeply/,
    },
    {
      name: 'missing userName',
      input: { displayName: 'A' },
      scimType: 'invalidValue',
      message: /"userName" is required/,
    },
    {
      name: 'blank userName',
      input: { userName: '  ' },
      scimType: 'invalidValue',
      message: /"userName" is required/,
    },
    {
      name: 'missing group displayName',
      input: { members: [] },
      schemas: GROUP,
      scimType: 'invalidValue',
      message: /"displayName" is required/,
    },
    {
      name: 'boolean that is not true or false',
      input: { userName: 'a', active: 'yes' },
      scimType: 'invalidValue',
      message: /"active" must be a boolean, got string "yes"/,
    },
    {
      name: 'single value for a multi-valued attribute',
      input: { userName: 'a', emails: { value: 'a@x' } },
      scimType: 'invalidValue',
      message: /"emails" must be an array/,
    },
    {
      name: 'array for a single-valued attribute',
      input: { userName: ['a', 'b'] },
      scimType: 'invalidValue',
      message: /"userName" must be a single value/,
    },
    {
      name: 'string for a complex attribute',
      input: { userName: 'a', name: 'Barbara Jensen' },
      scimType: 'invalidValue',
      message: /"name" must be an object/,
    },
    {
      name: 'object for a string attribute',
      input: { userName: { value: 'a' } },
      scimType: 'invalidValue',
      message: /"userName" must be a string/,
    },
    {
      name: 'non-object extension',
      input: { userName: 'a', [ENTERPRISE_USER_SCHEMA]: 'Sales' },
      scimType: 'invalidValue',
      message: /must be an object/,
    },
    {
      name: 'the same attribute spelled twice',
      input: { userName: 'a', username: 'b' },
      scimType: 'invalidValue',
      message: /"userName" is given more than once/,
    },
    {
      name: 'the same extension attribute nested and flattened',
      input: {
        userName: 'a',
        [ENTERPRISE_USER_SCHEMA]: { department: 'A' },
        [`${ENTERPRISE_USER_SCHEMA}:department`]: 'B',
      },
      scimType: 'invalidValue',
      message: /given more than once/,
    },
    {
      name: 'a flattened sub-attribute of a multi-valued attribute',
      input: { userName: 'a', 'emails.value': 'a@x' },
      scimType: 'invalidValue',
      message: /"emails.value" cannot be set on its own/,
    },
    {
      name: 'schemas that is not an array',
      input: { schemas: CORE_USER_SCHEMA, userName: 'a' },
      scimType: 'invalidSyntax',
      message: /"schemas" must be an array/,
    },
    {
      name: 'schemas with a non-string',
      input: { schemas: [CORE_USER_SCHEMA, 7], userName: 'a' },
      scimType: 'invalidSyntax',
      message: /"schemas" must be an array/,
    },
    {
      name: 'strict: unknown attribute',
      input: { schemas: [CORE_USER_SCHEMA], userName: 'a', shoeSize: 44 },
      strict: true,
      scimType: 'invalidValue',
      message: /Unknown attribute "shoeSize"/,
    },
    {
      name: 'strict: extension attribute at the top level',
      input: { schemas: [CORE_USER_SCHEMA], userName: 'a', department: 'x' },
      strict: true,
      scimType: 'invalidValue',
      message: /Unknown attribute "department"/,
    },
    {
      name: 'strict: unknown sub-attribute',
      input: { schemas: [CORE_USER_SCHEMA], userName: 'a', name: { nick: 'x' } },
      strict: true,
      scimType: 'invalidValue',
      message: /Unknown attribute "name.nick"/,
    },
    {
      name: 'strict: unknown extension key',
      input: { schemas: [CORE_USER_SCHEMA], userName: 'a', 'urn:example:custom:1.0:User': {} },
      strict: true,
      scimType: 'invalidValue',
      message: /"urn:example:custom:1.0:User" is not supported/,
    },
    {
      name: 'strict: undeclared URN in schemas',
      input: { schemas: [CORE_USER_SCHEMA, 'urn:example:custom:1.0:User'], userName: 'a' },
      strict: true,
      scimType: 'invalidValue',
      message: /Schema "urn:example:custom:1.0:User" is not supported/,
    },
    {
      name: 'strict: enterprise extension on a group',
      input: { schemas: [CORE_GROUP_SCHEMA, ENTERPRISE_USER_SCHEMA], displayName: 'G' },
      schemas: GROUP,
      strict: true,
      scimType: 'invalidValue',
      message: /is not supported/,
    },
    {
      name: 'strict: missing schemas',
      input: { userName: 'a' },
      strict: true,
      scimType: 'invalidValue',
      message: /"schemas" attribute is required/,
    },
    {
      name: 'strict: schemas without the core schema',
      input: { schemas: [ENTERPRISE_USER_SCHEMA], userName: 'a' },
      strict: true,
      scimType: 'invalidValue',
      message: /"schemas" must include/,
    },
    {
      name: 'strict: two primary values',
      input: {
        schemas: [CORE_USER_SCHEMA],
        userName: 'a',
        emails: [
          { value: 'a@x', primary: true },
          { value: 'b@x', primary: 'True' },
        ],
      },
      strict: true,
      scimType: 'invalidValue',
      message: /At most one value of "emails" may be primary/,
    },
  ];

  it.each(cases)('$name', ({ input, schemas, strict, scimType, message }) => {
    const error = errorOf(() => coerceResource(input, schemas ?? USER, { strict: strict ?? false }));
    expect(error).toMatchObject({ status: 400, scimType });
    expect(error.message).toMatch(message);
  });
});

describe('coerceValue', () => {
  const attribute = (type: ScimAttribute['type'], multiValued = false): ScimAttribute => ({
    name: 'x',
    type,
    multiValued,
    description: '',
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
  });
  const accepted: { name: string; attribute: ScimAttribute; value: unknown; result: unknown }[] = [
    { name: 'integer from a number', attribute: attribute('integer'), value: 42, result: 42 },
    { name: 'integer from a numeric string', attribute: attribute('integer'), value: '-42', result: -42 },
    { name: 'decimal from a string', attribute: attribute('decimal'), value: '4.25', result: 4.25 },
    { name: 'decimal with exponent', attribute: attribute('decimal'), value: '1e3', result: 1000 },
    { name: 'boolean from "False"', attribute: attribute('boolean'), value: 'False', result: false },
    {
      name: 'dateTime kept as given',
      attribute: attribute('dateTime'),
      value: '2011-05-13T04:42:34Z',
      result: '2011-05-13T04:42:34Z',
    },
    {
      name: 'binary base64',
      attribute: attribute('binary'),
      value: 'TUlJREQ==',
      result: 'TUlJREQ==',
    },
    {
      name: 'multi-valued strings',
      attribute: attribute('string', true),
      value: ['a', null, 'b'],
      result: ['a', 'b'],
    },
    { name: 'null is unassigned', attribute: attribute('string'), value: null, result: undefined },
    {
      name: 'PATCH value for manager',
      attribute: resolveAttribute(USER, `${ENTERPRISE_USER_SCHEMA}:manager`)!.attribute,
      value: { Value: 'm1' },
      result: { value: 'm1' },
    },
  ];
  it.each(accepted)('accepts $name', ({ attribute, value, result }) => {
    expect(coerceValue(attribute, value)).toEqual(result);
  });

  const rejected: { name: string; attribute: ScimAttribute; value: unknown }[] = [
    { name: 'a fractional integer', attribute: attribute('integer'), value: '4.2' },
    { name: 'an unsafe integer', attribute: attribute('integer'), value: '9007199254740993' },
    { name: 'a non-numeric decimal', attribute: attribute('decimal'), value: 'abc' },
    { name: 'Infinity', attribute: attribute('decimal'), value: 'Infinity' },
    { name: 'a boolean number', attribute: attribute('boolean'), value: 1 },
    { name: 'an impossible date', attribute: attribute('dateTime'), value: '2011-02-30T00:00:00Z' },
    { name: 'a date without time', attribute: attribute('dateTime'), value: '2011-05-13' },
    { name: 'non-base64 binary', attribute: attribute('binary'), value: 'not base64!' },
    { name: 'NaN for a string', attribute: attribute('string'), value: Number.NaN },
  ];
  it.each(rejected)('rejects $name', ({ attribute, value }) => {
    expect(errorOf(() => coerceValue(attribute, value))).toMatchObject({
      status: 400,
      scimType: 'invalidValue',
    });
  });
});

describe('isScimDateTime', () => {
  const cases: { text: string; valid: boolean }[] = [
    { text: '2011-05-13T04:42:34Z', valid: true },
    { text: '2011-05-13T04:42:34.123Z', valid: true },
    { text: '2011-05-13T04:42:34+02:00', valid: true },
    { text: '2011-05-13T04:42:34', valid: true },
    { text: '2024-02-29T00:00:00Z', valid: true },
    { text: '2023-02-29T00:00:00Z', valid: false },
    { text: '2011-13-01T00:00:00Z', valid: false },
    { text: '2011-05-13T24:00:00Z', valid: false },
    { text: '2011-05-13 04:42:34Z', valid: false },
    { text: 'yesterday', valid: false },
    { text: '0000-01-01T00:00:00Z', valid: false },
  ];
  it.each(cases)('$text → $valid', ({ text, valid }) => {
    expect(isScimDateTime(text)).toBe(valid);
  });
});
