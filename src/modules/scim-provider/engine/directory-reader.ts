import type { EntityManager } from 'typeorm';
import {
  groupToView,
  userToView,
  type GroupEntity,
  type GroupView,
  type UserEntity,
  type UserView,
} from '../../directory/index.js';
import type { ProviderScope } from '../providers/provider.entity.js';

/** A directory object with whether it is in the provider's scope right now. */
export interface ScopedUser {
  view: UserView & { id: string; groups: { id: string; displayName: string }[] };
  inScope: boolean;
}

export interface ScopedGroup {
  view: GroupView & { id: string };
  inScope: boolean;
}

/** A member a group should have downstream, with the app's id for it when it has been provisioned. */
export interface DesiredMember {
  groupId: string;
  type: 'user' | 'group';
  id: string;
  remoteId: string | null;
}

interface UserRow {
  groups: { id: string; displayName: string }[];
  id: string;
  user_name: string;
  external_id: string | null;
  display_name: string | null;
  active: boolean;
  kind: 'person' | 'service';
  attributes: Record<string, unknown>;
  version: number;
  in_scope: boolean;
}

interface GroupRow {
  id: string;
  display_name: string;
  external_id: string | null;
  attributes: Record<string, unknown>;
  version: number;
  in_scope: boolean;
}

/**
 * Read-only SQL over the directory's tables for outbound sync: objects in a provider's scope as
 * keyset pages, objects by id with their scope flag, the members a group should have. The scope
 * is evaluated in SQL, so a page costs one query whatever the scope.
 */
export class DirectoryReader {
  constructor(private readonly em: EntityManager) {}

  /** Boundaries of pages of `size` in-scope objects, by id: page n is `(bounds[n-1], bounds[n]]`. */
  async pageBounds(
    type: 'user' | 'group',
    scope: ProviderScope,
    size: number,
  ): Promise<{ upTo: string; size: number }[]> {
    const params: unknown[] = [size];
    const where = type === 'user' ? userScopeSql(scope, 'u', params) : groupScopeSql(scope, 'u', params);
    const table = type === 'user' ? 'users' : 'groups';
    const rows: { id: string; rn: string; n: string }[] = await this.em.query(
      `SELECT id, rn, n FROM (
         SELECT u.id, row_number() OVER (ORDER BY u.id) AS rn, count(*) OVER () AS n FROM ${table} u WHERE ${where}
       ) t WHERE rn % $1 = 0 OR rn = n ORDER BY id`,
      params,
    );
    return rows.map((r) => {
      const rn = Number(r.rn);
      return { upTo: r.id, size: rn % size === 0 ? size : rn % size };
    });
  }

  async usersInRange(scope: ProviderScope, afterId: string | null, upToId: string): Promise<ScopedUser[]> {
    const params: unknown[] = [afterId, upToId];
    const rows: UserRow[] = await this.em.query(
      `SELECT u.*, true AS in_scope, ${USER_GROUPS} FROM users u
        WHERE ($1::uuid IS NULL OR u.id > $1::uuid) AND u.id <= $2::uuid AND ${userScopeSql(scope, 'u', params)}
        ORDER BY u.id`,
      params,
    );
    return this.toScopedUsers(rows);
  }

  /** Users by id with their scope flag; ids that no longer exist are absent. */
  async usersByIds(scope: ProviderScope, ids: readonly string[]): Promise<ScopedUser[]> {
    if (ids.length === 0) return [];
    const params: unknown[] = [ids];
    const rows: UserRow[] = await this.em.query(
      `SELECT u.*, (${userScopeSql(scope, 'u', params)}) AS in_scope, ${USER_GROUPS} FROM users u WHERE u.id = ANY($1::uuid[]) ORDER BY u.id`,
      params,
    );
    return this.toScopedUsers(rows);
  }

  async groupsInRange(scope: ProviderScope, afterId: string | null, upToId: string): Promise<ScopedGroup[]> {
    const params: unknown[] = [afterId, upToId];
    const rows: GroupRow[] = await this.em.query(
      `SELECT g.*, true AS in_scope FROM groups g
        WHERE ($1::uuid IS NULL OR g.id > $1::uuid) AND g.id <= $2::uuid AND ${groupScopeSql(scope, 'g', params)}
        ORDER BY g.id`,
      params,
    );
    return rows.map(toScopedGroup);
  }

  async groupsByIds(scope: ProviderScope, ids: readonly string[]): Promise<ScopedGroup[]> {
    if (ids.length === 0) return [];
    const params: unknown[] = [ids];
    const rows: GroupRow[] = await this.em.query(
      `SELECT g.*, (${groupScopeSql(scope, 'g', params)}) AS in_scope FROM groups g WHERE g.id = ANY($1::uuid[]) ORDER BY g.id`,
      params,
    );
    return rows.map(toScopedGroup);
  }

