import type { EntityManager } from 'typeorm';
import { UserEntity } from './user.entity.js';

/** A user to insert, with its id chosen by the caller. */
export type NewUserRow = Pick<
  UserEntity,
  'id' | 'userName' | 'externalId' | 'displayName' | 'active' | 'kind' | 'attributes'
>;

export interface InsertedUser {
  user: UserEntity;
  /** The caller's companion row of this user, as JSON (null without a companion). */
  companion: Record<string, unknown> | null;
}

/** All SQL for users. */
export class UsersRepository {
  constructor(private readonly em: EntityManager) {}

  findById(id: string, lock = false): Promise<UserEntity | null> {
    const qb = this.em.getRepository(UserEntity).createQueryBuilder('u').where('u.id = :id', { id });
    if (lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  findByUserName(userName: string): Promise<UserEntity | null> {
    return this.em
      .getRepository(UserEntity)
      .createQueryBuilder('u')
      .where('lower(u.user_name) = lower(:userName)', { userName })
      .getOne();
  }

  async findByIds(ids: string[]): Promise<UserEntity[]> {
    if (ids.length === 0) return [];
    return this.em
      .getRepository(UserEntity)
      .createQueryBuilder('u')
      .where('u.id = ANY(:ids)', { ids })
      .getMany();
  }

  async existingIds(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows: { id: string }[] = await this.em.query('SELECT id FROM users WHERE id = ANY($1::uuid[])', [
      ids,
    ]);
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Inserts users in ONE statement, the hot path of provisioning, kept free of ORM overhead: the
   * rows travel as one JSON parameter, so the statement's text is the same for one user or many.
   * `alongside` gives a data-modifying CTE for the same statement (the outbox events), reading the
   * new rows from `created`; so may `companion` (a caller's own rows), whose RETURNING rows carry
   * their user's id as `id` and come back as JSON. Results are in the order of `rows`.
   */
  async insertMany(
    rows: NewUserRow[],
    alongside: (params: unknown[], from: string) => string,
    companion?: (params: unknown[], from: string) => string,
  ): Promise<InsertedUser[]> {
    const params: unknown[] = [
      JSON.stringify(
        rows.map((r) => ({
          id: r.id,
          user_name: r.userName,
          external_id: r.externalId,
          display_name: r.displayName,
          active: r.active,
          kind: r.kind,
          attributes: r.attributes,
        })),
      ),
    ];
    const insert = `INSERT INTO users (id, user_name, external_id, display_name, active, kind, attributes)
       SELECT id, user_name, external_id, display_name, active, kind, attributes
         FROM jsonb_to_recordset($1::jsonb) AS i(id uuid, user_name text, external_id text, display_name text,
                                                  active boolean, kind text, attributes jsonb)
       RETURNING *`;
    const ctes = [`created AS (${insert})`, `alongside AS (${alongside(params, 'created')})`];
    if (companion) ctes.push(`companion AS (${companion(params, 'created')})`);
    const select = companion
      ? 'SELECT c.*, to_jsonb(k) AS companion FROM created c LEFT JOIN companion k ON k.id = c.id'
      : 'SELECT c.*, NULL::jsonb AS companion FROM created c';
    const result: Record<string, unknown>[] = await this.em.query(
      `WITH ${ctes.join(', ')} ${select}`,
      params,
    );
    const byId = new Map(result.map((row) => [row.id as string, row]));
    return rows.map((r) => {
      const row = byId.get(r.id);
      if (!row) throw new Error(`The insert of users returned no row for ${r.id}`);
      return {
        user: Object.assign(new UserEntity(), mapRow(row)),
        companion: (row.companion as Record<string, unknown> | null) ?? null,
      };
    });
  }

  /**
   * Writes the user's fields and version in one UPDATE … RETURNING (no ORM reload first), with the
   * data-modifying CTE `alongside` (the outbox event) reading the updated row from `updated`.
   */
  async update(
    user: UserEntity,
    alongside: (params: unknown[], from: string) => string,
  ): Promise<UserEntity> {
    const params: unknown[] = [
      user.id,
      user.userName,
      user.externalId,
      user.displayName,
      user.active,
      user.kind,
      JSON.stringify(user.attributes),
      user.version,
    ];
    const update = `UPDATE users SET user_name = $2, external_id = $3, display_name = $4, active = $5, kind = $6,
              attributes = $7, version = $8, updated_at = now()
        WHERE id = $1 RETURNING *`;
    const rows: Record<string, unknown>[] = await this.em.query(
      `WITH updated AS (${update}), alongside AS (${alongside(params, 'updated')}) SELECT * FROM updated`,
      params,
    );
    return Object.assign(new UserEntity(), mapRow(rows[0]!));
  }

  async delete(id: string): Promise<void> {
    await this.em.getRepository(UserEntity).delete({ id });
  }

  /**
   * Keyset page ordered by id. `search` matches the start of userName, displayName, externalId or
   * an email address, case-insensitively.
   */
  list(limit: number, after?: string, search?: string): Promise<UserEntity[]> {
    const qb = this.em
      .getRepository(UserEntity)
      .createQueryBuilder('u')
      .orderBy('u.id', 'ASC')
      .limit(limit + 1);
    if (after) qb.andWhere('u.id > :after', { after });
    if (search) {
      const pattern = `${escapeLike(search.toLowerCase())}%`;
      qb.andWhere(
        `(lower(u.user_name) LIKE :pattern OR lower(u.display_name) LIKE :pattern OR u.external_id = :exact
          OR ib_email_values(u.attributes) @> ARRAY[:lowerExact]::text[])`,
        { pattern, exact: search, lowerExact: search.toLowerCase() },
      );
    }
    return qb.getMany();
  }

  /** Ids and names of the groups the user is a direct member of. */
  groupsOf(userId: string): Promise<{ id: string; displayName: string }[]> {
    return this.em.query(
      `SELECT g.id, g.display_name AS "displayName" FROM memberships m JOIN groups g ON g.id = m.group_id
        WHERE m.member_user_id = $1 ORDER BY g.display_name, g.id`,
      [userId],
    );
  }
}

export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** A raw `users` row (snake_case) as an entity. */
function mapRow(row: Record<string, unknown>): Partial<UserEntity> {
  return {
    id: row.id as string,
    userName: row.user_name as string,
    externalId: row.external_id as string | null,
    displayName: row.display_name as string | null,
    active: row.active as boolean,
    kind: row.kind as UserEntity['kind'],
    attributes: row.attributes as Record<string, unknown>,
    version: row.version as number,
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
  };
}
