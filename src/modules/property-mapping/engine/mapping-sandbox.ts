import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { createHash } from 'node:crypto';
import {
  Sandbox,
  SandboxError,
  type BatchEvaluationResult,
  type EvaluateOptions,
  type EvaluationResult,
  type MappingSource,
  type SandboxOptions,
} from '../../../platform/sandbox/sandbox.js';
import { MappingErrors } from '../property-mapping.errors.js';

/** CPU time one mapping may use per object (the default). */
export const MAPPING_CPU_TIME_LIMIT_MS = 50;
/** Heap of one isolate (the default). */
export const MAPPING_MEMORY_LIMIT_MB = 32;

/**
 * The module's one isolate pool (see `platform/sandbox`): checks expressions when they are saved
 * and evaluates them for the engine, with 50 ms of CPU per mapping and 32 MB per isolate. Tests
 * and benchmarks may build it differently with {@link MappingSandbox.withOptions}.
 */
@Injectable()
export class MappingSandbox implements OnApplicationShutdown {
  private sandbox: Sandbox;
  /** The time limit of one mapping, in ms. */
  cpuTimeLimitMs = MAPPING_CPU_TIME_LIMIT_MS;

  constructor() {
    this.sandbox = new Sandbox({
      cpuTimeLimitMs: MAPPING_CPU_TIME_LIMIT_MS,
      memoryLimitMb: MAPPING_MEMORY_LIMIT_MB,
    });
  }

  /** Replaces the pool with one built with `options` (for tests and benchmarks). */
  withOptions(options: SandboxOptions): this {
    this.sandbox.dispose();
    this.cpuTimeLimitMs = options.cpuTimeLimitMs ?? MAPPING_CPU_TIME_LIMIT_MS;
    this.sandbox = new Sandbox({
      cpuTimeLimitMs: MAPPING_CPU_TIME_LIMIT_MS,
      memoryLimitMb: MAPPING_MEMORY_LIMIT_MB,
      ...options,
    });
    return this;
  }

  /** Throws a 400 `mapping_syntax_error` naming line and column unless `expression` is a valid function body. */
  async check(expression: string): Promise<void> {
    // Keyed by content, so checking the same text twice costs one parse per isolate.
    const digest = createHash('sha256').update(expression).digest('base64url');
    try {
      await this.sandbox.compile(`check:${digest}`, 0, expression);
    } catch (error) {
      if (error instanceof SandboxError && error.kind === 'syntax') {
        throw MappingErrors.syntax(
          error.message.replace(/^Mapping has a syntax error( at line \d+, column \d+)?: /, ''),
          error.line,
          error.column,
        );
      }
      throw error;
    }
  }

  evaluate(mapping: MappingSource, variables: Record<string, unknown>): Promise<EvaluationResult> {
    return this.sandbox.evaluate(mapping, variables);
  }

  evaluateAll(
    mappings: readonly MappingSource[],
    variables: Record<string, unknown>,
    options: EvaluateOptions = {},
  ): Promise<BatchEvaluationResult> {
    return this.sandbox.evaluateAll(mappings, variables, options);
  }

  onApplicationShutdown(): void {
    this.sandbox.dispose();
  }
}
