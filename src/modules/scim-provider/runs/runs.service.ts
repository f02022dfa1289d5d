import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { decodeCursor, toPage } from '../../../platform/http/cursor.js';
import { JobQueue } from '../../../platform/jobs/index.js';
import { inTransaction } from '../../directory/index.js';
import { ProviderRepository } from '../providers/provider.repository.js';
import { ProviderErrors } from '../scim-provider.errors.js';
import type { RunTrigger } from './run.entity.js';
import { RunRepository, type RunSummary } from './run.repository.js';

/** Full-sync runs as admins see and start them. */
@Injectable()
export class RunsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly jobs: JobQueue,
  ) {}

  /**
   * Starts a full sync, or returns the run already queued or running: one run per provider at a
   * time, decided under a per-provider advisory lock (and guarded by a partial unique index).
   */
  start(
    providerId: string,
    trigger: RunTrigger,
    tx?: EntityManager,
  ): Promise<{ runId: string; started: boolean }> {
    return inTransaction(this.dataSource, tx, async (em) => {
      await em.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`provider-run:${providerId}`]);
      const runs = new RunRepository(em);
      const active = await runs.active(providerId);
      if (active) return { runId: active.id, started: false };
      const provider = await new ProviderRepository(em).findById(providerId);
      if (!provider) throw ProviderErrors.notFound(providerId);
      if (provider.paused) throw ProviderErrors.paused(provider.name, provider.pausedReason);
      const run = await runs.insert(providerId, trigger, provider.dryRun);
      await this.jobs.addJob(
        em,
        'scim-provider.sync-start',
        { runId: run.id },
        { jobKey: `scim-provider.sync-start:${run.id}` },
      );
      return { runId: run.id, started: true };
    });
  }

  async get(providerId: string, runId: string): Promise<RunSummary> {
    const repo = new RunRepository(this.dataSource.manager);
    const run = await repo.findById(runId);
    if (!run || run.providerId !== providerId) throw ProviderErrors.runNotFound(runId);
    return repo.summary(run);
  }

  async list(providerId: string, limit: number, cursor?: string) {
    if (!(await new ProviderRepository(this.dataSource.manager).findById(providerId)))
      throw ProviderErrors.notFound(providerId);
    const after = cursor ? decodeCursor(cursor, ['string', 'uuid']) : undefined;
    const repo = new RunRepository(this.dataSource.manager);
    const rows = await repo.list(
      providerId,
      limit,
      after ? { createdAt: after[0] as string, id: after[1] as string } : undefined,
    );
    const page = toPage(rows, limit, (r) => [r.createdAt.toISOString(), r.id]);
    return {
      items: await Promise.all(page.items.map((run) => repo.summary(run))),
      nextCursor: page.nextCursor,
    };
  }
}
