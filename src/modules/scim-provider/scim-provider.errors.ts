import { DomainError } from '../../platform/errors/domain-error.js';

/** The scim-provider module's error codes. */
export const ProviderErrors = {
  notFound: (id: string) =>
    new DomainError('provider_not_found', 'not_found', `Provider ${id} does not exist`),
  runNotFound: (id: string) =>
    new DomainError('run_not_found', 'not_found', `Run ${id} does not exist for this provider`),
  nameTaken: (name: string) =>
    new DomainError('provider_name_taken', 'conflict', `A provider named "${name}" already exists`, {
      errors: [{ field: 'name', message: 'already in use (names are unique, case-insensitively)' }],
    }),
  invalid: (field: string, message: string) =>
    new DomainError('invalid_provider', 'validation', `Invalid provider: ${field}: ${message}`, {
      errors: [{ field, message }],
    }),
  versionMismatch: (expected: number, actual: number) =>
    new DomainError(
      'version_mismatch',
      'precondition_failed',
      `Expected version ${expected}, but it is ${actual}`,
    ),
  objectNotFound: (type: string, id: string) =>
    new DomainError(`${type}_not_found`, 'not_found', `No ${type} with id ${id} in the directory`),
  paused: (name: string, reason: string | null) =>
    new DomainError(
      'provider_paused',
      'conflict',
      `Provider "${name}" is paused${reason ? `: ${reason}` : ''}; resume it first`,
    ),
};

/** Thrown out of a push batch when the app refused us for good (401/403, bad URL): the provider is paused. */
export class ProviderFatalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProviderFatalError';
  }
}
