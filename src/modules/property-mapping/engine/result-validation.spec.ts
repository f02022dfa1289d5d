import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../platform/errors/domain-error.js';
import type { MappingScope } from '../mappings/property-mapping.entity.js';
import { validateResult } from './result-validation.js';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const ACME = 'urn:example:params:scim:schemas:extension:acme:2.0:User';

/** One mapping contributed the whole result. */
const validate = (scope: MappingScope, result: Record<string, unknown>) =>
  validateResult(scope, result, [{ name: 'only', contribution: result }]);

function invalidAt(scope: MappingScope, result: Record<string, unknown>): string {
  try {
    validate(scope, result);
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('mapping_result_invalid');
    return (error as DomainError).details.attribute as string;
  }
  throw new Error('expected the result to be invalid');
}

describe('validateResult: source:* results are directory views', () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['keeps a minimal user', { userName: 'a' }, { userName: 'a' }],
    [
      'converts "True" and canonical names',
      { username: 'a', Active: 'True' },
      { userName: 'a', active: true },
    ],
    ['keeps kind', { userName: 'a', kind: 'service' }, { userName: 'a', kind: 'service' }],
    [
      'drops id, meta, schemas, groups and password',
      { userName: 'a', id: 'x', schemas: [CORE_USER], groups: [], password: 'p', meta: {} },
      { userName: 'a' },
    ],
    [
      'keeps the enterprise extension',
      { userName: 'a', [ENTERPRISE]: { department: 'R&D' } },
      { userName: 'a', [ENTERPRISE]: { department: 'R&D' } },
    ],
    [
      'keeps another extension as an object',
      { userName: 'a', [ACME]: { badge: 42 } },
      { userName: 'a', [ACME]: { badge: 42 } },
    ],
  ])('%s', (_label, input, expected) => {
    expect(validate('source:user', input)).toEqual(expected);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['no userName', { displayName: 'x' }, 'userName'],
    ['blank userName', { userName: '  ' }, 'userName'],
    ['a bad kind', { userName: 'a', kind: 'robot' }, 'kind'],
    ['an unknown attribute', { userName: 'a', colour: 'blue' }, 'colour'],
    ['a wrongly typed attribute', { userName: 'a', active: 'perhaps' }, 'active'],
    ['an extension that is not an object', { userName: 'a', [ACME]: 'x' }, ACME],
  ])('rejects %s', (_label, input, attribute) => {
    expect(invalidAt('source:user', input)).toBe(attribute);
  });

  it('requires a group displayName and refuses members', () => {
    expect(validate('source:group', { displayName: 'G', externalId: 'e' })).toEqual({
      displayName: 'G',
      externalId: 'e',
    });
    expect(invalidAt('source:group', { externalId: 'e' })).toBe('displayName');
    expect(invalidAt('source:group', { displayName: 'G', members: [] })).toBe('members');
  });
});

describe('validateResult: provider:* results are SCIM payloads', () => {
  it('declares a known extension that carries data, as lib/scim does', () => {
    expect(
      validate('provider:user', { schemas: [CORE_USER], userName: 'a', [ENTERPRISE]: { department: 'x' } }),
    ).toEqual({
      schemas: [CORE_USER, ENTERPRISE],
      userName: 'a',
      [ENTERPRISE]: { department: 'x' },
    });
    expect(validate('provider:user', { schemas: [CORE_USER], userName: 'a', active: 'True' })).toEqual({
      schemas: [CORE_USER],
      userName: 'a',
      active: true,
    });
  });

  it('keeps a valid payload, with declared extensions', () => {
    const payload = {
      schemas: [CORE_USER, ENTERPRISE, ACME],
      userName: 'a',
      [ENTERPRISE]: { department: 'x' },
      [ACME]: { badge: '1' },
    };
    expect(validate('provider:user', payload)).toEqual(payload);
    expect(validate('provider:group', { schemas: [CORE_GROUP], displayName: 'G' })).toEqual({
      schemas: [CORE_GROUP],
      displayName: 'G',
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['no schemas', { userName: 'a' }, 'schemas'],
    ['schemas without the core schema', { schemas: [ENTERPRISE], userName: 'a' }, 'schemas'],
    ['a schemas entry that is not a URN', { schemas: [CORE_USER, 'acme'], userName: 'a' }, 'schemas'],
    ['another extension not declared', { schemas: [CORE_USER], userName: 'a', [ACME]: { badge: '1' } }, ACME],
    [
      'an unknown enterprise attribute',
      { schemas: [CORE_USER, ENTERPRISE], userName: 'a', [ENTERPRISE]: { shoeSize: 9 } },
      `${ENTERPRISE}:shoeSize`,
    ],
    ['no userName', { schemas: [CORE_USER], displayName: 'x' }, 'userName'],
  ])('rejects %s', (_label, input, attribute) => {
    expect(invalidAt('provider:user', input)).toBe(attribute);
  });
});
