import { describe, expect, it } from 'vitest';
import {
  isAttributeReturned,
  parseAttributeList,
  projectResource,
  type ProjectionOptions,
} from './projection.js';
import {
  CORE_GROUP_SCHEMA,
  CORE_USER_SCHEMA,
  ENTERPRISE_USER_SCHEMA as ENT,
  type ScimAttribute,
  type ScimSchema,
} from './schema.types.js';
import { RESOURCE_SCHEMAS } from './schemas.js';

const meta = {
  resourceType: 'User',
  created: '2010-01-23T04:56:22Z',
  lastModified: '2011-05-13T04:42:34Z',
  location: 'https://example.com/scim/v2/Users/u1',
};

const user = {
  schemas: [CORE_USER_SCHEMA, ENT],
  id: 'u1',
  externalId: 'e1',
  userName: 'bjensen',
  name: { givenName: 'Barbara', familyName: 'Jensen' },
  displayName: 'Babs',
  password: 'secret',
  active: true,
  emails: [
    { value: 'bjensen@example.com', type: 'work', primary: true },
    { value: 'babs@jensen.org', type: 'home' },
  ],
  groups: [{ value: 'g1', display: 'Sales', type: 'direct' }],
  meta,
  [ENT]: {
    employeeNumber: '701984',
    department: 'Tour Operations',
    manager: { value: 'm1', displayName: 'Boss' },
  },
};

const { password: _password, ...userWithoutPassword } = user;
const always = { schemas: user.schemas, id: 'u1' };

