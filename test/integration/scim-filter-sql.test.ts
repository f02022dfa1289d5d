import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFilter } from '../../src/lib/scim/filter.js';
import { compileFilter, compileSort, type FilterTarget } from '../../src/lib/scim/filter-sql.js';
import { ENTERPRISE_USER_SCHEMA } from '../../src/lib/scim/schema.types.js';
import { RESOURCE_SCHEMAS } from '../../src/lib/scim/schemas.js';

/**
 * Proves that compiled filters are valid PostgreSQL and select the right rows. Self-contained:
 * temporary tables and a pg_temp function on one connection, so nothing outlives the test.
 */
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
let client: pg.Client;

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';

const users: Record<string, Record<string, unknown>> = {
  bjensen: {
    schemas: [CORE, ENTERPRISE_USER_SCHEMA],
    userName: 'bjensen',
    name: { familyName: 'Jensen', givenName: 'Barbara' },
    title: 'Tour Guide',
    userType: 'Employee',
    active: true,
    emails: [
      { value: 'bjensen@example.com', type: 'work', primary: true },
      { value: 'babs@jensen.org', type: 'home' },
    ],
    ims: [{ value: 'bj@foo.com', type: 'xmpp' }],
    meta: { created: '2010-01-23T04:56:22Z', lastModified: '2011-05-13T04:42:34Z' },
    [ENTERPRISE_USER_SCHEMA]: {
      employeeNumber: '701984',
      department: 'Tour Operations',
      manager: { value: 'm1' },
    },
  },
  omalley: {
    schemas: [CORE],
    userName: 'Jim.OMalley',
    externalId: 'EXT-1',
    name: { familyName: "O'Malley" },
    title: '',
    userType: 'Intern',
    active: false,
    emails: [{ value: 'jim@example.org', type: 'work' }],
    meta: { created: '2012-01-01T00:00:00Z', lastModified: '2012-01-01T00:00:00Z' },
  },
  jsmith: {
    schemas: [CORE],
    userName: 'JSmith',
    title: null,
    userType: 'Employee',
    active: true,
    emails: [{ value: 'js@other.com', type: 'home' }, { value: 'j2@other.com' }],
    meta: { created: '2009-01-01T00:00:00Z', lastModified: '2010-01-01T00:00:00Z' },
  },
  weird: {
    schemas: [CORE],
    userName: '50%_off\\x',
    emails: { value: 'weird@example.com' }, // malformed: not an array
  },
  nomail: {
    schemas: [CORE],
    userName: 'nomail',
    userType: null,
    emails: [],
  },
};

const jsonOnly: FilterTarget = { schemas: RESOURCE_SCHEMAS.User, jsonColumn: 'u.payload' };
const indexed: FilterTarget = {
  schemas: RESOURCE_SCHEMAS.User,
  jsonColumn: 'u.payload',
  columns: {
    id: { sql: 'u.id', type: 'string', caseExact: true },
    username: { sql: 'u.user_name', type: 'string', caseExact: false },
    externalid: { sql: 'u.external_id', type: 'string', caseExact: true },
    active: { sql: 'u.active', type: 'boolean' },
    'meta.created': { sql: 'u.created_at', type: 'dateTime' },
    'meta.lastmodified': { sql: 'u.updated_at', type: 'dateTime' },
    'emails.value': { multiValuedTextArraySql: 'pg_temp.ib_email_values(u.payload)' },
  },
};

