import { Injectable } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { mergeContributions } from '../../../lib/merge/deep-merge.js';
import { DomainError } from '../../../platform/errors/domain-error.js';
import { SandboxError, type MappingSource } from '../../../platform/sandbox/sandbox.js';
import type { MappingScope, PropertyMappingEntity } from '../mappings/property-mapping.entity.js';
import { MappingErrors } from '../property-mapping.errors.js';
import { MappingCatalog } from './mapping-catalog.js';
import { buildVariables } from './mapping-context.js';
import { MappingSandbox } from './mapping-sandbox.js';
import { ObjectBatcher } from './object-batcher.js';
import { validateResult } from './result-validation.js';

export interface MappingContribution {
  mappingId: string;
  name: string;
  /** What the mapping returned: an object, or null for no contribution. */
  contribution: Record<string, unknown> | null;
  /**
   * Time spent evaluating it. `run` evaluates a whole list in one call into the isolate and
   * reports that call's time divided evenly; `run(…, { measureEach: true })` (the preview) times
   * each mapping on its own.
   */
  durationMs: number;
}

export interface MappingOutcome {
  /** The merged, validated result (a directory view for `source:*`, a SCIM payload for `provider:*`). */
  result: Record<string, unknown>;
  contributions: MappingContribution[];
}

export interface RunOptions {
  /** Evaluate the mappings one call each, so every contribution carries its own time (slower). */
  measureEach?: boolean;
}

/** A mapping as the engine needs it. */
type RunnableMapping = Pick<PropertyMappingEntity, 'id' | 'name' | 'version' | 'expression' | 'scope'>;

/**
 * Maps one object: evaluates a list of mappings in order in the sandbox, deep-merges their
 * contributions (SPEC "merge rules"), and validates the merged result against the SCIM schema of
 * the resource. Every failure is a `DomainError` of kind `validation` that concerns this object
 * only: `object_skipped`, `mapping_failed`, `mapping_result_invalid` (or `mapping_unusable` when a
 * listed id is unknown or of another scope).
 */
@Injectable()
export class MappingEngine {
  private readonly batcher: ObjectBatcher;

  constructor(
    private readonly catalog: MappingCatalog,
    private readonly sandbox: MappingSandbox,
  ) {
    this.batcher = new ObjectBatcher(sandbox);
  }

  /** Evaluates `mappingIds` in order with `context` variables, deep-merges, validates against the SCIM schema of the resource. */
  async run(
    scope: MappingScope,
    mappingIds: string[],
    context: Record<string, unknown>,
    options: RunOptions = {},
  ): Promise<MappingOutcome> {
    const mappings = await this.load(scope, mappingIds);
    return this.runMappings(scope, mappings, context, options);
  }

  /** As {@link run}, with mapping rows the caller already holds (e.g. unsaved ones in a preview). */
  async runMappings(
    scope: MappingScope,
    mappings: readonly RunnableMapping[],
    context: Record<string, unknown>,
    options: RunOptions = {},
  ): Promise<MappingOutcome> {
    const variables = buildVariables(scope, context);
    const contributions = options.measureEach
      ? await this.evaluateEach(mappings, variables)
      : await this.evaluateList(mappings, variables);
    const merged = mergeContributions(contributions.flatMap((c) => (c.contribution ? [c.contribution] : [])));
    const result = validateResult(scope, merged, contributions);
    return { result, contributions };
  }

  /** Evaluates one mapping on its own: its raw contribution, not merged or validated (the test endpoint). */
  async evaluateOne(
    mapping: RunnableMapping,
    context: Record<string, unknown>,
  ): Promise<{ result: Record<string, unknown> | null; durationMs: number }> {
    const variables = buildVariables(mapping.scope, context);
    const [contribution] = await this.evaluateEach([mapping], variables);
    return { result: contribution!.contribution, durationMs: contribution!.durationMs };
  }

