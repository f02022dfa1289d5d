import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Logger } from 'pino';
import { DataSource, type EntityManager } from 'typeorm';
import { LOGGER } from '../../../platform/logging/logging.module.js';
import { JobQueue, type SyncObjectType } from '../../../platform/jobs/index.js';
import { Semaphore } from '../../../lib/concurrency.js';
import { sleep } from '../client/flow-control.js';
import { SyncError } from '../client/scim-client.errors.js';
import { ConnectionRepository } from '../connections/connection.repository.js';
import { ProvidersService } from '../providers/providers.service.js';
import { EMPTY_COUNTS, type RunCounts, type RunEntity } from '../runs/run.entity.js';
import { RunRepository } from '../runs/run.repository.js';
import { DirectoryReader, groupScopeSql, userScopeSql } from './directory-reader.js';
import { PushEngine, type BatchResult, type ObjectResult, type ProviderRuntime } from './push-engine.js';

/** Objects per page job. Pages are spread over all worker processes. */
export const PAGE_SIZE = 250;
/**
 * Pages of one provider pushed at once by one process. The provider's request concurrency is
 * shared by all its pages in a process, so more pages only add objects waiting for a request
 * slot, with their leases held and their payloads in memory; and a page's start (reading, leasing
 * and mapping its objects) blocks the event loop, delaying the responses of requests in flight.
 * Two keep the requests flowing while one page turns over to the next.
 */
export const PAGES_AT_ONCE = 2;
/** Extra passes over an object that failed transiently (or was busy) within its page. */
const RETRY_PASSES = 3;

/** Page job outcome: finished, or to be continued by a new job (the worker is stopping). */
export type PageOutcome = 'finished' | 'requeue' | 'stopped';

/**
 * Scheduled and on-demand full syncs. A run is cut into keyset pages of in-scope users, then
 * groups (users first: a group's members exist downstream before it names them); each page is a
 * job, so pages run in parallel on every worker; the last page of a phase starts the next one.
 * After the groups, connections whose objects left the scope or the directory get the provider's
 * action, and the run finishes. Progress is written per page as it goes, so `GET …/runs/{id}`
 * shows it live. A page is idempotent: after a crash it runs again and what was already pushed
 * diffs to nothing.
 */
