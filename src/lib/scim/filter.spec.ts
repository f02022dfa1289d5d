import { describe, expect, it } from 'vitest';
import { FILTER_LIMITS, formatFilter, parseFilter, type FilterAst } from './filter.js';
import { ScimError } from './schema.types.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const eq = (attribute: string, value: string | number | boolean | null): FilterAst => ({
  type: 'compare',
  attribute,
  operator: 'eq',
  value,
});

describe('parseFilter: RFC 7644 §3.4.2.2 examples', () => {
  const cases: { name: string; filter: string; ast: FilterAst }[] = [
    { name: 'equality on userName', filter: 'userName eq "bjensen"', ast: eq('userName', 'bjensen') },
    {
      name: 'contains on a sub-attribute with an apostrophe',
      filter: `name.familyName co "O'Malley"`,
      ast: { type: 'compare', attribute: 'name.familyName', operator: 'co', value: "O'Malley" },
    },
    {
      name: 'starts with',
      filter: 'userName sw "J"',
      ast: { type: 'compare', attribute: 'userName', operator: 'sw', value: 'J' },
    },
    {
      name: 'URN-qualified core attribute',
      filter: 'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"',
      ast: {
        type: 'compare',
        attribute: 'urn:ietf:params:scim:schemas:core:2.0:User:userName',
        operator: 'sw',
        value: 'J',
      },
    },
    { name: 'present', filter: 'title pr', ast: { type: 'present', attribute: 'title' } },
    {
      name: 'greater than a dateTime',
      filter: 'meta.lastModified gt "2011-05-13T04:42:34Z"',
      ast: { type: 'compare', attribute: 'meta.lastModified', operator: 'gt', value: '2011-05-13T04:42:34Z' },
    },
    {
      name: 'greater or equal to a dateTime',
      filter: 'meta.lastModified ge "2011-05-13T04:42:34Z"',
      ast: { type: 'compare', attribute: 'meta.lastModified', operator: 'ge', value: '2011-05-13T04:42:34Z' },
    },
    {
      name: 'less than a dateTime',
      filter: 'meta.lastModified lt "2011-05-13T04:42:34Z"',
      ast: { type: 'compare', attribute: 'meta.lastModified', operator: 'lt', value: '2011-05-13T04:42:34Z' },
    },
    {
      name: 'less or equal to a dateTime',
      filter: 'meta.lastModified le "2011-05-13T04:42:34Z"',
      ast: { type: 'compare', attribute: 'meta.lastModified', operator: 'le', value: '2011-05-13T04:42:34Z' },
    },
    {
      name: 'present and equal',
      filter: 'title pr and userType eq "Employee"',
      ast: { type: 'and', filters: [{ type: 'present', attribute: 'title' }, eq('userType', 'Employee')] },
    },
    {
      name: 'present or equal',
      filter: 'title pr or userType eq "Intern"',
      ast: { type: 'or', filters: [{ type: 'present', attribute: 'title' }, eq('userType', 'Intern')] },
    },
    {
      name: 'schemas equal to an extension URN',
      filter: `schemas eq "${ENTERPRISE}"`,
      ast: eq('schemas', ENTERPRISE),
    },
    {
      name: 'and with a parenthesized or',
      filter: 'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
      ast: {
        type: 'and',
        filters: [
          eq('userType', 'Employee'),
          {
            type: 'or',
            filters: [
              { type: 'compare', attribute: 'emails', operator: 'co', value: 'example.com' },
              { type: 'compare', attribute: 'emails.value', operator: 'co', value: 'example.org' },
            ],
          },
        ],
      },
    },
    {
      name: 'not equal and not of a group',
      filter: 'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
      ast: {
        type: 'and',
        filters: [
          { type: 'compare', attribute: 'userType', operator: 'ne', value: 'Employee' },
          {
            type: 'not',
            filter: {
              type: 'or',
              filters: [
                { type: 'compare', attribute: 'emails', operator: 'co', value: 'example.com' },
                { type: 'compare', attribute: 'emails.value', operator: 'co', value: 'example.org' },
              ],
            },
          },
        ],
      },
    },
    {
      name: 'and with a parenthesized single expression',
      filter: 'userType eq "Employee" and (emails.type eq "work")',
      ast: { type: 'and', filters: [eq('userType', 'Employee'), eq('emails.type', 'work')] },
    },
    {
      name: 'and with a value path containing and',
      filter: 'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
      ast: {
        type: 'and',
        filters: [
          eq('userType', 'Employee'),
          {
            type: 'valuePath',
            attribute: 'emails',
            filter: {
              type: 'and',
              filters: [
                eq('type', 'work'),
                { type: 'compare', attribute: 'value', operator: 'co', value: '@example.com' },
              ],
            },
          },
        ],
      },
    },
    {
      name: 'or of two value paths',
      filter:
        'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
      ast: {
        type: 'or',
        filters: [
          {
            type: 'valuePath',
            attribute: 'emails',
            filter: {
              type: 'and',
              filters: [
                eq('type', 'work'),
                { type: 'compare', attribute: 'value', operator: 'co', value: '@example.com' },
              ],
            },
          },
          {
            type: 'valuePath',
            attribute: 'ims',
            filter: {
              type: 'and',
              filters: [
                eq('type', 'xmpp'),
                { type: 'compare', attribute: 'value', operator: 'co', value: '@foo.com' },
              ],
            },
          },
        ],
      },
    },
  ];

  it.each(cases)('$name', ({ filter, ast }) => {
    expect(parseFilter(filter)).toEqual(ast);
  });
});

