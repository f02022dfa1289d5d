import { describe, expect, it } from 'vitest';
import { parseFilter } from './filter.js';
import { compileFilter, compileSort, type CustomComparison, type FilterTarget } from './filter-sql.js';
import { ENTERPRISE_USER_SCHEMA, ScimError } from './schema.types.js';
import { RESOURCE_SCHEMAS } from './schemas.js';

const P = 'u.payload';
const ENT = `${P}->'${ENTERPRISE_USER_SCHEMA}'`;

/** `EXISTS (… jsonb_array_elements(guarded json) AS alias WHERE` — closed by the caller. */
const elementsOf = (json: string, alias: string) =>
  `EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(${json}) = 'array' THEN ${json} ELSE '[]'::jsonb END) AS ${alias} WHERE `;
const present = (json: string) => `COALESCE(${json} NOT IN ('null', '""', '[]', '{}'), false)`;

/** The resource only as jsonb. */
const jsonUsers: FilterTarget = { schemas: RESOURCE_SCHEMAS.User, jsonColumn: P };

/** Hot attributes in indexed columns, as the directory stores them. */
const indexedUsers: FilterTarget = {
  schemas: RESOURCE_SCHEMAS.User,
  jsonColumn: P,
  columns: {
    id: { sql: 'u.id', type: 'string', caseExact: true },
    username: { sql: 'u.user_name', type: 'string', caseExact: false },
    externalId: { sql: 'u.external_id', type: 'string' }, // keys are matched case-insensitively
    displayname: { sql: 'u.display_name', type: 'string' },
    active: { sql: 'u.active', type: 'boolean' },
    'meta.created': { sql: 'u.created_at', type: 'dateTime' },
    'meta.lastmodified': { sql: 'u.updated_at', type: 'dateTime' },
    'emails.value': { multiValuedTextArraySql: 'ib_email_values(u.payload)' },
  },
};

const membershipSql = (param: string) =>
  `EXISTS (SELECT 1 FROM memberships m WHERE m.group_id = g.id AND m.member_id = ${param})`;
/** The compiler parenthesizes what a hook returns. */
const membership = (param: string) => `(${membershipSql(param)})`;

/** Groups whose members live in their own table. */
const groups: FilterTarget = {
  schemas: RESOURCE_SCHEMAS.Group,
  jsonColumn: 'g.payload',
  columns: { id: { sql: 'g.id', type: 'string' }, displayname: { sql: 'g.display_name', type: 'string' } },
  custom: {
    members: () => 'EXISTS (SELECT 1 FROM memberships m WHERE m.group_id = g.id)',
    'members.value': (comparison: CustomComparison) => {
      if (comparison.operator !== 'eq') {
        throw new ScimError(400, 'invalidFilter', 'members.value supports only eq');
      }
      if (comparison.value === 'not-an-id') return 'FALSE';
      return membershipSql(comparison.param());
    },
  },
};

interface Row {
  name: string;
  filter: string;
  target?: FilterTarget;
  sql: string;
  params: unknown[];
}

function run({ filter, target, sql, params }: Row) {
  const bound: unknown[] = [];
  expect(compileFilter(parseFilter(filter), target ?? jsonUsers, bound)).toBe(sql);
  expect(bound).toEqual(params);
}

