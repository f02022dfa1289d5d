import type { EntityManager } from 'typeorm';
import { processAliveSql, type SyncObjectType } from '../../../platform/jobs/index.js';
import type { ConnectionState } from './connection.entity.js';

/** A connection row while we hold its lease. */
export interface LeasedConnection {
  localId: string;
  remoteId: string | null;
  state: ConnectionState;
  lastSent: Record<string, unknown> | null;
  createStartedAt: Date | null;
  attempts: number;
  /** The row did not exist before this lease (nothing was ever sent). */
  inserted: boolean;
}

/** The state a push leaves a connection in (written in bulk, releasing the lease). */
export interface ConnectionWrite {
  localId: string;
  remoteId: string | null;
  state: ConnectionState;
  lastSent: Record<string, unknown> | null;
  /** A request succeeded (or nothing needed sending): stamps `last_synced_at`, resets `attempts`. */
  synced: boolean;
  lastError: string | null;
  lastErrorKind: string | null;
  createStartedAt: Date | null;
}

export interface SentMember {
  groupId: string;
  type: SyncObjectType;
  id: string;
  remoteId: string;
}

interface LeaseRow {
  local_id: string;
  remote_id: string | null;
  state: ConnectionState;
  last_sent: Record<string, unknown> | null;
  create_started_at: Date | null;
  attempts: number;
  inserted: boolean;
}

/** A lease is free when nobody holds it, it expired, or its holder's process is gone. */
const LEASE_FREE = (c: string) =>
  `(${c}.lease_owner IS NULL OR ${c}.lease_until < now() OR NOT ${processAliveSql(`split_part(${c}.lease_owner, ':', 1)`)})`;

/**
 * All SQL for connections and the group members we sent.
 *
 * These bookkeeping writes commit without waiting for the WAL flush (`synchronous_commit = off`
 * for the statement's own transaction, see {@link write}): a push makes several of them, and waiting for the disk on each was most of a
 * delta's time on a busy database. Only a database crash can lose one (the last fraction of a
 * second), and every such loss is redone safely: a create whose id was lost is looked up before it
 * is repeated (409 → link; groups are always looked up first), a change whose record was lost is
 * sent again (the operations are idempotent), a lost lease is simply free.
 */
export class ConnectionRepository {
  constructor(private readonly em: EntityManager) {}

  /**
   * Runs one data-modifying statement (ending in RETURNING) in its own transaction, committed
   * without waiting for the WAL flush, in one round trip (BEGIN, SET LOCAL, the statement and
   * COMMIT were four, most of the worker's database traffic). `set_config(…, true)` is local to the
   * statement's implicit transaction, which reads it when it commits; it runs for every row the
   * statement returns, so a statement that changed anything has set it (one that changed nothing
   * has nothing to flush). Inside a caller's transaction the statement runs as is: that
   * transaction's durability is the caller's.
   */
  private write<T = unknown>(dml: string, params: unknown[]): Promise<T[]> {
    return this.em.query(`WITH w AS (${dml}) SELECT * FROM w WHERE ${this.asyncCommit()}`, params);
  }

  /** The condition that commits the statement's own transaction asynchronously (see {@link write}). */
  private asyncCommit(): string {
    return this.em.queryRunner?.isTransactionActive
      ? 'true'
      : `set_config('synchronous_commit', 'off', true) IS NOT NULL`;
  }