describe('parseFilter: identity provider dialects', () => {
  const cases: { name: string; filter: string; ast: FilterAst }[] = [
    {
      name: 'Entra/Okta userName lookup',
      filter: 'userName eq "alice@example.com"',
      ast: eq('userName', 'alice@example.com'),
    },
    {
      name: 'Entra externalId lookup',
      filter: 'externalId eq "0a1b-2c3d"',
      ast: eq('externalId', '0a1b-2c3d'),
    },
    {
      name: 'Entra/Okta group displayName lookup',
      filter: 'displayName eq "Sales"',
      ast: eq('displayName', 'Sales'),
    },
    {
      name: 'Entra membership check',
      filter: 'id eq "g1" and members[value eq "u1"]',
      ast: {
        type: 'and',
        filters: [eq('id', 'g1'), { type: 'valuePath', attribute: 'members', filter: eq('value', 'u1') }],
      },
    },
    {
      name: 'URN-qualified extension sub-attribute with dots in the version',
      filter: `${ENTERPRISE}:manager.value eq "m1"`,
      ast: eq(`${ENTERPRISE}:manager.value`, 'm1'),
    },
  ];

  it.each(cases)('$name', ({ filter, ast }) => {
    expect(parseFilter(filter)).toEqual(ast);
  });
});

