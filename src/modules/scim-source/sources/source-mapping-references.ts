import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { MappingListOwner, MappingReference, MappingScope } from '../../property-mapping/index.js';
import { SourcesService } from './sources.service.js';

/**
 * Tells the mapping module which sources list a mapping, so a mapping a source still uses cannot
 * be deleted, and what a source's list is (for the mapping preview).
 */
@Injectable()
export class SourceMappingReferences implements MappingListOwner {
  readonly type = 'source';

  constructor(private readonly sources: SourcesService) {}

  async referencesTo(mappingId: string, tx: EntityManager): Promise<MappingReference[]> {
    const rows = await this.sources.listingMapping(mappingId, tx);
    return rows.flatMap((row) => [
      ...(row.user
        ? [{ ownerType: 'source', ownerId: row.id, ownerName: row.name, list: 'userMappings' }]
        : []),
      ...(row.group
        ? [{ ownerType: 'source', ownerId: row.id, ownerName: row.name, list: 'groupMappings' }]
        : []),
    ]);
  }

  async mappingIdsOf(ownerId: string, scope: MappingScope) {
    if (scope !== 'source:user' && scope !== 'source:group') return null;
    return this.sources.mappingIdsOf(ownerId, scope);
  }
}
