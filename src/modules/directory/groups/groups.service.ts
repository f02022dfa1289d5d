import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { isDeepStrictEqual } from 'node:util';
import { DataSource, type EntityManager } from 'typeorm';
import { decodeCursor, invalidCursor, toPage } from '../../../platform/http/cursor.js';
import type { ChangeOrigin } from '../changes/change-event.entity.js';
import { ChangeRecorder, type ChangeToRecord } from '../changes/change-recorder.js';
import { DirectoryErrors } from '../directory.errors.js';
import { inTransaction } from '../transaction.js';
import { UsersRepository } from '../users/users.repository.js';
import { checkVersion, type WriteOptions, type WriteResult } from '../users/users.service.js';
import type { GroupEntity } from './group.entity.js';
import { GroupsRepository, type MemberRef } from './groups.repository.js';

export interface GroupInput {
  displayName: string;
  externalId?: string | null;
  /** Every other SCIM attribute (never `members`: membership is structural). */
  attributes?: Record<string, unknown>;
}

export interface MemberSet {
  userIds: string[];
  groupIds: string[];
}

/** Key of the transaction-level advisory lock that serialises group-in-group additions. */
const NESTING_LOCK_KEY = 0x1b_6e_57_00;

/**
 * The cycle check reads committed memberships, so two transactions adding A ∈ B and B ∈ A at once
 * would each pass it. Nesting additions are rare, so they take one advisory lock, before any row
 * lock (a row lock first could deadlock with the other side's foreign-key check).
 */
async function lockNesting(tx: EntityManager, members: MemberSet): Promise<void> {
  if (members.groupIds.length > 0) await tx.query('SELECT pg_advisory_xact_lock($1)', [NESTING_LOCK_KEY]);
}