  /**
   * Takes the lease of each object that is free (or already ours); creates the rows of objects
   * never seen when `createMissing`. Returns the rows we now hold; the others are busy.
   */
  async lease(
    providerId: string,
    type: SyncObjectType,
    ids: readonly string[],
    owner: string,
    ttlSeconds: number,
    createMissing: boolean,
  ): Promise<Map<string, LeasedConnection>> {
    if (ids.length === 0) return new Map();
    const sorted = [...new Set(ids)].sort();
    const rows = createMissing
      ? await this.write<LeaseRow>(
          `INSERT INTO provider_connections AS c (provider_id, object_type, local_id, lease_owner, lease_until)
           SELECT $1, $2, id, $4, now() + make_interval(secs => $5) FROM unnest($3::uuid[]) AS id
           ON CONFLICT (provider_id, object_type, local_id) DO UPDATE
              SET lease_owner = EXCLUDED.lease_owner, lease_until = EXCLUDED.lease_until
            WHERE ${LEASE_FREE('c')}
           RETURNING c.local_id, c.remote_id, c.state, c.last_sent, c.create_started_at, c.attempts, (c.xmax = 0) AS inserted`,
          [providerId, type, sorted, owner, ttlSeconds],
        )
      : await this.write<LeaseRow>(
          `UPDATE provider_connections c SET lease_owner = $4, lease_until = now() + make_interval(secs => $5)
            WHERE c.provider_id = $1 AND c.object_type = $2 AND c.local_id = ANY($3::uuid[]) AND ${LEASE_FREE('c')}
           RETURNING c.local_id, c.remote_id, c.state, c.last_sent, c.create_started_at, c.attempts, false AS inserted`,
          [providerId, type, sorted, owner, ttlSeconds],
        );
    return new Map(
      rows.map((r) => [
        r.local_id,
        {
          localId: r.local_id,
          remoteId: r.remote_id,
          state: r.state,
          lastSent: r.last_sent,
          createStartedAt: r.create_started_at,
          attempts: r.attempts,
          inserted: r.inserted,
        },
      ]),
    );
  }

  /** Of `ids`, those that have a connection row (leased by someone else or not). */
  async existing(providerId: string, type: SyncObjectType, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows: { local_id: string }[] = await this.em.query(
      `SELECT local_id FROM provider_connections WHERE provider_id = $1 AND object_type = $2 AND local_id = ANY($3::uuid[])`,
      [providerId, type, ids],
    );
    return new Set(rows.map((r) => r.local_id));
  }

  /** Records that creates are about to be sent, so a crash between POST and save is detectable. */
  async markCreateStarted(
    providerId: string,
    type: SyncObjectType,
    ids: readonly string[],
    owner: string,
  ): Promise<void> {
    if (ids.length === 0) return;
    await this.write(
      `UPDATE provider_connections SET create_started_at = now()
        WHERE provider_id = $1 AND object_type = $2 AND local_id = ANY($3::uuid[]) AND lease_owner = $4
       RETURNING local_id`,
      [providerId, type, ids, owner],
    );
  }

  /** Writes push outcomes and releases their leases, in one statement. */
  async save(
    providerId: string,
    type: SyncObjectType,
    writes: readonly ConnectionWrite[],
    owner: string,
    options: { keepLease?: boolean } = {},
  ): Promise<void> {
    if (writes.length === 0) return;
    await this.write(
      `UPDATE provider_connections c SET
          remote_id = v.remote_id,
          state = v.state,
          last_sent = v.last_sent,
          last_synced_at = CASE WHEN v.synced THEN now() ELSE c.last_synced_at END,
          last_error = v.last_error,
          last_error_kind = v.last_error_kind,
          attempts = CASE WHEN v.synced THEN 0 ELSE c.attempts + 1 END,
          create_started_at = v.create_started_at,
          lease_owner = CASE WHEN $12 THEN c.lease_owner END,
          lease_until = CASE WHEN $12 THEN c.lease_until END,
          updated_at = now()
        FROM unnest($3::uuid[], $4::text[], $5::text[], $6::jsonb[], $7::boolean[], $8::text[], $9::text[], $10::timestamptz[])
          AS v(local_id, remote_id, state, last_sent, synced, last_error, last_error_kind, create_started_at)
       WHERE c.provider_id = $1 AND c.object_type = $2 AND c.local_id = v.local_id AND c.lease_owner = $11
       RETURNING c.local_id`,
      [
        providerId,
        type,
        writes.map((w) => w.localId),
        writes.map((w) => w.remoteId),
        writes.map((w) => w.state),
        writes.map((w) => (w.lastSent === null ? null : JSON.stringify(w.lastSent))),
        writes.map((w) => w.synced),
        writes.map((w) => w.lastError?.slice(0, 2000) ?? null),
        writes.map((w) => w.lastErrorKind),
        writes.map((w) => w.createStartedAt?.toISOString() ?? null),
        owner,
        options.keepLease ?? false,
      ],
    );
  }

