import type { EntityManager } from 'typeorm';
import { PropertyMappingEntity, type MappingScope } from './property-mapping.entity.js';

/** All SQL for property mappings. */
export class PropertyMappingsRepository {
  constructor(private readonly em: EntityManager) {}

  private get repo() {
    return this.em.getRepository(PropertyMappingEntity);
  }

  /**
   * `update` locks the row against concurrent change and deletion; `share` lets other readers in
   * but makes a concurrent delete wait (used when a source or provider saves a list naming it).
   */
  findById(id: string, lock?: 'update' | 'share'): Promise<PropertyMappingEntity | null> {
    const qb = this.repo.createQueryBuilder('m').where('m.id = :id', { id });
    if (lock === 'update') qb.setLock('pessimistic_write');
    if (lock === 'share') qb.setLock('pessimistic_read');
    return qb.getOne();
  }

  findByIds(ids: string[], lock?: 'share'): Promise<PropertyMappingEntity[]> {
    if (ids.length === 0) return Promise.resolve([]);
    const qb = this.repo.createQueryBuilder('m').where('m.id = ANY(:ids)', { ids });
    if (lock === 'share') qb.setLock('pessimistic_read');
    return qb.getMany();
  }

  findByManagedKey(key: string): Promise<PropertyMappingEntity | null> {
    return this.repo.findOne({ where: { managedKey: key } });
  }

  async nameTaken(name: string, exceptId?: string): Promise<boolean> {
    const rows: unknown[] = await this.em.query(
      'SELECT 1 FROM property_mappings WHERE lower(name) = lower($1) AND ($2::uuid IS NULL OR id <> $2::uuid) LIMIT 1',
      [name, exceptId ?? null],
    );
    return rows.length > 0;
  }

  /** Keyset page ordered by (name, id), optionally of one scope. */
  list(
    limit: number,
    after?: { name: string; id: string },
    scope?: MappingScope,
  ): Promise<PropertyMappingEntity[]> {
    const qb = this.repo
      .createQueryBuilder('m')
      .orderBy('m.name', 'ASC')
      .addOrderBy('m.id', 'ASC')
      .limit(limit + 1);
    if (scope) qb.andWhere('m.scope = :scope', { scope });
    if (after) qb.andWhere('(m.name, m.id) > (:name, :id)', { name: after.name, id: after.id });
    return qb.getMany();
  }

  insert(values: Partial<PropertyMappingEntity>): Promise<PropertyMappingEntity> {
    return this.repo.save(this.repo.create(values));
  }

  save(mapping: PropertyMappingEntity): Promise<PropertyMappingEntity> {
    return this.repo.save(mapping);
  }

  async delete(id: string): Promise<void> {
    await this.repo.delete({ id });
  }
}
