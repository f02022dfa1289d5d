import { describe, expect, it } from 'vitest';
import { CORE_GROUP_SCHEMA, CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA } from './schema.types.js';
import {
  RESOURCE_SCHEMAS,
  coreGroupSchema,
  coreUserSchema,
  enterpriseUserSchema,
  findAttribute,
  groupResourceType,
  resolveAttribute,
  splitSchemaUrn,
  userResourceType,
} from './schemas.js';

const userSchemas = RESOURCE_SCHEMAS.User;

describe('resolveAttribute', () => {
  const cases: {
    name: string;
    path: string;
    schemas?: typeof userSchemas;
    expected: { schema: string; attribute: string; subAttribute?: string } | undefined;
  }[] = [
    {
      name: 'resolves a core attribute',
      path: 'userName',
      expected: { schema: CORE_USER_SCHEMA, attribute: 'userName' },
    },
    {
      name: 'is case-insensitive',
      path: 'USERNAME',
      expected: { schema: CORE_USER_SCHEMA, attribute: 'userName' },
    },
    {
      name: 'resolves a sub-attribute',
      path: 'name.givenName',
      expected: { schema: CORE_USER_SCHEMA, attribute: 'name', subAttribute: 'givenName' },
    },
    {
      name: 'resolves a sub-attribute case-insensitively',
      path: 'Emails.VALUE',
      expected: { schema: CORE_USER_SCHEMA, attribute: 'emails', subAttribute: 'value' },
    },
    {
      name: 'resolves common attribute id',
      path: 'id',
      expected: { schema: CORE_USER_SCHEMA, attribute: 'id' },
    },
    {
      name: 'resolves common attribute meta.lastModified',
      path: 'meta.lastModified',
      expected: { schema: CORE_USER_SCHEMA, attribute: 'meta', subAttribute: 'lastModified' },
    },
    {
      name: 'resolves an unqualified extension attribute after the core schema',
      path: 'employeeNumber',
      expected: { schema: ENTERPRISE_USER_SCHEMA, attribute: 'employeeNumber' },
    },
    {
      name: 'resolves a URN-qualified core sub-attribute',
      path: `${CORE_USER_SCHEMA}:name.givenName`,
      expected: { schema: CORE_USER_SCHEMA, attribute: 'name', subAttribute: 'givenName' },
    },
    {
      name: 'resolves a URN-qualified extension sub-attribute despite dots in the URN',
      path: `${ENTERPRISE_USER_SCHEMA}:manager.value`,
      expected: { schema: ENTERPRISE_USER_SCHEMA, attribute: 'manager', subAttribute: 'value' },
    },
    {
      name: 'resolves a URN-qualified path case-insensitively',
      path: `${ENTERPRISE_USER_SCHEMA.toUpperCase()}:DEPARTMENT`,
      expected: { schema: ENTERPRISE_USER_SCHEMA, attribute: 'department' },
    },
    {
      name: 'resolves the common attributes under the core URN',
      path: `${CORE_USER_SCHEMA}:externalId`,
      expected: { schema: CORE_USER_SCHEMA, attribute: 'externalId' },
    },
    {
      name: 'does not resolve a core attribute under the extension URN',
      path: `${ENTERPRISE_USER_SCHEMA}:userName`,
      expected: undefined,
    },
    { name: 'does not resolve a bare schema URN', path: ENTERPRISE_USER_SCHEMA, expected: undefined },
    { name: 'does not resolve an unknown URN', path: 'urn:example:foo:bar', expected: undefined },
    { name: 'does not resolve an unknown attribute', path: 'shoeSize', expected: undefined },
    { name: 'does not resolve an unknown sub-attribute', path: 'name.nickName', expected: undefined },
    {
      name: 'does not resolve a sub-attribute of a simple attribute',
      path: 'userName.x',
      expected: undefined,
    },
    { name: 'does not resolve two levels of sub-attributes', path: 'name.givenName.x', expected: undefined },
    { name: 'does not resolve an empty path', path: '', expected: undefined },
    {
      name: 'resolves group members.value',
      path: 'members.value',
      schemas: RESOURCE_SCHEMAS.Group,
      expected: { schema: CORE_GROUP_SCHEMA, attribute: 'members', subAttribute: 'value' },
    },
    {
      name: 'does not resolve user attributes on a group',
      path: 'userName',
      schemas: RESOURCE_SCHEMAS.Group,
      expected: undefined,
    },
  ];

  it.each(cases)('$name', ({ path, schemas, expected }) => {
    const resolved = resolveAttribute(schemas ?? userSchemas, path);
    if (!expected) {
      expect(resolved).toBeUndefined();
      return;
    }
    expect(resolved?.schema.id).toBe(expected.schema);
    expect(resolved?.attribute.name).toBe(expected.attribute);
    expect(resolved?.subAttribute?.name).toBe(expected.subAttribute);
  });
});