@Injectable()
export class FullSync {
  private readonly logger: Logger;
  /** Per provider: the pages this process is pushing ({@link PAGES_AT_ONCE}). */
  private readonly pageSlots = new Map<string, Semaphore>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly engine: PushEngine,
    private readonly providers: ProvidersService,
    private readonly jobs: JobQueue,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'full-sync' });
  }

  /** Counts the scope, cuts it into pages, starts the users phase. */
  async start(runId: string, signal: AbortSignal): Promise<void> {
    const runs = new RunRepository(this.dataSource.manager);
    const run = await runs.findById(runId);
    if (!run || run.phase !== 'start' || !isActive(run)) return;
    const rt = await this.runtimeOrFail(run, signal);
    if (!rt) return;
    const reader = new DirectoryReader(this.dataSource.manager);
    const scope = rt.provider.scope;
    const [userBounds, groupBounds] = [
      await reader.pageBounds('user', scope, PAGE_SIZE),
      await reader.pageBounds('group', scope, PAGE_SIZE),
    ];
    const total = [...userBounds, ...groupBounds].reduce((n, b) => n + b.size, 0);
    await this.dataSource.transaction(async (tx) => {
      const repo = new RunRepository(tx);
      await lockRun(tx, runId);
      const pages = (bounds: { upTo: string; size: number }[]) =>
        bounds.map((b, i) => ({ afterId: i === 0 ? null : bounds[i - 1]!.upTo, upTo: b.upTo, size: b.size }));
      await repo.insertPages(runId, 'user', pages(userBounds));
      await repo.insertPages(runId, 'group', pages(groupBounds));
      if (!(await repo.advance(runId, 'start', 'users', { status: 'running', total }))) return;
      await this.enterPhase(tx, run.id, 'users');
    });
    this.logger.info(
      { runId, providerId: run.providerId, users: userBounds.length, groups: groupBounds.length, total },
      'full sync started',
    );
  }

  /** Pushes one page; returns whether it finished (or must be continued by a new job). */
  async page(runId: string, pageId: string, signal: AbortSignal): Promise<PageOutcome> {
    const run = await new RunRepository(this.dataSource.manager).findById(runId);
    if (!run || !isActive(run)) return 'finished';
    let slots = this.pageSlots.get(run.providerId);
    if (!slots) {
      slots = new Semaphore(PAGES_AT_ONCE);
      this.pageSlots.set(run.providerId, slots);
    }
    try {
      // Read again once its turn comes: the run or page may have moved on meanwhile.
      return await slots.run(() => this.pushPage(runId, pageId, signal));
    } finally {
      if (slots.idle) this.pageSlots.delete(run.providerId);
    }
  }

  private async pushPage(runId: string, pageId: string, signal: AbortSignal): Promise<PageOutcome> {
    if (signal.aborted) return 'stopped';
    const runs = new RunRepository(this.dataSource.manager);
    const [run, page] = [await runs.findById(runId), await runs.findPage(pageId)];
    if (!run || !page || page.finishedAt || !isActive(run)) return 'finished';
    const rt = await this.runtimeOrFail(run, signal);
    if (!rt) return 'finished';
    const reader = new DirectoryReader(this.dataSource.manager);
    const type = page.objectType;
    const tally = new Tally();
    let lastProgress = Date.now();
    const onResult = (result: ObjectResult) => {
      tally.add(result);
      if (Date.now() - lastProgress > 1000) {
        lastProgress = Date.now();
        void runs.pageProgress(pageId, tally.done, tally.counts(), false).catch(() => undefined);
      }
    };
    const push = (target: { ids: string[] } | { rows: never[] }): Promise<BatchResult> =>
      type === 'user'
        ? this.engine.pushUsers(rt, target, onResult)
        : this.engine.pushGroups(rt, target, onResult);

    const rows =
      type === 'user'
        ? await reader.usersInRange(rt.provider.scope, page.afterId, page.upToId)
        : await reader.groupsInRange(rt.provider.scope, page.afterId, page.upToId);
    let batch = await push({ rows: rows as never[] });
    for (let pass = 1; pass <= RETRY_PASSES && !batch.fatal && !signal.aborted; pass++) {
      const again = tally.retryable();
      if (again.length === 0) break;
      const wait = Math.max(1000 * 2 ** (pass - 1), ...again.map((r) => r.error?.retryAfterMs ?? 0));
      await sleep(Math.min(wait, 30_000), signal).catch(() => undefined);
      if (signal.aborted) break;
      batch = await push({ ids: again.map((r) => r.id) });
    }
    if (batch.fatal) {
      await this.fail(run, batch.fatal);
      return 'finished';
    }
    if (signal.aborted) {
      await runs.pageProgress(pageId, tally.done, tally.counts(), false);
      return 'stopped';
    }
    await this.dataSource.transaction(async (tx) => {
      const repo = new RunRepository(tx);
      await lockRun(tx, runId);
      await repo.pageProgress(pageId, tally.done, tally.counts(), true);
      await repo.recordErrors(runId, tally.errors(type));
      await repo.clearErrors(runId, type, tally.succeeded());
      if ((await repo.unfinishedPages(runId, type)) === 0) {
        const from = type === 'user' ? 'users' : 'groups';
        const to = type === 'user' ? 'groups' : 'cleanup';
        if (await repo.advance(runId, from, to)) await this.enterPhase(tx, runId, to);
      }
    });
    return 'finished';
  }

  /** Deprovisions what left the scope, then finishes the run (or, without a run, just reconciles). */
  async cleanup(runId: string | null, providerId: string, signal: AbortSignal): Promise<PageOutcome> {
    const runs = new RunRepository(this.dataSource.manager);
    const run = runId ? await runs.findById(runId) : null;
    if (runId && (!run || !isActive(run) || run.phase !== 'cleanup')) return 'finished';
    const rt = run
      ? await this.runtimeOrFail(run, signal)
      : await this.engine.runtime(providerId, { signal });
    if (!rt || (!run && rt.provider.paused)) return 'finished';
    const tally = new Tally();
    const connections = new ConnectionRepository(this.dataSource.manager);
    for (const type of ['user', 'group'] as SyncObjectType[]) {
      let after: string | null = null;
      for (;;) {
        const params: unknown[] = [null, null, null];
        const scopeSql =
          type === 'user'
            ? userScopeSql(rt.provider.scope, 'o', params)
            : groupScopeSql(rt.provider.scope, 'o', params);
        const ids = await connections.outOfScope(
          rt.provider.id,
          type,
          after,
          PAGE_SIZE,
          scopeSql,
          params.slice(3),
        );
        if (ids.length === 0) break;
        const batch =
          type === 'user'
            ? await this.engine.pushUsers(rt, { ids }, (r) => tally.add(r))
            : await this.engine.pushGroups(rt, { ids }, (r) => tally.add(r));
        if (batch.fatal) {
          if (run) await this.fail(run, batch.fatal);
          else await this.pauseFor(rt.provider.id, rt.provider.name, batch.fatal);
          return 'finished';
        }
        if (signal.aborted) return 'stopped';
        after = ids[ids.length - 1]!;
      }
    }
    if (!run) {
      this.logger.info({ providerId, counts: tally.counts() }, 'scope reconciled');
      return 'finished';
    }
    const counts = tally.counts();
    const pages = await runs.summary(run);
    const failed = pages.counts.failed + (counts.failed ?? 0);
    await this.dataSource.transaction(async (tx) => {
      const repo = new RunRepository(tx);
      await repo.setDeprovisioned(run.id, {
        deleted: counts.deleted,
        deactivated: counts.deactivated,
        failed: counts.failed,
      });
      await repo.recordErrors(run.id, tally.errors());
      await repo.finish(run.id, failed > 0 ? 'partial' : 'succeeded');
    });
    this.logger.info(
      { runId: run.id, providerId: run.providerId, status: failed > 0 ? 'partial' : 'succeeded' },
      'full sync finished',
    );
    return 'finished';
  }

  private async enterPhase(
    tx: EntityManager,
    runId: string,
    phase: 'users' | 'groups' | 'cleanup',
  ): Promise<void> {
    if (phase === 'cleanup') {
      await this.jobs.addJob(
        tx,
        'scim-provider.sync-cleanup',
        { runId },
        { jobKey: `scim-provider.sync-cleanup:${runId}` },
      );
      return;
    }
    const type: SyncObjectType = phase === 'users' ? 'user' : 'group';
    const pages: { id: string }[] = await tx.query(
      `SELECT id FROM provider_run_pages WHERE run_id = $1 AND object_type = $2 AND finished_at IS NULL ORDER BY page_no`,
      [runId, type],
    );
    if (pages.length === 0) {
      const next = phase === 'users' ? 'groups' : 'cleanup';
      if (await new RunRepository(tx).advance(runId, phase, next)) await this.enterPhase(tx, runId, next);
      return;
    }
    await this.jobs.addJobs(
      tx,
      pages.map((p) => ({
        name: 'scim-provider.sync-page' as const,
        payload: { runId, pageId: p.id },
        options: { jobKey: `scim-provider.sync-page:${p.id}` },
      })),
    );
  }

  /** The provider's runtime, or null after failing the run (provider gone, paused, or its app refuses us). */
  private async runtimeOrFail(run: RunEntity, signal: AbortSignal): Promise<ProviderRuntime | null> {
    try {
      const rt = await this.engine.runtime(run.providerId, { runId: run.id, signal, dryRun: run.dryRun });
      if (!rt) {
        await new RunRepository(this.dataSource.manager).finish(run.id, 'failed', 'the provider was deleted');
        return null;
      }
      if (rt.provider.paused) {
        await new RunRepository(this.dataSource.manager).finish(
          run.id,
          'failed',
          `the provider is paused: ${rt.provider.pausedReason ?? ''}`,
        );
        return null;
      }
      return rt;
    } catch (error) {
      if (error instanceof SyncError && error.kind === 'fatal') {
        await this.fail(run, error);
        return null;
      }
      throw error;
    }
  }

  /** A fatal error stops the run and pauses the provider with the reason. */
  private async fail(run: RunEntity, error: SyncError): Promise<void> {
    const provider = await this.providers.get(run.providerId).catch(() => null);
    await this.pauseFor(run.providerId, provider?.name ?? run.providerId, error);
    await new RunRepository(this.dataSource.manager).finish(run.id, 'failed', error.message);
    this.logger.warn(
      { runId: run.id, providerId: run.providerId, err: error.message },
      'full sync failed: provider paused',
    );
  }

  private async pauseFor(providerId: string, name: string, error: SyncError): Promise<void> {
    if (await this.providers.pause(providerId, error.message)) {
      this.logger.warn(
        { providerId, provider: name, reason: error.message },
        'provider paused after a fatal error from its app',
      );
    }
  }
}

