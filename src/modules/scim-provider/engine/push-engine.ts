import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DomainError } from '../../../platform/errors/domain-error.js';
import { ProcessPresence, type SyncObjectType } from '../../../platform/jobs/index.js';
import { MappingEngine } from '../../property-mapping/index.js';
import { effectiveProfile } from '../client/compatibility.js';
import type { HttpMethod, ScimClient, ScimResponse } from '../client/scim-client.js';
import { ScimClients } from '../client/scim-clients.js';
import { SyncError } from '../client/scim-client.errors.js';
import {
  ConnectionRepository,
  type ConnectionWrite,
  type LeasedConnection,
  type SentMember,
} from '../connections/connection.repository.js';
import type { ProviderEntity } from '../providers/provider.entity.js';
import { ProvidersService } from '../providers/providers.service.js';
import { pushesTotal } from '../scim-provider.metrics.js';
import { pMap } from '../../../lib/concurrency.js';
import {
  DirectoryReader,
  type DesiredMember,
  type ScopedGroup,
  type ScopedUser,
} from './directory-reader.js';
import {
  chunks,
  diffPayload,
  memberPatches,
  memberValue,
  type MemberRef,
  type PatchOperation,
} from './payload-diff.js';

type Json = Record<string, unknown>;

export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A lease outlives any sane push of one page; a crashed holder's lease is taken over at once anyway. */
const LEASE_SECONDS = 600;

export type PushOutcome =
  'created' | 'updated' | 'unchanged' | 'deleted' | 'deactivated' | 'skipped' | 'failed' | 'busy' | 'absent';

/** What happened to one object. */
export interface ObjectResult {
  type: SyncObjectType;
  id: string;
  outcome: PushOutcome;
  remoteId: string | null;
  error?: { kind: string; message: string; retryAfterMs?: number };
  /** Worth trying again later (transient failure, busy, members or manager not provisioned yet). */
  retryable: boolean;
  notes: string[];
  /** Groups to push next because this user left the scope without being deleted downstream. */
  followUps?: string[];
}

export interface BatchResult {
  results: ObjectResult[];
  /** Set when the app refused us for good; the batch stopped and the provider must be paused. */
  fatal?: SyncError;
}

/** A provider as one push batch uses it: settings, client, effective profile, lease identity. */
export interface ProviderRuntime {
  provider: ProviderEntity;
  client: ScimClient;
  profile: ReturnType<typeof effectiveProfile>;
  userMappingIds: string[];
  groupMappingIds: string[];
  /** Lease owner prefix: `<processId>:<random>`, one per batch. */
  owner: string;
  runId: string | null;
  dryRun: boolean;
  signal: AbortSignal;
}

interface Item<V> {
  id: string;
  row: V | undefined;
  lease: LeasedConnection;
  payload?: Json;
  mappingError?: DomainError;
  notes: string[];
  /** The manager (a local user id) could not be translated yet but may be later. */
  managerPending?: boolean;
}

/**
 * Objects of a batch pushed at once: twice the provider's request concurrency. Requests are capped
 * by the client at `maxConcurrency`; the other objects meanwhile do their bookkeeping (a group saves
 * its new id and members between its POST and its member PATCHes) or wait for a request slot, so
 * the app always has requests waiting rather than a slot idle during a database round trip. With
 * an app that takes Bulk, sixteen times: the writes that wait for a slot go together in the next
 * Bulk request, so more objects at once means fuller Bulk requests (bench:sync: 8× carried a fifth
 * of the writes in Bulk, 16× nearly all).
 */
function objectsAtOnce(rt: ProviderRuntime): number {
  return Math.max(1, rt.provider.maxConcurrency) * (rt.profile.bulkLimits ? 16 : 2);
}

/** A lookup hit: the app's id and resource. */
interface Found {
  id: string;
  resource: Json;
}

/**
 * Pushing objects to one provider: map (the provider's mapping list) → validated payload → diff
 * against what we last sent → nothing, POST, minimal PATCH or PUT per the compatibility profile.
 * Groups carry their members from our own records as add/remove PATCHes (or a PUT with all of
 * them); a user is provisioned before a group or a user (manager) references it. Objects that
 * left the scope or the directory get the provider's deprovision action.
 *
 * Works on batches (a full-sync page, or one object of a delta): one query per step for the whole
 * batch, HTTP with the provider's concurrency, connection rows written in bulk. Each object is
 * leased while it is pushed, so pushes of the same object in other jobs or processes take turns.
 */
