import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { AppConfig } from './config/config.js';
import { ConfigModule } from './config/config.module.js';
import { DirectoryModule } from './modules/directory/index.js';
import { PropertyMappingAdminModule } from './modules/property-mapping/index.js';
import { ScimProviderModule } from './modules/scim-provider/index.js';
import { ScimSourceModule } from './modules/scim-source/index.js';
import { DatabaseModule } from './platform/database/database.module.js';
import { AllExceptionsFilter } from './platform/errors/exception.filter.js';
import { createValidationPipe } from './platform/errors/validation.js';
import { HealthController } from './platform/health/health.controller.js';
import { JobsModule } from './platform/jobs/index.js';
import { AdminAuthGuard, AdminBearerStrategy } from './platform/http/admin-auth.guard.js';
import { AdminTokensController } from './platform/http/admin-tokens/admin-tokens.controller.js';
import { AdminTokensService } from './platform/http/admin-tokens/admin-tokens.service.js';
import { LoggingModule } from './platform/logging/logging.module.js';

export interface AppDependencies {
  config: AppConfig;
  logger: Logger;
  dataSource: DataSource;
}

/** Config, platform and feature modules — nothing else. */
@Module({})
export class AppModule {
  static forRoot({ config, logger, dataSource }: AppDependencies): DynamicModule {
    const serveApi = config.role !== 'worker';
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(logger),
        DatabaseModule.forRoot(dataSource),
        PassportModule,
        JobsModule.forRoot(config.role),
        ...(serveApi ? [DirectoryModule, PropertyMappingAdminModule, ScimSourceModule] : []),
        ScimProviderModule.forRoot(config.role),
      ],
      controllers: [HealthController, ...(serveApi ? [AdminTokensController] : [])],
      providers: [
        AdminTokensService,
        AdminBearerStrategy,
        { provide: APP_GUARD, useClass: AdminAuthGuard },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    };
  }
}
