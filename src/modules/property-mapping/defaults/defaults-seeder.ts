import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Logger } from 'pino';
import { DataSource, type EntityManager } from 'typeorm';
import { LOGGER } from '../../../platform/logging/logging.module.js';
import { MappingCatalog } from '../engine/mapping-catalog.js';
import { PropertyMappingsRepository } from '../mappings/property-mappings.repository.js';
import { DEFAULT_MAPPINGS, type DefaultMapping } from './default-mappings.js';

/** Every process that seeds takes this transaction-level advisory lock first. */
const SEED_LOCK_KEY = 7_346_118_301;

export type SeedOutcome = 'created' | 'upgraded' | 'unchanged';

/**
 * Installs and upgrades the managed default mappings when an API process starts: an idempotent
 * upsert by `managed_key` under an advisory lock, so replicas starting together seed once. A stored
 * mapping is only overwritten by a newer revision, so an older replica never downgrades it.
 */
@Injectable()
export class DefaultMappingsSeeder implements OnApplicationBootstrap {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly catalog: MappingCatalog,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const outcomes = await this.seed();
    const changed = Object.entries(outcomes).filter(([, outcome]) => outcome !== 'unchanged');
    if (changed.length > 0)
      this.logger.info({ mappings: Object.fromEntries(changed) }, 'managed property mappings installed');
  }

  seed(): Promise<Record<string, SeedOutcome>> {
    return this.dataSource.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [SEED_LOCK_KEY]);
      const outcomes: Record<string, SeedOutcome> = {};
      for (const mapping of DEFAULT_MAPPINGS) outcomes[mapping.managedKey] = await this.upsert(tx, mapping);
      return outcomes;
    });
  }

  private async upsert(tx: EntityManager, definition: DefaultMapping): Promise<SeedOutcome> {
    const repo = new PropertyMappingsRepository(tx);
    const stored = await repo.findByManagedKey(definition.managedKey);
    if (stored && (stored.managedRevision ?? 0) >= definition.revision) return 'unchanged';
    const name = await freeName(repo, definition.name, stored?.id);
    if (!stored) {
      await repo.insert({
        id: definition.id,
        name,
        scope: definition.scope,
        expression: definition.expression,
        description: definition.description,
        managedKey: definition.managedKey,
        managedRevision: definition.revision,
      });
      return 'created';
    }
    Object.assign(stored, {
      name,
      scope: definition.scope,
      expression: definition.expression,
      description: definition.description,
      managedRevision: definition.revision,
      version: stored.version + 1,
    });
    await repo.save(stored);
    this.catalog.invalidate(stored.id);
    return 'upgraded';
  }
}

/** The shipped name, or — when an admin's mapping already has it — the name marked as managed. */
async function freeName(
  repo: PropertyMappingsRepository,
  name: string,
  ownId: string | undefined,
): Promise<string> {
  let candidate = name;
  for (let n = 1; await repo.nameTaken(candidate, ownId); n++)
    candidate = n === 1 ? `${name} (managed)` : `${name} (managed ${n})`;
  return candidate;
}