describe('projectResource: users', () => {
  const cases: { name: string; options: ProjectionOptions; output: Record<string, unknown> }[] = [
    { name: 'default returns everything but password', options: {}, output: userWithoutPassword },
    {
      name: 'attributes limits the response to id, schemas and the list',
      options: { attributes: 'userName' },
      output: { ...always, userName: 'bjensen' },
    },
    {
      name: 'names are case-insensitive and may select one sub-attribute',
      options: { attributes: 'USERNAME, name.GIVENNAME' },
      output: { ...always, userName: 'bjensen', name: { givenName: 'Barbara' } },
    },
    {
      name: 'a sub-attribute of a multi-valued attribute is kept in every element',
      options: { attributes: 'emails.value' },
      output: { ...always, emails: [{ value: 'bjensen@example.com' }, { value: 'babs@jensen.org' }] },
    },
    {
      name: 'two sub-attributes of one attribute',
      options: { attributes: ['emails.value', 'emails.type'] },
      output: {
        ...always,
        emails: [
          { value: 'bjensen@example.com', type: 'work' },
          { value: 'babs@jensen.org', type: 'home' },
        ],
      },
    },
    {
      name: 'a whole complex attribute',
      options: { attributes: 'emails' },
      output: { ...always, emails: user.emails },
    },
    {
      name: 'URN-qualified core attribute',
      options: { attributes: `${CORE_USER_SCHEMA}:displayName` },
      output: { ...always, displayName: 'Babs' },
    },
    {
      name: 'URN-qualified extension attribute',
      options: { attributes: `${ENT}:department` },
      output: { ...always, [ENT]: { department: 'Tour Operations' } },
    },
    {
      name: 'URN-qualified extension sub-attribute',
      options: { attributes: `${ENT}:manager.value` },
      output: { ...always, [ENT]: { manager: { value: 'm1' } } },
    },
    {
      name: 'unqualified extension attribute',
      options: { attributes: 'employeeNumber' },
      output: { ...always, [ENT]: { employeeNumber: '701984' } },
    },
    {
      name: 'an extension URN selects its whole object',
      options: { attributes: ENT },
      output: { ...always, [ENT]: user[ENT] },
    },
    {
      name: 'password is never returned, even when asked',
      options: { attributes: 'password,userName' },
      output: { ...always, userName: 'bjensen' },
    },
    { name: 'unknown names are ignored', options: { attributes: 'shoeSize' }, output: always },
    {
      name: 'meta sub-attribute',
      options: { attributes: 'meta.lastModified' },
      output: { ...always, meta: { lastModified: meta.lastModified } },
    },
    {
      name: 'excludedAttributes removes attributes',
      options: { excludedAttributes: 'emails,meta,groups' },
      output: (({ emails: _e, meta: _m, groups: _g, ...rest }) => rest)(userWithoutPassword),
    },
    {
      name: 'excludedAttributes removes one sub-attribute',
      options: { excludedAttributes: 'name.givenName' },
      output: { ...userWithoutPassword, name: { familyName: 'Jensen' } },
    },
    {
      name: 'id and schemas cannot be excluded',
      options: { excludedAttributes: 'id,schemas' },
      output: userWithoutPassword,
    },
    {
      name: 'excluding an extension URN removes its object',
      options: { excludedAttributes: ENT },
      output: (({ [ENT]: _x, ...rest }) => rest)(userWithoutPassword),
    },
    {
      name: 'excluding an extension attribute',
      options: { excludedAttributes: `${ENT}:manager` },
      output: { ...userWithoutPassword, [ENT]: { employeeNumber: '701984', department: 'Tour Operations' } },
    },
    {
      name: 'both lists: exclusions apply inside included attributes',
      options: { attributes: 'name,userName', excludedAttributes: 'name.familyName' },
      output: { ...always, userName: 'bjensen', name: { givenName: 'Barbara' } },
    },
    {
      name: 'both lists: an excluded attribute stays out',
      options: { attributes: 'userName,emails', excludedAttributes: 'emails' },
      output: { ...always, userName: 'bjensen' },
    },
  ];

  it.each(cases)('$name', ({ options, output }) => {
    expect(projectResource(user, options, RESOURCE_SCHEMAS.User)).toEqual(output);
  });

  it('reads stored keys case-insensitively, writes the schema spelling and drops unknown keys', () => {
    const stored = {
      schemas: [CORE_USER_SCHEMA],
      id: 'u2',
      UserName: 'x',
      internalNote: 'n',
      NAME: { GivenName: 'X' },
    };
    expect(projectResource(stored, {}, RESOURCE_SCHEMAS.User)).toEqual({
      schemas: [CORE_USER_SCHEMA],
      id: 'u2',
      userName: 'x',
      name: { givenName: 'X' },
    });
  });

  it('returns a copy that shares nothing with the input', () => {
    const result = projectResource(user, {}, RESOURCE_SCHEMAS.User);
    (result['emails'] as { value: string }[])[0]!.value = 'changed';
    (result['schemas'] as string[]).push('changed');
    expect(user.emails[0]!.value).toBe('bjensen@example.com');
    expect(user.schemas).toHaveLength(2);
  });

  it('drops elements and objects left empty', () => {
    const stored = { schemas: [CORE_USER_SCHEMA], id: 'u3', emails: [{ type: 'work' }, { value: 'a@x' }] };
    expect(projectResource(stored, { attributes: 'emails.value' }, RESOURCE_SCHEMAS.User)).toEqual({
      schemas: [CORE_USER_SCHEMA],
      id: 'u3',
      emails: [{ value: 'a@x' }],
    });
  });
});

describe('projectResource: groups', () => {
  const group = {
    schemas: [CORE_GROUP_SCHEMA],
    id: 'g1',
    displayName: 'Sales',
    members: [{ value: 'u1', display: 'Babs', type: 'User', $ref: 'https://x/Users/u1' }],
    meta: { resourceType: 'Group' },
  };
  const cases: { name: string; options: ProjectionOptions; output: Record<string, unknown> }[] = [
    { name: 'default returns members', options: {}, output: group },
    {
      name: 'Entra excludes members',
      options: { excludedAttributes: 'members' },
      output: { schemas: group.schemas, id: 'g1', displayName: 'Sales', meta: group.meta },
    },
    {
      name: 'Okta asks for displayName only',
      options: { attributes: 'displayName' },
      output: { schemas: group.schemas, id: 'g1', displayName: 'Sales' },
    },
    {
      name: 'member ids only',
      options: { attributes: 'members.value' },
      output: { schemas: group.schemas, id: 'g1', members: [{ value: 'u1' }] },
    },
  ];
  it.each(cases)('$name', ({ options, output }) => {
    expect(projectResource(group, options, RESOURCE_SCHEMAS.Group)).toEqual(output);
  });
});

