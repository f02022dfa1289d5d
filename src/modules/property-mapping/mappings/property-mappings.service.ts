import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { decodeCursor, toPage } from '../../../platform/http/cursor.js';
import { DomainError } from '../../../platform/errors/domain-error.js';
import { defaultMappingIds } from '../defaults/default-mappings.js';
import { MappingCatalog, isUuid } from '../engine/mapping-catalog.js';
import { MappingSandbox } from '../engine/mapping-sandbox.js';
import { MappingErrors } from '../property-mapping.errors.js';
import { MappingReferenceChecker } from './mapping-references.js';
import { MAPPING_SCOPES, type MappingScope, type PropertyMappingEntity } from './property-mapping.entity.js';
import { PropertyMappingsRepository } from './property-mappings.repository.js';

/** What an admin writes. */
export interface MappingInput {
  name: string;
  scope: MappingScope;
  expression: string;
  description?: string;
}

/** Property mappings: CRUD with the managed and in-use rules, and the lookups sources and providers need. */
@Injectable()
export class PropertyMappingsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly references: MappingReferenceChecker,
    private readonly catalog: MappingCatalog,
    private readonly sandbox: MappingSandbox,
  ) {}

  async get(id: string, tx?: EntityManager): Promise<PropertyMappingEntity> {
    const mapping = await new PropertyMappingsRepository(tx ?? this.dataSource.manager).findById(id);
    if (!mapping) throw MappingErrors.notFound(id);
    return mapping;
  }

  async list(limit: number, cursor?: string, scope?: MappingScope) {
    const after = cursor ? decodeCursor(cursor, ['string', 'uuid']) : undefined;
    const rows = await new PropertyMappingsRepository(this.dataSource.manager).list(
      limit,
      after ? { name: after[0] as string, id: after[1] as string } : undefined,
      scope,
    );
    return toPage(rows, limit, (m) => [m.name, m.id]);
  }

  /** Creates an admin's mapping; the expression must compile. */
  async create(input: MappingInput): Promise<PropertyMappingEntity> {
    await this.sandbox.check(input.expression);
    return this.dataSource.transaction(async (tx) => {
      const repo = new PropertyMappingsRepository(tx);
      await assertNameFree(repo, input.name);
      return withUniqueName(input.name, () =>
        repo.insert({
          name: input.name,
          scope: input.scope,
          expression: input.expression,
          description: input.description ?? '',
          managedKey: null,
          managedRevision: null,
        }),
      );
    });
  }

  /**
   * Replaces an admin's mapping (the admin API applies a merge patch to the stored one first).
   * Managed mappings are read-only; the scope never changes (lists of one scope name it).
   */
  async replace(id: string, input: MappingInput, expectedVersion?: number): Promise<PropertyMappingEntity> {
    const saved = await this.dataSource.transaction(async (tx) => {
      const repo = new PropertyMappingsRepository(tx);
      const mapping = await repo.findById(id, 'update');
      if (!mapping) throw MappingErrors.notFound(id);
      if (mapping.managedKey !== null) throw MappingErrors.managed(mapping.name, 'changed');
      checkVersion(mapping.version, expectedVersion);
      if (input.scope !== mapping.scope) throw MappingErrors.scopeImmutable();
      const description = input.description ?? '';
      if (
        input.name === mapping.name &&
        input.expression === mapping.expression &&
        description === mapping.description
      ) {
        return mapping;
      }
      if (input.expression !== mapping.expression) await this.sandbox.check(input.expression);
      if (input.name.toLowerCase() !== mapping.name.toLowerCase()) await assertNameFree(repo, input.name, id);
      Object.assign(mapping, {
        name: input.name,
        expression: input.expression,
        description,
        version: mapping.version + 1,
      });
      return withUniqueName(input.name, () => repo.save(mapping));
    });
    this.catalog.invalidate(id);
    return saved;
  }

  /** Deletes an admin's mapping unless a source or provider still lists it. */
  async delete(id: string, expectedVersion?: number): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const repo = new PropertyMappingsRepository(tx);
      const mapping = await repo.findById(id, 'update');
      if (!mapping) throw MappingErrors.notFound(id);
      if (mapping.managedKey !== null) throw MappingErrors.managed(mapping.name, 'deleted');
      checkVersion(mapping.version, expectedVersion);
      const references = await this.references.referencesTo(id, tx);
      if (references.length > 0) throw MappingErrors.inUse(mapping.name, references);
      await repo.delete(id);
    });
    this.catalog.invalidate(id);
  }

  /** A new, unmanaged mapping with the same scope and expression: how a managed one is changed. */
  copy(id: string, name?: string): Promise<PropertyMappingEntity> {
    return this.dataSource.transaction(async (tx) => {
      const repo = new PropertyMappingsRepository(tx);
      const original = await repo.findById(id);
      if (!original) throw MappingErrors.notFound(id);
      let copyName = name;
      if (copyName !== undefined) {
        await assertNameFree(repo, copyName);
      } else {
        copyName = `${original.name} (copy)`;
        for (let n = 2; await repo.nameTaken(copyName); n++) copyName = `${original.name} (copy ${n})`;
      }
      const finalName = copyName;
      return withUniqueName(finalName, () =>
        repo.insert({
          name: finalName,
          scope: original.scope,
          expression: original.expression,
          description: original.description,
          managedKey: null,
          managedRevision: null,
        }),
      );
    });
  }

  /** The ids of the managed default mappings of a scope, in the order they run (see {@link defaultMappingIds}). */
  defaultIds(scope: MappingScope): Promise<string[]> {
    return Promise.resolve(defaultMappingIds(scope));
  }

  /**
   * Checks that every id names an existing mapping of `scope` (400 otherwise). Pass the
   * transaction that saves the list: the mappings are then share-locked until it commits, so a
   * concurrent delete waits and then sees the new list.
   */
  async assertUsable(scope: MappingScope, ids: string[], tx?: EntityManager): Promise<void> {
    if (!MAPPING_SCOPES.includes(scope)) {
      throw new DomainError(
        'invalid_mapping_scope',
        'validation',
        `Unknown mapping scope "${String(scope)}"`,
      );
    }
    const problems: { id: string; message: string }[] = [];
    const seen = new Set<string>();
    for (const id of ids) {
      if (typeof id !== 'string' || !isUuid(id))
        problems.push({ id: String(id), message: 'not a mapping id (uuid)' });
      else if (seen.has(id.toLowerCase())) problems.push({ id, message: 'listed more than once' });
      seen.add(String(id).toLowerCase());
    }
    const valid = [...seen].filter(isUuid);
    const rows = await new PropertyMappingsRepository(tx ?? this.dataSource.manager).findByIds(
      valid,
      tx?.queryRunner?.isTransactionActive ? 'share' : undefined,
    );
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const id of valid) {
      const row = byId.get(id);
      if (!row) problems.push({ id, message: 'no such property mapping' });
      else if (row.scope !== scope) problems.push({ id, message: `"${row.name}" is a ${row.scope} mapping` });
    }
    if (problems.length > 0) throw MappingErrors.unusable(scope, problems);
  }
}

async function assertNameFree(
  repo: PropertyMappingsRepository,
  name: string,
  exceptId?: string,
): Promise<void> {
  if (await repo.nameTaken(name, exceptId)) throw MappingErrors.nameTaken(name);
}

/** A concurrent insert of the same name still ends as 409, not 500. */
async function withUniqueName<T>(name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const e = error as {
      driverError?: { code?: string; constraint?: string };
      code?: string;
      constraint?: string;
    };
    const code = e.driverError?.code ?? e.code;
    const constraint = e.driverError?.constraint ?? e.constraint;
    if (code === '23505' && constraint === 'property_mappings_name_lower_key')
      throw MappingErrors.nameTaken(name);
    throw error;
  }
}

function checkVersion(actual: number, expected: number | undefined): void {
  if (expected !== undefined && expected !== actual) {
    throw new DomainError(
      'version_mismatch',
      'precondition_failed',
      `Expected version ${expected}, but it is ${actual}`,
    );
  }
}
