import type { EntityManager } from 'typeorm';
import { ProviderEntity } from './provider.entity.js';

/** All SQL for providers. */
export class ProviderRepository {
  constructor(private readonly em: EntityManager) {}

  findById(id: string, lock = false): Promise<ProviderEntity | null> {
    const qb = this.em.getRepository(ProviderEntity).createQueryBuilder('p').where('p.id = :id', { id });
    if (lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  list(limit: number, after?: string): Promise<ProviderEntity[]> {
    const qb = this.em
      .getRepository(ProviderEntity)
      .createQueryBuilder('p')
      .orderBy('p.id', 'ASC')
      .limit(limit + 1);
    if (after) qb.where('p.id > :after', { after });
    return qb.getMany();
  }

  /** Every active (not paused) provider, for fanning out directory changes. Small table. */
  active(): Promise<Pick<ProviderEntity, 'id' | 'linkedSourceId' | 'scope'>[]> {
    return this.em.query(
      `SELECT id, linked_source_id AS "linkedSourceId", scope FROM providers WHERE NOT paused`,
    );
  }

  insert(values: Partial<ProviderEntity>): Promise<ProviderEntity> {
    const repo = this.em.getRepository(ProviderEntity);
    return repo.save(repo.create(values));
  }

  save(provider: ProviderEntity): Promise<ProviderEntity> {
    return this.em.getRepository(ProviderEntity).save(provider);
  }

  async delete(id: string): Promise<void> {
    await this.em.getRepository(ProviderEntity).delete({ id });
  }

  /** Pauses an active provider (e.g. after a 401); true when this call paused it. */
  async pause(id: string, reason: string): Promise<boolean> {
    const result: unknown = await this.em.query(
      `UPDATE providers SET paused = true, paused_reason = $2, paused_at = now(), version = version + 1, updated_at = now()
        WHERE id = $1 AND NOT paused RETURNING id`,
      [id, reason.slice(0, 2000)],
    );
    const rows =
      Array.isArray(result) && Array.isArray(result[0]) ? (result[0] as unknown[]) : (result as unknown[]);
    return rows.length > 0;
  }

  /**
   * Providers whose scheduled run is due, locked (skipping ones another replica holds) so each
   * due run starts once.
   */
  due(limit: number): Promise<ProviderEntity[]> {
    return this.em
      .getRepository(ProviderEntity)
      .createQueryBuilder('p')
      .where('p.next_sync_at <= now()')
      .andWhere('NOT p.paused')
      .orderBy('p.next_sync_at', 'ASC')
      .limit(limit)
      .setLock('pessimistic_write')
      .setOnLocked('skip_locked')
      .getMany();
  }

  async setNextSyncAt(id: string, at: Date | null): Promise<void> {
    await this.em.query(`UPDATE providers SET next_sync_at = $2 WHERE id = $1`, [
      id,
      at?.toISOString() ?? null,
    ]);
  }

  /** Providers whose mapping lists name `mappingId`. */
  referencing(
    mappingId: string,
  ): Promise<{ id: string; name: string; inUsers: boolean; inGroups: boolean }[]> {
    return this.em.query(
      `SELECT id, name, $1::uuid = ANY(coalesce(user_mappings, '{}')) AS "inUsers", $1::uuid = ANY(coalesce(group_mappings, '{}')) AS "inGroups"
         FROM providers WHERE $1::uuid = ANY(coalesce(user_mappings, '{}')) OR $1::uuid = ANY(coalesce(group_mappings, '{}'))`,
      [mappingId],
    );
  }
}
