import { Inject, Module, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../../platform/logging/logging.module.js';
import { DirectoryModule } from '../directory/index.js';
import { MappingReferenceChecker, PropertyMappingModule } from '../property-mapping/index.js';
import { ScimBulkController } from './scim/bulk.controller.js';
import { ScimBulkService } from './scim/bulk.service.js';
import { ScimDiscoveryController } from './scim/discovery.controller.js';
import { ScimGroupsController, ScimMeController, ScimUsersController } from './scim/resources.controller.js';
import { ScimSourceGuard } from './scim/scim-auth.guard.js';
import { ScimCommands } from './scim/scim-commands.js';
import { ScimGroupsService } from './scim/scim-groups.service.js';
import { registerScimErrorSurface } from './scim/scim-http.js';
import { ScimQueryService } from './scim/scim-query.service.js';
import { ScimUsersService } from './scim/scim-users.service.js';
import { SourceMapper } from './scim/source-mapper.js';
import { SourcesController } from './sources/http/sources.controller.js';
import { SourceMappingReferences } from './sources/source-mapping-references.js';
import { SourcesService } from './sources/sources.service.js';

/** The inbound SCIM 2.0 server (one tenant per source) and the admin API over sources. Wiring only. */
@Module({
  imports: [DirectoryModule, PropertyMappingModule],
  controllers: [
    SourcesController,
    ScimDiscoveryController,
    ScimUsersController,
    ScimGroupsController,
    ScimBulkController,
    ScimMeController,
  ],
  providers: [
    SourcesService,
    SourceMappingReferences,
    ScimSourceGuard,
    SourceMapper,
    ScimQueryService,
    ScimUsersService,
    ScimGroupsService,
    ScimCommands,
    ScimBulkService,
  ],
  exports: [SourcesService],
})
export class ScimSourceModule implements OnModuleInit {
  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly references: MappingReferenceChecker,
    private readonly sourceReferences: SourceMappingReferences,
  ) {}

  onModuleInit(): void {
    registerScimErrorSurface(this.logger);
    this.references.register(this.sourceReferences);
  }
}
