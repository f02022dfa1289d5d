import type { EntityManager } from 'typeorm';
import { SourceTokenEntity } from './source-token.entity.js';
import { SourceEntity } from './source.entity.js';

/** A token row joined with its source, as authentication needs it. */
export interface TokenWithSource {
  tokenId: string;
  digest: Buffer;
  expiresAt: Date | null;
  retiredAt: Date | null;
  lastUsedAt: Date | null;
  source: SourceEntity;
}

/** All SQL for sources and their tokens. */
export class SourcesRepository {
  constructor(private readonly em: EntityManager) {}

  findById(id: string, lock = false): Promise<SourceEntity | null> {
    const qb = this.em.getRepository(SourceEntity).createQueryBuilder('s').where('s.id = :id', { id });
    if (lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  findBySlug(slug: string): Promise<SourceEntity | null> {
    return this.em.getRepository(SourceEntity).findOneBy({ slug });
  }

  insert(values: Partial<SourceEntity>): Promise<SourceEntity> {
    const repo = this.em.getRepository(SourceEntity);
    return repo.save(repo.create(values));
  }

  save(source: SourceEntity): Promise<SourceEntity> {
    return this.em.getRepository(SourceEntity).save(source);
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.em.getRepository(SourceEntity).delete({ id });
    return (result.affected ?? 0) > 0;
  }

  list(limit: number, after?: string): Promise<SourceEntity[]> {
    const qb = this.em
      .getRepository(SourceEntity)
      .createQueryBuilder('s')
      .orderBy('s.id', 'ASC')
      .limit(limit + 1);
    if (after) qb.where('s.id > :after', { after });
    return qb.getMany();
  }

  /** Sources whose user or group list names the mapping. */
  listingMapping(mappingId: string): Promise<{ id: string; name: string; user: boolean; group: boolean }[]> {
    return this.em.query(
      `SELECT id, name, $1::uuid = ANY(user_mapping_ids) AS "user", $1::uuid = ANY(group_mapping_ids) AS "group"
         FROM scim_sources WHERE $1::uuid = ANY(user_mapping_ids) OR $1::uuid = ANY(group_mapping_ids)
        ORDER BY name, id`,
      [mappingId],
    );
  }

  /** The current token of each source (the one that is not retired). */
  async currentTokens(sourceIds: string[]): Promise<Map<string, SourceTokenEntity>> {
    if (sourceIds.length === 0) return new Map();
    const rows = await this.em
      .getRepository(SourceTokenEntity)
      .createQueryBuilder('t')
      .where('t.source_id = ANY(:ids)', { ids: sourceIds })
      .andWhere('t.retired_at IS NULL')
      .getMany();
    return new Map(rows.map((t) => [t.sourceId, t]));
  }

  async insertToken(
    values: Pick<SourceTokenEntity, 'sourceId' | 'prefix' | 'digest' | 'expiresAt'>,
  ): Promise<SourceTokenEntity> {
    const repo = this.em.getRepository(SourceTokenEntity);
    return repo.save(repo.create({ ...values, retiredAt: null, lastUsedAt: null }));
  }

  /**
   * Retires every live token of the source at `now + graceSeconds` (never later than an earlier
   * retirement), and forgets tokens that stopped working long ago.
   */
  async retireTokens(sourceId: string, graceSeconds: number): Promise<void> {
    await this.em.query(
      `UPDATE scim_source_tokens
          SET retired_at = LEAST(coalesce(retired_at, 'infinity'::timestamptz), now() + make_interval(secs => $2))
        WHERE source_id = $1 AND (retired_at IS NULL OR retired_at > now())`,
      [sourceId, graceSeconds],
    );
    await this.em.query(
      `DELETE FROM scim_source_tokens WHERE source_id = $1 AND retired_at < now() - interval '1 day'`,
      [sourceId],
    );
  }

  async tokenByPrefix(prefix: string): Promise<TokenWithSource | undefined> {
    const token = await this.em
      .getRepository(SourceTokenEntity)
      .createQueryBuilder('t')
      .innerJoinAndSelect('t.source', 's')
      .where('t.prefix = :prefix', { prefix })
      .getOne();
    if (!token?.source) return undefined;
    return {
      tokenId: token.id,
      digest: token.digest,
      expiresAt: token.expiresAt,
      retiredAt: token.retiredAt,
      lastUsedAt: token.lastUsedAt,
      source: token.source,
    };
  }

  async touchToken(tokenId: string): Promise<void> {
    await this.em.query('UPDATE scim_source_tokens SET last_used_at = now() WHERE id = $1', [tokenId]);
  }
}
