import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { JobQueue, type SyncObjectType } from '../../../platform/jobs/index.js';
import { SyncError } from '../client/scim-client.errors.js';
import { sleep } from '../client/flow-control.js';
import { ProvidersService } from '../providers/providers.service.js';
import { ProviderErrors } from '../scim-provider.errors.js';
import { pushJobKey } from './dispatcher.js';
import { PushEngine } from './push-engine.js';

/** How long an on-demand push waits for another job's push of the same object, and how often it looks. */
const BUSY_WAIT_MS = 5000;
const BUSY_RETRY_MS = 50;

export interface ObjectSyncResult {
  outcome: string;
  remoteId: string | null;
  error?: { kind: string; message: string };
  notes?: string[];
  dryRun: boolean;
}

/** Provision on demand: push one object now, in the calling process, and say what happened. */
@Injectable()
export class ObjectSyncService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly engine: PushEngine,
    private readonly providers: ProvidersService,
    private readonly jobs: JobQueue,
  ) {}

  async push(providerId: string, type: SyncObjectType, objectId: string): Promise<ObjectSyncResult> {
    const provider = await this.providers.get(providerId);
    if (provider.paused) throw ProviderErrors.paused(provider.name, provider.pausedReason);
    let rt;
    try {
      rt = await this.engine.runtime(providerId);
    } catch (error) {
      if (error instanceof SyncError) {
        if (error.kind === 'fatal') await this.providers.pause(providerId, error.message);
        return {
          outcome: 'failed',
          remoteId: null,
          error: { kind: error.kind, message: error.message },
          dryRun: provider.dryRun,
        };
      }
      throw error;
    }
    if (!rt) throw ProviderErrors.notFound(providerId);
    // A job pushing the same object (a delta of the change the admin just made, say) holds it for
    // moments: wait for it rather than answer `busy`.
    const deadline = Date.now() + BUSY_WAIT_MS;
    let batch;
    let result;
    for (;;) {
      batch =
        type === 'user'
          ? await this.engine.pushUsers(rt, { ids: [objectId] })
          : await this.engine.pushGroups(rt, { ids: [objectId] });
      result = batch.results.find((r) => r.id === objectId);
      if (result?.outcome !== 'busy' || batch.fatal || Date.now() >= deadline) break;
      await sleep(BUSY_RETRY_MS);
    }
    if (batch.fatal) await this.providers.pause(providerId, batch.fatal.message);
    if (!result || result.outcome === 'absent') {
      const table = type === 'user' ? 'users' : 'groups';
      const [row] = (await this.dataSource.query(
        `SELECT EXISTS (SELECT 1 FROM ${table} WHERE id = $1) AS present`,
        [objectId],
      )) as { present: boolean }[];
      if (!row?.present) throw ProviderErrors.objectNotFound(type, objectId);
    }
    if (result?.followUps?.length) {
      await this.dataSource.transaction((tx) =>
        this.jobs.addJobs(
          tx,
          result.followUps!.map((groupId) => ({
            name: 'scim-provider.push' as const,
            payload: { providerId, objectType: 'group' as const, objectId: groupId },
            options: { jobKey: pushJobKey(providerId, 'group', groupId) },
          })),
        ),
      );
    }
    return {
      outcome: result?.outcome === 'absent' ? 'skipped' : (result?.outcome ?? 'skipped'),
      remoteId: result?.remoteId ?? null,
      ...(result?.error ? { error: { kind: result.error.kind, message: result.error.message } } : {}),
      ...(result?.notes.length ? { notes: result.notes } : {}),
      dryRun: rt.dryRun,
    };
  }
}