describe('compileFilter: RFC 7644 §3.4.2.2 examples over jsonb', () => {
  const ts = (op: string) => `(${P}->'meta'->>'lastModified')::timestamptz ${op} $1::timestamptz`;
  const emailsValueCo = (alias: string, param: string) =>
    `${elementsOf(`${P}->'emails'`, alias)}lower(${alias}->>'value') LIKE lower(${param}))`;
  const rows: Row[] = [
    {
      name: 'equality is case-insensitive for userName',
      filter: 'userName eq "bjensen"',
      sql: `lower(${P}->>'userName') = lower($1)`,
      params: ['bjensen'],
    },
    {
      name: 'contains binds a LIKE pattern',
      filter: `name.familyName co "O'Malley"`,
      sql: `lower(${P}->'name'->>'familyName') LIKE lower($1)`,
      params: ["%O'Malley%"],
    },
    {
      name: 'starts with',
      filter: 'userName sw "J"',
      sql: `lower(${P}->>'userName') LIKE lower($1)`,
      params: ['J%'],
    },
    {
      name: 'URN-qualified core attribute',
      filter: 'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"',
      sql: `lower(${P}->>'userName') LIKE lower($1)`,
      params: ['J%'],
    },
    { name: 'present', filter: 'title pr', sql: present(`${P}->'title'`), params: [] },
    {
      name: 'dateTime greater than',
      filter: 'meta.lastModified gt "2011-05-13T04:42:34Z"',
      sql: ts('>'),
      params: ['2011-05-13T04:42:34Z'],
    },
    {
      name: 'dateTime greater or equal',
      filter: 'meta.lastModified ge "2011-05-13T04:42:34Z"',
      sql: ts('>='),
      params: ['2011-05-13T04:42:34Z'],
    },
    {
      name: 'dateTime less than',
      filter: 'meta.lastModified lt "2011-05-13T04:42:34Z"',
      sql: ts('<'),
      params: ['2011-05-13T04:42:34Z'],
    },
    {
      name: 'dateTime less or equal',
      filter: 'meta.lastModified le "2011-05-13T04:42:34Z"',
      sql: ts('<='),
      params: ['2011-05-13T04:42:34Z'],
    },
    {
      name: 'present and equal',
      filter: 'title pr and userType eq "Employee"',
      sql: `(${present(`${P}->'title'`)} AND lower(${P}->>'userType') = lower($1))`,
      params: ['Employee'],
    },
    {
      name: 'present or equal',
      filter: 'title pr or userType eq "Intern"',
      sql: `(${present(`${P}->'title'`)} OR lower(${P}->>'userType') = lower($1))`,
      params: ['Intern'],
    },
    {
      name: 'schemas contains an extension URN',
      filter: `schemas eq "${ENTERPRISE_USER_SCHEMA}"`,
      sql: `${elementsOf(`${P}->'schemas'`, 'el1')}lower(el1 #>> '{}') = lower($1))`,
      params: [ENTERPRISE_USER_SCHEMA],
    },
    {
      name: 'multi-valued attribute without sub-attribute compares value',
      filter: 'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
      sql: `(lower(${P}->>'userType') = lower($1) AND (${emailsValueCo('el1', '$2')} OR ${emailsValueCo('el2', '$3')}))`,
      params: ['Employee', '%example.com%', '%example.org%'],
    },
    {
      name: 'not is null-safe and ne matches unassigned',
      filter: 'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
      sql: `(lower(${P}->>'userType') IS DISTINCT FROM lower($1) AND NOT COALESCE((${emailsValueCo('el1', '$2')} OR ${emailsValueCo('el2', '$3')}), false))`,
      params: ['Employee', '%example.com%', '%example.org%'],
    },
    {
      name: 'sub-attribute of a multi-valued attribute matches any element',
      filter: 'userType eq "Employee" and (emails.type eq "work")',
      sql: `(lower(${P}->>'userType') = lower($1) AND ${elementsOf(`${P}->'emails'`, 'el1')}lower(el1->>'type') = lower($2)))`,
      params: ['Employee', 'work'],
    },
    {
      name: 'value path with and matches within one element',
      filter: 'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
      sql: `(lower(${P}->>'userType') = lower($1) AND ${elementsOf(`${P}->'emails'`, 'el1')}(lower(el1->>'type') = lower($2) AND lower(el1->>'value') LIKE lower($3))))`,
      params: ['Employee', 'work', '%@example.com%'],
    },
    {
      name: 'or of two value paths',
      filter:
        'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
      sql: `(${elementsOf(`${P}->'emails'`, 'el1')}(lower(el1->>'type') = lower($1) AND lower(el1->>'value') LIKE lower($2))) OR ${elementsOf(`${P}->'ims'`, 'el2')}(lower(el2->>'type') = lower($3) AND lower(el2->>'value') LIKE lower($4))))`,
      params: ['work', '%@example.com%', 'xmpp', '%@foo.com%'],
    },
  ];
  it.each(rows)('$name', run);
});