function isActive(run: RunEntity): boolean {
  return run.status === 'queued' || run.status === 'running';
}

/** Serialises the end-of-page transactions of a run, so exactly one of them sees "no page left". */
async function lockRun(tx: EntityManager, runId: string): Promise<void> {
  await tx.query(`SELECT id FROM provider_runs WHERE id = $1 FOR UPDATE`, [runId]);
}

/** Results of a page (or cleanup), by object: a later pass over an object replaces its result. */
class Tally {
  private readonly byId = new Map<string, ObjectResult>();

  add(result: ObjectResult): void {
    this.byId.set(`${result.type}:${result.id}`, result);
  }

  get done(): number {
    let n = 0;
    for (const r of this.byId.values()) if (r.outcome !== 'absent') n++;
    return n;
  }

  counts(): RunCounts {
    const counts = { ...EMPTY_COUNTS };
    for (const r of this.byId.values()) {
      switch (r.outcome) {
        case 'created':
        case 'updated':
        case 'unchanged':
        case 'deleted':
        case 'deactivated':
        case 'skipped':
        case 'failed':
          counts[r.outcome]++;
          break;
        case 'busy':
          counts.failed++;
          break;
        case 'absent':
          break;
      }
    }
    return counts;
  }

  /** Objects worth another pass: transient failures, busy ones, and ones waiting for a reference. */
  retryable(): ObjectResult[] {
    return [...this.byId.values()].filter((r) => r.retryable);
  }

  errors(
    type?: SyncObjectType,
  ): { objectType: SyncObjectType; objectId: string; kind: string; message: string }[] {
    return [...this.byId.values()]
      .filter((r) => (r.outcome === 'failed' || r.outcome === 'busy') && (!type || r.type === type))
      .map((r) => ({
        objectType: r.type,
        objectId: r.id,
        kind: r.error?.kind ?? 'unknown',
        message: r.error?.message ?? 'failed',
      }));
  }

  succeeded(): string[] {
    return [...this.byId.values()]
      .filter((r) => r.outcome !== 'failed' && r.outcome !== 'busy')
      .map((r) => r.id);
  }
}