  /** Releases leases without changing anything else (dry run, or nothing happened). */
  async release(
    providerId: string,
    type: SyncObjectType,
    ids: readonly string[],
    owner: string,
  ): Promise<void> {
    if (ids.length === 0) return;
    await this.write(
      `UPDATE provider_connections SET lease_owner = NULL, lease_until = NULL
        WHERE provider_id = $1 AND object_type = $2 AND local_id = ANY($3::uuid[]) AND lease_owner = $4
       RETURNING local_id`,
      [providerId, type, ids, owner],
    );
    // Rows we created only to hold a lease and never sent anything for are dropped again.
    await this.write(
      `DELETE FROM provider_connections
        WHERE provider_id = $1 AND object_type = $2 AND local_id = ANY($3::uuid[])
          AND remote_id IS NULL AND last_sent IS NULL AND last_error IS NULL AND create_started_at IS NULL AND lease_owner IS NULL
       RETURNING local_id`,
      [providerId, type, ids],
    );
  }

  /**
   * Forgets objects (deleted downstream, or left alone): their connection rows and, as members
   * or as groups, the members we recorded as sent.
   */
  async forget(
    providerId: string,
    type: SyncObjectType,
    ids: readonly string[],
    owner: string,
    removedDownstream: boolean,
  ): Promise<void> {
    if (ids.length === 0) return;
    await this.write(
      `DELETE FROM provider_connections WHERE provider_id = $1 AND object_type = $2 AND local_id = ANY($3::uuid[]) AND lease_owner = $4 RETURNING local_id`,
      [providerId, type, ids, owner],
    );
    if (type === 'group') {
      await this.write(
        `DELETE FROM provider_group_members WHERE provider_id = $1 AND group_id = ANY($2::uuid[]) RETURNING group_id`,
        [providerId, ids],
      );
    }
    if (removedDownstream) {
      // The app dropped the object from its groups itself.
      await this.write(
        `DELETE FROM provider_group_members WHERE provider_id = $1 AND member_type = $2 AND member_id = ANY($3::uuid[]) RETURNING group_id`,
        [providerId, type, ids],
      );
    }
  }

