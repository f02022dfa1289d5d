import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { JobQueue, type SyncObjectType } from '../../../platform/jobs/index.js';
import { SyncError } from '../client/scim-client.errors.js';
import { ProvidersService } from '../providers/providers.service.js';
import { ProviderErrors } from '../scim-provider.errors.js';
import { pushJobKey } from './dispatcher.js';
import { PushEngine } from './push-engine.js';

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
    const batch =
      type === 'user'
        ? await this.engine.pushUsers(rt, { ids: [objectId] })
        : await this.engine.pushGroups(rt, { ids: [objectId] });
    if (batch.fatal) await this.providers.pause(providerId, batch.fatal.message);
    const result = batch.results.find((r) => r.id === objectId);
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