  /** The mappings of a list, in its order; a 400 `mapping_unusable` when one is unknown or of another scope. */
  private async load(scope: MappingScope, ids: readonly string[]): Promise<RunnableMapping[]> {
    const found = await this.catalog.get(ids);
    const problems: { id: string; message: string }[] = [];
    const mappings: RunnableMapping[] = [];
    for (const id of ids) {
      const mapping = found.get(id);
      if (!mapping) problems.push({ id, message: 'no such property mapping' });
      else if (mapping.scope !== scope)
        problems.push({ id, message: `"${mapping.name}" is a ${mapping.scope} mapping` });
      else mappings.push(mapping);
    }
    if (problems.length > 0) throw MappingErrors.unusable(scope, problems);
    return mappings;
  }

  private async evaluateList(
    mappings: readonly RunnableMapping[],
    variables: Record<string, unknown>,
  ): Promise<MappingContribution[]> {
    // Objects mapped at the same time share a call into the isolate; anything but a clean success
    // comes back null and is evaluated on its own below, which reports exactly what happened.
    const batched = await this.batcher.evaluate(mappings, variables);
    if (batched) {
      return mappings.map((mapping, index) => ({
        mappingId: mapping.id,
        name: mapping.name,
        contribution: batched.contributions[index] ?? null,
        durationMs: round(batched.durationMs / mappings.length),
      }));
    }
    const batch = await this.guard(mappings, () => this.sandbox.evaluateAll(mappings.map(source), variables));
    if (batch.skipped)
      throw MappingErrors.objectSkipped(batch.skipped.reason, mappings[batch.skipped.index]!);
    const each = mappings.length > 0 ? batch.durationMs / mappings.length : 0;
    return mappings.map((mapping, index) => ({
      mappingId: mapping.id,
      name: mapping.name,
      contribution: batch.results[index] ?? null,
      durationMs: round(each),
    }));
  }

  private async evaluateEach(
    mappings: readonly RunnableMapping[],
    variables: Record<string, unknown>,
  ): Promise<MappingContribution[]> {
    const contributions: MappingContribution[] = [];
    for (const mapping of mappings) {
      const started = performance.now();
      const evaluation = await this.guard([mapping], () => this.sandbox.evaluate(source(mapping), variables));
      if (evaluation.skipped) throw MappingErrors.objectSkipped(evaluation.skipped.reason, mapping);
      contributions.push({
        mappingId: mapping.id,
        name: mapping.name,
        contribution: evaluation.result,
        durationMs: round(performance.now() - started),
      });
    }
    return contributions;
  }

  /** Turns the sandbox's errors into `mapping_failed` naming the mapping, its message and position. */
  private async guard<T>(mappings: readonly RunnableMapping[], work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof SandboxError) {
        const mapping =
          mappings.find((m) => m.id === error.mapping?.id) ??
          (mappings.length === 1 ? mappings[0] : undefined);
        throw MappingErrors.failed({
          mappingId: mapping?.id ?? error.mapping?.id ?? '',
          mappingName: mapping?.name ?? '(unknown)',
          message: error.message,
          failureKind: error.kind,
          ...(error.line !== undefined && { line: error.line }),
          ...(error.column !== undefined && { column: error.column }),
        });
      }
      if (error instanceof TypeError && /evaluation context|mapping variable/.test(error.message)) {
        throw new DomainError('invalid_mapping_context', 'validation', error.message);
      }
      throw error;
    }
  }
}

/** Frozen sources per cached row, so the hot path allocates nothing per object for them. */
const sources = new WeakMap<RunnableMapping, MappingSource>();

function source(mapping: RunnableMapping): MappingSource {
  let frozen = sources.get(mapping);
  if (
    frozen === undefined ||
    frozen.version !== mapping.version ||
    frozen.expression !== mapping.expression
  ) {
    frozen = Object.freeze({ id: mapping.id, version: mapping.version, expression: mapping.expression });
    sources.set(mapping, frozen);
  }
  return frozen;
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;
