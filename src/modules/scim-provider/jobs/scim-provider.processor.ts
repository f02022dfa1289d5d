import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { LOGGER } from '../../../platform/logging/logging.module.js';
import {
  JobProcessors,
  JobQueue,
  retryDelayMs,
  unknownJob,
  type JobPayloads,
  type QueuedJob,
} from '../../../platform/jobs/index.js';
import { pushJobKey, Dispatcher } from '../engine/dispatcher.js';
import { FullSync, type PageOutcome } from '../engine/full-sync.js';
import { PushEngine } from '../engine/push-engine.js';
import { ProvidersService } from '../providers/providers.service.js';
import { deltaLatency } from '../scim-provider.metrics.js';
import { sleep } from '../client/flow-control.js';
import type { BatchResult } from '../engine/push-engine.js';

/** How long a push waits for an object that another job is pushing before it retries later. */
const BUSY_WAIT_MS = 5000;

const isBusy = (batch: BatchResult, id: string) =>
  batch.results.some((r) => r.id === id && r.outcome === 'busy');

/**
 * The one processor of the `scim-provider` queue: an exhaustive switch over its job names.
 *
 * Retries are ours, not graphile-worker's: a push that failed transiently (app down, 5xx, 429, or
 * the object busy in another job) re-enqueues itself under the same job key with the provider's
 * backoff (exponential with jitter, capped at `retry.maxDelaySeconds`, honouring Retry-After), so
 * an outage of a minute recovers within the cap after the app is back — and a new change to the
 * object replaces the waiting retry and goes out at once. graphile-worker's own retries only
 * cover unexpected errors (a bug, the database gone).
 */