describe('compileFilter: types, extensions and case rules over jsonb', () => {
  const rows: Row[] = [
    {
      name: 'attribute names and operators are case-insensitive',
      filter: 'USERNAME EQ "x"',
      sql: `lower(${P}->>'userName') = lower($1)`,
      params: ['x'],
    },
    {
      name: 'externalId is case-exact',
      filter: 'externalId eq "X"',
      sql: `${P}->>'externalId' = $1`,
      params: ['X'],
    },
    { name: 'id is case-exact', filter: 'id eq "A1"', sql: `${P}->>'id' = $1`, params: ['A1'] },
    {
      name: 'boolean compares as jsonb',
      filter: 'active eq true',
      sql: `${P}->'active' = $1::jsonb`,
      params: ['true'],
    },
    {
      name: 'boolean ne is null-safe',
      filter: 'active ne False',
      sql: `${P}->'active' IS DISTINCT FROM $1::jsonb`,
      params: ['false'],
    },
    {
      name: 'quoted boolean is accepted',
      filter: 'active eq "True"',
      sql: `${P}->'active' = $1::jsonb`,
      params: ['true'],
    },
    {
      name: 'string ordering is lexicographic and case-folded',
      filter: 'userName gt "m"',
      sql: `lower(${P}->>'userName') > lower($1)`,
      params: ['m'],
    },
    {
      name: 'dateTime equality is chronological',
      filter: 'meta.created eq "2011-05-13T04:42:34.5+02:00"',
      sql: `(${P}->'meta'->>'created')::timestamptz = $1::timestamptz`,
      params: ['2011-05-13T04:42:34.5+02:00'],
    },
    {
      name: 'LIKE wildcards in the value are escaped',
      filter: String.raw`userName co "50%_a\\b"`,
      sql: `lower(${P}->>'userName') LIKE lower($1)`,
      params: [String.raw`%50\%\_a\\b%`],
    },
    {
      name: 'ends with',
      filter: 'userName ew "@example.com"',
      sql: `lower(${P}->>'userName') LIKE lower($1)`,
      params: ['%@example.com'],
    },
    {
      name: 'eq null means unassigned',
      filter: 'title eq null',
      sql: `NOT ${present(`${P}->'title'`)}`,
      params: [],
    },
    { name: 'ne null means assigned', filter: 'title ne null', sql: present(`${P}->'title'`), params: [] },
    {
      name: 'unqualified extension attribute reads under the URN key',
      filter: 'employeeNumber eq "701984"',
      sql: `lower(${ENT}->>'employeeNumber') = lower($1)`,
      params: ['701984'],
    },
    {
      name: 'URN-qualified extension attribute',
      filter: `${ENTERPRISE_USER_SCHEMA}:department eq "Tour Operations"`,
      sql: `lower(${ENT}->>'department') = lower($1)`,
      params: ['Tour Operations'],
    },
    {
      name: 'URN-qualified extension sub-attribute (case-exact manager id)',
      filter: `${ENTERPRISE_USER_SCHEMA}:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`,
      sql: `${ENT}->'manager'->>'value' = $1`,
      params: ['26118915-6090-4610-87e4-49d8ca9f808d'],
    },
    {
      name: 'value path on a singular complex attribute reads its sub-attributes',
      filter: `${ENTERPRISE_USER_SCHEMA}:manager[value eq "m1" and displayName pr]`,
      sql: `(${ENT}->'manager'->>'value' = $1 AND ${present(`${ENT}->'manager'->'displayName'`)})`,
      params: ['m1'],
    },
    {
      name: 'URN-qualified core sub-attribute',
      filter: 'urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "Barbara"',
      sql: `lower(${P}->'name'->>'givenName') = lower($1)`,
      params: ['Barbara'],
    },
    {
      name: 'multi-valued present means some element is assigned',
      filter: 'emails pr',
      sql: `${elementsOf(`${P}->'emails'`, 'el1')}${present('el1')})`,
      params: [],
    },
    { name: 'complex present', filter: 'name pr', sql: present(`${P}->'name'`), params: [] },
    {
      name: 'sub-attribute of a multi-valued attribute present',
      filter: 'emails.value pr',
      sql: `${elementsOf(`${P}->'emails'`, 'el1')}${present(`el1->'value'`)})`,
      params: [],
    },
    {
      name: 'single-condition value path',
      filter: 'emails[type eq "work"]',
      sql: `${elementsOf(`${P}->'emails'`, 'el1')}lower(el1->>'type') = lower($1))`,
      params: ['work'],
    },
    {
      name: 'not inside a value path negates per element',
      filter: 'emails[not (type eq "work")]',
      sql: `${elementsOf(`${P}->'emails'`, 'el1')}NOT COALESCE(lower(el1->>'type') = lower($1), false))`,
      params: ['work'],
    },
    {
      name: 'null inside a value path tests one element',
      filter: 'emails[type eq null]',
      sql: `${elementsOf(`${P}->'emails'`, 'el1')}NOT ${present(`el1->'type'`)})`,
      params: [],
    },
    {
      name: 'boolean sub-attribute inside a value path',
      filter: 'emails[primary eq true and value ew "@example.com"]',
      sql: `${elementsOf(`${P}->'emails'`, 'el1')}(el1->'primary' = $1::jsonb AND lower(el1->>'value') LIKE lower($2)))`,
      params: ['true', '%@example.com'],
    },
    {
      name: 'readOnly groups are filterable',
      filter: 'groups.value eq "g1"',
      sql: `${elementsOf(`${P}->'groups'`, 'el1')}lower(el1->>'value') = lower($1))`,
      params: ['g1'],
    },
  ];
  it.each(rows)('$name', run);

  it('continues numbering after existing parameters', () => {
    const params: unknown[] = ['tenant-1'];
    expect(compileFilter(parseFilter('userName eq "x"'), jsonUsers, params)).toBe(
      `lower(${P}->>'userName') = lower($2)`,
    );
    expect(params).toEqual(['tenant-1', 'x']);
  });
});