describe('parseFilter: lexical details', () => {
  const cases: { name: string; filter: string; ast: FilterAst }[] = [
    { name: 'upper-case operator', filter: 'userName EQ "x"', ast: eq('userName', 'x') },
    {
      name: 'upper-case logical operators',
      filter: 'a pr AND NOT (b pr) OR c pr',
      ast: {
        type: 'or',
        filters: [
          {
            type: 'and',
            filters: [
              { type: 'present', attribute: 'a' },
              { type: 'not', filter: { type: 'present', attribute: 'b' } },
            ],
          },
          { type: 'present', attribute: 'c' },
        ],
      },
    },
    {
      name: 'and binds tighter than or',
      filter: 'a eq 1 or b eq 2 and c eq 3',
      ast: { type: 'or', filters: [eq('a', 1), { type: 'and', filters: [eq('b', 2), eq('c', 3)] }] },
    },
    {
      name: 'parentheses override precedence',
      filter: '(a eq 1 or b eq 2) and c eq 3',
      ast: { type: 'and', filters: [{ type: 'or', filters: [eq('a', 1), eq('b', 2)] }, eq('c', 3)] },
    },
    {
      name: 'chains of the same operator flatten',
      filter: 'a eq 1 and (b eq 2 and c eq 3)',
      ast: { type: 'and', filters: [eq('a', 1), eq('b', 2), eq('c', 3)] },
    },
    {
      name: 'escaped quote in a string',
      filter: String.raw`title eq "say \"hi\""`,
      ast: eq('title', 'say "hi"'),
    },
    { name: 'escaped backslash in a string', filter: String.raw`title eq "a\\b"`, ast: eq('title', 'a\\b') },
    { name: 'unicode escape in a string', filter: String.raw`title eq "\u0041"`, ast: eq('title', 'A') },
    { name: 'non-ASCII string', filter: 'displayName eq "Zoë 東京"', ast: eq('displayName', 'Zoë 東京') },
    { name: 'true literal', filter: 'active eq true', ast: eq('active', true) },
    { name: 'false literal', filter: 'active eq false', ast: eq('active', false) },
    {
      name: 'case-insensitive literal (Entra sends True)',
      filter: 'active eq True',
      ast: eq('active', true),
    },
    { name: 'null literal', filter: 'title eq null', ast: eq('title', null) },
    {
      name: 'integer',
      filter: 'x gt 42',
      ast: { type: 'compare', attribute: 'x', operator: 'gt', value: 42 },
    },
    {
      name: 'negative decimal',
      filter: 'x gt -1.5',
      ast: { type: 'compare', attribute: 'x', operator: 'gt', value: -1.5 },
    },
    {
      name: 'exponent',
      filter: 'x lt 1e3',
      ast: { type: 'compare', attribute: 'x', operator: 'lt', value: 1000 },
    },
    { name: 'extra whitespace', filter: '  userName   eq\t"x"  ', ast: eq('userName', 'x') },
    {
      name: 'no space around brackets and parentheses',
      filter: '(emails[type eq "work"])',
      ast: { type: 'valuePath', attribute: 'emails', filter: eq('type', 'work') },
    },
    {
      name: '$ref sub-attribute inside a value path',
      filter: 'members[$ref eq "https://x/Users/1"]',
      ast: { type: 'valuePath', attribute: 'members', filter: eq('$ref', 'https://x/Users/1') },
    },
    {
      name: 'not inside a value path',
      filter: 'emails[not (type eq "work")]',
      ast: { type: 'valuePath', attribute: 'emails', filter: { type: 'not', filter: eq('type', 'work') } },
    },
    { name: 'attribute named like a keyword', filter: 'not eq "x"', ast: eq('not', 'x') },
  ];

  it.each(cases)('$name', ({ filter, ast }) => {
    expect(parseFilter(filter)).toEqual(ast);
  });
});

