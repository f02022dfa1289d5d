import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { MappingReference } from '../property-mapping.errors.js';
import type { MappingScope } from './property-mapping.entity.js';

/** What an owner of mapping lists (sources, providers) tells the mapping module. */
export interface MappingListOwner {
  /** `source` or `provider`. */
  type: string;
  /**
   * Every list of this owner type that names `mappingId`. Runs inside the transaction that deletes
   * the mapping, after the mapping row is locked, so a concurrent save of a list either commits
   * first (and is seen here) or waits and then finds the mapping gone.
   */
  referencesTo(mappingId: string, tx: EntityManager): Promise<MappingReference[]>;
  /**
   * The configured, ordered mapping list of one owner for `scope` (for the preview endpoint), or
   * null when the owner does not exist or has no list for that scope.
   */
  mappingIdsOf?(
    ownerId: string,
    scope: MappingScope,
  ): Promise<{ mappingIds: string[]; context: Record<string, unknown> } | null>;
}

/**
 * The registry sources and providers register into, so the mapping module can refuse to delete a
 * mapping that a list still names — without importing them (they store their lists as `uuid[]`
 * columns, which no foreign key can guard).
 */
@Injectable()
export class MappingReferenceChecker {
  private readonly owners = new Map<string, MappingListOwner>();

  /** One owner per `type`; registering a type again replaces it. */
  register(owner: MappingListOwner): void {
    this.owners.set(owner.type, owner);
  }

  async referencesTo(mappingId: string, tx: EntityManager): Promise<MappingReference[]> {
    const found: MappingReference[] = [];
    for (const owner of this.owners.values()) found.push(...(await owner.referencesTo(mappingId, tx)));
    return found;
  }

  /** The owner registered for `type`, if any. */
  owner(type: string): MappingListOwner | undefined {
    return this.owners.get(type);
  }
}
