import { Module, type DynamicModule } from '@nestjs/common';
import type { Role } from '../../config/config.js';
import { DirectoryModule } from '../directory/index.js';
import { PropertyMappingModule } from '../property-mapping/index.js';
import { ScimClients } from './client/scim-clients.js';
import { ConnectionsService } from './connections/connections.service.js';
import { Dispatcher } from './engine/dispatcher.js';
import { FullSync } from './engine/full-sync.js';
import { ObjectSyncService } from './engine/object-sync.service.js';
import { PushEngine } from './engine/push-engine.js';
import { OutboxWaker } from './jobs/outbox-waker.js';
import { ScimProviderProcessor } from './jobs/scim-provider.processor.js';
import { SyncScheduler } from './jobs/sync-scheduler.js';
import { ProviderGauges } from './provider-gauges.js';
import { ProvidersController } from './providers/http/providers.controller.js';
import { ProvidersService } from './providers/providers.service.js';
import { RunsService } from './runs/runs.service.js';

/**
 * Outbound SCIM. Wiring only: the admin API and the outbox listener where the API is served
 * (`all`, `api`), the job processor and the scheduler where jobs run (`all`, `worker`).
 */
@Module({})
export class ScimProviderModule {
  static forRoot(role: Role): DynamicModule {
    const serveApi = role !== 'worker';
    const runJobs = role !== 'api';
    return {
      module: ScimProviderModule,
      imports: [PropertyMappingModule, ...(serveApi ? [DirectoryModule] : [])],
      controllers: serveApi ? [ProvidersController] : [],
      providers: [
        ProvidersService,
        RunsService,
        ConnectionsService,
        ScimClients,
        PushEngine,
        ObjectSyncService,
        Dispatcher,
        FullSync,
        ProviderGauges,
        ...(runJobs ? [ScimProviderProcessor, SyncScheduler, OutboxWaker] : []),
      ],
    };
  }
}