describe('parseFilter: malformed and hostile input is invalidFilter', () => {
  const deepParens = `${'('.repeat(FILTER_LIMITS.maxDepth + 1)}a pr${')'.repeat(FILTER_LIMITS.maxDepth + 1)}`;
  const manyTerms = Array.from({ length: FILTER_LIMITS.maxTerms + 1 }, (_, i) => `a${i} pr`).join(' or ');
  const cases: { name: string; filter: string; message: RegExp }[] = [
    { name: 'empty filter', filter: '   ', message: /empty/ },
    { name: 'missing value', filter: 'userName eq', message: /Expected a value .* found the end/ },
    { name: 'missing operator', filter: 'userName', message: /Expected an operator/ },
    {
      name: 'unknown operator',
      filter: 'userName like "x"',
      message: /Expected an operator .* found "like"/,
    },
    {
      name: 'unquoted string value',
      filter: 'userName eq bjensen',
      message: /Expected a value .* found "bjensen"/,
    },
    {
      name: 'unterminated string',
      filter: 'userName eq "abc',
      message: /Unterminated string starting at position 12/,
    },
    { name: 'invalid escape', filter: String.raw`userName eq "a\qb"`, message: /Invalid string/ },
    { name: 'unbalanced open parenthesis', filter: '(userName eq "x"', message: /Expected "\)"/ },
    {
      name: 'unbalanced close parenthesis',
      filter: 'userName eq "x")',
      message: /Expected "and", "or" or the end/,
    },
    { name: 'unclosed value path', filter: 'emails[type eq "work"', message: /Expected "\]"/ },
    { name: 'nested value paths', filter: 'emails[type[value eq "x"]]', message: /cannot be nested/ },
    {
      name: 'dotted path inside a value path',
      filter: 'emails[name.givenName eq "x"]',
      message: /sub-attribute name/,
    },
    {
      name: 'sub-attribute after a value path (PATCH path syntax, not filter syntax)',
      filter: 'emails[type eq "work"].value eq "x"',
      message: /Unexpected character|Expected/,
    },
    { name: 'dangling and', filter: 'a pr and', message: /Expected an attribute/ },
    { name: 'not without parentheses', filter: 'not a pr', message: /Expected an operator .* found "a"/ },
    { name: 'operator where an attribute belongs', filter: 'eq eq', message: /Expected a value/ },
    { name: 'invalid attribute name', filter: '1abc eq "x"', message: /Expected an attribute/ },
    {
      name: 'unexpected character',
      filter: 'userName eq "x" ; drop table users',
      message: /Unexpected character ";"/,
    },
    { name: 'SQL-looking quote', filter: "userName eq 'x'", message: /Unexpected character "'"/ },
    {
      name: 'two sub-attribute levels',
      filter: 'name.givenName.x eq "y"',
      message: /Expected an attribute path/,
    },
    { name: 'too long', filter: `userName eq "${'a'.repeat(FILTER_LIMITS.maxLength)}"`, message: /too long/ },
    { name: 'nested too deeply', filter: deepParens, message: /nested too deeply/ },
    {
      name: 'not nested too deeply',
      filter: `${'not ('.repeat(11)}a pr${')'.repeat(11)}`,
      message: /nested too deeply/,
    },
    { name: 'too many terms', filter: manyTerms, message: /too many expressions/ },
    { name: 'huge number', filter: 'x gt 1e999', message: /out of range/ },
  ];

  it.each(cases)('$name', ({ filter, message }) => {
    let error: unknown;
    try {
      parseFilter(filter);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ScimError);
    expect(error).toMatchObject({ status: 400, scimType: 'invalidFilter' });
    expect((error as Error).message).toMatch(message);
  });

  it('accepts exactly the limits', () => {
    const deepest = `${'('.repeat(FILTER_LIMITS.maxDepth)}a pr${')'.repeat(FILTER_LIMITS.maxDepth)}`;
    const most = Array.from({ length: FILTER_LIMITS.maxTerms }, (_, i) => `a${i} pr`).join(' or ');
    expect(() => parseFilter(deepest)).not.toThrow();
    expect(() => parseFilter(most)).not.toThrow();
  });
});

describe('formatFilter', () => {
  const cases: { name: string; filter: string; text: string }[] = [
    {
      name: 'comparison with an escaped string',
      filter: String.raw`title eq "a\"b\\c"`,
      text: String.raw`title eq "a\"b\\c"`,
    },
    {
      name: 'or inside and keeps its parentheses',
      filter: 'a pr and (b pr or c eq 1)',
      text: 'a pr and (b pr or c eq 1)',
    },
    {
      name: 'and inside or needs none',
      filter: 'a pr or b pr and c eq true',
      text: 'a pr or b pr and c eq true',
    },
    {
      name: 'not and value path',
      filter: 'not (emails[type eq "work"])',
      text: 'not (emails[type eq "work"])',
    },
    { name: 'operators are lower-cased', filter: 'userName EQ null', text: 'userName eq null' },
  ];

  it.each(cases)('$name', ({ filter, text }) => {
    expect(formatFilter(parseFilter(filter))).toBe(text);
    expect(parseFilter(formatFilter(parseFilter(filter)))).toEqual(parseFilter(filter));
  });
});
