import { Module } from '@nestjs/common';
import { DirectoryModule } from '../directory/index.js';
import { DefaultMappingsSeeder } from './defaults/defaults-seeder.js';
import { MappingCatalog } from './engine/mapping-catalog.js';
import { MappingEngine } from './engine/mapping-engine.js';
import { MappingSandbox } from './engine/mapping-sandbox.js';
import { PropertyMappingsController } from './mappings/http/property-mappings.controller.js';
import { MappingReferenceChecker } from './mappings/mapping-references.js';
import { PropertyMappingsService } from './mappings/property-mappings.service.js';
import { MappingPreviewController } from './preview/http/mapping-preview.controller.js';
import { MappingPreviewService } from './preview/mapping-preview.service.js';

/**
 * Mappings, the sandbox and the engine: what sources and providers (API and worker processes)
 * import. No controllers, no directory: a worker gets the engine without the admin API.
 */
@Module({
  providers: [
    MappingSandbox,
    MappingCatalog,
    MappingEngine,
    MappingReferenceChecker,
    PropertyMappingsService,
  ],
  exports: [MappingEngine, MappingReferenceChecker, PropertyMappingsService, MappingCatalog],
})
export class PropertyMappingModule {}

/** The admin API over mappings (CRUD, copy, test, preview) and the seeding of the managed defaults: API role. */
@Module({
  imports: [PropertyMappingModule, DirectoryModule],
  controllers: [PropertyMappingsController, MappingPreviewController],
  providers: [MappingPreviewService, DefaultMappingsSeeder],
})
export class PropertyMappingAdminModule {}
