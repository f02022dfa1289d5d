import { DomainError } from '../../platform/errors/domain-error.js';

/** The SCIM source module's error codes (admin API side; the SCIM side speaks ScimError). */
export const SourceErrors = {
  notFound: (id: string) => new DomainError('source_not_found', 'not_found', `Source ${id} does not exist`),
  slugTaken: (slug: string) =>
    new DomainError('source_slug_taken', 'conflict', `A source with slug "${slug}" already exists`, {
      errors: [{ field: 'slug', message: 'already in use' }],
    }),
  slugImmutable: () =>
    new DomainError(
      'source_slug_immutable',
      'validation',
      'The slug of a source cannot change: it is part of its SCIM base URL',
      {
        errors: [{ field: 'slug', message: 'cannot be changed' }],
      },
    ),
  invalidSettings: (errors: { field: string; message: string }[]) =>
    new DomainError(
      'validation_failed',
      'validation',
      `Invalid request: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`,
      {
        errors,
      },
    ),
};