  async countInScope(scope: ProviderScope): Promise<{ users: number; groups: number }> {
    const userParams: unknown[] = [];
    const groupParams: unknown[] = [];
    const [users] = (await this.em.query(
      `SELECT count(*)::int AS n FROM users u WHERE ${userScopeSql(scope, 'u', userParams)}`,
      userParams,
    )) as { n: number }[];
    const [groups] = (await this.em.query(
      `SELECT count(*)::int AS n FROM groups g WHERE ${groupScopeSql(scope, 'g', groupParams)}`,
      groupParams,
    )) as {
      n: number;
    }[];
    return { users: users?.n ?? 0, groups: groups?.n ?? 0 };
  }

  /**
   * The members the groups should have downstream: their direct members that are in scope (users;
   * groups too when the app takes nested groups), with the app's ids where we have provisioned them.
   */
  async desiredMembers(
    providerId: string,
    scope: ProviderScope,
    groupIds: readonly string[],
    nestedGroups: boolean,
  ): Promise<DesiredMember[]> {
    if (groupIds.length === 0) return [];
    const params: unknown[] = [providerId, groupIds];
    const userScope = userScopeSql(scope, 'u', params);
    let sql = `SELECT m.group_id AS "groupId", 'user' AS type, u.id, c.remote_id AS "remoteId"
                 FROM memberships m JOIN users u ON u.id = m.member_user_id
                 LEFT JOIN provider_connections c
                   ON c.provider_id = $1 AND c.object_type = 'user' AND c.local_id = u.id AND c.state <> 'deactivated'
                WHERE m.group_id = ANY($2::uuid[]) AND ${userScope}`;
    if (nestedGroups) {
      const groupScope = groupScopeSql(scope, 'g', params);
      sql += ` UNION ALL
               SELECT m.group_id, 'group', g.id, c.remote_id
                 FROM memberships m JOIN groups g ON g.id = m.member_group_id
                 LEFT JOIN provider_connections c ON c.provider_id = $1 AND c.object_type = 'group' AND c.local_id = g.id
                WHERE m.group_id = ANY($2::uuid[]) AND ${groupScope}`;
    }
    return this.em.query(sql, params);
  }

  private toScopedUsers(rows: UserRow[]): ScopedUser[] {
    return rows.map((row) => {
      const entity = {
        id: row.id,
        userName: row.user_name,
        externalId: row.external_id,
        displayName: row.display_name,
        active: row.active,
        kind: row.kind,
        attributes: row.attributes ?? {},
        version: row.version,
      } as UserEntity;
      return { view: { ...userToView(entity), id: row.id, groups: row.groups ?? [] }, inScope: row.in_scope };
    });
  }
}

/** A user's direct groups, aggregated in the same query as the user. */
const USER_GROUPS = `(SELECT coalesce(json_agg(json_build_object('id', g.id, 'displayName', g.display_name) ORDER BY g.display_name, g.id), '[]'::json)
            FROM memberships m JOIN groups g ON g.id = m.group_id WHERE m.member_user_id = u.id) AS groups`;

function toScopedGroup(row: GroupRow): ScopedGroup {
  const entity = {
    id: row.id,
    displayName: row.display_name,
    externalId: row.external_id,
    attributes: row.attributes ?? {},
    version: row.version,
  } as GroupEntity;
  return { view: { ...groupToView(entity), id: row.id }, inScope: row.in_scope };
}

/** SQL predicate: the user `alias` is in scope. Appends its parameters to `params`. */
export function userScopeSql(scope: ProviderScope, alias: string, params: unknown[]): string {
  const conditions: string[] = [];
  if (scope.excludeServiceAccounts) conditions.push(`${alias}.kind <> 'service'`);
  if (scope.users === 'groups') {
    params.push(scope.userGroupIds);
    conditions.push(
      `EXISTS (SELECT 1 FROM memberships sm WHERE sm.member_user_id = ${alias}.id AND sm.group_id = ANY($${params.length}::uuid[]))`,
    );
  }
  return conditions.length ? conditions.join(' AND ') : 'true';
}

/** SQL predicate: the group `alias` is in scope. */
export function groupScopeSql(scope: ProviderScope, alias: string, params: unknown[]): string {
  if (scope.groups === 'none') return 'false';
  if (scope.groups === 'selected') {
    params.push(scope.groupIds);
    return `${alias}.id = ANY($${params.length}::uuid[])`;
  }
  return 'true';
}
