import { randomUUID } from 'node:crypto';
import DataLoader from 'dataloader';
import { Histogram } from 'prom-client';
import type { DataSource, EntityManager } from 'typeorm';
import { Semaphore } from '../../../lib/concurrency.js';
import { metricOnce, registry } from '../../../platform/metrics/metrics.js';
import type { ChangeOrigin } from '../changes/change-event.entity.js';
import type { ChangeRecorder } from '../changes/change-recorder.js';
import { DirectoryErrors } from '../directory.errors.js';
import { pgCode, pgConstraint } from '../transaction.js';
import { UsersRepository, type InsertedUser, type NewUserRow } from './users.repository.js';

/** Users written by one statement at most. */
export const MAX_USERS_PER_STATEMENT = 64;
/** Statements of user creates running at once; further creates wait and go together. */
export const MAX_STATEMENTS_IN_FLIGHT = 2;
/** Distinct (companion, origin) pairs with their own queue; more is unusual, and then they start afresh. */
const MAX_QUEUES = 1_000;

const usersPerStatement = metricOnce(
  'identity_bridge_directory_user_creates_per_statement',
  () =>
    new Histogram({
      name: 'identity_bridge_directory_user_creates_per_statement',
      help: 'User creates written by one statement (concurrent creates are batched)',
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: [registry],
    }),
);

/** A user as it is created: the promoted columns and every other attribute. */
export type NewUserValues = Omit<NewUserRow, 'id'>;

/**
 * A caller's own rows, written by the same statement as the users they belong to (a SCIM
 * source's link rows), so that user, outbox event and companion row are one atomic write.
 */
export interface UserCompanion<V> {
  /** Creates with the same companion key (and origin) may share one statement. */
  readonly key: string;
  /**
   * A data-modifying statement with RETURNING that writes one row per new user, reading the new
   * users from the CTE named `created` (`id`, `user_name` …) and the caller's value of each from
   * `rows` (by user id); appends its parameters to `params`. Each RETURNING row carries its user's
   * id as `id`.
   */
  statement(params: unknown[], created: string, rows: { id: string; value: V }[]): string;
}

interface Request {
  row: NewUserRow;
  value: unknown;
}

/**
 * User creates, written in batches. Each create is a single statement (user, outbox event and any
 * companion row: atomic without a transaction), and a statement costs PostgreSQL far more than a
 * row: parsing, planning, its own commit and WAL flush. So creates that arrive while
 * {@link MAX_STATEMENTS_IN_FLIGHT} statements are running wait and go out together, up to
 * {@link MAX_USERS_PER_STATEMENT} in one statement (one JSON parameter; the SQL text never
 * changes). A lone create goes out at once, so batching adds no latency when the bridge is quiet;
 * under a provisioning burst it cuts PostgreSQL's work per user to a fraction.
 *
 * Batching never changes an outcome: one bad row (a taken userName, a source deleted meanwhile)
 * fails the whole statement, which then wrote nothing, and each of its creates is tried again on
 * its own and answered with exactly its own result or error. A create in the caller's transaction
 * is never batched.
 */
export class UserInserts {
  private readonly queues = new Map<string, DataLoader<Request, InsertedUser>>();
  private readonly slots = new Semaphore(MAX_STATEMENTS_IN_FLIGHT);

  constructor(
    private readonly dataSource: DataSource,
    private readonly changes: ChangeRecorder,
  ) {}

  insert<V>(
    values: NewUserValues,
    origin: ChangeOrigin,
    companion: { of: UserCompanion<V>; value: V } | undefined,
    tx: EntityManager | undefined,
  ): Promise<InsertedUser> {
    const request: Request = { row: { id: randomUUID(), ...values }, value: companion?.value };
    if (tx) return this.insertAlone(tx, request, origin, companion?.of);
    return this.queue(origin, companion?.of).load(request);
  }

  private queue(origin: ChangeOrigin, companion: UserCompanion<unknown> | undefined) {
    const key = JSON.stringify([companion?.key ?? null, origin.type, origin.id ?? null]);
    let queue = this.queues.get(key);
    if (!queue) {
      if (this.queues.size >= MAX_QUEUES) this.queues.clear();
      queue = new DataLoader<Request, InsertedUser>((requests) => this.run(requests, origin, companion), {
        cache: false,
        maxBatchSize: MAX_USERS_PER_STATEMENT,
        // A batch is sent when a statement slot is free; creates made until then join it. The
        // tick's delay lets the create that opened the batch join it first.
        batchScheduleFn: (send) => this.slots.take(() => process.nextTick(send)),
      });
      this.queues.set(key, queue);
    }
    return queue;
  }

  private async run(
    requests: readonly Request[],
    origin: ChangeOrigin,
    companion: UserCompanion<unknown> | undefined,
  ): Promise<(InsertedUser | Error)[]> {
    const em = this.dataSource.manager;
    try {
      if (requests.length > 1) {
        try {
          return await this.statement(em, requests, origin, companion);
        } catch {
          // The statement wrote nothing; each create is tried alone for its own answer.
        }
      }
      return await Promise.all(
        requests.map((request) => this.insertAlone(em, request, origin, companion).catch(asError)),
      );
    } finally {
      this.slots.release();
    }
  }

  private async insertAlone(
    em: EntityManager,
    request: Request,
    origin: ChangeOrigin,
    companion: UserCompanion<unknown> | undefined,
  ): Promise<InsertedUser> {
    const [inserted] = await withUniqueUserName(request.row.userName, () =>
      this.statement(em, [request], origin, companion),
    );
    return inserted!;
  }

  private async statement(
    em: EntityManager,
    requests: readonly Request[],
    origin: ChangeOrigin,
    companion: UserCompanion<unknown> | undefined,
  ): Promise<InsertedUser[]> {
    const inserted = await new UsersRepository(em).insertMany(
      requests.map((r) => r.row),
      (params, from) =>
        this.changes.statementFor(origin, { objectType: 'user', kind: 'created', version: 1 }, from, params),
      companion &&
        ((params, from) =>
          companion.statement(
            params,
            from,
            requests.map((r) => ({ id: r.row.id, value: r.value })),
          )),
    );
    this.changes.written(em);
    usersPerStatement.observe(requests.length);
    return inserted;
  }
}

/** A write that may take a userName held by another user: that is a 409 `userNameTaken`. */
export async function withUniqueUserName<T>(userName: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (pgCode(error) === '23505' && pgConstraint(error) === 'users_user_name_lower_key') {
      throw DirectoryErrors.userNameTaken(userName);
    }
    throw error;
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