describe('schema definitions', () => {
  const user = (name: string) => findAttribute(coreUserSchema.attributes, name)!;
  const cases: { name: string; check: () => void }[] = [
    {
      name: 'userName is required, case-insensitive and server-unique',
      check: () =>
        expect(user('userName')).toMatchObject({ required: true, caseExact: false, uniqueness: 'server' }),
    },
    {
      name: 'password is write-only and never returned',
      check: () => expect(user('password')).toMatchObject({ mutability: 'writeOnly', returned: 'never' }),
    },
    {
      name: 'groups is read-only and multi-valued',
      check: () => expect(user('groups')).toMatchObject({ mutability: 'readOnly', multiValued: true }),
    },
    {
      name: 'externalId is case-exact',
      check: () => expect(resolveAttribute(userSchemas, 'externalId')?.attribute.caseExact).toBe(true),
    },
    {
      name: 'id is returned always',
      check: () => expect(resolveAttribute(userSchemas, 'id')?.attribute.returned).toBe('always'),
    },
    {
      name: 'group displayName is required',
      check: () => expect(findAttribute(coreGroupSchema.attributes, 'displayName')?.required).toBe(true),
    },
    {
      name: 'members.type has canonical values User and Group',
      check: () =>
        expect(resolveAttribute([coreGroupSchema], 'members.type')?.subAttribute?.canonicalValues).toEqual([
          'User',
          'Group',
        ]),
    },
    {
      name: 'the user has every RFC 7643 §4.1 attribute',
      check: () =>
        expect(coreUserSchema.attributes.map((a) => a.name)).toEqual([
          'userName',
          'name',
          'displayName',
          'nickName',
          'profileUrl',
          'title',
          'userType',
          'preferredLanguage',
          'locale',
          'timezone',
          'active',
          'password',
          'emails',
          'phoneNumbers',
          'ims',
          'photos',
          'addresses',
          'groups',
          'entitlements',
          'roles',
          'x509Certificates',
        ]),
    },
    {
      name: 'the enterprise extension has every RFC 7643 §4.3 attribute',
      check: () =>
        expect(enterpriseUserSchema.attributes.map((a) => a.name)).toEqual([
          'employeeNumber',
          'costCenter',
          'organization',
          'division',
          'department',
          'manager',
        ]),
    },
    {
      name: 'the user resource type declares the optional enterprise extension',
      check: () =>
        expect(userResourceType).toMatchObject({
          endpoint: '/Users',
          schema: CORE_USER_SCHEMA,
          schemaExtensions: [{ schema: ENTERPRISE_USER_SCHEMA, required: false }],
        }),
    },
    {
      name: 'the group resource type has no extensions',
      check: () => expect(groupResourceType).toMatchObject({ endpoint: '/Groups', schemaExtensions: [] }),
    },
    {
      name: 'splitSchemaUrn keeps dots inside the URN',
      check: () =>
        expect(splitSchemaUrn(userSchemas, `${ENTERPRISE_USER_SCHEMA}:manager.value`)?.rest).toBe(
          'manager.value',
        ),
    },
  ];
  it.each(cases)('$name', ({ check }) => check());
});
