import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { JobQueue, type JobSpec, type SyncObjectType } from '../../../platform/jobs/index.js';
import type { ChangeEventEntity } from '../../directory/index.js';
import type { ProviderScope } from '../providers/provider.entity.js';
import { ProviderRepository } from '../providers/provider.repository.js';

/** Events read per transaction. */
const BATCH = 1000;

export const DISPATCH_JOB_KEY = 'scim-provider.dispatch';

interface ActiveProvider {
  id: string;
  linkedSourceId: string | null;
  scope: ProviderScope;
}

/**
 * Turns the directory outbox into push jobs. Every directory write signals once it commits (see
 * the directory's `OutboxSignal`) and workers enqueue one coalescing dispatch job; the
 * dispatcher reads undispatched events in id order, fans each out to every active provider it
 * concerns, and marks them dispatched — in one transaction, so an event is dispatched exactly
 * once even if a worker dies half-way. Dispatchers may run side by side (`SKIP LOCKED`: each takes
 * other events); pushes re-read state, so their relative order does not matter.
 *
 * Push jobs have one key per provider and object: a burst of edits to one object while its push
 * waits becomes one push, which re-reads the object and sends the net change. Scope changes fan
 * out too: members added to or removed from a group that scopes a provider's users push those
 * users (provision, or the out-of-scope action); deleting such a group reconciles the scope.
 * Changes that came in through a provider's `linkedSourceId` are not pushed back (no echo).
 */
@Injectable()
export class Dispatcher {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly jobs: JobQueue,
  ) {}

  /** Dispatches everything undispatched; returns how many events it handled. */
  async dispatch(): Promise<number> {
    let handled = 0;
    for (;;) {
      const n = await this.dataSource.transaction((tx) => this.dispatchBatch(tx));
      handled += n;
      if (n < BATCH) return handled;
    }
  }

  private async dispatchBatch(tx: EntityManager): Promise<number> {
    const events: Pick<
      ChangeEventEntity,
      'id' | 'objectType' | 'objectId' | 'kind' | 'originType' | 'originId' | 'detail' | 'occurredAt'
    >[] = await tx.query(
      `SELECT id, object_type AS "objectType", object_id AS "objectId", kind, origin_type AS "originType", origin_id AS "originId",
              detail, occurred_at AS "occurredAt"
         FROM change_events WHERE dispatched_at IS NULL ORDER BY id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
    );
    if (events.length === 0) return 0;
    const providers: ActiveProvider[] = await new ProviderRepository(tx).active();
    const specs: JobSpec[] = [];
    const push = (providerId: string, objectType: SyncObjectType, objectId: string, since: Date) =>
      specs.push({
        name: 'scim-provider.push',
        payload: { providerId, objectType, objectId, since: new Date(since).toISOString() },
        options: { jobKey: pushJobKey(providerId, objectType, objectId) },
      });
    for (const event of events) {
      for (const provider of providers) {
        if (
          event.originType === 'source' &&
          provider.linkedSourceId !== null &&
          event.originId === provider.linkedSourceId
        )
          continue;
        const detail = (event.detail ?? {}) as { userIds?: string[]; groupIds?: string[] };
        if (event.objectType === 'user') {
          push(provider.id, 'user', event.objectId, event.occurredAt);
          // A deleted user left its groups (memberships cascade without events of their own).
          if (event.kind === 'deleted')
            for (const groupId of detail.groupIds ?? [])
              push(provider.id, 'group', groupId, event.occurredAt);
          continue;
        }
        push(provider.id, 'group', event.objectId, event.occurredAt);
        const scopesUsers =
          provider.scope.users === 'groups' && provider.scope.userGroupIds.includes(event.objectId);
        if (!scopesUsers) continue;
        if (event.kind === 'members_added' || event.kind === 'members_removed') {
          for (const userId of detail.userIds ?? []) push(provider.id, 'user', userId, event.occurredAt);
        } else if (event.kind === 'deleted') {
          specs.push({
            name: 'scim-provider.reconcile-scope',
            payload: { providerId: provider.id },
            options: { jobKey: `scim-provider.reconcile-scope:${provider.id}` },
          });
        }
      }
    }
    await this.jobs.addJobs(tx, specs);
    await tx.query(`UPDATE change_events SET dispatched_at = now() WHERE id = ANY($1::bigint[])`, [
      events.map((e) => e.id),
    ]);
    return events.length;
  }
}

export function pushJobKey(providerId: string, type: SyncObjectType, objectId: string): string {
  return `scim-provider.push:${providerId}:${type}:${objectId}`;
}