describe('compileFilter: indexed column overrides', () => {
  const emailArray = 'ib_email_values(u.payload)';
  const rows: Row[] = [
    {
      name: 'case-insensitive column uses lower() on both sides (lower index)',
      filter: 'userName eq "Alice@Example.com"',
      target: indexedUsers,
      sql: 'lower(u.user_name) = lower($1)',
      params: ['Alice@Example.com'],
    },
    {
      name: 'case-exact column defaults from the schema',
      filter: 'externalId eq "abc"',
      target: indexedUsers,
      sql: 'u.external_id = $1',
      params: ['abc'],
    },
    { name: 'id column', filter: 'id eq "u1"', target: indexedUsers, sql: 'u.id = $1', params: ['u1'] },
    {
      name: 'dateTime column casts only the parameter',
      filter: 'meta.lastModified gt "2024-01-01T00:00:00Z"',
      target: indexedUsers,
      sql: 'u.updated_at > $1::timestamptz',
      params: ['2024-01-01T00:00:00Z'],
    },
    {
      name: 'boolean column',
      filter: 'active eq false',
      target: indexedUsers,
      sql: 'u.active = $1',
      params: [false],
    },
    {
      name: 'boolean column ne',
      filter: 'active ne true',
      target: indexedUsers,
      sql: 'u.active IS DISTINCT FROM $1',
      params: [true],
    },
    {
      name: 'string column present',
      filter: 'userName pr',
      target: indexedUsers,
      sql: "(u.user_name IS NOT NULL AND u.user_name <> '')",
      params: [],
    },
    {
      name: 'dateTime column present',
      filter: 'meta.created pr',
      target: indexedUsers,
      sql: 'u.created_at IS NOT NULL',
      params: [],
    },
    {
      name: 'emails.value eq uses the text array containment (GIN)',
      filter: 'emails.value eq "a@x.com"',
      target: indexedUsers,
      sql: `${emailArray} @> ARRAY[lower($1)]`,
      params: ['a@x.com'],
    },
    {
      name: 'emails eq compares value through the text array',
      filter: 'emails eq "a@x.com"',
      target: indexedUsers,
      sql: `${emailArray} @> ARRAY[lower($1)]`,
      params: ['a@x.com'],
    },
    {
      name: 'single-condition value path on value uses the text array',
      filter: 'emails[value eq "a@x.com"]',
      target: indexedUsers,
      sql: `${emailArray} @> ARRAY[lower($1)]`,
      params: ['a@x.com'],
    },
    {
      name: 'other operators scan the text array',
      filter: 'emails co "@x.com"',
      target: indexedUsers,
      sql: `EXISTS (SELECT 1 FROM unnest(${emailArray}) AS el1 WHERE lower(el1) LIKE lower($1))`,
      params: ['%@x.com%'],
    },
    {
      name: 'present on the text array',
      filter: 'emails.value pr',
      target: indexedUsers,
      sql: `cardinality(${emailArray}) > 0`,
      params: [],
    },
    {
      name: 'value path with and reads jsonb elements for same-element semantics',
      filter: 'emails[type eq "work" and value eq "a@x.com"]',
      target: indexedUsers,
      sql: `${elementsOf(`${P}->'emails'`, 'el1')}(lower(el1->>'type') = lower($1) AND lower(el1->>'value') = lower($2)))`,
      params: ['work', 'a@x.com'],
    },
    {
      name: 'attributes without an override still read jsonb',
      filter: 'userName eq "a" and title eq "b"',
      target: indexedUsers,
      sql: `(lower(u.user_name) = lower($1) AND lower(${P}->>'title') = lower($2))`,
      params: ['a', 'b'],
    },
  ];
  it.each(rows)('$name', run);
});

