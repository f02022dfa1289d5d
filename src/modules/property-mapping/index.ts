/** What other modules may import from the property-mapping module. */
export { PropertyMappingModule, PropertyMappingAdminModule } from './property-mapping.module.js';
export {
  MappingEngine,
  type MappingContribution,
  type MappingOutcome,
  type RunOptions,
} from './engine/mapping-engine.js';
export { CONTEXT_VARIABLES } from './engine/mapping-context.js';
export { PropertyMappingsService, type MappingInput } from './mappings/property-mappings.service.js';
export { MappingReferenceChecker, type MappingListOwner } from './mappings/mapping-references.js';
export {
  PropertyMappingEntity,
  MAPPING_SCOPES,
  type MappingScope,
} from './mappings/property-mapping.entity.js';
export { MappingErrors, type MappingReference, type MappingFailure } from './property-mapping.errors.js';
export { DEFAULT_MAPPINGS, defaultMappingIds } from './defaults/default-mappings.js';
