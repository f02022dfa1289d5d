import type { EntityManager } from 'typeorm';
import type { SyncObjectType } from '../../../platform/jobs/index.js';
import {
  EMPTY_COUNTS,
  RunEntity,
  RunPageEntity,
  type RunCounts,
  type RunPhase,
  type RunStatus,
  type RunTrigger,
} from './run.entity.js';

export interface RunSummary {
  run: RunEntity;
  done: number;
  counts: RunCounts;
  errors: { objectType: string; objectId: string; kind: string; message: string }[];
}

/** At most this many per-object errors are kept per run. */
export const MAX_RUN_ERRORS = 1000;

/** All SQL for runs, their pages and errors. */
export class RunRepository {
  constructor(private readonly em: EntityManager) {}

  findById(id: string): Promise<RunEntity | null> {
    return this.em.getRepository(RunEntity).findOne({ where: { id } });
  }

  active(providerId: string): Promise<RunEntity | null> {
    return this.em
      .getRepository(RunEntity)
      .createQueryBuilder('r')
      .where('r.provider_id = :providerId', { providerId })
      .andWhere(`r.status IN ('queued', 'running')`)
      .getOne();
  }

  insert(providerId: string, trigger: RunTrigger, dryRun: boolean): Promise<RunEntity> {
    const repo = this.em.getRepository(RunEntity);
    return repo.save(repo.create({ providerId, trigger, dryRun, status: 'queued', phase: 'start' }));
  }

  /**
   * Newest first, keyset on (created_at to the millisecond, id): the cursor carries a JavaScript
   * date, so the order is on the same precision.
   */
  list(providerId: string, limit: number, after?: { createdAt: string; id: string }): Promise<RunEntity[]> {
    const qb = this.em
      .getRepository(RunEntity)
      .createQueryBuilder('r')
      .where('r.provider_id = :providerId', { providerId })
      .orderBy(`date_trunc('milliseconds', r.created_at)`, 'DESC')
      .addOrderBy('r.id', 'DESC')
      .limit(limit + 1);
    if (after)
      qb.andWhere(
        `(date_trunc('milliseconds', r.created_at), r.id) < (:createdAt::timestamptz, :id::uuid)`,
        after,
      );
    return qb.getMany();
  }

  /** Moves a run from one phase to the next exactly once; false when it was not in `from`. */
  async advance(
    runId: string,
    from: RunPhase,
    to: RunPhase,
    changes: { status?: RunStatus; total?: number } = {},
  ): Promise<boolean> {
    const result: unknown = await this.em.query(
      `UPDATE provider_runs SET phase = $3,
              status = coalesce($4, status),
              total = coalesce($5, total),
              started_at = coalesce(started_at, now())
        WHERE id = $1 AND phase = $2 AND status IN ('queued', 'running') RETURNING id`,
      [runId, from, to, changes.status ?? null, changes.total ?? null],
    );
    return rowsOf(result).length > 0;
  }

  async finish(runId: string, status: RunStatus, message: string | null = null): Promise<boolean> {
    const result: unknown = await this.em.query(
      `UPDATE provider_runs SET status = $2, phase = 'done', message = coalesce($3, message), finished_at = now(),
              started_at = coalesce(started_at, now())
        WHERE id = $1 AND status IN ('queued', 'running') RETURNING id`,
      [runId, status, message],
    );
    return rowsOf(result).length > 0;
  }

  async insertPages(
    runId: string,
    type: SyncObjectType,
    bounds: { afterId: string | null; upTo: string; size: number }[],
  ): Promise<string[]> {
    if (bounds.length === 0) return [];
    const rows: { id: string }[] = await this.em.query(
      `INSERT INTO provider_run_pages (run_id, object_type, page_no, after_id, up_to_id, size)
       SELECT $1, $2, n, a, u, s FROM unnest($3::int[], $4::uuid[], $5::uuid[], $6::int[]) AS t(n, a, u, s)
       RETURNING id`,
      [
        runId,
        type,
        bounds.map((_, i) => i),
        bounds.map((b) => b.afterId),
        bounds.map((b) => b.upTo),
        bounds.map((b) => b.size),
      ],
    );
    return rows.map((r) => r.id);
  }