describe('compileFilter: groups with a custom membership hook (Entra / Okta)', () => {
  const rows: Row[] = [
    {
      name: 'Entra membership check',
      filter: 'id eq "g1" and members[value eq "u1"]',
      target: groups,
      sql: `(g.id = $1 AND ${membership('$2')})`,
      params: ['g1', 'u1'],
    },
    {
      name: 'members.value eq',
      filter: 'members.value eq "u1"',
      target: groups,
      sql: membership('$1'),
      params: ['u1'],
    },
    {
      name: 'members eq compares value',
      filter: 'members eq "u1"',
      target: groups,
      sql: membership('$1'),
      params: ['u1'],
    },
    {
      name: 'or inside the value path distributes over the hook',
      filter: 'members[value eq "u1" or value eq "u2"]',
      target: groups,
      sql: `(${membership('$1')} OR ${membership('$2')})`,
      params: ['u1', 'u2'],
    },
    {
      name: 'members pr uses the hook for members',
      filter: 'members pr',
      target: groups,
      sql: '(EXISTS (SELECT 1 FROM memberships m WHERE m.group_id = g.id))',
      params: [],
    },
    {
      name: 'a hook that does not use its parameter binds none',
      filter: 'members[value eq "not-an-id"]',
      target: groups,
      sql: '(FALSE)',
      params: [],
    },
    {
      name: 'Okta/Entra displayName lookup is case-insensitive',
      filter: 'displayName eq "Sales"',
      target: groups,
      sql: 'lower(g.display_name) = lower($1)',
      params: ['Sales'],
    },
    {
      name: 'Okta externalId lookup on groups',
      filter: 'externalId eq "00g1"',
      target: groups,
      sql: "g.payload->>'externalId' = $1",
      params: ['00g1'],
    },
  ];
  it.each(rows)('$name', run);
});

describe('compileFilter: rejected filters are invalidFilter', () => {
  const rows: { name: string; filter: string; target?: FilterTarget; message: RegExp }[] = [
    {
      name: 'unknown attribute',
      filter: 'shoeSize eq "x"',
      message: /^Unknown attribute "shoeSize" in filter$/,
    },
    { name: 'unknown sub-attribute', filter: 'name.shoe eq "x"', message: /Unknown attribute "name.shoe"/ },
    {
      name: 'unknown sub-attribute in a value path',
      filter: 'emails[shoe eq "x"]',
      message: /Unknown attribute "emails.shoe"/,
    },
    {
      name: 'unknown extension URN',
      filter: 'urn:example:ext:1.0:User:x eq "y"',
      message: /Unknown attribute/,
    },
    {
      name: 'user attribute on a group',
      filter: 'userName eq "x"',
      target: groups,
      message: /Unknown attribute "userName"/,
    },
    {
      name: 'password is never filterable',
      filter: 'password eq "secret"',
      message: /cannot be used in filter/,
    },
    {
      name: 'gt on boolean',
      filter: 'active gt true',
      message: /"gt" is not valid for boolean attribute "active"/,
    },
    { name: 'co on boolean', filter: 'active co "t"', message: /"co" is not valid for boolean/ },
    {
      name: 'boolean compared with a word',
      filter: 'active eq "yes"',
      message: /compare it with true or false/,
    },
    { name: 'co on dateTime', filter: 'meta.created co "2011"', message: /"co" is not valid for dateTime/ },
    { name: 'malformed dateTime', filter: 'meta.created gt "yesterday"', message: /is a dateTime/ },
    {
      name: 'impossible dateTime',
      filter: 'meta.created gt "2011-02-30T00:00:00Z"',
      message: /is a dateTime/,
    },
    { name: 'number on a string attribute', filter: 'userName eq 5', message: /is a string/ },
    {
      name: 'string on a boolean inside a value path',
      filter: 'emails[primary eq "x"]',
      message: /is a boolean/,
    },
    { name: 'gt with null', filter: 'title gt null', message: /cannot compare "title" with null/ },
    { name: 'singular complex without sub-attribute', filter: 'name eq "x"', message: /"name" is complex/ },
    {
      name: 'value path on a simple attribute',
      filter: 'userName[value eq "x"]',
      message: /needs a complex attribute/,
    },
    {
      name: 'and inside a hooked value path (same-element semantics not guaranteed)',
      filter: 'members[value eq "u1" and type eq "User"]',
      target: groups,
      message: /can combine conditions on "value" only with "or"/,
    },
    {
      name: 'operator the hook rejects',
      filter: 'members.value co "u"',
      target: groups,
      message: /supports only eq/,
    },
  ];

  it.each(rows)('$name', ({ filter, target, message }) => {
    const params: unknown[] = [];
    let error: unknown;
    try {
      compileFilter(parseFilter(filter), target ?? jsonUsers, params);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ScimError);
    expect(error).toMatchObject({ status: 400, scimType: 'invalidFilter' });
    expect((error as Error).message).toMatch(message);
  });
});

