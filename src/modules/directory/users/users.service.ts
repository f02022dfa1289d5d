import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { isDeepStrictEqual } from 'node:util';
import { DataSource, type EntityManager } from 'typeorm';
import { decodeCursor, toPage } from '../../../platform/http/cursor.js';
import type { ChangeOrigin } from '../changes/change-event.entity.js';
import { ChangeRecorder } from '../changes/change-recorder.js';
import { DirectoryErrors } from '../directory.errors.js';
import { inTransaction } from '../transaction.js';
import type { UserEntity, UserKind } from './user.entity.js';
import { UserInserts, withUniqueUserName, type NewUserValues, type UserCompanion } from './user-inserts.js';
import { UsersRepository } from './users.repository.js';

/** A user as written by sources and admins: the promoted columns plus every other SCIM attribute. */
export interface UserInput {
  userName: string;
  externalId?: string | null;
  displayName?: string | null;
  active?: boolean;
  kind?: UserKind;
  /** Every other SCIM attribute in SCIM shape; extensions under their URN key. */
  attributes?: Record<string, unknown>;
}

export interface WriteOptions {
  /** The caller's transaction, to write atomically with its own rows. */
  tx?: EntityManager;
  /** Optimistic lock: fail with 412 unless the stored version matches. */
  expectedVersion?: number;
}

export interface UserWriteOptions extends WriteOptions {
  /** The user as the caller already read it with `get(id, tx, true)` (locked) in `tx`: not read again. */
  current?: UserEntity;
}

export interface WriteResult<T> {
  entity: T;
  /** False when the write changed nothing (no new version, no outbox event). */
  changed: boolean;
}

/** Users of the directory. Every method is a unit of work and records its outbox event. */
@Injectable()
export class UsersService {
  private readonly inserts: UserInserts;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly changes: ChangeRecorder,
  ) {
    this.inserts = new UserInserts(dataSource, changes);
  }

  /** `lock`: FOR UPDATE, in the caller's transaction `tx`. */
  async get(id: string, tx?: EntityManager, lock = false): Promise<UserEntity> {
    const user = await new UsersRepository(tx ?? this.dataSource.manager).findById(id, lock);
    if (!user) throw DirectoryErrors.userNotFound(id);
    return user;
  }

  findByUserName(userName: string, tx?: EntityManager): Promise<UserEntity | null> {
    return new UsersRepository(tx ?? this.dataSource.manager).findByUserName(userName);
  }

  findByIds(ids: string[], tx?: EntityManager): Promise<UserEntity[]> {
    return new UsersRepository(tx ?? this.dataSource.manager).findByIds(ids);
  }

  groupsOf(userId: string, tx?: EntityManager): Promise<{ id: string; displayName: string }[]> {
    return new UsersRepository(tx ?? this.dataSource.manager).groupsOf(userId);
  }

  async list(limit: number, cursor?: string, search?: string) {
    const after = cursor ? (decodeCursor(cursor, ['uuid'])[0] as string) : undefined;
    const rows = await new UsersRepository(this.dataSource.manager).list(limit, after, search);
    return toPage(rows, limit, (u) => [u.id]);
  }

  /** The user and its outbox event are one statement: atomic alone, or in the caller's transaction. */
  async create(input: UserInput, origin: ChangeOrigin, options: WriteOptions = {}): Promise<UserEntity> {
    return (await this.inserts.insert(newUserValues(input), origin, undefined, options.tx)).user;
  }

  /**
   * Creates the user, its outbox event and the caller's own row (`companion` with the caller's
   * `value` for it) in ONE statement — atomic without a transaction, one round trip: a SCIM
   * source's link row, the hot path of provisioning. The companion row comes back as JSON.
   */
  async createWith<V>(
    input: UserInput,
    origin: ChangeOrigin,
    companion: UserCompanion<V>,
    value: V,
    options: WriteOptions = {},
  ): Promise<{ user: UserEntity; companion: Record<string, unknown> }> {
    const { user, companion: row } = await this.inserts.insert(
      newUserValues(input),
      origin,
      { of: companion, value },
      options.tx,
    );
    if (!row) throw new Error('The companion statement of a user create returned no row');
    return { user, companion: row };
  }

  /** Replaces the user: attributes not in `input` are cleared (SCIM PUT semantics). */
  replace(id: string, input: UserInput, origin: ChangeOrigin, options: UserWriteOptions = {}) {
    return this.write(id, origin, options, () => newUserValues(input));
  }

  /** Changes only the given fields; `attributes` is replaced as a whole when given. */
  update(id: string, changes: Partial<UserInput>, origin: ChangeOrigin, options: UserWriteOptions = {}) {
    return this.write(id, origin, options, (current) => ({
      userName: changes.userName ?? current.userName,
      externalId: changes.externalId !== undefined ? changes.externalId : current.externalId,
      displayName: changes.displayName !== undefined ? changes.displayName : current.displayName,
      active: changes.active ?? current.active,
      kind: changes.kind ?? current.kind,
      attributes: changes.attributes ?? current.attributes,
    }));
  }

  async delete(id: string, origin: ChangeOrigin, options: WriteOptions = {}): Promise<void> {
    await inTransaction(this.dataSource, options.tx, async (tx) => {
      const repo = new UsersRepository(tx);
      const user = await repo.findById(id, true);
      if (!user) throw DirectoryErrors.userNotFound(id);
      checkVersion(user.version, options.expectedVersion);
      // Memberships cascade; the event names the groups so consumers can update them.
      const groups = await repo.groupsOf(id);
      await repo.delete(id);
      await this.changes.record(tx, origin, [
        {
          objectType: 'user',
          objectId: id,
          kind: 'deleted',
          detail: { userName: user.userName, externalId: user.externalId, groupIds: groups.map((g) => g.id) },
        },
      ]);
    });
  }

  private write(
    id: string,
    origin: ChangeOrigin,
    options: UserWriteOptions,
    next: (current: UserEntity) => Required<UserInput>,
  ): Promise<WriteResult<UserEntity>> {
    return inTransaction(this.dataSource, options.tx, async (tx) => {
      const repo = new UsersRepository(tx);
      const user = options.current?.id === id ? options.current : await repo.findById(id, true);
      if (!user) throw DirectoryErrors.userNotFound(id);
      checkVersion(user.version, options.expectedVersion);
      const values = next(user);
      const unchanged =
        values.userName === user.userName &&
        values.externalId === user.externalId &&
        values.displayName === user.displayName &&
        values.active === user.active &&
        values.kind === user.kind &&
        isDeepStrictEqual(values.attributes, user.attributes);
      if (unchanged) return { entity: user, changed: false };
      const version = user.version + 1;
      // The new row and its outbox event in one statement.
      const saved = await withUniqueUserName(values.userName, () =>
        repo.update(Object.assign(user, values, { version }), (params, from) =>
          this.changes.statementFor(origin, { objectType: 'user', kind: 'updated', version }, from, params),
        ),
      );
      this.changes.written(tx);
      return { entity: saved, changed: true };
    });
  }
}

function newUserValues(input: UserInput): NewUserValues {
  return {
    userName: input.userName,
    externalId: input.externalId ?? null,
    displayName: input.displayName ?? null,
    active: input.active ?? true,
    kind: input.kind ?? 'person',
    attributes: input.attributes ?? {},
  };
}

export function checkVersion(actual: number, expected: number | undefined): void {
  if (expected !== undefined && expected !== actual) throw DirectoryErrors.versionMismatch(expected, actual);
}