describe('projectResource: returned "request"', () => {
  const attribute = (
    name: string,
    returned: ScimAttribute['returned'],
    subAttributes?: ScimAttribute[],
  ): ScimAttribute => ({
    name,
    type: subAttributes ? 'complex' : 'string',
    multiValued: false,
    description: '',
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned,
    uniqueness: 'none',
    ...(subAttributes ? { subAttributes } : {}),
  });
  const schema: ScimSchema = {
    id: 'urn:example:Thing',
    name: 'Thing',
    description: '',
    attributes: [
      attribute('label', 'default'),
      attribute('audit', 'request'),
      attribute('box', 'default', [attribute('shown', 'default'), attribute('hidden', 'request')]),
    ],
  };
  const thing = { schemas: [schema.id], id: 't1', label: 'L', audit: 'A', box: { shown: 'S', hidden: 'H' } };
  const cases: { name: string; options: ProjectionOptions; output: Record<string, unknown> }[] = [
    {
      name: 'not returned by default',
      options: {},
      output: { schemas: thing.schemas, id: 't1', label: 'L', box: { shown: 'S' } },
    },
    {
      name: 'returned when asked',
      options: { attributes: 'audit' },
      output: { schemas: thing.schemas, id: 't1', audit: 'A' },
    },
    {
      name: 'sub-attribute not returned with its parent',
      options: { attributes: 'box' },
      output: { schemas: thing.schemas, id: 't1', box: { shown: 'S' } },
    },
    {
      name: 'sub-attribute returned when asked',
      options: { attributes: 'box.hidden' },
      output: { schemas: thing.schemas, id: 't1', box: { hidden: 'H' } },
    },
  ];
  it.each(cases)('$name', ({ options, output }) => {
    expect(projectResource(thing, options, [schema])).toEqual(output);
  });
});

describe('parseAttributeList', () => {
  const cases: { name: string; value: string | string[] | undefined | null; list: string[] }[] = [
    { name: 'absent', value: undefined, list: [] },
    { name: 'null', value: null, list: [] },
    { name: 'empty string', value: '', list: [] },
    {
      name: 'comma-separated with spaces',
      value: ' userName , emails.value,,',
      list: ['userName', 'emails.value'],
    },
    { name: 'a list', value: ['userName', ' name.givenName '], list: ['userName', 'name.givenName'] },
    {
      name: 'URN-qualified names keep their colons and dots',
      value: `${ENT}:manager.value`,
      list: [`${ENT}:manager.value`],
    },
  ];
  it.each(cases)('$name', ({ value, list }) => {
    expect(parseAttributeList(value)).toEqual(list);
  });
});

describe('isAttributeReturned', () => {
  const cases: { name: string; path: string; options: ProjectionOptions; returned: boolean }[] = [
    { name: 'members by default', path: 'members', options: {}, returned: true },
    {
      name: 'members excluded',
      path: 'members',
      options: { excludedAttributes: 'members' },
      returned: false,
    },
    {
      name: 'members not in attributes',
      path: 'members',
      options: { attributes: 'displayName' },
      returned: false,
    },
    {
      name: 'members through a sub-attribute',
      path: 'members',
      options: { attributes: 'members.value' },
      returned: true,
    },
    { name: 'id always', path: 'id', options: { attributes: 'displayName' }, returned: true },
    { name: 'unknown attribute', path: 'userName', options: {}, returned: false },
  ];
  it.each(cases)('$name', ({ path, options, returned }) => {
    expect(isAttributeReturned(path, options, RESOURCE_SCHEMAS.Group)).toBe(returned);
  });

  it('password never', () => {
    expect(isAttributeReturned('password', { attributes: 'password' }, RESOURCE_SCHEMAS.User)).toBe(false);
  });
});