  findPage(id: string): Promise<RunPageEntity | null> {
    return this.em.getRepository(RunPageEntity).findOne({ where: { id } });
  }

  /** Progress of a page (overwritten as the page advances: a retried page recounts). */
  async pageProgress(
    pageId: string,
    done: number,
    counts: Partial<RunCounts>,
    finished: boolean,
  ): Promise<void> {
    await this.em.query(
      `UPDATE provider_run_pages SET done = $2, counts = $3::jsonb, finished_at = CASE WHEN $4 THEN now() ELSE finished_at END WHERE id = $1`,
      [pageId, done, JSON.stringify(counts), finished],
    );
  }

  async unfinishedPages(runId: string, type: SyncObjectType): Promise<number> {
    const [row] = (await this.em.query(
      `SELECT count(*)::int AS n FROM provider_run_pages WHERE run_id = $1 AND object_type = $2 AND finished_at IS NULL`,
      [runId, type],
    )) as { n: number }[];
    return row?.n ?? 0;
  }

  async setDeprovisioned(runId: string, counts: Partial<RunCounts>): Promise<void> {
    await this.em.query(`UPDATE provider_runs SET deprovisioned = $2::jsonb WHERE id = $1`, [
      runId,
      JSON.stringify(counts),
    ]);
  }

  async recordErrors(
    runId: string,
    errors: { objectType: SyncObjectType; objectId: string; kind: string; message: string }[],
  ): Promise<void> {
    if (errors.length === 0) return;
    await this.em.query(
      `INSERT INTO provider_run_errors (run_id, object_type, object_id, kind, message)
       SELECT $1, t, o, k, m FROM unnest($2::text[], $3::uuid[], $4::text[], $5::text[]) AS e(t, o, k, m)
        WHERE (SELECT count(*) FROM provider_run_errors WHERE run_id = $1) < ${MAX_RUN_ERRORS}
       ON CONFLICT (run_id, object_type, object_id) DO UPDATE SET kind = EXCLUDED.kind, message = EXCLUDED.message, created_at = now()`,
      [
        runId,
        errors.map((e) => e.objectType),
        errors.map((e) => e.objectId),
        errors.map((e) => e.kind),
        errors.map((e) => e.message.slice(0, 2000)),
      ],
    );
  }

  /** Clears errors of objects that succeeded on a later pass of the same run. */
  async clearErrors(runId: string, objectType: SyncObjectType, objectIds: string[]): Promise<void> {
    if (objectIds.length === 0) return;
    await this.em.query(
      `DELETE FROM provider_run_errors WHERE run_id = $1 AND object_type = $2 AND object_id = ANY($3::uuid[])`,
      [runId, objectType, objectIds],
    );
  }

  /** A run with its counters summed over its pages and cleanup, and its errors. */
  async summary(run: RunEntity): Promise<RunSummary> {
    const pages: { done: number; counts: Partial<RunCounts> }[] = await this.em.query(
      `SELECT done, counts FROM provider_run_pages WHERE run_id = $1`,
      [run.id],
    );
    const counts: RunCounts = { ...EMPTY_COUNTS };
    let done = 0;
    for (const page of pages) {
      done += page.done;
      addCounts(counts, page.counts);
    }
    addCounts(counts, run.deprovisioned);
    const errors: RunSummary['errors'] = await this.em.query(
      `SELECT object_type AS "objectType", object_id AS "objectId", kind, message FROM provider_run_errors WHERE run_id = $1 ORDER BY id`,
      [run.id],
    );
    return { run, done, counts, errors };
  }

  /** When each provider last finished a run successfully (for metrics). */
  lastSuccess(): Promise<{ provider_id: string; at: Date }[]> {
    return this.em.query(
      `SELECT provider_id, max(finished_at) AS at FROM provider_runs WHERE status = 'succeeded' AND NOT dry_run GROUP BY provider_id`,
    );
  }
}

export function addCounts(into: RunCounts, more: Partial<RunCounts>): RunCounts {
  for (const key of Object.keys(EMPTY_COUNTS) as (keyof RunCounts)[]) into[key] += more[key] ?? 0;
  return into;
}

function rowsOf(result: unknown): unknown[] {
  return Array.isArray(result) && result.length === 2 && Array.isArray(result[0])
    ? (result[0] as unknown[])
    : (result as unknown[]);
}
