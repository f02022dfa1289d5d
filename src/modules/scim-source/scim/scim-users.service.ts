import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { applyPatch, deepEqual, parsePatchRequest } from '../../../lib/scim/patch.js';
import { RESOURCE_SCHEMAS } from '../../../lib/scim/schemas.js';
import { DomainError } from '../../../platform/errors/domain-error.js';
import { userToView, UsersService, type ChangeOrigin, type UserInput } from '../../directory/index.js';
import { linkFromJson, LinksRepository, USER_LINKS, type LinkRow } from '../links/links.repository.js';
import { isUniqueViolation } from '../pg-errors.js';
import type { SourcePrincipal } from '../sources/sources.service.js';
import { inboundUser, type InboundUser } from './inbound.js';
import { checkIfMatch, resourceNotFound } from './preconditions.js';
import { notManaged, userNameHeldElsewhere, userNameInSource } from './scim-conflicts.js';
import { SourceMapper } from './source-mapper.js';

export const originOf = (source: SourcePrincipal): ChangeOrigin => ({ type: 'source', id: source.id });

/**
 * Writes of SCIM Users. Each is one transaction: the link row, the directory user (through the
 * source's mappings) and its outbox event commit together or not at all.
 */
@Injectable()
export class ScimUsersService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly users: UsersService,
    private readonly mapper: SourceMapper,
  ) {}

  async create(source: SourcePrincipal, body: unknown): Promise<LinkRow> {
    const inbound = inboundUser(body);
    const input = await this.mapper.user(source, inbound.payload, null);
    // The user, its outbox event and the link are one statement (one round trip); checking a
    // manager reference needs a transaction around it.
    const createWithLink = async (tx?: EntityManager): Promise<LinkRow> => {
      const { companion } = await this.users.createWith(
        input,
        originOf(source),
        USER_LINKS,
        { sourceId: source.id, values: inbound.values },
        { tx },
      );
      return linkFromJson(companion);
    };
    try {
      if (inbound.managerId === undefined) return await createWithLink();
      const managerId = inbound.managerId;
      return await this.dataSource.transaction(async (tx) => {
        await assertManager(tx, source, managerId);
        return createWithLink(tx);
      });
    } catch (error) {
      const holder = await this.conflictHolder(error, source, inbound, input);
      if (holder?.revivable) return this.revive(source, holder.id, inbound);
      throw error;
    }
  }

  replace(source: SourcePrincipal, id: string, body: unknown, ifMatch: string | undefined): Promise<LinkRow> {
    const inbound = inboundUser(body);
    return this.write(source, id, ifMatch, () => inbound);
  }

  patch(source: SourcePrincipal, id: string, body: unknown, ifMatch: string | undefined): Promise<LinkRow> {
    parsePatchRequest(body);
    return this.write(source, id, ifMatch, (link) => {
      const result = applyPatch({ ...link.payload, id: link.id }, body, { schemas: RESOURCE_SCHEMAS.User });
      if (!result.changed) return undefined;
      const { id: _id, ...patched } = result.resource;
      return inboundUser(patched);
    });
  }

  /** Deletes the directory user, or (`deactivate`) deactivates it and hides it from the source. */
  async delete(source: SourcePrincipal, id: string, ifMatch: string | undefined): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const links = new LinksRepository(tx);
      const link = await links.find(source.id, 'User', id, true);
      if (!link) throw resourceNotFound('User', id);
      checkIfMatch(ifMatch, link.version);
      if (source.deleteBehavior === 'delete') {
        await this.users.delete(id, originOf(source), { tx });
      } else {
        await this.users.update(id, { active: false }, originOf(source), { tx });
        await links.tombstone(source.id, id);
      }
    });
  }

  /** Read-modify-write of one user: `next` returns the new inbound user, or undefined for "no change". */
  private async write(
    source: SourcePrincipal,
    id: string,
    ifMatch: string | undefined,
    next: (link: LinkRow) => InboundUser | undefined,
  ): Promise<LinkRow> {
    let attempted: { inbound: InboundUser; input: UserInput } | undefined;
    try {
      return await this.dataSource.transaction(async (tx) => {
        const links = new LinksRepository(tx);
        const link = await links.find(source.id, 'User', id, true);
        if (!link) throw resourceNotFound('User', id);
        checkIfMatch(ifMatch, link.version);
        const inbound = next(link);
        if (!inbound) return link;
        if (inbound.managerId !== undefined) await assertManager(tx, source, inbound.managerId);
        const current = await this.users.get(id, tx, true);
        const input = await this.mapper.user(source, inbound.payload, userToView(current));
        attempted = { inbound, input };
        await this.users.replace(id, input, originOf(source), { tx, current });
        if (deepEqual(inbound.payload, link.payload)) return link;
        return links.update(source.id, id, inbound.values);
      });
    } catch (error) {
      if (attempted) await this.conflictHolder(error, source, attempted.inbound, attempted.input);
      throw error;
    }
  }

  /** Brings back a user this source deleted while deactivating: same id, new payload, active again. */
  private async revive(source: SourcePrincipal, id: string, inbound: InboundUser): Promise<LinkRow> {
    let input: UserInput | undefined;
    try {
      return await this.dataSource.transaction(async (tx) => {
        const links = new LinksRepository(tx);
        const tombstone = await links.findTombstone(source.id, id);
        if (!tombstone) throw userNameInSource(inbound.values.userName ?? '');
        if (inbound.managerId !== undefined) await assertManager(tx, source, inbound.managerId);
        const current = await this.users.get(id, tx, true);
        input = await this.mapper.user(source, inbound.payload, userToView(current));
        await this.users.replace(id, input, originOf(source), { tx, current });
        return links.update(source.id, id, inbound.values);
      });
    } catch (error) {
      if (input) await this.conflictHolder(error, source, inbound, input);
      throw error;
    }
  }

  /**
   * Explains a uniqueness failure as SPEC "Inbound conflicts" asks (throws the right 409), or
   * returns the holder when it is a user this source deleted and may bring back. Returns
   * undefined for errors that are not about userName.
   */
  private async conflictHolder(
    error: unknown,
    source: SourcePrincipal,
    inbound: InboundUser,
    input: UserInput,
  ): Promise<{ id: string; revivable: boolean } | undefined> {
    if (isUniqueViolation(error, 'scim_links_user_name_key'))
      throw userNameInSource(inbound.values.userName ?? input.userName);
    if (!(error instanceof DomainError) || error.code !== 'user_name_taken') return undefined;
    const holder = await this.users.findByUserName(input.userName);
    if (!holder) throw userNameInSource(input.userName);
    const link = await new LinksRepository(this.dataSource.manager).linkOfUser(holder.id);
    if (link?.sourceId !== source.id) throw userNameHeldElsewhere(input.userName);
    if (link.deletedAt === null) throw userNameInSource(input.userName);
    return { id: holder.id, revivable: true };
  }
}

/** The enterprise `manager` must be a user of this source (never another source's or an admin's). */
async function assertManager(tx: EntityManager, source: SourcePrincipal, managerId: string): Promise<void> {
  const managed = await new LinksRepository(tx).managed(source.id, [managerId]);
  if (managed.get(managerId.toLowerCase()) !== 'User') throw notManaged('manager.value', [managerId]);
}