/** Groups and memberships. Membership writes cost time in the number of members named, not the group's size. */
@Injectable()
export class GroupsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly changes: ChangeRecorder,
  ) {}

  async get(id: string, tx?: EntityManager): Promise<GroupEntity> {
    const group = await new GroupsRepository(tx ?? this.dataSource.manager).findById(id);
    if (!group) throw DirectoryErrors.groupNotFound(id);
    return group;
  }

  findByIds(ids: string[], tx?: EntityManager): Promise<GroupEntity[]> {
    return new GroupsRepository(tx ?? this.dataSource.manager).findByIds(ids);
  }

  async list(limit: number, cursor?: string, search?: string) {
    const after = cursor ? (decodeCursor(cursor, ['uuid'])[0] as string) : undefined;
    const rows = await new GroupsRepository(this.dataSource.manager).list(limit, after, search);
    return toPage(rows, limit, (g) => [g.id]);
  }

  async members(groupId: string, limit: number, cursor?: string) {
    const repo = new GroupsRepository(this.dataSource.manager);
    if (!(await repo.findById(groupId))) throw DirectoryErrors.groupNotFound(groupId);
    const after = cursor ? decodeCursor(cursor, ['string', 'uuid']) : undefined;
    if (after && after[0] !== 'user' && after[0] !== 'group') throw invalidCursor();
    const rows = await repo.members(
      groupId,
      limit,
      after ? { type: after[0] as 'user' | 'group', id: after[1] as string } : undefined,
    );
    return toPage(rows, limit, (m) => [m.type, m.id]);
  }

  memberCount(groupId: string, tx?: EntityManager): Promise<number> {
    return new GroupsRepository(tx ?? this.dataSource.manager).memberCount(groupId);
  }

  create(
    input: GroupInput,
    origin: ChangeOrigin,
    members: MemberSet = { userIds: [], groupIds: [] },
    options: WriteOptions = {},
  ) {
    return inTransaction(this.dataSource, options.tx, async (tx) => {
      const repo = new GroupsRepository(tx);
      const group = await repo.insert({
        displayName: input.displayName,
        externalId: input.externalId ?? null,
        attributes: input.attributes ?? {},
      });
      const events: ChangeToRecord[] = [
        { objectType: 'group', objectId: group.id, kind: 'created', version: 1 },
      ];
      const added = await this.addMembersIn(tx, group.id, members);
      if (added) events.push(added);
      await this.changes.record(tx, origin, events);
      return group;
    });
  }

  replace(id: string, input: GroupInput, origin: ChangeOrigin, options: WriteOptions = {}) {
    return this.write(id, origin, options, () => ({
      displayName: input.displayName,
      externalId: input.externalId ?? null,
      attributes: input.attributes ?? {},
    }));
  }

  update(id: string, changes: Partial<GroupInput>, origin: ChangeOrigin, options: WriteOptions = {}) {
    return this.write(id, origin, options, (current) => ({
      displayName: changes.displayName ?? current.displayName,
      externalId: changes.externalId !== undefined ? changes.externalId : current.externalId,
      attributes: changes.attributes ?? current.attributes,
    }));
  }

  async delete(id: string, origin: ChangeOrigin, options: WriteOptions = {}): Promise<void> {
    await inTransaction(this.dataSource, options.tx, async (tx) => {
      const repo = new GroupsRepository(tx);
      const group = await repo.findById(id, true);
      if (!group) throw DirectoryErrors.groupNotFound(id);
      checkVersion(group.version, options.expectedVersion);
      await repo.delete(id);
      await this.changes.record(tx, origin, [
        {
          objectType: 'group',
          objectId: id,
          kind: 'deleted',
          detail: { displayName: group.displayName, externalId: group.externalId },
        },
      ]);
    });
  }

  /** Adds members (idempotent); one outbox event for the whole set. Returns the ids actually added. */
  addMembers(
    groupId: string,
    members: MemberSet,
    origin: ChangeOrigin,
    options: WriteOptions = {},
  ): Promise<MemberSet> {
    return inTransaction(this.dataSource, options.tx, async (tx) => {
      await lockNesting(tx, members);
      await this.lockGroup(tx, groupId);
      const event = await this.addMembersIn(tx, groupId, members);
      if (!event) return { userIds: [], groupIds: [] };
      await this.changes.record(tx, origin, [event]);
      return event.detail as unknown as MemberSet;
    });
  }

  /** Removes members (idempotent); one outbox event for the whole set. Returns the ids actually removed. */
  removeMembers(
    groupId: string,
    members: MemberSet,
    origin: ChangeOrigin,
    options: WriteOptions = {},
  ): Promise<MemberSet> {
    return inTransaction(this.dataSource, options.tx, async (tx) => {
      await this.lockGroup(tx, groupId);
      const removed = await new GroupsRepository(tx).removeMembers(
        groupId,
        unique(members.userIds),
        unique(members.groupIds),
      );
      if (removed.userIds.length + removed.groupIds.length === 0) return removed;
      await this.changes.record(tx, origin, [
        { objectType: 'group', objectId: groupId, kind: 'members_removed', detail: { ...removed } },
      ]);
      return removed;
    });
  }

  /** Makes the member set exactly `members`: one event for the removals, one for the additions. */
  replaceMembers(groupId: string, members: MemberSet, origin: ChangeOrigin, options: WriteOptions = {}) {
    return inTransaction(this.dataSource, options.tx, async (tx) => {
      await lockNesting(tx, members);
      await this.lockGroup(tx, groupId);
      const userIds = unique(members.userIds);
      const groupIds = unique(members.groupIds);
      const removed = await new GroupsRepository(tx).removeMembersExcept(groupId, userIds, groupIds);
      const events: ChangeToRecord[] = [];
      if (removed.userIds.length + removed.groupIds.length > 0) {
        events.push({
          objectType: 'group',
          objectId: groupId,
          kind: 'members_removed',
          detail: { ...removed },
        });
      }
      const added = await this.addMembersIn(tx, groupId, { userIds, groupIds });
      if (added) events.push(added);
      await this.changes.record(tx, origin, events);
      return { added: (added?.detail as unknown as MemberSet) ?? { userIds: [], groupIds: [] }, removed };
    });
  }

  private async lockGroup(tx: EntityManager, groupId: string): Promise<GroupEntity> {
    const group = await new GroupsRepository(tx).findById(groupId, true);
    if (!group) throw DirectoryErrors.groupNotFound(groupId);
    return group;
  }

  private async addMembersIn(
    tx: EntityManager,
    groupId: string,
    members: MemberSet,
  ): Promise<ChangeToRecord | undefined> {
    const userIds = unique(members.userIds);
    const groupIds = unique(members.groupIds);
    if (userIds.length + groupIds.length === 0) return undefined;
    const groups = new GroupsRepository(tx);
    const foundUsers = await new UsersRepository(tx).existingIds(userIds);
    const missingUsers = userIds.filter((id) => !foundUsers.has(id));
    if (missingUsers.length) throw DirectoryErrors.membersNotFound('user', missingUsers);
    const foundGroups = await groups.existingIds(groupIds);
    const missingGroups = groupIds.filter((id) => !foundGroups.has(id));
    if (missingGroups.length) throw DirectoryErrors.membersNotFound('group', missingGroups);
    const cyclic = await groups.groupsContaining(groupId, groupIds);
    if (cyclic.length) throw DirectoryErrors.membershipCycle(groupId, cyclic[0]!);
    const added = await groups.addMembers(groupId, userIds, groupIds);
    if (added.userIds.length + added.groupIds.length === 0) return undefined;
    return { objectType: 'group', objectId: groupId, kind: 'members_added', detail: { ...added } };
  }

  private write(
    id: string,
    origin: ChangeOrigin,
    options: WriteOptions,
    next: (current: GroupEntity) => Required<GroupInput>,
  ): Promise<WriteResult<GroupEntity>> {
    return inTransaction(this.dataSource, options.tx, async (tx) => {
      const repo = new GroupsRepository(tx);
      const group = await repo.findById(id, true);
      if (!group) throw DirectoryErrors.groupNotFound(id);
      checkVersion(group.version, options.expectedVersion);
      const values = next(group);
      if (
        values.displayName === group.displayName &&
        values.externalId === group.externalId &&
        isDeepStrictEqual(values.attributes, group.attributes)
      ) {
        return { entity: group, changed: false };
      }
      Object.assign(group, values, { version: group.version + 1 });
      const saved = await repo.save(group);
      await this.changes.record(tx, origin, [
        { objectType: 'group', objectId: id, kind: 'updated', version: saved.version },
      ]);
      return { entity: saved, changed: true };
    });
  }
}

function unique(ids: string[]): string[] {
  return [...new Set(ids)];
}

export type { MemberRef };
