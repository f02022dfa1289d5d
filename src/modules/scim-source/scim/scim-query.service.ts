import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { compileFilter, compileSort } from '../../../lib/scim/filter-sql.js';
import { isAttributeReturned, type ProjectionOptions } from '../../../lib/scim/projection.js';
import { RESOURCE_SCHEMAS } from '../../../lib/scim/schemas.js';
import { LIST_RESPONSE_SCHEMA, ScimError } from '../../../lib/scim/schema.types.js';
import type { AppConfig } from '../../../config/config.js';
import { APP_CONFIG } from '../../../config/config.module.js';
import { FILTER_TARGETS } from '../links/link-filter.js';
import type { ScimResourceTypeName } from '../links/link.entity.js';
import {
  isUuid,
  LinksRepository,
  type Extras,
  type LinkRow,
  type ListedLink,
} from '../links/links.repository.js';
import type { SourcePrincipal } from '../sources/sources.service.js';
import type { ListRequest } from './list-request.js';
import { resourceNotFound } from './preconditions.js';
import { project, toResource, type ResourceExtras } from './representation.js';

export interface ListResponse {
  schemas: [typeof LIST_RESPONSE_SCHEMA];
  totalResults: number;
  itemsPerPage: number;
  startIndex?: number;
  nextCursor?: string;
  Resources: Record<string, unknown>[];
}

interface CursorState {
  /** Fingerprint of the query the cursor belongs to. */
  q: string;
  /** Keyset: the last id of the previous page (unsorted lists). */
  a?: string;
  /** Offset (sorted lists). */
  o?: number;
}

const invalidCursor = () =>
  new ScimError(400, 'invalidCursor', 'The cursor is invalid, or belongs to another query');