@Injectable()
export class PushEngine {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly mappings: MappingEngine,
    private readonly providers: ProvidersService,
    private readonly clients: ScimClients,
    private readonly presence: ProcessPresence,
  ) {}

  /** Loads a provider for pushing; null when it no longer exists. Throws SyncError('fatal') if the app refuses us. */
  async runtime(
    providerId: string,
    options: { runId?: string | null; signal?: AbortSignal; dryRun?: boolean } = {},
  ): Promise<ProviderRuntime | null> {
    const provider = await this.providers.get(providerId).catch((error: unknown) => {
      if (error instanceof DomainError && error.kind === 'not_found') return null;
      throw error;
    });
    if (!provider) return null;
    const client = this.clients.get(this.providers.clientTarget(provider));
    const profileRow = effectiveProfile(provider.compatibility, undefined, provider.maxPatchOperations);
    const capabilities = profileRow.readServiceProviderConfig
      ? await client.serviceProviderConfig(options.signal).catch(capabilityFallback)
      : undefined;
    const profile = effectiveProfile(provider.compatibility, capabilities, provider.maxPatchOperations);
    client.useBulk(profile.bulkLimits);
    return {
      provider,
      client,
      profile,
      userMappingIds: await this.providers.mappingIds(provider, 'provider:user'),
      groupMappingIds: await this.providers.mappingIds(provider, 'provider:group'),
      owner: `${this.presence.processId}:${randomBytes(4).toString('hex')}`,
      runId: options.runId ?? null,
      dryRun: options.dryRun ?? provider.dryRun,
      signal: options.signal ?? new AbortController().signal,
    };
  }

  // -----------------------------------------------------------------------------------------------
  // Users
  // -----------------------------------------------------------------------------------------------

  /** Pushes users given by id (deltas, cleanup) or as in-scope rows of a page. */
  async pushUsers(
    rt: ProviderRuntime,
    target: { ids: string[] } | { rows: ScopedUser[] },
    onResult?: (result: ObjectResult) => void,
    depth = 0,
  ): Promise<BatchResult> {
    const reader = new DirectoryReader(this.dataSource.manager);
    const rows = 'rows' in target ? target.rows : await reader.usersByIds(rt.provider.scope, target.ids);
    const ids = 'rows' in target ? rows.map((r) => r.view.id) : [...new Set(target.ids)];
    const byId = new Map(rows.map((r) => [r.view.id, r]));
    const { items, results } = await this.lease(
      rt,
      'user',
      ids,
      (id) => byId.get(id)?.inScope === true,
      byId,
    );
    results.forEach((r) => onResult?.(r));
    if (items.length === 0) return { results };

    const writes = new WriteBuffer(this.dataSource, rt, 'user');
    const fatal = new FatalLatch(rt.signal);
    try {
      await this.mapUsers(rt, items);
      await this.markCreates(rt, 'user', items);
      const finish = (result: ObjectResult) => {
        results.push(result);
        pushesTotal.inc({ provider: rt.provider.id, outcome: result.outcome });
        onResult?.(result);
      };
      // Managers first: a user's manager must exist downstream (with its id) before the user names it.
      const waves = await this.managerWaves(rt, items, depth);
      for (const wave of waves) {
        if (wave.deferred) {
          await writes.persist(); // the managers' new ids, for the translation below
          await this.translateManagers(rt, wave.items, depth, true);
        }
        const done = await pMap(
          wave.items,
          objectsAtOnce(rt),
          (item) => this.guard(rt, 'user', item, writes, fatal, () => this.pushUser(rt, item, writes)),
          fatal.signal,
        );
        done.forEach(finish);
      }
      for (const item of items) if (!results.some((r) => r.id === item.id)) writes.release(item.id);
    } finally {
      await writes.flush();
    }
    return { results, fatal: fatal.error };
  }

  private async pushUser(
    rt: ProviderRuntime,
    item: Item<ScopedUser>,
    writes: WriteBuffer,
  ): Promise<ObjectResult> {
    if (!item.row?.inScope) return this.deprovisionUser(rt, item, writes, item.row === undefined);
    const skipped = this.mappingOutcome(rt, 'user', item, writes);
    if (skipped) return skipped;
    const payload = item.payload!;
    const result = (outcome: PushOutcome, remoteId: string | null): ObjectResult => ({
      type: 'user',
      id: item.id,
      outcome,
      remoteId,
      retryable: item.managerPending === true,
      notes: item.notes,
    });
    if (!item.lease.remoteId) {
      const created = await this.create(rt, 'user', item, payload);
      if ('remoteId' in created) {
        writes.save(
          connectionWrite(item.lease, {
            remoteId: created.remoteId,
            state: 'synced',
            lastSent: payload,
            synced: true,
            createStartedAt: null,
          }),
        );
        return result('created', created.remoteId);
      }
      const sent = await this.updateUser(
        rt,
        item,
        created.found.id,
        pick(created.found.resource, payload),
        payload,
      );
      writes.save(
        connectionWrite(item.lease, {
          remoteId: created.found.id,
          state: 'synced',
          lastSent: sent,
          synced: true,
          createStartedAt: null,
        }),
      );
      item.notes.push('linked to an existing object in the app');
      return result('updated', created.found.id);
    }
    const remoteId = item.lease.remoteId;
    const ops = diffPayload(item.lease.lastSent, payload, {
      addForNewAttributes: rt.profile.addForNewAttributes,
    });
    if (ops.length === 0) {
      writes.save(connectionWrite(item.lease, { state: 'synced', synced: true }));
      return result('unchanged', remoteId);
    }
    try {
      await this.updateUser(rt, item, remoteId, item.lease.lastSent, payload, ops);
    } catch (error) {
      if (!(error instanceof SyncError) || error.kind !== 'notFound') throw error;
      // Deleted in the app behind our back: create it again.
      const created = await this.create(
        rt,
        'user',
        { ...item, lease: { ...item.lease, remoteId: null, createStartedAt: null } },
        payload,
      );
      const newId = 'remoteId' in created ? created.remoteId : created.found.id;
      if ('found' in created)
        await this.updateUser(rt, item, newId, pick(created.found.resource, payload), payload);
      writes.save(
        connectionWrite(item.lease, {
          remoteId: newId,
          state: 'synced',
          lastSent: payload,
          synced: true,
          createStartedAt: null,
        }),
      );
      item.notes.push('recreated: the app no longer had it');
      return result('created', newId);
    }
    writes.save(connectionWrite(item.lease, { state: 'synced', lastSent: payload, synced: true }));
    return result('updated', remoteId);
  }

  /** Sends a user's changes (PATCH operations, or PUT); returns what the app now has from us. */
  private async updateUser(
    rt: ProviderRuntime,
    item: Item<ScopedUser>,
    remoteId: string,
    base: Json | null,
    payload: Json,
    ops?: PatchOperation[],
  ): Promise<Json> {
    const operations =
      ops ?? diffPayload(base, payload, { addForNewAttributes: rt.profile.addForNewAttributes });
    if (operations.length === 0) return payload;
    const path = `/Users/${encodeURIComponent(remoteId)}`;
    if (rt.profile.userUpdate === 'put') {
      await this.send(rt, 'user', item.id, { method: 'PUT', path, body: { ...payload, id: remoteId } });
    } else {
      for (const chunk of chunks(operations, rt.profile.maxPatchOperations)) {
        await this.send(rt, 'user', item.id, {
          method: 'PATCH',
          path,
          body: { schemas: [PATCH_OP], Operations: chunk },
        });
      }
    }
    return payload;
  }

  private async deprovisionUser(
    rt: ProviderRuntime,
    item: Item<ScopedUser>,
    writes: WriteBuffer,
    deleted: boolean,
  ): Promise<ObjectResult> {
    const lease = item.lease;
    const base = {
      type: 'user' as const,
      id: item.id,
      remoteId: lease.remoteId,
      retryable: false,
      notes: item.notes,
    };
    if (!lease.remoteId) {
      writes.forget(item.id, false);
      return { ...base, outcome: 'absent' };
    }
    let action = deleted ? rt.provider.deprovision.deleted : rt.provider.deprovision.outOfScope;
    if (action === 'delete' && rt.profile.userDelete === 'deactivate') action = 'deactivate';
    const followUps = () =>
      new ConnectionRepository(this.dataSource.manager).groupsWithMember(rt.provider.id, 'user', item.id);
    switch (action) {
      case 'none':
        writes.forget(item.id, false);
        item.notes.push(`left alone in the app (${deleted ? 'deleted' : 'out of scope'}, action none)`);
        return { ...base, outcome: 'unchanged', followUps: await followUps() };
      case 'delete':
        await this.send(rt, 'user', item.id, {
          method: 'DELETE',
          path: `/Users/${encodeURIComponent(lease.remoteId)}`,
        }).catch(ignoreNotFound);
        writes.forget(item.id, true);
        return { ...base, outcome: 'deleted' };
      case 'deactivate': {
        if (lease.state === 'deactivated') {
          writes.release(item.id);
          return { ...base, outcome: 'unchanged' };
        }
        const payload = { ...(lease.lastSent ?? {}), active: false };
        try {
          await this.updateUser(
            rt,
            item,
            lease.remoteId,
            lease.lastSent,
            payload,
            rt.profile.userUpdate === 'put' ? undefined : [{ op: 'replace', path: 'active', value: false }],
          );
        } catch (error) {
          if (!(error instanceof SyncError) || error.kind !== 'notFound') throw error;
          writes.forget(item.id, true);
          return { ...base, outcome: 'absent' };
        }
        writes.save(connectionWrite(lease, { state: 'deactivated', lastSent: payload, synced: true }));
        return { ...base, outcome: 'deactivated', followUps: await followUps() };
      }
    }
  }

  /** Maps the in-scope users; concurrent calls let the mapping engine evaluate several objects per isolate call. */
  private async mapUsers(rt: ProviderRuntime, items: Item<ScopedUser>[]): Promise<void> {
    await pMap(items, 32, async (item) => {
      if (!item.row?.inScope) return;
      try {
        const { result } = await this.mappings.run('provider:user', rt.userMappingIds, {
          user: item.row.view,
          provider: { id: rt.provider.id, name: rt.provider.name },
          connection: item.lease.remoteId
            ? { remoteId: item.lease.remoteId, lastSent: item.lease.lastSent }
            : null,
        });
        item.payload = outbound(result);
      } catch (error) {
        if (error instanceof DomainError) item.mappingError = error;
        else throw error;
      }
    });
  }

  /**
   * Splits a batch so that managers are pushed before the users that name them: wave 1 is every
   * user whose manager is already provisioned (or who has none), wave 2 the users whose manager
   * is in this batch. Managers outside the batch that are in scope but not provisioned yet are
   * provisioned first (one level deep).
   */
  private async managerWaves(
    rt: ProviderRuntime,
    items: Item<ScopedUser>[],
    depth: number,
  ): Promise<{ items: Item<ScopedUser>[]; deferred: boolean }[]> {
    const inBatch = new Set(items.map((i) => i.id));
    await this.translateManagers(rt, items, depth, false);
    const first = items.filter((i) => !i.managerPending || !inBatch.has(managerOf(i.payload) ?? ''));
    const second = items.filter((i) => !first.includes(i));
    return second.length
      ? [
          { items: first, deferred: false },
          { items: second, deferred: true },
        ]
      : [{ items: first, deferred: false }];
  }

  /** Replaces manager ids with the app's ids; provisions or leaves out managers not there yet. */
  private async translateManagers(
    rt: ProviderRuntime,
    items: Item<ScopedUser>[],
    depth: number,
    final: boolean,
  ): Promise<void> {
    const wanted = new Map<Item<ScopedUser>, string>();
    for (const item of items) {
      const manager = managerOf(item.payload);
      if (manager !== undefined && UUID.test(manager)) wanted.set(item, manager);
      else if (manager !== undefined) {
        deleteManager(item.payload!);
        item.notes.push(`manager "${manager}" is not a directory user id; left out`);
      }
    }
    if (wanted.size === 0) return;
    const connections = new ConnectionRepository(this.dataSource.manager);
    let known = await connections.remoteIds(rt.provider.id, 'user', [...new Set(wanted.values())]);
    const inBatch = new Set(items.map((i) => i.id));
    const outside = [...new Set([...wanted.values()].filter((m) => !known.has(m) && !inBatch.has(m)))];
    if (outside.length > 0 && depth === 0 && !rt.dryRun) {
      await this.pushUsers(rt, { ids: outside }, undefined, depth + 1);
      known = await connections.remoteIds(rt.provider.id, 'user', [...new Set(wanted.values())]);
    }
    for (const [item, manager] of wanted) {
      const remote = known.get(manager);
      if (remote) {
        setManager(item.payload!, remote);
        item.managerPending = false;
      } else if (inBatch.has(manager) && !final) {
        item.managerPending = true;
      } else {
        deleteManager(item.payload!);
        item.managerPending =
          !rt.dryRun && depth === 0 && (inBatch.has(manager) || outside.includes(manager));
        item.notes.push(
          `manager ${manager} is not provisioned in this app (out of scope or failed); left out`,
        );
      }
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Groups
  // -----------------------------------------------------------------------------------------------

  async pushGroups(
    rt: ProviderRuntime,
    target: { ids: string[] } | { rows: ScopedGroup[] },
    onResult?: (result: ObjectResult) => void,
  ): Promise<BatchResult> {
    const reader = new DirectoryReader(this.dataSource.manager);
    const rows = 'rows' in target ? target.rows : await reader.groupsByIds(rt.provider.scope, target.ids);
    const ids = 'rows' in target ? rows.map((r) => r.view.id) : [...new Set(target.ids)];
    const byId = new Map(rows.map((r) => [r.view.id, r]));
    const { items, results } = await this.lease(
      rt,
      'group',
      ids,
      (id) => byId.get(id)?.inScope === true,
      byId,
    );
    results.forEach((r) => onResult?.(r));
    if (items.length === 0) return { results };

    const writes = new WriteBuffer(this.dataSource, rt, 'group');
    const fatal = new FatalLatch(rt.signal);
    try {
      await this.mapGroups(rt, items);
      await this.markCreates(rt, 'group', items);
      const inScope = items.filter((i) => i.row?.inScope && i.payload).map((i) => i.id);
      const members = await this.membersOf(rt, inScope);
      const sent = await new ConnectionRepository(this.dataSource.manager).sentMembers(
        rt.provider.id,
        inScope,
      );
      const done = await pMap(
        items,
        objectsAtOnce(rt),
        (item) =>
          this.guard(rt, 'group', item, writes, fatal, () =>
            this.pushGroup(
              rt,
              item,
              writes,
              members.filter((m) => m.groupId === item.id),
              sent.filter((s) => s.groupId === item.id),
            ),
          ),
        fatal.signal,
      );
      for (const result of done) {
        results.push(result);
        pushesTotal.inc({ provider: rt.provider.id, outcome: result.outcome });
        onResult?.(result);
      }
      for (const item of items) if (!done.some((r) => r.id === item.id)) writes.release(item.id);
    } finally {
      await writes.flush();
    }
    return { results, fatal: fatal.error };
  }

  /** Desired members of the groups; in-scope users not provisioned yet are provisioned first. */
  private async membersOf(rt: ProviderRuntime, groupIds: string[]): Promise<DesiredMember[]> {
    if (groupIds.length === 0) return [];
    const reader = new DirectoryReader(this.dataSource.manager);
    let members = await reader.desiredMembers(
      rt.provider.id,
      rt.provider.scope,
      groupIds,
      rt.profile.nestedGroups,
    );
    const missingUsers = [
      ...new Set(members.filter((m) => m.type === 'user' && !m.remoteId).map((m) => m.id)),
    ];
    if (missingUsers.length > 0 && !rt.dryRun) {
      await this.pushUsers(rt, { ids: missingUsers }, undefined, 1);
      members = await reader.desiredMembers(
        rt.provider.id,
        rt.provider.scope,
        groupIds,
        rt.profile.nestedGroups,
      );
    }
    return members;
  }

  private async pushGroup(
    rt: ProviderRuntime,
    item: Item<ScopedGroup>,
    writes: WriteBuffer,
    desired: DesiredMember[],
    sent: SentMember[],
  ): Promise<ObjectResult> {
    if (!item.row?.inScope) return this.deprovisionGroup(rt, item, writes, item.row === undefined);
    const skipped = this.mappingOutcome(rt, 'group', item, writes);
    if (skipped) return skipped;
    const payload = item.payload!;
    const wanted = desired.filter(
      (m) => m.remoteId !== null && !(m.type === 'group' && m.id === item.id),
    ) as (DesiredMember & { remoteId: string })[];
    const pending = desired.filter((m) => m.remoteId === null);
    if (pending.length > 0)
      item.notes.push(`${pending.length} member(s) not provisioned in this app yet; left out for now`);
    const result = (outcome: PushOutcome, remoteId: string): ObjectResult => ({
      type: 'group',
      id: item.id,
      outcome,
      remoteId,
      retryable: pending.length > 0 && !rt.dryRun,
      notes: item.notes,
    });
    const connections = new ConnectionRepository(this.dataSource.manager);

    const createGroup = async (): Promise<ObjectResult> => {
      const initial =
        rt.profile.memberUpdate === 'put' ? wanted : wanted.slice(0, rt.profile.maxMembersOnCreate);
      const body = {
        ...payload,
        ...(initial.length ? { members: initial.map((m) => memberValue(toRef(m), rt.profile)) } : {}),
      };
      const created = await this.create(rt, 'group', item, body);
      let remoteId: string;
      let sentNow: SentMember[];
      let outcome: PushOutcome;
      if ('remoteId' in created) {
        remoteId = created.remoteId;
        sentNow = initial.map((m) => ({ groupId: item.id, type: m.type, id: m.id, remoteId: m.remoteId }));
        outcome = 'created';
      } else {
        remoteId = created.found.id;
        item.notes.push('linked to an existing group in the app');
        const remoteMembers = new Set(
          (Array.isArray(created.found.resource.members)
            ? (created.found.resource.members as { value?: unknown }[])
            : []
          ).map((m) => String(m.value)),
        );
        sentNow = wanted
          .filter((m) => remoteMembers.has(m.remoteId))
          .map((m) => ({ groupId: item.id, type: m.type, id: m.id, remoteId: m.remoteId }));
        const ops = diffPayload(pick(created.found.resource, payload), payload, {
          addForNewAttributes: rt.profile.addForNewAttributes,
        });
        await this.sendGroupAttributes(
          rt,
          item.id,
          remoteId,
          payload,
          ops,
          rt.profile.groupUpdate === 'put' ? wanted : undefined,
        );
        if (rt.profile.groupUpdate === 'put')
          sentNow = wanted.map((m) => ({ groupId: item.id, type: m.type, id: m.id, remoteId: m.remoteId }));
        outcome = 'updated';
      }
      if (!rt.dryRun) await connections.replaceSentMembers(rt.provider.id, item.id, sentNow);
      // Save the id now: the member PATCHes below may fail, and the group must not be created twice.
      await writes.saveNow(
        connectionWrite(item.lease, {
          remoteId,
          state: 'synced',
          lastSent: payload,
          synced: true,
          createStartedAt: null,
        }),
      );
      item.lease = { ...item.lease, remoteId, state: 'synced', lastSent: payload, createStartedAt: null };
      await this.sendMembers(rt, item.id, remoteId, payload, wanted, sentNow);
      writes.save(connectionWrite(item.lease, { synced: true }));
      return result(outcome, remoteId);
    };

    if (!item.lease.remoteId) return createGroup();
    const remoteId = item.lease.remoteId;
    const ops = diffPayload(item.lease.lastSent, payload, {
      addForNewAttributes: rt.profile.addForNewAttributes,
    });
    const changes = memberChanges(wanted, sent);
    if (ops.length === 0 && changes.adds.length === 0 && changes.removes.length === 0) {
      writes.save(connectionWrite(item.lease, { state: 'synced', synced: true }));
      return result('unchanged', remoteId);
    }
    try {
      if (rt.profile.groupUpdate === 'put' || rt.profile.memberUpdate === 'put') {
        await this.send(rt, 'group', item.id, {
          method: 'PUT',
          path: `/Groups/${encodeURIComponent(remoteId)}`,
          body: { ...payload, id: remoteId, members: wanted.map((m) => memberValue(toRef(m), rt.profile)) },
        });
        if (!rt.dryRun)
          await connections.replaceSentMembers(
            rt.provider.id,
            item.id,
            wanted.map((m) => ({ type: m.type, id: m.id, remoteId: m.remoteId })),
          );
      } else {
        await this.sendGroupAttributes(rt, item.id, remoteId, payload, ops);
        await this.sendMembers(rt, item.id, remoteId, payload, wanted, sent);
      }
    } catch (error) {
      if (!(error instanceof SyncError) || error.kind !== 'notFound') throw error;
      if (!rt.dryRun) await connections.replaceSentMembers(rt.provider.id, item.id, []);
      item.lease = { ...item.lease, remoteId: null, createStartedAt: null };
      const recreated = await createGroup();
      item.notes.push('recreated: the app no longer had it');
      return { ...recreated, outcome: 'created' };
    }
    writes.save(connectionWrite(item.lease, { state: 'synced', lastSent: payload, synced: true }));
    return result('updated', remoteId);
  }

  private async sendGroupAttributes(
    rt: ProviderRuntime,
    groupId: string,
    remoteId: string,
    payload: Json,
    ops: PatchOperation[],
    putMembers?: (DesiredMember & { remoteId: string })[],
  ): Promise<void> {
    if (ops.length === 0 && !putMembers) return;
    const path = `/Groups/${encodeURIComponent(remoteId)}`;
    if (putMembers) {
      await this.send(rt, 'group', groupId, {
        method: 'PUT',
        path,
        body: { ...payload, id: remoteId, members: putMembers.map((m) => memberValue(toRef(m), rt.profile)) },
      });
      return;
    }
    for (const chunk of chunks(ops, rt.profile.maxPatchOperations)) {
      await this.send(rt, 'group', groupId, {
        method: 'PATCH',
        path,
        body: { schemas: [PATCH_OP], Operations: chunk },
      });
    }
  }

  /** Member additions and removals as chunked PATCHes; each acknowledged chunk is recorded at once. */
  private async sendMembers(
    rt: ProviderRuntime,
    groupId: string,
    remoteId: string,
    payload: Json,
    wanted: (DesiredMember & { remoteId: string })[],
    sent: SentMember[],
  ): Promise<void> {
    const { adds, removes } = memberChanges(wanted, sent);
    if (adds.length === 0 && removes.length === 0) return;
    const connections = new ConnectionRepository(this.dataSource.manager);
    if (rt.profile.memberUpdate === 'put') {
      await this.send(rt, 'group', groupId, {
        method: 'PUT',
        path: `/Groups/${encodeURIComponent(remoteId)}`,
        body: { ...payload, id: remoteId, members: wanted.map((m) => memberValue(toRef(m), rt.profile)) },
      });
      if (!rt.dryRun)
        await connections.replaceSentMembers(
          rt.provider.id,
          groupId,
          wanted.map((m) => ({ type: m.type, id: m.id, remoteId: m.remoteId })),
        );
      return;
    }
    const byRemote = new Map<string, { type: SyncObjectType; id: string; remoteId: string }>();
    for (const m of [...adds, ...removes]) byRemote.set(`${m.type}:${m.remoteId}`, m);
    const patches = memberPatches(adds.map(toRef), removes.map(toRef), rt.profile);
    for (const patch of patches) {
      await this.send(rt, 'group', groupId, {
        method: 'PATCH',
        path: `/Groups/${encodeURIComponent(remoteId)}`,
        body: { schemas: [PATCH_OP], Operations: patch.operations },
      });
      if (rt.dryRun) continue;
      const local = (refs: MemberRef[]) => refs.map((r) => byRemote.get(`${r.type}:${r.remoteId}`)!);
      await connections.removeSentMembers(rt.provider.id, groupId, local(patch.removed));
      await connections.addSentMembers(rt.provider.id, groupId, local(patch.added));
    }
  }

  private async deprovisionGroup(
    rt: ProviderRuntime,
    item: Item<ScopedGroup>,
    writes: WriteBuffer,
    deleted: boolean,
  ): Promise<ObjectResult> {
    const lease = item.lease;
    const base = {
      type: 'group' as const,
      id: item.id,
      remoteId: lease.remoteId,
      retryable: false,
      notes: item.notes,
    };
    if (!lease.remoteId) {
      writes.forget(item.id, false);
      return { ...base, outcome: 'absent' };
    }
    const action = deleted ? rt.provider.deprovision.deleted : rt.provider.deprovision.outOfScope;
    if (action !== 'delete') {
      // Groups cannot be deactivated: `deactivate` and `none` leave the group as it is in the app.
      writes.forget(item.id, false);
      item.notes.push(`group left alone in the app (action ${action})`);
      return { ...base, outcome: 'unchanged' };
    }
    await this.send(rt, 'group', item.id, {
      method: 'DELETE',
      path: `/Groups/${encodeURIComponent(lease.remoteId)}`,
    }).catch(ignoreNotFound);
    writes.forget(item.id, true);
    return { ...base, outcome: 'deleted' };
  }

  private async mapGroups(rt: ProviderRuntime, items: Item<ScopedGroup>[]): Promise<void> {
    await pMap(items, 32, async (item) => {
      if (!item.row?.inScope) return;
      try {
        const { result } = await this.mappings.run('provider:group', rt.groupMappingIds, {
          group: item.row.view,
          provider: { id: rt.provider.id, name: rt.provider.name },
          connection: item.lease.remoteId
            ? { remoteId: item.lease.remoteId, lastSent: item.lease.lastSent }
            : null,
        });
        item.payload = outbound(result);
      } catch (error) {
        if (error instanceof DomainError) item.mappingError = error;
        else throw error;
      }
    });
  }

  // -----------------------------------------------------------------------------------------------
  // Shared steps
  // -----------------------------------------------------------------------------------------------

  /**
   * Leases the objects: in-scope ones get a row if they have none; others only if we have a
   * connection (nothing to deprovision otherwise). Busy objects come back as `busy` results.
   */
  private async lease<V>(
    rt: ProviderRuntime,
    type: SyncObjectType,
    ids: string[],
    inScope: (id: string) => boolean,
    rows: Map<string, V>,
  ): Promise<{ items: Item<V>[]; results: ObjectResult[] }> {
    const repo = new ConnectionRepository(this.dataSource.manager);
    const wanted = ids.filter(inScope);
    const others = ids.filter((id) => !inScope(id));
    const leased = new Map([
      ...(await repo.lease(rt.provider.id, type, wanted, rt.owner, LEASE_SECONDS, true)),
      ...(await repo.lease(rt.provider.id, type, others, rt.owner, LEASE_SECONDS, false)),
    ]);
    const notLeased = ids.filter((id) => !leased.has(id));
    const existing = await repo.existing(
      rt.provider.id,
      type,
      notLeased.filter((id) => !inScope(id)),
    );
    const results: ObjectResult[] = [];
    for (const id of notLeased) {
      if (inScope(id) || existing.has(id)) {
        results.push({
          type,
          id,
          outcome: 'busy',
          remoteId: null,
          retryable: true,
          notes: [],
          error: { kind: 'busy', message: 'being pushed by another job' },
        });
      } else {
        results.push({ type, id, outcome: 'absent', remoteId: null, retryable: false, notes: [] });
      }
    }
    const items = ids
      .filter((id) => leased.has(id))
      .map((id) => ({ id, row: rows.get(id), lease: leased.get(id)!, notes: [] as string[] }));
    return { items, results };
  }

  /** Records which objects are about to be created, so a create whose answer was lost is looked up, not repeated. */
  private async markCreates(
    rt: ProviderRuntime,
    type: SyncObjectType,
    items: Item<unknown>[],
  ): Promise<void> {
    if (rt.dryRun) return;
    const ids = items
      .filter((i) => (i.row as { inScope?: boolean } | undefined)?.inScope && i.payload && !i.lease.remoteId)
      .map((i) => i.id);
    await new ConnectionRepository(this.dataSource.manager).markCreateStarted(
      rt.provider.id,
      type,
      ids,
      rt.owner,
    );
  }

  /** A mapping that skipped or failed the object: its result, else undefined. */
  private mappingOutcome(
    rt: ProviderRuntime,
    type: SyncObjectType,
    item: Item<unknown>,
    writes: WriteBuffer,
  ): ObjectResult | undefined {
    const error = item.mappingError;
    if (!error) return undefined;
    if (error.code === 'object_skipped') {
      if (item.lease.remoteId) writes.release(item.id);
      else
        writes.save(
          connectionWrite(item.lease, {
            state: 'skipped',
            synced: true,
            lastError: error.message,
            lastErrorKind: 'skipped',
            createStartedAt: null,
          }),
        );
      return {
        type,
        id: item.id,
        outcome: 'skipped',
        remoteId: item.lease.remoteId,
        retryable: false,
        notes: [error.message],
      };
    }
    writes.save(
      connectionWrite(item.lease, {
        state: 'failed',
        lastError: error.message,
        lastErrorKind: 'mapping',
        createStartedAt: null,
      }),
    );
    return {
      type,
      id: item.id,
      outcome: 'failed',
      remoteId: item.lease.remoteId,
      retryable: false,
      notes: item.notes,
      error: { kind: 'mapping', message: error.message },
    };
  }

  /**
   * Runs one object's push; a SyncError becomes a failed result recorded on the connection (a
   * fatal one also stops the batch). Anything else is a bug or the database: it propagates.
   */
  private async guard<V>(
    rt: ProviderRuntime,
    type: SyncObjectType,
    item: Item<V>,
    writes: WriteBuffer,
    fatal: FatalLatch,
    push: () => Promise<ObjectResult>,
  ): Promise<ObjectResult> {
    try {
      return await push();
    } catch (error) {
      if (!(error instanceof SyncError)) {
        writes.release(item.id);
        throw error;
      }
      if (error.kind === 'fatal') fatal.trip(error);
      writes.save(
        connectionWrite(item.lease, {
          state: item.lease.remoteId ? item.lease.state : 'failed',
          lastError: error.message,
          lastErrorKind: error.kind,
          // A create that may have reached the app stays marked: the next attempt looks it up first.
          createStartedAt: item.lease.remoteId ? null : error.details.maybeApplied ? new Date() : null,
        }),
      );
      return {
        type,
        id: item.id,
        outcome: 'failed',
        remoteId: item.lease.remoteId,
        retryable: error.retryable,
        notes: item.notes,
        error: { kind: error.kind, message: error.message, retryAfterMs: error.details.retryAfterMs },
      };
    }
  }

  /**
   * Creates an object, or finds the one the app already has: after a 409, after a create whose
   * answer was lost (connection dropped, 5xx), when an earlier create's outcome is unknown, and
   * always for groups (their names are not unique in most apps, so a blind POST could duplicate).
   */
  private async create(
    rt: ProviderRuntime,
    type: SyncObjectType,
    item: Item<unknown>,
    body: Json,
  ): Promise<{ remoteId: string } | { found: Found }> {
    if (item.lease.createStartedAt || type === 'group') {
      const found = await this.lookup(rt, type, body);
      if (found) return { found };
    }
    let response: ScimResponse;
    try {
      response = await this.send(rt, type, item.id, {
        method: 'POST',
        path: type === 'user' ? '/Users' : '/Groups',
        body,
      });
    } catch (error) {
      if (!(error instanceof SyncError)) throw error;
      if (error.kind === 'conflict' || (error.kind === 'transient' && error.details.maybeApplied)) {
        const found = await this.lookup(rt, type, body);
        if (found) return { found };
        if (error.kind === 'conflict') {
          throw new SyncError('rejected', `${error.message}; and no matching ${type} was found to link to`, {
            status: 409,
          });
        }
      }
      throw error;
    }
    const remoteId = (response.body as { id?: unknown } | undefined)?.id;
    if (typeof remoteId !== 'string' && typeof remoteId !== 'number') {
      throw new SyncError('rejected', `The app answered the create with ${response.status} but no id`, {
        status: response.status,
        maybeApplied: true,
      });
    }
    return { remoteId: String(remoteId) };
  }

  /** Finds the app's object by the profile's lookup attributes (userName/externalId, externalId/displayName). */
  private async lookup(rt: ProviderRuntime, type: SyncObjectType, payload: Json): Promise<Found | undefined> {
    if (!rt.profile.canFilter) return undefined;
    const attributes = (type === 'user' ? rt.profile.userLookup : rt.profile.groupLookup).filter(
      (a) => typeof payload[a] === 'string' && payload[a] !== '',
    );
    if (attributes.length === 0) return undefined;
    const find = async (names: readonly string[]): Promise<Found | undefined> => {
      const filter = names.map((a) => `${a} eq ${JSON.stringify(payload[a])}`).join(' or ');
      const response = await rt.client.request({
        method: 'GET',
        path: type === 'user' ? '/Users' : '/Groups',
        query: { filter, ...membersExcluded(rt, type) },
        signal: rt.signal,
      });
      const body = response.body as { Resources?: unknown } | undefined;
      const resources = Array.isArray(body?.Resources) ? (body.Resources as Json[]) : [];
      // The first attribute in the profile's order decides (externalId before displayName).
      for (const name of names) {
        const value = (payload[name] as string).toLowerCase();
        const match = resources.find(
          (r) => typeof r[name] === 'string' && (r[name] as string).toLowerCase() === value,
        );
        if (match && (typeof match.id === 'string' || typeof match.id === 'number')) {
          return { id: String(match.id), resource: match };
        }
      }
      return undefined;
    };
    if (rt.profile.orFilters && attributes.length > 1) {
      try {
        return await find(attributes);
      } catch (error) {
        // An app that does not take `or` after all: ask attribute by attribute.
        if (!(error instanceof SyncError) || error.kind !== 'rejected') throw error;
      }
    }
    for (const attribute of attributes) {
      const found = await find([attribute]);
      if (found) return found;
    }
    return undefined;
  }

  /** Every write goes through here: sent by the client, or — in a dry run — recorded instead. */
  private async send(
    rt: ProviderRuntime,
    type: SyncObjectType,
    objectId: string,
    req: { method: HttpMethod; path: string; body?: unknown },
  ): Promise<ScimResponse> {
    const query = req.method === 'DELETE' ? undefined : membersExcluded(rt, type);
    if (rt.dryRun && req.method !== 'GET') {
      await this.dataSource.query(
        `INSERT INTO provider_dry_run_requests (provider_id, run_id, object_type, object_id, method, path, body) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)`,
        [
          rt.provider.id,
          rt.runId,
          type,
          objectId,
          req.method,
          req.path,
          req.body === undefined ? null : JSON.stringify(req.body),
        ],
      );
      const body = req.method === 'POST' ? { ...(req.body as Json), id: `dry-run:${objectId}` } : req.body;
      return { status: req.method === 'POST' ? 201 : req.method === 'DELETE' ? 204 : 200, body, headers: {} };
    }
    return rt.client.request({ ...req, ...(query ? { query } : {}), signal: rt.signal });
  }
}

// -------------------------------------------------------------------------------------------------
// Helpers
// -------------------------------------------------------------------------------------------------

/** Buffers connection writes of a batch and flushes them in bulk (and releases leases). */
class WriteBuffer {
  private saves: ConnectionWrite[] = [];
  private forgets: { id: string; removed: boolean }[] = [];
  private releases: string[] = [];

  constructor(
    private readonly dataSource: DataSource,
    private readonly rt: ProviderRuntime,
    private readonly type: SyncObjectType,
  ) {}

  /** Buffered, and written every 25 objects or half second: little is redone after a crash. */
  save(write: ConnectionWrite): void {
    this.saves.push(write);
    if (this.saves.length >= 25 || Date.now() - this.lastFlush > 500) void this.flushSaves();
  }

  private lastFlush = Date.now();

  /** Saves one write immediately (keeping the lease): used before follow-up requests that may fail. */
  async saveNow(write: ConnectionWrite): Promise<void> {
    if (this.rt.dryRun) return;
    await new ConnectionRepository(this.dataSource.manager).save(
      this.rt.provider.id,
      this.type,
      [write],
      this.rt.owner,
      { keepLease: true },
    );
  }

  forget(id: string, removedDownstream: boolean): void {
    this.forgets.push({ id, removed: removedDownstream });
  }

  release(id: string): void {
    this.releases.push(id);
  }

  private pending: Promise<void> = Promise.resolve();
  private failure: Error | undefined;

  /** Writes the buffered saves now (they keep flowing in the background otherwise). */
  async persist(): Promise<void> {
    await this.flushSaves();
    if (this.failure) throw this.failure;
  }

  /** Writes are chained (never two at once); a failure is kept and rethrown by {@link flush}. */
  private flushSaves(): Promise<void> {
    const batch = this.saves;
    this.saves = [];
    this.lastFlush = Date.now();
    if (batch.length === 0) return this.pending;
    const repo = new ConnectionRepository(this.dataSource.manager);
    this.pending = this.pending
      .then(() =>
        this.rt.dryRun
          ? repo.release(
              this.rt.provider.id,
              this.type,
              batch.map((w) => w.localId),
              this.rt.owner,
            )
          : repo.save(this.rt.provider.id, this.type, batch, this.rt.owner),
      )
      .catch((error: unknown) => {
        this.failure ??= error instanceof Error ? error : new Error(String(error));
      });
    return this.pending;
  }

  async flush(): Promise<void> {
    await this.flushSaves();
    if (this.failure) throw this.failure;
    const repo = new ConnectionRepository(this.dataSource.manager);
    const { id: providerId } = this.rt.provider;
    if (this.rt.dryRun) {
      await repo.release(
        providerId,
        this.type,
        [...this.forgets.map((f) => f.id), ...this.releases],
        this.rt.owner,
      );
    } else {
      for (const removed of [true, false]) {
        const ids = this.forgets.filter((f) => f.removed === removed).map((f) => f.id);
        await repo.forget(providerId, this.type, ids, this.rt.owner, removed);
      }
      await repo.release(providerId, this.type, this.releases, this.rt.owner);
    }
    this.forgets = [];
    this.releases = [];
  }
}

/** Remembers the first fatal error of a batch and stops it. */
class FatalLatch {
  error: SyncError | undefined;
  private readonly controller = new AbortController();
  readonly signal: AbortSignal;

  constructor(parent: AbortSignal) {
    this.signal = AbortSignal.any([parent, this.controller.signal]);
  }

  trip(error: SyncError): void {
    this.error ??= error;
    this.controller.abort(error);
  }
}

function connectionWrite(lease: LeasedConnection, changes: Partial<ConnectionWrite>): ConnectionWrite {
  return {
    localId: lease.localId,
    remoteId: lease.remoteId,
    state: lease.state,
    lastSent: lease.lastSent,
    synced: false,
    lastError: null,
    lastErrorKind: null,
    createStartedAt: lease.createStartedAt,
    ...changes,
  };
}

/** The payload as sent: server-assigned and structural keys dropped, `schemas` kept. */
function outbound(result: Json): Json {
  const { id: _id, meta: _meta, groups: _groups, members: _members, ...payload } = result;
  return JSON.parse(JSON.stringify(payload)) as Json;
}

/** The keys of `resource` that `payload` sends (to diff against an object we did not create). */
function pick(resource: Json, payload: Json): Json {
  const picked: Json = {};
  for (const key of Object.keys(payload)) if (key in resource) picked[key] = resource[key];
  return picked;
}

function managerOf(payload: Json | undefined): string | undefined {
  const manager = (payload?.[ENTERPRISE_USER] as { manager?: { value?: unknown } } | undefined)?.manager;
  return typeof manager?.value === 'string' ? manager.value : undefined;
}

function setManager(payload: Json, remoteId: string): void {
  const enterprise = payload[ENTERPRISE_USER] as { manager: Json };
  enterprise.manager = { ...enterprise.manager, value: remoteId };
  delete enterprise.manager.$ref;
}

function deleteManager(payload: Json): void {
  const enterprise = payload[ENTERPRISE_USER] as Json | undefined;
  if (!enterprise) return;
  delete enterprise.manager;
  if (Object.keys(enterprise).length === 0) {
    delete payload[ENTERPRISE_USER];
    if (Array.isArray(payload.schemas))
      payload.schemas = (payload.schemas as string[]).filter((s) => s !== ENTERPRISE_USER);
  }
}

/** `excludedAttributes=members|groups` for apps that take it (see the profile's `slimResponses`). */
function membersExcluded(rt: ProviderRuntime, type: SyncObjectType): Record<string, string> | undefined {
  if (!rt.profile.slimResponses) return undefined;
  return { excludedAttributes: type === 'group' ? 'members' : 'groups' };
}

function toRef(member: { type: SyncObjectType; remoteId: string }): MemberRef {
  return { type: member.type, remoteId: member.remoteId };
}

/** What to add and remove so the app's members become `wanted` (an id change counts as both). */
function memberChanges(wanted: (DesiredMember & { remoteId: string })[], sent: SentMember[]) {
  const key = (m: { type: string; id: string }) => `${m.type}:${m.id}`;
  const sentBy = new Map(sent.map((s) => [key(s), s]));
  const wantedBy = new Map(wanted.map((w) => [key(w), w]));
  const adds = wanted
    .filter((w) => sentBy.get(key(w))?.remoteId !== w.remoteId)
    .map((w) => ({ type: w.type, id: w.id, remoteId: w.remoteId }));
  const removes = sent
    .filter((s) => wantedBy.get(key(s))?.remoteId !== s.remoteId)
    .map((s) => ({ type: s.type, id: s.id, remoteId: s.remoteId }));
  return { adds, removes };
}

function ignoreNotFound(error: unknown): ScimResponse {
  if (error instanceof SyncError && error.kind === 'notFound')
    return { status: 404, body: undefined, headers: {} };
  throw error;
}

/** An app without a readable ServiceProviderConfig is driven by its profile alone; a refusal is fatal. */
function capabilityFallback(error: unknown): undefined {
  if (error instanceof SyncError && error.kind === 'fatal') throw error;
  return undefined;
}
