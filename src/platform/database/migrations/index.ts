import { Directory1763900000000 } from './1763900000000-directory.js';
import { ScimSources1763920000000 } from './1763920000000-scim-sources.js';
import { JobWorkers1763940000000 } from './1763940000000-job-workers.js';
import { PropertyMappings1763960000000 } from './1763960000000-property-mappings.js';
import { ScimProviders1763970000000 } from './1763970000000-scim-providers.js';

/** Migrations in order. Add new ones at the end. */
export const MIGRATIONS = [
  Directory1763900000000,
  ScimSources1763920000000,
  JobWorkers1763940000000,
  PropertyMappings1763960000000,
  ScimProviders1763970000000,
];
