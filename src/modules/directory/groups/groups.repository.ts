import type { EntityManager } from 'typeorm';
import { returning } from '../transaction.js';
import { escapeLike } from '../users/users.repository.js';
import { GroupEntity } from './group.entity.js';

export interface MemberRef {
  type: 'user' | 'group';
  id: string;
}

/** All SQL for groups and memberships. Membership changes cost time in the number of members named. */
export class GroupsRepository {
  constructor(private readonly em: EntityManager) {}

  findById(id: string, lock = false): Promise<GroupEntity | null> {
    const qb = this.em.getRepository(GroupEntity).createQueryBuilder('g').where('g.id = :id', { id });
    if (lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  async findByIds(ids: string[]): Promise<GroupEntity[]> {
    if (ids.length === 0) return [];
    return this.em
      .getRepository(GroupEntity)
      .createQueryBuilder('g')
      .where('g.id = ANY(:ids)', { ids })
      .getMany();
  }

  async existingIds(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows: { id: string }[] = await this.em.query('SELECT id FROM groups WHERE id = ANY($1::uuid[])', [
      ids,
    ]);
    return new Set(rows.map((r) => r.id));
  }

  insert(values: Partial<GroupEntity>): Promise<GroupEntity> {
    const repo = this.em.getRepository(GroupEntity);
    return repo.save(repo.create(values));
  }

  save(group: GroupEntity): Promise<GroupEntity> {
    return this.em.getRepository(GroupEntity).save(group);
  }

  async delete(id: string): Promise<void> {
    await this.em.getRepository(GroupEntity).delete({ id });
  }

  list(limit: number, after?: string, search?: string): Promise<GroupEntity[]> {
    const qb = this.em
      .getRepository(GroupEntity)
      .createQueryBuilder('g')
      .orderBy('g.id', 'ASC')
      .limit(limit + 1);
    if (after) qb.andWhere('g.id > :after', { after });
    if (search) {
      qb.andWhere('(lower(g.display_name) LIKE :pattern OR g.external_id = :exact)', {
        pattern: `${escapeLike(search.toLowerCase())}%`,
        exact: search,
      });
    }
    return qb.getMany();
  }

  /** Inserts the memberships that do not exist yet; returns the ids actually added. */
  async addMembers(
    groupId: string,
    userIds: string[],
    groupIds: string[],
  ): Promise<{ userIds: string[]; groupIds: string[] }> {
    const added = { userIds: [] as string[], groupIds: [] as string[] };
    if (userIds.length > 0) {
      const rows: { id: string }[] = await this.em.query(
        `INSERT INTO memberships (group_id, member_user_id)
         SELECT $1, u FROM unnest($2::uuid[]) AS u
         ON CONFLICT (group_id, member_user_id) WHERE member_user_id IS NOT NULL DO NOTHING
         RETURNING member_user_id AS id`,
        [groupId, userIds],
      );
      added.userIds = rows.map((r) => r.id);
    }
    if (groupIds.length > 0) {
      const rows: { id: string }[] = await this.em.query(
        `INSERT INTO memberships (group_id, member_group_id)
         SELECT $1, g FROM unnest($2::uuid[]) AS g
         ON CONFLICT (group_id, member_group_id) WHERE member_group_id IS NOT NULL DO NOTHING
         RETURNING member_group_id AS id`,
        [groupId, groupIds],
      );
      added.groupIds = rows.map((r) => r.id);
    }
    return added;
  }

  /** Deletes the named memberships; returns the ids actually removed. */
  async removeMembers(
    groupId: string,
    userIds: string[],
    groupIds: string[],
  ): Promise<{ userIds: string[]; groupIds: string[] }> {
    const removed = { userIds: [] as string[], groupIds: [] as string[] };
    if (userIds.length > 0) {
      const rows: { id: string }[] = await returning(
        this.em,
        `DELETE FROM memberships WHERE group_id = $1 AND member_user_id = ANY($2::uuid[]) RETURNING member_user_id AS id`,
        [groupId, userIds],
      );
      removed.userIds = rows.map((r) => r.id);
    }
    if (groupIds.length > 0) {
      const rows: { id: string }[] = await returning(
        this.em,
        `DELETE FROM memberships WHERE group_id = $1 AND member_group_id = ANY($2::uuid[]) RETURNING member_group_id AS id`,
        [groupId, groupIds],
      );
      removed.groupIds = rows.map((r) => r.id);
    }
    return removed;
  }

  /** Removes every member except the ones named (for a full replace); returns what was removed. */
  async removeMembersExcept(groupId: string, keepUserIds: string[], keepGroupIds: string[]) {
    const rows: { user_id: string | null; group_id: string | null }[] = await returning(
      this.em,
      `DELETE FROM memberships WHERE group_id = $1
         AND ((member_user_id IS NOT NULL AND NOT (member_user_id = ANY($2::uuid[])))
           OR (member_group_id IS NOT NULL AND NOT (member_group_id = ANY($3::uuid[]))))
       RETURNING member_user_id AS user_id, member_group_id AS group_id`,
      [groupId, keepUserIds, keepGroupIds],
    );
    return {
      userIds: rows.flatMap((r) => (r.user_id ? [r.user_id] : [])),
      groupIds: rows.flatMap((r) => (r.group_id ? [r.group_id] : [])),
    };
  }

  /** Of the candidate groups, those that already contain `groupId` (transitively): adding them would close a cycle. */
  async groupsContaining(groupId: string, candidates: string[]): Promise<string[]> {
    if (candidates.length === 0) return [];
    const rows: { id: string }[] = await this.em.query(
      `WITH RECURSIVE sub(root, id) AS (
         SELECT c, c FROM unnest($2::uuid[]) AS c
         UNION
         SELECT s.root, m.member_group_id FROM memberships m JOIN sub s ON m.group_id = s.id
          WHERE m.member_group_id IS NOT NULL
       )
       SELECT DISTINCT root AS id FROM sub WHERE id = $1`,
      [groupId, candidates],
    );
    return rows.map((r) => r.id);
  }

  /** Keyset page of a group's direct members, nested groups first then users, by id. */
  async members(groupId: string, limit: number, after?: { type: 'user' | 'group'; id: string }) {
    const rows: { type: 'user' | 'group'; id: string; display: string | null }[] = await this.em.query(
      `SELECT * FROM (
         SELECT 'user' AS type, u.id, coalesce(u.display_name, u.user_name) AS display
           FROM memberships m JOIN users u ON u.id = m.member_user_id WHERE m.group_id = $1
         UNION ALL
         SELECT 'group' AS type, g.id, g.display_name AS display
           FROM memberships m JOIN groups g ON g.id = m.member_group_id WHERE m.group_id = $1
       ) AS members
       WHERE ($3::text IS NULL OR (type, id) > ($3::text, $4::uuid))
       ORDER BY type, id
       LIMIT $2`,
      [groupId, limit + 1, after?.type ?? null, after?.id ?? null],
    );
    return rows;
  }

  async memberCount(groupId: string): Promise<number> {
    const [row] = (await this.em.query('SELECT count(*)::int AS n FROM memberships WHERE group_id = $1', [
      groupId,
    ])) as {
      n: number;
    }[];
    return row?.n ?? 0;
  }
}
