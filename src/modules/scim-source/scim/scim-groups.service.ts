import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { applyPatch, deepEqual, parsePatchRequest, type StructuralMember } from '../../../lib/scim/patch.js';
import { RESOURCE_SCHEMAS } from '../../../lib/scim/schemas.js';
import { ScimError } from '../../../lib/scim/schema.types.js';
import { groupToView, GroupsService, type MemberSet } from '../../directory/index.js';
import { LinksRepository, type LinkRow } from '../links/links.repository.js';
import type { SourcePrincipal } from '../sources/sources.service.js';
import { inboundGroup, type InboundGroup, type MemberReference } from './inbound.js';
import { checkIfMatch, resourceNotFound } from './preconditions.js';
import { notManaged } from './scim-conflicts.js';
import { originOf } from './scim-users.service.js';
import { SourceMapper } from './source-mapper.js';

const EMPTY: MemberSet = { userIds: [], groupIds: [] };
const size = (set: MemberSet): number => set.userIds.length + set.groupIds.length;

/**
 * Writes of SCIM Groups. Attributes go through the source's `source:group` mappings; membership is
 * structural: members are named by id, must be objects of this source, and are added or removed
 * as sets (one outbox event per set, time proportional to the members named, never to the
 * group's size). Members the source cannot see (added by an admin) are never touched.
 */
@Injectable()
export class ScimGroupsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly groups: GroupsService,
    private readonly mapper: SourceMapper,
  ) {}

  async create(source: SourcePrincipal, body: unknown): Promise<LinkRow> {
    const inbound = inboundGroup(body);
    const input = await this.mapper.group(source, inbound.payload, null);
    return this.dataSource.transaction(async (tx) => {
      const members = await resolveMembers(tx, source, inbound.members ?? [], true);
      const group = await this.groups.create(input, originOf(source), members, { tx });
      return new LinksRepository(tx).insert(source.id, 'Group', group.id, inbound.values);
    });
  }

  /** PUT: the attributes and the membership this source sees become exactly what was sent. */
  replace(source: SourcePrincipal, id: string, body: unknown, ifMatch: string | undefined): Promise<LinkRow> {
    const inbound = inboundGroup(body);
    return this.write(source, id, ifMatch, async (tx) => {
      const members = await resolveMembers(tx, source, inbound.members ?? [], true);
      return { inbound, membership: [{ action: 'replace', members }] };
    });
  }

  patch(source: SourcePrincipal, id: string, body: unknown, ifMatch: string | undefined): Promise<LinkRow> {
    parsePatchRequest(body);
    return this.write(source, id, ifMatch, async (tx, link) => {
      const result = applyPatch({ ...link.payload, id: link.id }, body, {
        schemas: RESOURCE_SCHEMAS.Group,
        structural: ['members'],
      });
      let inbound: InboundGroup | undefined;
      if (result.changed) {
        const { id: _id, ...patched } = result.resource;
        inbound = inboundGroup(patched);
      }
      const membership: MembershipChange[] = [];
      for (const op of result.structural) {
        const strict = op.action === 'add' || op.action === 'replace';
        const members = await resolveMembers(tx, source, op.values.map(reference), strict);
        membership.push({ action: op.action, members });
      }
      return { inbound, membership };
    });
  }

  async delete(source: SourcePrincipal, id: string, ifMatch: string | undefined): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const link = await new LinksRepository(tx).find(source.id, 'Group', id, true);
      if (!link) throw resourceNotFound('Group', id);
      checkIfMatch(ifMatch, link.version);
      await this.groups.delete(id, originOf(source), { tx });
    });
  }

  private async write(
    source: SourcePrincipal,
    id: string,
    ifMatch: string | undefined,
    plan: (
      tx: EntityManager,
      link: LinkRow,
    ) => Promise<{ inbound?: InboundGroup; membership: MembershipChange[] }>,
  ): Promise<LinkRow> {
    return this.dataSource.transaction(async (tx) => {
      const links = new LinksRepository(tx);
      const link = await links.find(source.id, 'Group', id, true);
      if (!link) throw resourceNotFound('Group', id);
      checkIfMatch(ifMatch, link.version);
      const { inbound, membership } = await plan(tx, link);

      let row = link;
      if (inbound) {
        const existing = groupToView(await this.groups.get(id, tx));
        const input = await this.mapper.group(source, inbound.payload, existing);
        await this.groups.replace(id, input, originOf(source), { tx });
        if (!deepEqual(inbound.payload, link.payload))
          row = await links.update(source.id, id, inbound.values);
      }
      let changed = false;
      for (const change of membership)
        changed = (await this.applyMembership(tx, source, id, change)) || changed;
      if (changed && row === link) row = await links.touch(source.id, id);
      return row;
    });
  }

  /** Applies one membership change; true when the membership actually changed. */
  private async applyMembership(
    tx: EntityManager,
    source: SourcePrincipal,
    groupId: string,
    change: MembershipChange,
  ): Promise<boolean> {
    const origin = originOf(source);
    const links = new LinksRepository(tx);
    switch (change.action) {
      case 'add':
        return size(await this.groups.addMembers(groupId, change.members, origin, { tx })) > 0;
      case 'remove':
        if (size(change.members) === 0) return false;
        return size(await this.groups.removeMembers(groupId, change.members, origin, { tx })) > 0;
      case 'replace':
      case 'removeAll': {
        const keep =
          change.action === 'replace' ? [...change.members.userIds, ...change.members.groupIds] : [];
        const leaving = await links.visibleMembersExcept(source.id, groupId, keep);
        const removed =
          size(leaving) > 0 ? size(await this.groups.removeMembers(groupId, leaving, origin, { tx })) : 0;
        const added =
          change.action === 'replace'
            ? size(await this.groups.addMembers(groupId, change.members, origin, { tx }))
            : 0;
        return removed + added > 0;
      }
    }
  }
}

interface MembershipChange {
  action: 'add' | 'remove' | 'replace' | 'removeAll';
  members: MemberSet;
}

function reference(member: StructuralMember): MemberReference {
  return { value: member.value, ...(member.type !== undefined ? { type: member.type } : {}) };
}

/**
 * Translates member ids to directory ids — the same ids, but only for objects this source manages.
 * `strict` (adding members) refuses anything else with 400; lenient (removing) ignores it, since
 * removing what the source cannot see changes nothing it can see.
 */
async function resolveMembers(
  tx: EntityManager,
  source: SourcePrincipal,
  refs: MemberReference[],
  strict: boolean,
): Promise<MemberSet> {
  if (refs.length === 0) return EMPTY;
  const managed = await new LinksRepository(tx).managed(
    source.id,
    refs.map((r) => r.value),
  );
  const set: MemberSet = { userIds: [], groupIds: [] };
  const unknown: string[] = [];
  for (const ref of refs) {
    const id = ref.value.toLowerCase();
    const type = managed.get(id);
    if (!type) {
      unknown.push(ref.value);
      continue;
    }
    if (ref.type !== undefined && ref.type.toLowerCase() !== type.toLowerCase()) {
      throw new ScimError(400, 'invalidValue', `members: "${ref.value}" is a ${type}, not a ${ref.type}`);
    }
    (type === 'User' ? set.userIds : set.groupIds).push(id);
  }
  if (strict && unknown.length > 0) throw notManaged('members', unknown);
  return set;
}