@Injectable()
export class ScimProviderProcessor implements OnModuleInit {
  private readonly logger: Logger;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly processors: JobProcessors,
    private readonly jobs: JobQueue,
    private readonly engine: PushEngine,
    private readonly fullSync: FullSync,
    private readonly dispatcher: Dispatcher,
    private readonly providers: ProvidersService,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'scim-provider' });
  }

  onModuleInit(): void {
    this.processors.register('scim-provider', (job) => this.process(job));
  }

  async process(job: QueuedJob<'scim-provider'>): Promise<void> {
    switch (job.name) {
      case 'scim-provider.dispatch':
        await this.dispatcher.dispatch();
        return;
      case 'scim-provider.push':
        await this.push(job.payload, job.signal);
        return;
      case 'scim-provider.sync-start':
        await this.fullSync.start(job.payload.runId, job.signal);
        return;
      case 'scim-provider.sync-page': {
        const outcome = await this.fullSync.page(job.payload.runId, job.payload.pageId, job.signal);
        await this.continueIfStopped(outcome, () =>
          this.requeue(
            'scim-provider.sync-page',
            job.payload,
            `scim-provider.sync-page:${job.payload.pageId}`,
            0,
          ),
        );
        return;
      }
      case 'scim-provider.sync-cleanup': {
        const run = await this.dataSource.query(`SELECT provider_id FROM provider_runs WHERE id = $1`, [
          job.payload.runId,
        ]);
        const providerId = (run as { provider_id: string }[])[0]?.provider_id;
        if (!providerId) return;
        const outcome = await this.fullSync.cleanup(job.payload.runId, providerId, job.signal);
        await this.continueIfStopped(outcome, () =>
          this.requeue(
            'scim-provider.sync-cleanup',
            job.payload,
            `scim-provider.sync-cleanup:${job.payload.runId}`,
            0,
          ),
        );
        return;
      }
      case 'scim-provider.reconcile-scope': {
        const outcome = await this.fullSync.cleanup(null, job.payload.providerId, job.signal);
        await this.continueIfStopped(outcome, () =>
          this.requeue(
            'scim-provider.reconcile-scope',
            job.payload,
            `scim-provider.reconcile-scope:${job.payload.providerId}`,
            0,
          ),
        );
        return;
      }
      default:
        unknownJob(job);
    }
  }

  /** One object of one provider, from a delta (or a follow-up). */
  private async push(payload: JobPayloads['scim-provider.push'], signal: AbortSignal): Promise<void> {
    let rt;
    try {
      rt = await this.engine.runtime(payload.providerId, { signal });
    } catch (error) {
      const kind = (error as { kind?: string }).kind;
      if (kind === 'fatal') {
        await this.providers.pause(payload.providerId, (error as Error).message);
        return;
      }
      if (kind === 'transient' || kind === 'rateLimited') {
        await this.retry(payload, (error as { details?: { retryAfterMs?: number } }).details?.retryAfterMs);
        return;
      }
      throw error;
    }
    if (!rt || rt.provider.paused) return;
    const runtime = rt;
    const pushOnce = () =>
      payload.objectType === 'user'
        ? this.engine.pushUsers(runtime, { ids: [payload.objectId] })
        : this.engine.pushGroups(runtime, { ids: [payload.objectId] });
    let batch = await pushOnce();
    // Another job is pushing this object (a change that came in during its push): it is one round
    // trip from done, so wait for it here rather than go back to the queue.
    for (
      let waited = 0;
      waited < BUSY_WAIT_MS && isBusy(batch, payload.objectId) && !signal.aborted;
      waited += 50
    ) {
      await sleep(50, signal).catch(() => undefined);
      batch = await pushOnce();
    }
    if (batch.fatal) {
      if (await this.providers.pause(rt.provider.id, batch.fatal.message)) {
        this.logger.warn(
          { providerId: rt.provider.id, reason: batch.fatal.message },
          'provider paused after a fatal error from its app',
        );
      }
      return;
    }
    const result = batch.results.find((r) => r.id === payload.objectId);
    if (!result) return;
    if (result.followUps?.length) {
      await this.dataSource.transaction((tx) =>
        this.jobs.addJobs(
          tx,
          result.followUps!.map((groupId) => ({
            name: 'scim-provider.push' as const,
            payload: { providerId: rt.provider.id, objectType: 'group' as const, objectId: groupId },
            options: { jobKey: pushJobKey(rt.provider.id, 'group', groupId) },
          })),
        ),
      );
    }
    if (result.retryable && !signal.aborted) {
      if ((payload.attempt ?? 0) + 1 > rt.provider.retry.maxAttempts) {
        this.logger.warn(
          { providerId: rt.provider.id, object: payload.objectId, error: result.error },
          'push gave up after the retry limit; the next full sync retries',
        );
        return;
      }
      await this.retry(payload, result.error?.retryAfterMs, rt.provider.retry);
      return;
    }
    if (payload.since && result.outcome !== 'failed') {
      deltaLatency.observe({ provider: rt.provider.id }, (Date.now() - Date.parse(payload.since)) / 1000);
    }
  }

  private async retry(
    payload: JobPayloads['scim-provider.push'],
    retryAfterMs: number | undefined,
    policy = { baseDelaySeconds: 1, maxDelaySeconds: 30 },
  ): Promise<void> {
    const attempt = (payload.attempt ?? 0) + 1;
    const delay = Math.max(
      retryDelayMs(attempt, { baseMs: policy.baseDelaySeconds * 1000, maxMs: policy.maxDelaySeconds * 1000 }),
      retryAfterMs ?? 0,
    );
    await this.requeue(
      'scim-provider.push',
      { ...payload, attempt },
      pushJobKey(payload.providerId, payload.objectType, payload.objectId),
      delay,
    );
  }

  private async requeue<
    N extends
      | 'scim-provider.push'
      | 'scim-provider.sync-page'
      | 'scim-provider.sync-cleanup'
      | 'scim-provider.reconcile-scope',
  >(name: N, payload: JobPayloads[N], jobKey: string, delayMs: number): Promise<void> {
    await this.dataSource.transaction((tx) =>
      this.jobs.addJob(tx, name, payload, { jobKey, runAt: new Date(Date.now() + delayMs) }),
    );
  }

  private async continueIfStopped(outcome: PageOutcome, requeue: () => Promise<void>): Promise<void> {
    if (outcome === 'stopped') await requeue();
  }
}
