/** What other modules may import from the SCIM source module. */
export { ScimSourceModule } from './scim-source.module.js';
export { SourcesService, type SourcePrincipal } from './sources/sources.service.js';
export { SourceEntity, type DeleteBehavior } from './sources/source.entity.js';
