import { describe, expect, it } from 'vitest';
import { parseFilter } from './filter.js';
import {
  equalityConstraints,
  matchesValueFilter,
  parseAndResolvePath,
  parsePath,
  resolvePath,
  type ParsedPath,
} from './path.js';
import { CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, ScimError, type ScimAttribute } from './schema.types.js';
import { RESOURCE_SCHEMAS, coreUserSchema, findAttribute } from './schemas.js';

const userSchemas = RESOURCE_SCHEMAS.User;

function attributeOf(name: string): ScimAttribute {
  const attribute = findAttribute(coreUserSchema.attributes, name);
  if (!attribute) throw new Error(`no attribute ${name}`);
  return attribute;
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

describe('parsePath', () => {
  const cases: { name: string; path: string; expected: Omit<ParsedPath, 'text'> }[] = [
    { name: 'a simple attribute', path: 'userName', expected: { attribute: 'userName' } },
    {
      name: 'a sub-attribute',
      path: 'name.givenName',
      expected: { attribute: 'name', subAttribute: 'givenName' },
    },
    {
      name: 'a URN-qualified attribute (dots in "2.0" do not split)',
      path: `${ENTERPRISE_USER_SCHEMA}:manager`,
      expected: { urn: ENTERPRISE_USER_SCHEMA, attribute: 'manager' },
    },
    {
      name: 'a URN-qualified sub-attribute',
      path: `${ENTERPRISE_USER_SCHEMA}:manager.value`,
      expected: { urn: ENTERPRISE_USER_SCHEMA, attribute: 'manager', subAttribute: 'value' },
    },
    {
      name: 'a value path',
      path: 'emails[type eq "work"]',
      expected: { attribute: 'emails', filterText: 'type eq "work"' },
    },
    {
      name: 'a value path with a sub-attribute',
      path: 'addresses[type eq "work"].streetAddress',
      expected: { attribute: 'addresses', filterText: 'type eq "work"', subAttribute: 'streetAddress' },
    },
    {
      name: 'a "]" and "[" inside a quoted filter string',
      path: 'emails[value eq "a]b[c"].type',
      expected: { attribute: 'emails', filterText: 'value eq "a]b[c"', subAttribute: 'type' },
    },
    {
      name: 'an escaped quote inside a filter string',
      path: String.raw`emails[value eq "a\"]"]`,
      expected: { attribute: 'emails', filterText: String.raw`value eq "a\"]"` },
    },
    {
      name: 'a URN-qualified value path',
      path: `${CORE_USER_SCHEMA}:emails[type eq "work"].value`,
      expected: {
        urn: CORE_USER_SCHEMA,
        attribute: 'emails',
        filterText: 'type eq "work"',
        subAttribute: 'value',
      },
    },
    {
      name: 'the $ref sub-attribute',
      path: 'members.$ref',
      expected: { attribute: 'members', subAttribute: '$ref' },
    },
    { name: 'surrounding whitespace', path: '  userName ', expected: { attribute: 'userName' } },
  ];

  it.each(cases)('parses $name', ({ path, expected }) => {
    expect(parsePath(path)).toEqual({ text: path, ...expected });
  });

  const malformed: { name: string; path: string }[] = [
    { name: 'an empty path', path: '' },
    { name: 'a blank path', path: '   ' },
    { name: 'two sub-attribute levels', path: 'name.givenName.x' },
    { name: 'an empty sub-attribute', path: 'name.' },
    { name: 'a leading dot', path: '.name' },
    { name: 'an unclosed bracket', path: 'emails[type eq "work"' },
    { name: 'a stray closing bracket', path: 'emails]' },
    { name: 'an empty filter', path: 'emails[]' },
    { name: 'text after "]" that is not a sub-attribute', path: 'emails[type eq "work"]value' },
    { name: 'a filter on a sub-attribute', path: 'name.givenName[value eq "x"]' },
    { name: 'a nested value path', path: 'emails[type[value eq "x"]]' },
    { name: 'an attribute starting with a digit', path: '1userName' },
    { name: 'spaces inside a name', path: 'user Name' },
    { name: '__proto__', path: '__proto__' },
    { name: '__proto__ as a sub-attribute', path: 'name.__proto__' },
    { name: 'constructor', path: 'constructor' },
    { name: 'prototype as a sub-attribute', path: 'name.prototype' },
    { name: 'constructor after a value filter', path: 'emails[type eq "work"].constructor' },
    { name: 'a URN without an attribute', path: 'urn:' },
    { name: 'a path over the length limit', path: `a${'b'.repeat(2000)}` },
  ];

  it.each(malformed)('rejects $name with 400 invalidPath', ({ path }) => {
    expect(errorOf(() => parsePath(path))).toEqual({ status: 400, scimType: 'invalidPath' });
  });
});

describe('resolvePath', () => {
  const cases: {
    name: string;
    path: string;
    expected: {
      kind: 'attribute' | 'extension';
      schema: string;
      attribute?: string;
      subAttribute?: string;
      extension?: boolean;
    };
  }[] = [
    {
      name: 'a core attribute, canonically spelled',
      path: 'USERNAME',
      expected: { kind: 'attribute', schema: CORE_USER_SCHEMA, attribute: 'userName', extension: false },
    },
    {
      name: 'a common attribute into the core schema',
      path: 'externalId',
      expected: { kind: 'attribute', schema: CORE_USER_SCHEMA, attribute: 'externalId', extension: false },
    },
    {
      name: 'a sub-attribute case-insensitively',
      path: 'NAME.givenname',
      expected: {
        kind: 'attribute',
        schema: CORE_USER_SCHEMA,
        attribute: 'name',
        subAttribute: 'givenName',
        extension: false,
      },
    },
    {
      name: 'an unqualified extension attribute',
      path: 'department',
      expected: {
        kind: 'attribute',
        schema: ENTERPRISE_USER_SCHEMA,
        attribute: 'department',
        extension: true,
      },
    },
    {
      name: 'a URN-qualified extension attribute with a differently-cased URN',
      path: `${ENTERPRISE_USER_SCHEMA.toUpperCase().replace('URN', 'urn')}:Manager.Value`,
      expected: {
        kind: 'attribute',
        schema: ENTERPRISE_USER_SCHEMA,
        attribute: 'manager',
        subAttribute: 'value',
        extension: true,
      },
    },
    {
      name: 'a URN-qualified core attribute',
      path: `${CORE_USER_SCHEMA}:emails[type eq "work"].value`,
      expected: {
        kind: 'attribute',
        schema: CORE_USER_SCHEMA,
        attribute: 'emails',
        subAttribute: 'value',
        extension: false,
      },
    },
    {
      name: 'a whole extension',
      path: ENTERPRISE_USER_SCHEMA,
      expected: { kind: 'extension', schema: ENTERPRISE_USER_SCHEMA },
    },
  ];

  it.each(cases)('resolves $name', ({ path, expected }) => {
    const resolved = parseAndResolvePath(userSchemas, path);
    expect(resolved.kind).toBe(expected.kind);
    expect(resolved.schema.id).toBe(expected.schema);
    if (resolved.kind === 'attribute') {
      expect(resolved.attribute.name).toBe(expected.attribute);
      expect(resolved.subAttribute?.name).toBe(expected.subAttribute);
      expect(resolved.extension).toBe(expected.extension);
    }
  });

  it('keeps the value filter, parsed', () => {
    const resolved = parseAndResolvePath(userSchemas, 'emails[type eq "work" and value ew "example.com"]');
    expect(resolved.kind === 'attribute' && resolved.filter).toEqual(
      parseFilter('type eq "work" and value ew "example.com"'),
    );
  });

  const rejected: { name: string; path: string; scimType: string }[] = [
    { name: 'an unknown attribute', path: 'favouriteColour', scimType: 'invalidPath' },
    { name: 'an unknown sub-attribute', path: 'name.nickname', scimType: 'invalidPath' },
    { name: 'a sub-attribute of a simple attribute', path: 'userName.value', scimType: 'invalidPath' },
    { name: 'constructor (not an attribute)', path: 'constructor', scimType: 'invalidPath' },
    {
      name: 'an undeclared extension URN',
      path: 'urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge',
      scimType: 'invalidPath',
    },
    {
      name: 'an extension attribute under the wrong URN',
      path: `${CORE_USER_SCHEMA}:department`,
      scimType: 'invalidPath',
    },
    { name: 'the core schema URN as a target', path: CORE_USER_SCHEMA, scimType: 'invalidPath' },
    {
      name: 'a value filter on a single-valued attribute',
      path: 'name[givenName eq "x"]',
      scimType: 'invalidPath',
    },
    {
      name: 'an unknown attribute inside the filter',
      path: 'emails[colour eq "red"]',
      scimType: 'invalidPath',
    },
    {
      name: 'a nested value path inside the filter',
      path: 'emails[type eq "work" and value[x eq "y"]]',
      scimType: 'invalidPath',
    },
    { name: 'a malformed filter', path: 'emails[type eq]', scimType: 'invalidFilter' },
    { name: 'an unknown filter operator', path: 'emails[type is "work"]', scimType: 'invalidFilter' },
    {
      name: 'an ordering comparison on a boolean',
      path: 'emails[primary gt true]',
      scimType: 'invalidFilter',
    },
    { name: 'co with a number', path: 'emails[value co 5]', scimType: 'invalidFilter' },
  ];

  it.each(rejected)('rejects $name with 400 $scimType', ({ path, scimType }) => {
    expect(errorOf(() => resolvePath(userSchemas, parsePath(path)))).toEqual({ status: 400, scimType });
  });
});

describe('matchesValueFilter', () => {
  const emails = attributeOf('emails');
  const cases: { name: string; filter: string; element: unknown; expected: boolean }[] = [
    {
      name: 'eq on a string, case-insensitively',
      filter: 'type eq "WORK"',
      element: { type: 'work' },
      expected: true,
    },
    { name: 'eq mismatch', filter: 'type eq "home"', element: { type: 'work' }, expected: false },
    { name: 'ne', filter: 'type ne "home"', element: { type: 'work' }, expected: true },
    { name: 'ne on an absent sub-attribute', filter: 'type ne "home"', element: {}, expected: true },
    { name: 'eq on an absent sub-attribute', filter: 'type eq "home"', element: {}, expected: false },
    { name: 'co', filter: 'value co "@EXAMPLE"', element: { value: 'a@example.com' }, expected: true },
    { name: 'sw', filter: 'value sw "a@"', element: { value: 'a@example.com' }, expected: true },
    { name: 'ew', filter: 'value ew "example.com"', element: { value: 'a@example.com' }, expected: true },
    {
      name: 'ew mismatch',
      filter: 'value ew "example.org"',
      element: { value: 'a@example.com' },
      expected: false,
    },
    { name: 'gt on strings', filter: 'value gt "a"', element: { value: 'b' }, expected: true },
    { name: 'le on strings', filter: 'value le "a"', element: { value: 'b' }, expected: false },
    { name: 'pr', filter: 'value pr', element: { value: 'x' }, expected: true },
    { name: 'pr on an empty string', filter: 'value pr', element: { value: '' }, expected: false },
    { name: 'eq on a boolean', filter: 'primary eq true', element: { primary: true }, expected: true },
    { name: 'eq false on an absent boolean', filter: 'primary eq false', element: {}, expected: false },
    { name: 'eq null on an absent value', filter: 'display eq null', element: {}, expected: true },
    {
      name: 'ne null on a present value',
      filter: 'display ne null',
      element: { display: 'x' },
      expected: true,
    },
    {
      name: 'and',
      filter: 'type eq "work" and value ew "example.com"',
      element: { type: 'work', value: 'a@example.com' },
      expected: true,
    },
    {
      name: 'and with one side false',
      filter: 'type eq "work" and value ew "example.com"',
      element: { type: 'home', value: 'a@example.com' },
      expected: false,
    },
    { name: 'or', filter: 'type eq "home" or type eq "work"', element: { type: 'work' }, expected: true },
    { name: 'not', filter: 'not (type eq "work")', element: { type: 'work' }, expected: false },
    {
      name: 'sub-attribute names case-insensitively',
      filter: 'TYPE eq "work"',
      element: { type: 'work' },
      expected: true,
    },
    { name: 'a non-object element', filter: 'type eq "work"', element: 'work', expected: false },
  ];

  it.each(cases)('evaluates $name', ({ filter, element, expected }) => {
    expect(matchesValueFilter(emails, parseFilter(filter), element)).toBe(expected);
  });

  it('compares caseExact sub-attributes exactly', () => {
    const members = findAttribute(RESOURCE_SCHEMAS.Group[0]!.attributes, 'members')!;
    expect(matchesValueFilter(members, parseFilter('value eq "ABC"'), { value: 'abc' })).toBe(false);
    expect(matchesValueFilter(members, parseFilter('value eq "abc"'), { value: 'abc' })).toBe(true);
  });

  it('compares dateTimes chronologically', () => {
    const attribute: ScimAttribute = {
      ...emails,
      subAttributes: [{ ...emails.subAttributes![0]!, name: 'since', type: 'dateTime' }],
    };
    const element = { since: '2024-01-01T10:00:00+02:00' };
    expect(matchesValueFilter(attribute, parseFilter('since gt "2024-01-01T07:59:59Z"'), element)).toBe(true);
    expect(matchesValueFilter(attribute, parseFilter('since gt "2024-01-01T08:00:00Z"'), element)).toBe(
      false,
    );
  });
});

describe('equalityConstraints', () => {
  const emails = attributeOf('emails');
  const cases: { name: string; filter: string; expected: Record<string, unknown> | undefined }[] = [
    { name: 'a single equality', filter: 'type eq "work"', expected: { type: 'work' } },
    {
      name: 'equalities joined by and',
      filter: 'type eq "work" and primary eq true',
      expected: { type: 'work', primary: true },
    },
    { name: 'no constraints from or', filter: 'type eq "work" or type eq "home"', expected: undefined },
    {
      name: 'no constraints from ew',
      filter: 'type eq "work" and value ew "example.com"',
      expected: undefined,
    },
    { name: 'no constraints from eq null', filter: 'type eq null', expected: undefined },
    {
      name: 'no constraints from a repeated name',
      filter: 'type eq "work" and type eq "home"',
      expected: undefined,
    },
  ];

  it.each(cases)('derives $name', ({ filter, expected }) => {
    const constraints = equalityConstraints(emails, parseFilter(filter));
    expect(constraints && Object.fromEntries(constraints.map((c) => [c.attribute.name, c.value]))).toEqual(
      expected,
    );
  });
});