beforeAll(async () => {
  client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query(`
    CREATE TEMP TABLE scim_users (
      id text PRIMARY KEY,
      user_name text NOT NULL,
      external_id text,
      active boolean,
      created_at timestamptz,
      updated_at timestamptz,
      payload jsonb NOT NULL
    );
    CREATE FUNCTION pg_temp.ib_email_values(resource jsonb) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
      SELECT COALESCE(array_agg(lower(e->>'value')) FILTER (WHERE e->>'value' IS NOT NULL), '{}')
        FROM jsonb_array_elements(
          CASE WHEN jsonb_typeof(resource->'emails') = 'array' THEN resource->'emails' ELSE '[]'::jsonb END) AS e
    $$;
    CREATE TEMP TABLE scim_groups (id text PRIMARY KEY, display_name text NOT NULL, payload jsonb NOT NULL);
    CREATE TEMP TABLE scim_members (group_id text NOT NULL, member_id text NOT NULL);
  `);
  for (const [id, resource] of Object.entries(users)) {
    const payload = { id, ...resource };
    const meta = (resource.meta ?? {}) as { created?: string; lastModified?: string };
    await client.query(
      `INSERT INTO scim_users (id, user_name, external_id, active, created_at, updated_at, payload)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        id,
        resource.userName,
        resource.externalId ?? null,
        resource.active ?? null,
        meta.created ?? null,
        meta.lastModified ?? null,
        JSON.stringify(payload),
      ],
    );
  }
  await client.query(`
    INSERT INTO scim_groups VALUES
      ('sales', 'Sales', '{"displayName": "Sales", "externalId": "00g1"}'),
      ('ops', 'Tour Operations', '{"displayName": "Tour Operations"}');
    INSERT INTO scim_members VALUES ('sales', 'bjensen'), ('sales', 'jsmith'), ('ops', 'bjensen');
  `);
});

afterAll(async () => {
  await client?.end();
});

async function select(filter: string, target: FilterTarget, sortBy?: string): Promise<string[]> {
  const params: unknown[] = [];
  const where = compileFilter(parseFilter(filter), target, params);
  const order = sortBy ? `${compileSort(sortBy, target)}, u.id` : 'u.id';
  const { rows } = await client.query<{ id: string }>(
    `SELECT u.id FROM scim_users u WHERE ${where} ORDER BY ${order}`,
    params,
  );
  return rows.map((row) => row.id);
}

const cases: { name: string; filter: string; ids: string[] }[] = [
  // RFC 7644 §3.4.2.2 examples
  { name: 'userName eq', filter: 'userName eq "bjensen"', ids: ['bjensen'] },
  { name: 'userName eq is case-insensitive', filter: 'userName eq "BJENSEN"', ids: ['bjensen'] },
  { name: 'familyName co with an apostrophe', filter: `name.familyName co "O'Malley"`, ids: ['omalley'] },
  { name: 'userName sw', filter: 'userName sw "J"', ids: ['jsmith', 'omalley'] },
  { name: 'URN-qualified userName sw', filter: `${CORE}:userName sw "J"`, ids: ['jsmith', 'omalley'] },
  { name: 'title pr (empty string and null are unassigned)', filter: 'title pr', ids: ['bjensen'] },
  { name: 'lastModified gt', filter: 'meta.lastModified gt "2011-05-13T04:42:34Z"', ids: ['omalley'] },
  {
    name: 'lastModified ge',
    filter: 'meta.lastModified ge "2011-05-13T04:42:34Z"',
    ids: ['bjensen', 'omalley'],
  },
  { name: 'lastModified lt', filter: 'meta.lastModified lt "2011-05-13T04:42:34Z"', ids: ['jsmith'] },
  {
    name: 'lastModified le',
    filter: 'meta.lastModified le "2011-05-13T04:42:34Z"',
    ids: ['bjensen', 'jsmith'],
  },
  { name: 'pr and eq', filter: 'title pr and userType eq "Employee"', ids: ['bjensen'] },
  { name: 'pr or eq', filter: 'title pr or userType eq "Intern"', ids: ['bjensen', 'omalley'] },
  { name: 'schemas eq', filter: `schemas eq "${ENTERPRISE_USER_SCHEMA}"`, ids: ['bjensen'] },
  {
    name: 'and with a parenthesized or on emails',
    filter: 'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
    ids: ['bjensen'],
  },
  {
    name: 'ne and not are null-safe',
    filter: 'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
    ids: ['nomail', 'weird'],
  },
  { name: 'emails.type eq', filter: 'userType eq "Employee" and (emails.type eq "work")', ids: ['bjensen'] },
  {
    name: 'value path with and',
    filter: 'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
    ids: ['bjensen'],
  },
  {
    name: 'or of value paths',
    filter:
      'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
    ids: ['bjensen'],
  },
  // Semantics beyond the examples
  {
    name: 'value path conditions must hold on the same element',
    filter: 'emails[type eq "home" and value co "@example.com"]',
    ids: [],
  },
  { name: 'not inside a value path', filter: 'emails[not (type eq "work")]', ids: ['bjensen', 'jsmith'] },
  { name: 'null inside a value path', filter: 'emails[type eq null]', ids: ['jsmith'] },
  { name: 'boolean inside a value path', filter: 'emails[primary eq true]', ids: ['bjensen'] },
  { name: 'active eq true', filter: 'active eq true', ids: ['bjensen', 'jsmith'] },
  { name: 'active eq false', filter: 'active eq False', ids: ['omalley'] },
  {
    name: 'active ne true includes unassigned',
    filter: 'active ne true',
    ids: ['nomail', 'omalley', 'weird'],
  },
  {
    name: 'externalId is case-exact',
    filter: 'externalId eq "EXT-1" or externalId eq "ext-1"',
    ids: ['omalley'],
  },
  { name: 'LIKE wildcards in values are literal', filter: 'userName co "%_"', ids: ['weird'] },
  { name: 'percent alone is literal', filter: 'userName sw "5"', ids: ['weird'] },
  { name: 'backslash is literal', filter: String.raw`userName ew "\\x"`, ids: ['weird'] },
  {
    name: 'emails.value eq is case-insensitive',
    filter: 'emails.value eq "BJENSEN@example.com"',
    ids: ['bjensen'],
  },
  { name: 'emails eq compares value', filter: 'emails eq "babs@jensen.org"', ids: ['bjensen'] },
  { name: 'emails value path on value', filter: 'emails[value eq "j2@other.com"]', ids: ['jsmith'] },
  { name: 'a non-array emails never matches', filter: 'emails.value eq "weird@example.com"', ids: [] },
  { name: 'emails pr', filter: 'emails pr', ids: ['bjensen', 'jsmith', 'omalley'] },
  { name: 'emails.value pr', filter: 'emails.value pr', ids: ['bjensen', 'jsmith', 'omalley'] },
  { name: 'name pr', filter: 'name pr', ids: ['bjensen', 'omalley'] },
  { name: 'title eq null', filter: 'title eq null', ids: ['jsmith', 'nomail', 'omalley', 'weird'] },
  { name: 'not (title pr)', filter: 'not (title pr)', ids: ['jsmith', 'nomail', 'omalley', 'weird'] },
  { name: 'extension attribute unqualified', filter: 'employeeNumber eq "701984"', ids: ['bjensen'] },
  {
    name: 'extension attribute URN-qualified',
    filter: `${ENTERPRISE_USER_SCHEMA}:department co "operations"`,
    ids: ['bjensen'],
  },
  {
    name: 'manager.value is case-exact',
    filter: `${ENTERPRISE_USER_SCHEMA}:manager.value eq "m1"`,
    ids: ['bjensen'],
  },
  { name: 'manager.value other case', filter: `${ENTERPRISE_USER_SCHEMA}:manager.value eq "M1"`, ids: [] },
  {
    name: 'dateTime eq across offsets',
    filter: 'meta.created eq "2010-01-23T05:56:22+01:00"',
    ids: ['bjensen'],
  },
  { name: 'string gt', filter: 'userName gt "m"', ids: ['nomail'] },
  { name: 'id eq', filter: 'id eq "jsmith"', ids: ['jsmith'] },
];

describe.each([
  { targetName: 'jsonb only', target: jsonOnly },
  { targetName: 'indexed columns', target: indexed },
])('compiled filters select the expected users ($targetName)', ({ target }) => {
  it.each(cases)('$name', async ({ filter, ids }) => {
    expect(await select(filter, target)).toEqual(ids);
  });
});

describe('compiled sorts order users', () => {
  const sorts: { name: string; sortBy: string; target: FilterTarget; ids: string[] }[] = [
    {
      name: 'by userName, case-insensitively',
      sortBy: 'userName',
      target: jsonOnly,
      ids: ['weird', 'bjensen', 'omalley', 'jsmith', 'nomail'],
    },
    {
      name: 'by userName column',
      sortBy: 'userName',
      target: indexed,
      ids: ['weird', 'bjensen', 'omalley', 'jsmith', 'nomail'],
    },
    {
      name: 'by emails: primary else first, unassigned last',
      sortBy: 'emails',
      target: jsonOnly,
      ids: ['bjensen', 'omalley', 'jsmith', 'nomail', 'weird'],
    },
    {
      name: 'by meta.created',
      sortBy: 'meta.created',
      target: jsonOnly,
      ids: ['jsmith', 'bjensen', 'omalley', 'nomail', 'weird'],
    },
    {
      name: 'by active (false before true)',
      sortBy: 'active',
      target: jsonOnly,
      ids: ['omalley', 'bjensen', 'jsmith', 'nomail', 'weird'],
    },
  ];
  it.each(sorts)('$name', async ({ sortBy, target, ids }) => {
    expect(await select('userName pr', target, sortBy)).toEqual(ids);
  });
});

describe('group filters with a membership hook', () => {
  const groups: FilterTarget = {
    schemas: RESOURCE_SCHEMAS.Group,
    jsonColumn: 'g.payload',
    columns: { id: { sql: 'g.id', type: 'string' }, displayname: { sql: 'g.display_name', type: 'string' } },
    custom: {
      'members.value': (comparison) => {
        if (comparison.operator !== 'eq') throw new Error('only eq');
        return `EXISTS (SELECT 1 FROM scim_members m WHERE m.group_id = g.id AND m.member_id = ${comparison.param()})`;
      },
    },
  };
  const groupCases: { name: string; filter: string; ids: string[] }[] = [
    {
      name: 'Entra membership check',
      filter: 'id eq "sales" and members[value eq "jsmith"]',
      ids: ['sales'],
    },
    {
      name: 'Entra membership check, not a member',
      filter: 'id eq "ops" and members[value eq "jsmith"]',
      ids: [],
    },
    { name: 'groups of a member', filter: 'members.value eq "bjensen"', ids: ['ops', 'sales'] },
    { name: 'or of members', filter: 'members[value eq "nobody" or value eq "jsmith"]', ids: ['sales'] },
    { name: 'displayName eq is case-insensitive', filter: 'displayName eq "tour operations"', ids: ['ops'] },
    { name: 'externalId from jsonb', filter: 'externalId eq "00g1"', ids: ['sales'] },
  ];
  it.each(groupCases)('$name', async ({ filter, ids }) => {
    const params: unknown[] = [];
    const where = compileFilter(parseFilter(filter), groups, params);
    const { rows } = await client.query<{ id: string }>(
      `SELECT g.id FROM scim_groups g WHERE ${where} ORDER BY g.id`,
      params,
    );
    expect(rows.map((row) => row.id)).toEqual(ids);
  });
});
