import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { INestApplicationContext } from '@nestjs/common';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import {
  GroupsService,
  OUTBOX_CHANNEL,
  UsersService,
  type ChangeOrigin,
  type UserCompanion,
} from '../../src/modules/directory/index.js';
import { MAX_USERS_PER_STATEMENT } from '../../src/modules/directory/users/user-inserts.js';
import { UsersRepository } from '../../src/modules/directory/users/users.repository.js';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
let users: UsersService;
let groups: GroupsService;
let db: DataSource;
const admin: ChangeOrigin = { type: 'admin', id: 'test' };
const source: ChangeOrigin = { type: 'source', id: 'source-1' };

beforeAll(async () => {
  t = await startTestApp();
  const ctx: INestApplicationContext = t.app;
  users = ctx.get(UsersService);
  groups = ctx.get(GroupsService);
  db = t.database.dataSource;
});
afterAll(async () => t?.close());

async function eventsFor(objectId: string) {
  return db.query(
    `SELECT kind, object_type AS "objectType", origin_type AS "originType", origin_id AS "originId", version, detail
       FROM change_events WHERE object_id = $1 ORDER BY id`,
    [objectId],
  ) as Promise<
    {
      kind: string;
      objectType: string;
      originType: string;
      originId: string;
      version: number | null;
      detail: Record<string, string[]> | null;
    }[]
  >;
}