  /** The app's ids of the given objects (only provisioned ones). */
  async remoteIds(
    providerId: string,
    type: SyncObjectType,
    ids: readonly string[],
  ): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows: { local_id: string; remote_id: string }[] = await this.em.query(
      `SELECT local_id, remote_id FROM provider_connections
        WHERE provider_id = $1 AND object_type = $2 AND local_id = ANY($3::uuid[]) AND remote_id IS NOT NULL AND state <> 'deactivated'`,
      [providerId, type, ids],
    );
    return new Map(rows.map((r) => [r.local_id, r.remote_id]));
  }

  async sentMembers(providerId: string, groupIds: readonly string[]): Promise<SentMember[]> {
    if (groupIds.length === 0) return [];
    return this.em.query(
      `SELECT group_id AS "groupId", member_type AS type, member_id AS id, remote_id AS "remoteId"
         FROM provider_group_members WHERE provider_id = $1 AND group_id = ANY($2::uuid[])`,
      [providerId, groupIds],
    );
  }

  async addSentMembers(
    providerId: string,
    groupId: string,
    members: readonly Omit<SentMember, 'groupId'>[],
  ): Promise<void> {
    if (members.length === 0) return;
    await this.write(
      `INSERT INTO provider_group_members (provider_id, group_id, member_type, member_id, remote_id)
       SELECT $1, $2, t, id, r FROM unnest($3::text[], $4::uuid[], $5::text[]) AS m(t, id, r)
       ON CONFLICT (provider_id, group_id, member_type, member_id) DO UPDATE SET remote_id = EXCLUDED.remote_id
       RETURNING member_id`,
      [
        providerId,
        groupId,
        members.map((m) => m.type),
        members.map((m) => m.id),
        members.map((m) => m.remoteId),
      ],
    );
  }

  async removeSentMembers(
    providerId: string,
    groupId: string,
    members: readonly Omit<SentMember, 'groupId' | 'remoteId'>[],
  ): Promise<void> {
    if (members.length === 0) return;
    await this.write(
      `DELETE FROM provider_group_members pgm USING unnest($3::text[], $4::uuid[]) AS m(t, id)
        WHERE pgm.provider_id = $1 AND pgm.group_id = $2 AND pgm.member_type = m.t AND pgm.member_id = m.id
       RETURNING pgm.member_id`,
      [providerId, groupId, members.map((m) => m.type), members.map((m) => m.id)],
    );
  }

  /**
   * Replaces the recorded members of a group (after a PUT with the full list, or a relink), in one
   * statement: the members not in the new list go, the new list is upserted (disjoint rows).
   */
  async replaceSentMembers(
    providerId: string,
    groupId: string,
    members: readonly Omit<SentMember, 'groupId'>[],
  ): Promise<void> {
    // Data-modifying CTEs must be at the top level, so this one is not wrapped by `write`.
    await this.em.query(
      `WITH m AS (SELECT * FROM unnest($3::text[], $4::uuid[], $5::text[]) AS m(t, id, r)),
            gone AS (
              DELETE FROM provider_group_members pgm
               WHERE pgm.provider_id = $1 AND pgm.group_id = $2
                 AND NOT EXISTS (SELECT 1 FROM m WHERE m.t = pgm.member_type AND m.id = pgm.member_id)
              RETURNING pgm.member_id),
            kept AS (
              INSERT INTO provider_group_members (provider_id, group_id, member_type, member_id, remote_id)
              SELECT $1, $2, t, id, r FROM m
              ON CONFLICT (provider_id, group_id, member_type, member_id) DO UPDATE SET remote_id = EXCLUDED.remote_id
              RETURNING member_id)
       SELECT member_id FROM (SELECT member_id FROM gone UNION ALL SELECT member_id FROM kept) changed
        WHERE ${this.asyncCommit()}`,
      [
        providerId,
        groupId,
        members.map((m) => m.type),
        members.map((m) => m.id),
        members.map((m) => m.remoteId),
      ],
    );
  }

  /** Groups in which we sent this object as a member. */
  async groupsWithMember(providerId: string, type: SyncObjectType, memberId: string): Promise<string[]> {
    const rows: { group_id: string }[] = await this.em.query(
      `SELECT group_id FROM provider_group_members WHERE provider_id = $1 AND member_type = $2 AND member_id = $3`,
      [providerId, type, memberId],
    );
    return rows.map((r) => r.group_id);
  }

  /**
   * Keyset page of connections whose object is deleted or out of scope (`scopeSql` is the scope
   * predicate over alias `o`, its parameters starting at $4).
   */
  async outOfScope(
    providerId: string,
    type: SyncObjectType,
    afterId: string | null,
    limit: number,
    scopeSql: string,
    scopeParams: unknown[],
  ): Promise<string[]> {
    const table = type === 'user' ? 'users' : 'groups';
    const rows: { local_id: string }[] = await this.em.query(
      `SELECT c.local_id FROM provider_connections c
        WHERE c.provider_id = $1 AND c.object_type = $2 AND ($3::uuid IS NULL OR c.local_id > $3::uuid)
          AND NOT EXISTS (SELECT 1 FROM ${table} o WHERE o.id = c.local_id AND ${scopeSql})
        ORDER BY c.local_id LIMIT ${Math.max(1, Math.floor(limit))}`,
      [providerId, type, afterId, ...scopeParams],
    );
    return rows.map((r) => r.local_id);
  }
}