describe('compileSort', () => {
  const rows: { name: string; sortBy: string; sortOrder?: string; target?: FilterTarget; sql: string }[] = [
    {
      name: 'case-insensitive string sorts lower-cased',
      sortBy: 'userName',
      sql: `lower(${P}->>'userName') ASC`,
    },
    { name: 'case-exact string sorts as is', sortBy: 'externalId', sql: `${P}->>'externalId' ASC` },
    {
      name: 'descending',
      sortBy: 'name.familyName',
      sortOrder: 'descending',
      sql: `lower(${P}->'name'->>'familyName') DESC`,
    },
    {
      name: 'sortOrder is case-insensitive',
      sortBy: 'userName',
      sortOrder: 'Descending',
      sql: `lower(${P}->>'userName') DESC`,
    },
    {
      name: 'dateTime sorts chronologically',
      sortBy: 'meta.created',
      sql: `(${P}->'meta'->>'created')::timestamptz ASC`,
    },
    {
      name: 'boolean sorts as boolean',
      sortBy: 'active',
      sql: `(CASE WHEN jsonb_typeof(${P}->'active') = 'boolean' THEN (${P}->'active')::boolean END) ASC`,
    },
    {
      name: 'extension attribute',
      sortBy: `${ENTERPRISE_USER_SCHEMA}:employeeNumber`,
      sql: `lower(${ENT}->>'employeeNumber') ASC`,
    },
    {
      name: 'multi-valued sorts by the primary value, else the first',
      sortBy: 'emails',
      sql: `(SELECT lower(sort_el.value->>'value') FROM jsonb_array_elements(CASE WHEN jsonb_typeof(${P}->'emails') = 'array' THEN ${P}->'emails' ELSE '[]'::jsonb END) WITH ORDINALITY AS sort_el(value, ordinal) ORDER BY COALESCE(sort_el.value->'primary' = 'true'::jsonb, false) DESC, sort_el.ordinal LIMIT 1) ASC`,
    },
    {
      name: 'indexed column, case-insensitive',
      sortBy: 'userName',
      target: indexedUsers,
      sql: 'lower(u.user_name) ASC',
    },
    {
      name: 'indexed dateTime column',
      sortBy: 'meta.lastModified',
      sortOrder: 'descending',
      target: indexedUsers,
      sql: 'u.updated_at DESC',
    },
  ];
  it.each(rows)('$name', ({ sortBy, sortOrder, target, sql }) => {
    expect(compileSort(sortBy, target ?? jsonUsers, sortOrder)).toBe(sql);
  });

  const errors: { name: string; sortBy: string; sortOrder?: string; message: RegExp }[] = [
    { name: 'unknown attribute', sortBy: 'shoeSize', message: /^Unknown attribute "shoeSize" in sortBy$/ },
    { name: 'password', sortBy: 'password', message: /cannot be used in sortBy/ },
    { name: 'singular complex attribute', sortBy: 'name', message: /"name" is complex/ },
    { name: 'unknown sortOrder', sortBy: 'userName', sortOrder: 'up', message: /sortOrder must be/ },
  ];
  it.each(errors)('rejects $name as invalidValue', ({ sortBy, sortOrder, message }) => {
    expect(() => compileSort(sortBy, jsonUsers, sortOrder)).toThrow(message);
    try {
      compileSort(sortBy, jsonUsers, sortOrder);
    } catch (error) {
      expect(error).toMatchObject({ status: 400, scimType: 'invalidValue' });
    }
  });
});

describe('compileFilter: hook output cannot change precedence', () => {
  it('parenthesizes an OR returned by a hook', () => {
    const target: FilterTarget = { ...groups, custom: { 'members.value': () => 'a OR b' } };
    const params: unknown[] = [];
    expect(compileFilter(parseFilter('displayName eq "x" and not (members eq "y")'), target, params)).toBe(
      '(lower(g.display_name) = lower($1) AND NOT COALESCE((a OR b), false))',
    );
    expect(params).toEqual(['x']);
  });
});