describe('change outbox', () => {
  it('records one event per kind of directory write, with its origin, in the write’s transaction', async () => {
    const user = await users.create({ userName: 'outbox@example.com' }, source);
    await users.update(user.id, { displayName: 'Out Box' }, admin);
    await users.update(user.id, { displayName: 'Out Box' }, admin); // no change → no event
    const group = await groups.create({ displayName: 'Outbox group' }, admin);
    await groups.update(group.id, { displayName: 'Renamed' }, source);
    await groups.addMembers(group.id, { userIds: [user.id], groupIds: [] }, source);
    await groups.addMembers(group.id, { userIds: [user.id], groupIds: [] }, source); // already a member → no event
    await groups.removeMembers(group.id, { userIds: [user.id], groupIds: [] }, source);
    await users.delete(user.id, admin);
    await groups.delete(group.id, admin);

    expect(await eventsFor(user.id)).toEqual([
      {
        kind: 'created',
        objectType: 'user',
        originType: 'source',
        originId: 'source-1',
        version: 1,
        detail: null,
      },
      {
        kind: 'updated',
        objectType: 'user',
        originType: 'admin',
        originId: 'test',
        version: 2,
        detail: null,
      },
      expect.objectContaining({
        kind: 'deleted',
        originType: 'admin',
        detail: expect.objectContaining({ userName: 'outbox@example.com', groupIds: [] }),
      }),
    ]);
    expect((await eventsFor(group.id)).map((e) => [e.kind, e.originType, e.detail?.userIds ?? null])).toEqual(
      [
        ['created', 'admin', null],
        ['updated', 'source', null],
        ['members_added', 'source', [user.id]],
        ['members_removed', 'source', [user.id]],
        ['deleted', 'admin', null],
      ],
    );
  });

  it('records one event for a whole set of member changes', async () => {
    const members = await Promise.all(
      [1, 2, 3].map((i) => users.create({ userName: `set${i}@example.com` }, admin)),
    );
    const group = await groups.create({ displayName: 'Set' }, admin);
    await groups.addMembers(group.id, { userIds: members.map((m) => m.id), groupIds: [] }, admin);
    const added = (await eventsFor(group.id)).filter((e) => e.kind === 'members_added');
    expect(added).toHaveLength(1);
    expect(added[0]!.detail!.userIds!.sort()).toEqual(members.map((m) => m.id).sort());
  });

  it('records nothing, and writes nothing, when the transaction rolls back', async () => {
    const before = Number((await db.query('SELECT count(*) AS n FROM change_events'))[0].n);
    let createdId: string | undefined;
    await expect(
      db.transaction(async (tx) => {
        const user = await users.create({ userName: 'rollback@example.com' }, admin, { tx });
        createdId = user.id;
        const group = await groups.create(
          { displayName: 'Rollback' },
          admin,
          { userIds: [user.id], groupIds: [] },
          { tx },
        );
        await groups.removeMembers(group.id, { userIds: [user.id], groupIds: [] }, admin, { tx });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(createdId).toBeDefined();
    expect(await eventsFor(createdId!)).toEqual([]);
    expect(Number((await db.query('SELECT count(*) AS n FROM change_events'))[0].n)).toBe(before);
    expect(await users.findByUserName('rollback@example.com')).toBeNull();
  });

  it('signals the outbox channel when a write commits, and not when it rolls back', async () => {
    const listener = new pg.Client({ connectionString: t.testDatabase.url });
    await listener.connect();
    try {
      const received: string[] = [];
      listener.on('notification', (message) => received.push(message.channel));
      await listener.query(`LISTEN ${listener.escapeIdentifier(OUTBOX_CHANNEL)}`);

      await expect(
        db.transaction(async (tx) => {
          await users.create({ userName: 'silent@example.com' }, admin, { tx });
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      // A round trip on the listening connection delivers whatever was already notified to it.
      await listener.query('SELECT 1');
      expect(received).toEqual([]);

      await users.create({ userName: 'signalled@example.com' }, admin);
      const deadline = Date.now() + 5_000;
      while (received.length === 0 && Date.now() < deadline) await listener.query('SELECT 1');
      expect(received).toEqual([OUTBOX_CHANNEL]);
    } finally {
      await listener.end();
    }
  });

  /** A companion for tests: each new user joins `groupId` (the membership's member is the user). */
  const joins = (groupId: string): UserCompanion<null> => ({
    key: `test-membership-${groupId}`,
    statement: (params, created) => {
      params.push(groupId);
      return `INSERT INTO memberships (group_id, member_user_id)
              SELECT $${params.length}::uuid, id FROM ${created} RETURNING member_user_id AS id, group_id`;
    },
  });

  it('writes a user, its event and the caller’s companion row in one statement, or none of them', async () => {
    const group = await groups.create({ displayName: 'Companion group' }, admin);
    const joined = await users.createWith(
      { userName: 'companion@example.com' },
      source,
      joins(group.id),
      null,
    );
    expect(joined.companion).toEqual({ id: joined.user.id, group_id: group.id });
    expect((await eventsFor(joined.user.id)).map((e) => e.kind)).toEqual(['created']);

    const before = Number((await db.query('SELECT count(*) AS n FROM change_events'))[0].n);
    // No such group: the companion fails.
    await expect(
      users.createWith(
        { userName: 'orphan@example.com' },
        source,
        joins('00000000-0000-4000-8000-000000000000'),
        null,
      ),
    ).rejects.toThrow(/foreign key/);
    expect(await users.findByUserName('orphan@example.com')).toBeNull();
    expect(Number((await db.query('SELECT count(*) AS n FROM change_events'))[0].n)).toBe(before);
  });

  it('batches concurrent creates into shared statements without changing any create’s outcome', async () => {
    const group = await groups.create({ displayName: 'Batched group' }, admin);
    const insertMany = vi.spyOn(UsersRepository.prototype, 'insertMany');
    try {
      const names = Array.from({ length: 3 * MAX_USERS_PER_STATEMENT }, (_, i) => `batched.${i}@example.com`);
      // Two creates of one userName (in another case) among them: exactly one of the two succeeds.
      names.push('BATCHED.7@example.com');
      const outcomes = await Promise.allSettled(
        names.map((userName) => users.createWith({ userName }, source, joins(group.id), null)),
      );

      const sizes = insertMany.mock.calls.map(([rows]) => rows.length);
      expect(Math.max(...sizes)).toBeGreaterThan(1);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_USERS_PER_STATEMENT);
      const failed = outcomes.filter((o) => o.status === 'rejected');
      expect(failed).toHaveLength(1);
      expect((failed[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'user_name_taken' });
      const created = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
      expect(created).toHaveLength(names.length - 1);
      for (const { user, companion } of created) {
        expect(companion).toEqual({ id: user.id, group_id: group.id });
        expect(names.map((n) => n.toLowerCase())).toContain(user.userName.toLowerCase());
      }
      // Each create wrote exactly its user, its one event and its one companion row.
      const ids = created.map((c) => c.user.id);
      const [{ events, members, rows }] = await db.query(
        `SELECT (SELECT count(*)::int FROM change_events WHERE object_id = ANY($1::uuid[]) AND kind = 'created') AS events,
                (SELECT count(*)::int FROM memberships WHERE group_id = $2) AS members,
                (SELECT count(*)::int FROM users WHERE lower(user_name) LIKE 'batched.%') AS rows`,
        [ids, group.id],
      );
      expect({ events, members, rows }).toEqual({
        events: ids.length,
        members: ids.length,
        rows: ids.length,
      });
    } finally {
      insertMany.mockRestore();
    }
  });

  it('does not record an event when the write itself fails', async () => {
    await users.create({ userName: 'unique@example.com' }, admin);
    const before = Number((await db.query('SELECT count(*) AS n FROM change_events'))[0].n);
    await expect(users.create({ userName: 'UNIQUE@example.com' }, admin)).rejects.toMatchObject({
      code: 'user_name_taken',
    });
    expect(Number((await db.query('SELECT count(*) AS n FROM change_events'))[0].n)).toBe(before);
  });
});

describe('schema', () => {
  it('has no drift between entities and migrations', async () => {
    const sql = await db.driver.createSchemaBuilder().log();
    expect(sql.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('migrates down and up again cleanly', async () => {
    // Undo every migration, then re-apply: proves each `down` works.
    const count = db.migrations.length;
    for (let i = 0; i < count; i++) await db.undoLastMigration({ transaction: 'each' });
    const tables: { n: string }[] = await db.query(
      `SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'migrations'`,
    );
    expect(Number(tables[0]!.n)).toBe(0);
    await db.runMigrations({ transaction: 'each' });
    expect(await db.showMigrations()).toBe(false);
  });
});