/** The read side of the SCIM server: one resource, lists and searches, always within one source. */
@Injectable()
export class ScimQueryService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  baseUrl(source: Pick<SourcePrincipal, 'slug'>): string {
    return `${this.config.publicUrl}/scim/${source.slug}/v2`;
  }

  /** One resource of the source (404 otherwise), with its groups or members when they are returned. */
  async get(
    source: SourcePrincipal,
    type: ScimResourceTypeName,
    id: string,
    projection: ProjectionOptions,
  ): Promise<ListedLink> {
    const link = await new LinksRepository(this.dataSource.manager).findWithExtras(
      source.id,
      type,
      id,
      extrasFor(type, projection),
    );
    if (!link) throw resourceNotFound(type, id);
    return link;
  }

  /** The SCIM representation of a link read with {@link get} or {@link list}. */
  render(source: SourcePrincipal, link: ListedLink, projection: ProjectionOptions): Record<string, unknown> {
    const extras: ResourceExtras = {};
    if (link.groups) extras.groups = link.groups;
    if (link.members) extras.members = link.members;
    return project(toResource(link, this.baseUrl(source), extras), link.resourceType, projection);
  }

  /**
   * The representation of a link just written. `fresh` says it has no memberships yet (a user
   * just created), which saves the query for them.
   */
  async resource(
    source: SourcePrincipal,
    link: LinkRow,
    projection: ProjectionOptions,
    fresh = false,
  ): Promise<Record<string, unknown>> {
    const extras = extrasFor(link.resourceType, projection);
    const listed: ListedLink = { ...link };
    if (extras && fresh) listed[extras] = [];
    else if (extras === 'groups')
      listed.groups = await new LinksRepository(this.dataSource.manager).groupsOf(source.id, [link.id]);
    else if (extras === 'members')
      listed.members = await new LinksRepository(this.dataSource.manager).membersOf(source.id, [link.id]);
    return this.render(source, listed, projection);
  }

  /**
   * A page of the source's resources: the filter and sort are compiled to SQL over the source's
   * links (never evaluated in memory), then paged by index (`startIndex`/`count`) or cursor.
   */
  async list(
    source: SourcePrincipal,
    type: ScimResourceTypeName,
    request: ListRequest,
  ): Promise<ListResponse> {
    const target = FILTER_TARGETS[type];
    const params: unknown[] = [source.id];
    const where = request.filter ? compileFilter(request.filter, target, params) : undefined;
    const orderBy = request.sortBy ? compileSort(request.sortBy, target, request.sortOrder) : undefined;
    const repo = new LinksRepository(this.dataSource.manager);
    const extras = extrasFor(type, request.projection);
    const render = (rows: ListedLink[]) => rows.map((row) => this.render(source, row, request.projection));

    if (request.cursor === undefined) {
      const offset = request.startIndex - 1;
      let rows: ListedLink[] = [];
      let totalResults: number;
      if (request.count === 0) {
        totalResults = await repo.count(type, where, params);
      } else if (where !== undefined) {
        // A filter usually matches few rows: count them in the same round trip as the page.
        rows = await repo.list(
          type,
          { where, params, orderBy, offset, limit: request.count },
          { withTotal: true, extras },
        );
        totalResults = rows[0]?.total ?? (offset > 0 ? await repo.count(type, where, params) : 0);
      } else {
        totalResults = await repo.count(type, where, params);
        if (offset < totalResults)
          rows = await repo.list(type, { where, params, orderBy, offset, limit: request.count }, { extras });
      }
      return {
        schemas: [LIST_RESPONSE_SCHEMA],
        totalResults,
        itemsPerPage: rows.length,
        startIndex: request.startIndex,
        Resources: render(rows),
      };
    }

    const fingerprint = createHash('sha256')
      .update(
        JSON.stringify([type, request.filter ?? null, request.sortBy ?? null, request.sortOrder ?? null]),
      )
      .digest('base64url')
      .slice(0, 16);
    const state = request.cursor === '' ? { q: fingerprint } : decodeCursorState(request.cursor, fingerprint);
    const keyset = orderBy === undefined;
    if (keyset && state.o !== undefined) throw invalidCursor();
    if (!keyset && state.a !== undefined) throw invalidCursor();
    const offset = keyset ? 0 : (state.o ?? 0);
    const totalResults = await repo.count(type, where, params);
    const rows =
      request.count > 0
        ? await repo.list(
            type,
            {
              where,
              params,
              orderBy,
              offset,
              limit: request.count + 1,
              ...(state.a ? { afterId: state.a } : {}),
            },
            { extras },
          )
        : [];
    const page = rows.slice(0, request.count);
    const more = rows.length > request.count;
    const next: CursorState | undefined = more
      ? keyset
        ? { q: fingerprint, a: page[page.length - 1]!.id }
        : { q: fingerprint, o: offset + page.length }
      : undefined;
    return {
      schemas: [LIST_RESPONSE_SCHEMA],
      totalResults,
      itemsPerPage: page.length,
      ...(next ? { nextCursor: Buffer.from(JSON.stringify(next), 'utf8').toString('base64url') } : {}),
      Resources: render(page),
    };
  }
}

/** Which computed attribute a response needs: skipped entirely when the client excluded it. */
function extrasFor(type: ScimResourceTypeName, projection: ProjectionOptions): Extras | undefined {
  if (type === 'User')
    return isAttributeReturned('groups', projection, RESOURCE_SCHEMAS.User) ? 'groups' : undefined;
  return isAttributeReturned('members', projection, RESOURCE_SCHEMAS.Group) ? 'members' : undefined;
}

function decodeCursorState(cursor: string, fingerprint: string): CursorState {
  if (cursor.length > 256) throw invalidCursor();
  let state: unknown;
  try {
    state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (typeof state !== 'object' || state === null || Array.isArray(state)) throw invalidCursor();
  const { q, a, o } = state as Record<string, unknown>;
  if (q !== fingerprint) throw invalidCursor();
  if (a !== undefined && (typeof a !== 'string' || !isUuid(a))) throw invalidCursor();
  if (o !== undefined && (typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0)) throw invalidCursor();
  return {
    q,
    ...(a !== undefined ? { a: a as string } : {}),
    ...(o !== undefined ? { o: o as number } : {}),
  };
}
