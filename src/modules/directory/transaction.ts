import type { DataSource, EntityManager } from 'typeorm';

/**
 * Runs `work` in the caller's transaction when one is passed (so a SCIM source can write its link
 * row, the directory object and the outbox event atomically), else in a new one.
 */
export function inTransaction<T>(
  dataSource: DataSource,
  tx: EntityManager | undefined,
  work: (tx: EntityManager) => Promise<T>,
): Promise<T> {
  if (tx?.queryRunner?.isTransactionActive) return work(tx);
  return dataSource.transaction(work);
}

/** PostgreSQL SQLSTATE of a driver error, if any. */
export function pgCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; driverError?: { code?: unknown } };
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

export function pgConstraint(error: unknown): string | undefined {
  const e = error as { constraint?: unknown; driverError?: { constraint?: unknown } };
  const c = e?.driverError?.constraint ?? e?.constraint;
  return typeof c === 'string' ? c : undefined;
}

/**
 * Runs a data-modifying statement with RETURNING. TypeORM answers UPDATE/DELETE with
 * `[rows, affected]` and INSERT with `rows`; this always gives the rows.
 */
export async function returning<T>(em: EntityManager, sql: string, params: unknown[]): Promise<T[]> {
  const result: unknown = await em.query(sql, params);
  if (
    Array.isArray(result) &&
    result.length === 2 &&
    Array.isArray(result[0]) &&
    typeof result[1] === 'number'
  ) {
    return result[0] as T[];
  }
  return result as T[];
}
