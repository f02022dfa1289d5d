import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { AppConfig } from '../../../config/config.js';
import { APP_CONFIG } from '../../../config/config.module.js';
import { decodeCursor, toPage } from '../../../platform/http/cursor.js';
import { digestToken, issueToken, tokenMatches, tokenPrefix } from '../../../platform/security/tokens.js';
import { PropertyMappingsService } from '../../property-mapping/index.js';
import { isUuid } from '../links/links.repository.js';
import { isUniqueViolation } from '../pg-errors.js';
import { SourceErrors } from '../scim-source.errors.js';
import type { SourceTokenEntity } from './source-token.entity.js';
import { SourceEntity, type DeleteBehavior } from './source.entity.js';
import { SourcesRepository } from './sources.repository.js';

/** The settings an admin writes. */
export interface SourceSettings {
  name: string;
  enabled: boolean;
  userMappings: string[];
  groupMappings: string[];
  deleteBehavior: DeleteBehavior;
}

export interface CreateSourceInput extends Partial<SourceSettings> {
  name: string;
  slug: string;
  /** When the first token stops working (null: never). */
  tokenExpiresAt?: Date | null;
}

export interface RotateTokenInput {
  /** How long the replaced token keeps working (default 0: it stops now). */
  graceSeconds?: number;
  expiresAt?: Date | null;
}

/** The source a SCIM request authenticated as: everything the SCIM side needs. */
export interface SourcePrincipal {
  id: string;
  slug: string;
  name: string;
  userMappingIds: string[];
  groupMappingIds: string[];
  deleteBehavior: DeleteBehavior;
}

/** A source with its current token's public details, for the admin API. */
export interface SourceWithToken {
  source: SourceEntity;
  token: Pick<SourceTokenEntity, 'prefix' | 'expiresAt' | 'createdAt'> | null;
}

const LAST_USED_RESOLUTION_MS = 60_000;
/**
 * How long a verified token is trusted without reading the database again. Changes made through
 * this process (disable, delete, rotate) take effect at once; those made through another API
 * process within this time. Expiry and the end of a rotation's grace period are always exact.
 */
const AUTH_CACHE_TTL_MS = 5_000;
const AUTH_CACHE_MAX = 10_000;

interface CachedAuth {
  principal: SourcePrincipal;
  slug: string;
  expiresAt: number | null;
  retiredAt: number | null;
  cachedAt: number;
}

