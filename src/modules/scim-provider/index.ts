/** What other modules may import from the scim-provider module. */
export { ScimProviderModule } from './scim-provider.module.js';
export { ProvidersService } from './providers/providers.service.js';
export {
  COMPATIBILITY_PROFILES,
  PROFILE_NAMES,
  type CompatibilityProfile,
  type ProfileName,
} from './client/compatibility.js';
export { classifyOutcome, SyncError, type SyncErrorKind } from './client/scim-client.errors.js';
