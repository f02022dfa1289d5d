import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { PropertyMappingEntity } from '../mappings/property-mapping.entity.js';
import { PropertyMappingsRepository } from '../mappings/property-mappings.repository.js';

/** How long a mapping row is trusted before it is re-read (changes made by other processes show up within this). */
export const MAPPING_CACHE_TTL_MS = 3_000;

/** More mappings than any installation has; past it the cache starts over rather than grow. */
const MAX_ENTRIES = 10_000;

interface Cached {
  mapping: PropertyMappingEntity;
  expiresAt: number;
}

/**
 * Mapping rows for the engine, held in memory for a few seconds so that mapping thousands of
 * objects costs one query per list every {@link MAPPING_CACHE_TTL_MS}, not one per object. Writes
 * through this process invalidate at once; other processes see them after the TTL.
 */
@Injectable()
export class MappingCatalog {
  private readonly cache = new Map<string, Cached>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The mappings with these ids (unknown ones are absent from the map). */
  async get(ids: readonly string[]): Promise<Map<string, PropertyMappingEntity>> {
    const now = Date.now();
    const found = new Map<string, PropertyMappingEntity>();
    let missing: string[] | undefined;
    for (const id of ids) {
      const hit = this.cache.get(id);
      if (hit && hit.expiresAt > now) {
        found.set(id, hit.mapping);
      } else {
        (missing ??= []).push(id);
      }
    }
    if (missing) {
      const unique = [...new Set(missing)].filter(isUuid);
      const rows = await new PropertyMappingsRepository(this.dataSource.manager).findByIds(unique);
      const expiresAt = Date.now() + MAPPING_CACHE_TTL_MS;
      if (this.cache.size + rows.length > MAX_ENTRIES) this.cache.clear();
      // Unknown ids are not remembered: a lookup of random ids must not grow the cache.
      for (const row of rows) {
        this.cache.set(row.id, { mapping: row, expiresAt });
        found.set(row.id, row);
      }
    }
    return found;
  }

  invalidate(id: string): void {
    this.cache.delete(id);
  }

  clear(): void {
    this.cache.clear();
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => UUID.test(value);