/** Sources and their tokens. Every method is a unit of work. */
@Injectable()
export class SourcesService {
  /** Verified tokens by digest (never the token itself). */
  private readonly authCache = new Map<string, CachedAuth>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly mappings: PropertyMappingsService,
  ) {}

  /** The managed default mapping ids of a scope (what a new source lists). */
  defaultMappingIds(scope: 'source:user' | 'source:group'): Promise<string[]> {
    return this.mappings.defaultIds(scope);
  }

  scimBaseUrl(slug: string): string {
    return `${this.config.publicUrl}/scim/${slug}/v2`;
  }

  async create(input: CreateSourceInput): Promise<SourceWithToken & { secret: string }> {
    const userMappings = input.userMappings ?? (await this.mappings.defaultIds('source:user'));
    const groupMappings = input.groupMappings ?? (await this.mappings.defaultIds('source:group'));
    try {
      return await this.dataSource.transaction(async (tx) => {
        await this.mappings.assertUsable('source:user', userMappings, tx);
        await this.mappings.assertUsable('source:group', groupMappings, tx);
        const repo = new SourcesRepository(tx);
        const source = await repo.insert({
          slug: input.slug,
          name: input.name,
          enabled: input.enabled ?? true,
          userMappingIds: userMappings,
          groupMappingIds: groupMappings,
          deleteBehavior: input.deleteBehavior ?? 'delete',
        });
        const issued = issueToken('src');
        const token = await repo.insertToken({
          sourceId: source.id,
          prefix: issued.prefix,
          digest: issued.digest,
          expiresAt: input.tokenExpiresAt ?? null,
        });
        return { source, token, secret: issued.token };
      });
    } catch (error) {
      if (isUniqueViolation(error, 'scim_sources_slug_key')) throw SourceErrors.slugTaken(input.slug);
      throw error;
    }
  }

  async get(id: string): Promise<SourceWithToken> {
    const repo = new SourcesRepository(this.dataSource.manager);
    const source = await repo.findById(id);
    if (!source) throw SourceErrors.notFound(id);
    const tokens = await repo.currentTokens([id]);
    return { source, token: tokens.get(id) ?? null };
  }

  async list(
    limit: number,
    cursor?: string,
  ): Promise<{ items: SourceWithToken[]; nextCursor: string | null }> {
    const repo = new SourcesRepository(this.dataSource.manager);
    const after = cursor ? (decodeCursor(cursor, ['uuid'])[0] as string) : undefined;
    const page = toPage(await repo.list(limit, after), limit, (s) => [s.id]);
    const tokens = await repo.currentTokens(page.items.map((s) => s.id));
    return {
      items: page.items.map((source) => ({ source, token: tokens.get(source.id) ?? null })),
      nextCursor: page.nextCursor,
    };
  }

  /** Changes settings; the slug is immutable. */
  async update(id: string, next: (current: SourceSettings) => SourceSettings): Promise<SourceWithToken> {
    await this.dataSource.transaction(async (tx) => {
      const repo = new SourcesRepository(tx);
      const source = await repo.findById(id, true);
      if (!source) throw SourceErrors.notFound(id);
      const settings = next(settingsOf(source));
      await this.mappings.assertUsable('source:user', settings.userMappings, tx);
      await this.mappings.assertUsable('source:group', settings.groupMappings, tx);
      Object.assign(source, {
        name: settings.name,
        enabled: settings.enabled,
        userMappingIds: settings.userMappings,
        groupMappingIds: settings.groupMappings,
        deleteBehavior: settings.deleteBehavior,
      });
      await repo.save(source);
    });
    this.authCache.clear();
    return this.get(id);
  }

  /**
   * Removes the source, its tokens and its links. The directory objects it provisioned stay in
   * the directory (unlinked, like admin-managed ones): removing a connection never deletes people.
   */
  async delete(id: string): Promise<void> {
    const deleted = await new SourcesRepository(this.dataSource.manager).delete(id);
    this.authCache.clear();
    if (!deleted) throw SourceErrors.notFound(id);
  }

  /** Issues a new token; the old one keeps working for `graceSeconds`. */
  async rotateToken(
    id: string,
    input: RotateTokenInput,
  ): Promise<{ secret: string; token: SourceTokenEntity }> {
    const rotated = await this.dataSource.transaction(async (tx) => {
      const repo = new SourcesRepository(tx);
      if (!(await repo.findById(id, true))) throw SourceErrors.notFound(id);
      await repo.retireTokens(id, input.graceSeconds ?? 0);
      const issued = issueToken('src');
      const token = await repo.insertToken({
        sourceId: id,
        prefix: issued.prefix,
        digest: issued.digest,
        expiresAt: input.expiresAt ?? null,
      });
      return { secret: issued.token, token };
    });
    this.authCache.clear();
    return rotated;
  }

  /**
   * The source a bearer token belongs to, if the token is valid for the source named by `slug`:
   * well-formed, known, digest equal (constant time), not expired, not retired, source enabled.
   */
  async authenticate(slug: string, token: string): Promise<SourcePrincipal | undefined> {
    const prefix = tokenPrefix(token, 'src');
    if (!prefix) return undefined;
    const now = Date.now();
    const key = digestToken(token).toString('base64');
    const cached = this.authCache.get(key);
    if (cached && now - cached.cachedAt < AUTH_CACHE_TTL_MS) {
      const valid =
        cached.slug === slug &&
        (cached.expiresAt === null || cached.expiresAt > now) &&
        (cached.retiredAt === null || cached.retiredAt > now);
      return valid ? cached.principal : undefined;
    }
    const repo = new SourcesRepository(this.dataSource.manager);
    const found = await repo.tokenByPrefix(prefix);
    if (!found || !tokenMatches(token, found.digest)) return undefined;
    const { source } = found;
    if (source.slug !== slug || !source.enabled) return undefined;
    if (found.expiresAt && found.expiresAt.getTime() <= now) return undefined;
    if (found.retiredAt && found.retiredAt.getTime() <= now) return undefined;
    if (!found.lastUsedAt || now - found.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS)
      await repo.touchToken(found.tokenId);
    const principal: SourcePrincipal = {
      id: source.id,
      slug: source.slug,
      name: source.name,
      userMappingIds: source.userMappingIds,
      groupMappingIds: source.groupMappingIds,
      deleteBehavior: source.deleteBehavior,
    };
    if (this.authCache.size >= AUTH_CACHE_MAX) this.authCache.clear();
    this.authCache.set(key, {
      principal,
      slug: source.slug,
      expiresAt: found.expiresAt?.getTime() ?? null,
      retiredAt: found.retiredAt?.getTime() ?? null,
      cachedAt: now,
    });
    return principal;
  }

  /** For the mapping module: the source lists that name a mapping. */
  async listingMapping(mappingId: string, tx: EntityManager) {
    return new SourcesRepository(tx).listingMapping(mappingId);
  }

  async mappingIdsOf(sourceId: string, scope: 'source:user' | 'source:group') {
    if (!isUuid(sourceId)) return null;
    const source = await new SourcesRepository(this.dataSource.manager).findById(sourceId);
    if (!source) return null;
    return {
      mappingIds: scope === 'source:user' ? source.userMappingIds : source.groupMappingIds,
      context: { source: { id: source.id, slug: source.slug, name: source.name } },
    };
  }
}

export function settingsOf(source: SourceEntity): SourceSettings {
  return {
    name: source.name,
    enabled: source.enabled,
    userMappings: source.userMappingIds,
    groupMappings: source.groupMappingIds,
    deleteBehavior: source.deleteBehavior,
  };
}
