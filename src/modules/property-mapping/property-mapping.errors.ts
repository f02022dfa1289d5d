import { DomainError } from '../../platform/errors/domain-error.js';
import type { MappingScope } from './mappings/property-mapping.entity.js';

/** Something that lists a mapping: a source's or a provider's ordered mapping list. */
export interface MappingReference {
  /** `source` or `provider`. */
  ownerType: string;
  ownerId: string;
  ownerName: string;
  /** The list that names the mapping, e.g. `userMappings`. */
  list: string;
}

/** Where a mapping failed, for the `mapping_failed` error. */
export interface MappingFailure {
  mappingId: string;
  mappingName: string;
  message: string;
  /** `timeout`, `memory`, `runtime` or `invalidResult` (the sandbox's error kinds). */
  failureKind: string;
  line?: number;
  column?: number;
}

/** The property-mapping module's error codes. */
export const MappingErrors = {
  notFound: (id: string) =>
    new DomainError('mapping_not_found', 'not_found', `Property mapping ${id} does not exist`),

  nameTaken: (name: string) =>
    new DomainError('mapping_name_taken', 'conflict', `A property mapping named "${name}" already exists`, {
      errors: [{ field: 'name', message: 'already in use (names are unique, case-insensitively)' }],
    }),

  managed: (name: string, action: 'changed' | 'deleted') =>
    new DomainError(
      'mapping_managed',
      'forbidden',
      `"${name}" is a managed mapping and cannot be ${action}: copy it (POST /api/v1/property-mappings/{id}/copy) and change the copy`,
    ),

  inUse: (name: string, references: MappingReference[]) =>
    new DomainError(
      'mapping_in_use',
      'conflict',
      `"${name}" is still listed by ${references.map((r) => `${r.ownerType} "${r.ownerName}" (${r.list})`).join(', ')}; remove it from those lists first`,
      { references },
    ),

  scopeImmutable: () =>
    new DomainError(
      'mapping_scope_immutable',
      'validation',
      'The scope of a mapping cannot change; create a new mapping instead',
      {
        errors: [{ field: 'scope', message: 'cannot be changed' }],
      },
    ),

  syntax: (message: string, line: number | undefined, column: number | undefined) =>
    new DomainError(
      'mapping_syntax_error',
      'validation',
      line !== undefined
        ? `Syntax error at line ${line}, column ${column ?? 1}: ${message}`
        : `Syntax error: ${message}`,
      {
        errors: [
          {
            field: 'expression',
            message: line !== undefined ? `line ${line}, column ${column ?? 1}: ${message}` : message,
          },
        ],
        ...(line !== undefined && { line }),
        ...(column !== undefined && { column }),
      },
    ),

  unusable: (scope: MappingScope, problems: { id: string; message: string }[]) =>
    new DomainError(
      'mapping_unusable',
      'validation',
      `These mappings cannot be used for ${scope}: ${problems.map((p) => `${p.id} (${p.message})`).join('; ')}`,
      { errors: problems.map((p) => ({ field: p.id, message: p.message })) },
    ),

  objectSkipped: (reason: string, mapping: { id: string; name: string }) =>
    new DomainError('object_skipped', 'validation', `Skipped by mapping "${mapping.name}": ${reason}`, {
      reason,
      mappingId: mapping.id,
      mappingName: mapping.name,
    }),

  failed: (failure: MappingFailure) =>
    new DomainError(
      'mapping_failed',
      'validation',
      `Mapping "${failure.mappingName}" failed: ${failure.message}`,
      { ...failure },
    ),

  resultInvalid: (mappingNames: string[], attribute: string, message: string) =>
    new DomainError(
      'mapping_result_invalid',
      'validation',
      `The merged result of ${mappingNames.length ? mappingNames.map((n) => `"${n}"`).join(', ') : 'the mappings'} is invalid at "${attribute}": ${message}`,
      { mappingNames, attribute, message },
    ),

  subjectNotFound: (what: string, id: string) =>
    new DomainError(`${what}_not_found`, 'validation', `No ${what} with id ${id}`, {
      errors: [{ field: `${what}Id`, message: 'does not exist' }],
    }),
};
