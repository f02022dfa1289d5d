import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';

import { SandboxError, toErrorMapping, type SandboxErrorMapping } from './sandbox.errors.js';
import {
  LostIsolateError,
  PooledIsolate,
  type IsolateSettings,
  type RunOutcome,
  type VariableNames,
} from './sandbox.isolate.js';
import { HELPER_NAMES } from './sandbox.runtime.js';

export { HELPERS_DOC, type HelperDoc } from './sandbox.runtime.js';
export { SandboxError, type SandboxErrorKind, type SandboxErrorMapping } from './sandbox.errors.js';

/** Limits and pool size of a {@link Sandbox}. */
export interface SandboxOptions {
  /** Isolates kept alive; default `max(2, os.availableParallelism())`. */
  poolSize?: number;
  /** Time one mapping may run, in ms; default 50. */
  cpuTimeLimitMs?: number;
  /** Heap limit of each isolate, in MB (isolated-vm's minimum is 8); default 32. */
  memoryLimitMb?: number;
  /** Mapping versions kept compiled per isolate, least recently used dropped first; default 500. */
  maxCachedMappings?: number;
  /**
   * Called when V8 loses control of an isolate (isolated-vm's `onCatastrophicError`; some single
   * huge allocations take this path instead of the memory limit). The isolate is dropped from the
   * pool, the evaluation that caused it fails with a `memory` error and the others are run again
   * elsewhere; the service keeps serving, but the isolate's thread and heap are never freed, so
   * the owner should log it and plan a restart. Default: `process.emitWarning`.
   */
  onCatastrophicError?: (message: string) => void;
}

/** A mapping expression and the version it belongs to; `compile()` returns the checked form. */
export interface MappingSource {
  readonly id: string;
  readonly version: number | string;
  readonly expression: string;
}

/** A mapping whose expression `compile()` has checked; accepted wherever a MappingSource is. */
export type CompiledMapping = Readonly<MappingSource>;

/** What a mapping contributes: a JSON object, or `null` for nothing. */
export type Contribution = Record<string, unknown> | null;

/** Per-call options of `evaluate` and `evaluateAll`. */
export interface EvaluateOptions {
  /** Overrides the sandbox's `cpuTimeLimitMs` for this call. */
  cpuTimeLimitMs?: number;
}

/** What `evaluate` returns for one mapping. */
export interface EvaluationResult {
  result: Contribution;
  /** Set when the mapping called `skipObject()`; `result` is then `null`. */
  skipped?: { reason: string };
  /** Wall time of the call into the isolate, copies included. */
  durationMs: number;
}

/** What `evaluateAll` returns for a list of mappings. */
export interface BatchEvaluationResult {
  /** One contribution per mapping that ran, in order; mappings after a skip do not run. */
  results: Contribution[];
  /** Set when a mapping called `skipObject()`. */
  skipped?: { reason: string; mapping: SandboxErrorMapping; index: number };
  /** Wall time of the call into the isolate, copies included. */
  durationMs: number;
}

const DEFAULT_CPU_TIME_LIMIT_MS = 50;
const DEFAULT_MEMORY_LIMIT_MB = 32;
const DEFAULT_MAX_CACHED_MAPPINGS = 500;
/**
 * Tries of one evaluation when its isolate died under it because of another evaluation, or when
 * it timed out (see "Time limit" on {@link Sandbox}).
 */
const MAX_ATTEMPTS = 3;

/**
 * A variable name as a JavaScript identifier. A SCIM schema URN becomes its last qualifier in
 * camelCase followed by the schema name (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`
 * → `enterpriseUser`, `…:core:2.0:Group` → `coreGroup`); any other key keeps its ASCII letters,
 * digits, `_` and `$` and has every other character replaced with `_` (`x-source` → `x_source`),
 * gets a leading `_` when it starts with a digit, and a trailing `_` when it is a reserved word or
 * a helper name (`class` → `class_`).
 */
export function toIdentifier(key: string): string {
  const fromUrn = /^urn:/i.test(key) ? identifierFromSchemaUrn(key) : undefined;
  let identifier = (fromUrn ?? key).replace(/[^A-Za-z0-9_$]/g, '_');
  if (identifier === '') identifier = '_';
  if (/^[0-9]/.test(identifier)) identifier = `_${identifier}`;
  if (RESERVED_NAMES.has(identifier)) identifier = `${identifier}_`;
  return identifier;
}

/** Whether `name` can be a variable of a mapping (see `toIdentifier`). */
export function isValidVariableName(name: string): boolean {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) && !RESERVED_NAMES.has(name);
}

function identifierFromSchemaUrn(urn: string): string | undefined {
  const segments = urn.split(':').filter((segment) => segment !== '');
  const schemaName = segments.at(-1);
  const qualifier = segments
    .slice(1, -1)
    .reverse()
    .find((segment) => !/^\d+(\.\d+)*$/.test(segment));
  if (schemaName === undefined || qualifier === undefined) return undefined;
  const words = (text: string): string[] => text.split(/[^A-Za-z0-9]+/).filter((word) => word !== '');
  const capitalise = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1);
  const [first = '', ...rest] = words(qualifier);
  return (
    first.charAt(0).toLowerCase() + first.slice(1) + [...rest, ...words(schemaName)].map(capitalise).join('')
  );
}

const RESERVED_NAMES: ReadonlySet<string> = new Set([
  ...['break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do'],
  ...['else', 'enum', 'export', 'extends', 'false', 'finally', 'for', 'function', 'if', 'import', 'in'],
  ...['instanceof', 'new', 'null', 'return', 'super', 'switch', 'this', 'throw', 'true', 'try'],
  ...['typeof', 'var', 'void', 'while', 'with', 'yield', 'let', 'static', 'implements', 'interface'],
  ...['package', 'private', 'protected', 'public', 'await', 'eval', 'arguments'],
  ...['undefined', 'NaN', 'Infinity', 'globalThis', '__proto__', 'constructor', 'prototype'],
  ...HELPER_NAMES,
]);

/**
 * A timeout, which wall-clock limits can cause by a thread waiting for a core rather than running.
 * It is tried once more, and again while `waitedForCore` (the isolate used less CPU than
 * allowed); `failure` is what to report when the tries run out.
 */
class TimeoutToRetry extends Error {
  constructor(
    readonly failure: SandboxError,
    readonly waitedForCore: boolean,
  ) {
    super(failure.message);
  }
}

function allCompiled(units: readonly (number | Promise<number>)[]): units is readonly number[] {
  return units.every((unit) => typeof unit === 'number');
}

function outcomeError(
  outcome: Exclude<RunOutcome, { status: 'ok' | 'skipped' | 'missing' }>,
  mapping: MappingSource,
  limitMs: number,
): SandboxError {
  const ref = toErrorMapping(mapping);
  switch (outcome.status) {
    case 'timeout':
      return timeoutError(ref, limitMs);
    case 'invalidResult':
      return new SandboxError('invalidResult', `Mapping returned an invalid result: ${outcome.message}`, {
        mapping: ref,
      });
    case 'runtime': {
      const { name, message, line, column } = outcome.error;
      const where = line === undefined ? '' : ` at line ${line}, column ${column}`;
      return new SandboxError('runtime', `Mapping failed${where}: ${name ? `${name}: ` : ''}${message}`, {
        mapping: ref,
        ...(line !== undefined && { line, column }),
      });
    }
  }
}

function isTimeout(error: unknown): error is SandboxError {
  return error instanceof SandboxError && error.kind === 'timeout';
}

function timeoutError(mapping: SandboxErrorMapping | undefined, limitMs: number): SandboxError {
  return new SandboxError('timeout', `Mapping exceeded its ${limitMs} ms CPU limit`, mapping && { mapping });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function warnOnCatastrophicError(message: string): void {
  process.emitWarning(
    `isolated-vm lost control of a sandbox isolate (${message}); it was replaced, but its thread and heap stay allocated until the process restarts`,
  );
}

/**
 * Runs admin-written mapping expressions in V8 isolates (isolated-vm), never in the service's heap.
 *
 * An expression is the body of a JavaScript function (strict mode). The caller's variables
 * (`{ scim, source }`, `{ user, provider }` …) become local variables of that function; the
 * helpers of `HELPERS_DOC` are globals. It returns its contribution: a plain JSON object, or
 * `null`/`undefined` for none, or calls `skipObject(reason)`.
 *
 * Design (measured on the 2-core build machine; figures in the commit that introduced it):
 * - A small pool of isolates, created on demand up to `poolSize`; each runs on its own thread, so
 *   evaluations proceed in parallel and never block the event loop. Calls are asynchronous on
 *   purpose: a synchronous call runs the isolate on the calling thread, and an isolate V8 gives up
 *   on (see Memory) would then put the service's main thread to sleep for good. An isolate that
 *   goes over its memory limit is disposed by isolated-vm; it is dropped from the pool and
 *   replaced on demand, and evaluations that were only queued on it run on another isolate.
 * - One context per isolate whose globals and intrinsics are all frozen at start-up (see
 *   `sandbox.runtime.ts`): an evaluation cannot leave state for the next one. A fresh context per
 *   evaluation was measured at ≈ 1 ms and its heap is reclaimed too slowly for a 32 MB limit.
 * - A mapping version is compiled once per isolate (and per set of variable names) into a
 *   function; later evaluations only call it. The body is first parsed on its own as a function
 *   body (V8 `CompileFunction`), so it cannot close the wrapper around it.
 * - `evaluateAll` runs an object's whole mapping list in one call into the isolate (one copy of
 *   the variables in, one JSON string out): most of the cost of a call is crossing the isolate
 *   boundary, not running the mapping.
 * - Time limit: isolated-vm's `timeout` (wall time on the isolate's thread, queueing excluded)
 *   stops a runaway batch at `cpuTimeLimitMs` × mappings, and in a batch each mapping that
 *   returns after more than `cpuTimeLimitMs` fails. Both measure wall time, which a thread
 *   waiting for a core on a busy machine also spends (seen at load 6 on 2 cores), so a timed-out
 *   evaluation is tried once more, and a third time when `isolate.cpuTime` shows the isolate used
 *   less CPU than allowed. (That reading is only an upper bound: calls to one isolate are
 *   pipelined, and isolated-vm counts a stretch still running in wall time.) A runaway mapping
 *   thus costs two limits before it fails.
 * - Memory: isolated-vm disposes an isolate over its limit. Some single huge allocations make V8
 *   give up on the isolate instead ("catastrophic error": its thread sleeps forever); the pool
 *   then fails the evaluation that was running with a `memory` error, runs the ones queued behind
 *   it elsewhere, and reports it through `onCatastrophicError`.
 */
export class Sandbox {
  private readonly poolSize: number;
  private readonly cpuTimeLimitMs: number;
  private readonly settings: IsolateSettings;
  private readonly members: PooledIsolate[] = [];
  private readonly waiters: (() => void)[] = [];
  private readonly variableNames = new Map<string, VariableNames>();
  private growing: Promise<void> | undefined;
  private disposed = false;

  constructor(options: SandboxOptions = {}) {
    this.poolSize = positiveInteger('poolSize', options.poolSize ?? Math.max(2, availableParallelism()));
    this.cpuTimeLimitMs = positiveInteger(
      'cpuTimeLimitMs',
      options.cpuTimeLimitMs ?? DEFAULT_CPU_TIME_LIMIT_MS,
    );
    const memoryLimitMb = positiveInteger('memoryLimitMb', options.memoryLimitMb ?? DEFAULT_MEMORY_LIMIT_MB);
    if (memoryLimitMb < 8) throw new RangeError('memoryLimitMb must be at least 8');
    this.settings = {
      memoryLimitMb,
      maxCachedMappings: positiveInteger(
        'maxCachedMappings',
        options.maxCachedMappings ?? DEFAULT_MAX_CACHED_MAPPINGS,
      ),
      onCatastrophicError: options.onCatastrophicError ?? warnOnCatastrophicError,
    };
  }

  /**
   * Checks that `expression` is a valid function body, for saving a mapping; throws a
   * `SandboxError` of kind `syntax` with the line and column in the expression otherwise.
   */
  async compile(id: string, version: number | string, expression: string): Promise<CompiledMapping> {
    const mapping = checkMapping({ id, version, expression });
    await this.withIsolate((member) => member.check(mapping));
    return mapping;
  }

  /** Evaluates one mapping against `context`, whose keys become the function's variables. */
  async evaluate(
    mapping: MappingSource,
    context: Record<string, unknown>,
    options: EvaluateOptions = {},
  ): Promise<EvaluationResult> {
    const { results, skipped, durationMs } = await this.evaluateAll([mapping], context, options);
    return skipped
      ? { result: null, skipped: { reason: skipped.reason }, durationMs }
      : { result: results[0] ?? null, durationMs };
  }

  /**
   * Evaluates mappings in order against one copy of `context`, in one call into an isolate. Stops
   * at the first mapping that calls `skipObject()` (reported in `skipped`); throws a
   * `SandboxError` naming the first mapping that fails.
   */
  async evaluateAll(
    mappings: readonly MappingSource[],
    context: Record<string, unknown>,
    options: EvaluateOptions = {},
  ): Promise<BatchEvaluationResult> {
    const names = this.variableNamesOf(context);
    const limitMs = positiveInteger('cpuTimeLimitMs', options.cpuTimeLimitMs ?? this.cpuTimeLimitMs);
    if (mappings.length === 0) return { results: [], durationMs: 0 };
    mappings.forEach(checkMapping);
    return this.withIsolate((member, slot) => this.runBatch(member, slot, mappings, context, names, limitMs));
  }

  /** Disposes every isolate; pending and later evaluations fail. */
  dispose(): void {
    this.disposed = true;
    for (const member of this.members.splice(0)) member.dispose();
    for (const wake of this.waiters.splice(0)) wake();
  }

  private async runBatch(
    member: PooledIsolate,
    slot: number,
    mappings: readonly MappingSource[],
    context: Record<string, unknown>,
    names: VariableNames,
    limitMs: number,
  ): Promise<BatchEvaluationResult> {
    const units = member.lease(mappings, names);
    try {
      return await this.runUnits(member, slot, mappings, context, limitMs, units.ids);
    } finally {
      units.release();
    }
  }

  private async runUnits(
    member: PooledIsolate,
    slot: number,
    mappings: readonly MappingSource[],
    context: Record<string, unknown>,
    limitMs: number,
    pending: readonly (number | Promise<number>)[],
  ): Promise<BatchEvaluationResult> {
    const unitIds = allCompiled(pending)
      ? pending
      : await Promise.all(pending.map((id) => Promise.resolve(id)));

    const started = performance.now();
    const cpuBefore = member.cpuTime;
    let outcome: RunOutcome;
    try {
      outcome = JSON.parse(await member.run(slot, unitIds, context, limitMs)) as RunOutcome;
    } catch (error) {
      const failure = this.runFailure(
        error,
        mappings[member.progressOf(slot)] ?? (mappings.length === 1 ? mappings[0] : undefined),
        limitMs,
      );
      throw isTimeout(failure)
        ? new TimeoutToRetry(failure, member.cpuSince(cpuBefore) < limitMs * mappings.length)
        : failure;
    }
    const durationMs = performance.now() - started;

    switch (outcome.status) {
      case 'ok':
        return { results: outcome.results, durationMs };
      case 'skipped':
        return {
          results: outcome.results,
          skipped: {
            reason: outcome.reason,
            mapping: toErrorMapping(mappings[outcome.index]),
            index: outcome.index,
          },
          durationMs,
        };
      case 'missing':
        throw new Error('A compiled mapping was dropped before it ran');
      default: {
        const failure = outcomeError(outcome, mappings[outcome.index], limitMs);
        // The isolate's CPU time over the whole call bounds the late mapping's own from above.
        throw isTimeout(failure)
          ? new TimeoutToRetry(failure, member.cpuSince(cpuBefore) < limitMs)
          : failure;
      }
    }
  }

  /**
   * Translates an error of isolated-vm's own (timeout, memory, a lost isolate, `import()`, a
   * context that cannot be copied) into ours. A lost isolate's bystanders are returned as they are,
   * to be run again on another isolate.
   */
  private runFailure(error: unknown, mapping: MappingSource | undefined, limitMs: number): unknown {
    const ref = mapping && toErrorMapping(mapping);
    const memoryError = (): SandboxError =>
      new SandboxError(
        'memory',
        `Mapping exceeded the ${this.settings.memoryLimitMb} MB memory limit`,
        ref && { mapping: ref },
      );
    if (error instanceof LostIsolateError) {
      if (!error.culprit) return error;
      return /memory/i.test(error.reason) ? memoryError() : timeoutError(ref, limitMs);
    }
    const message = errorMessage(error);
    if (message.includes('timed out')) return timeoutError(ref, limitMs);
    if (message.includes('memory limit')) return memoryError();
    if (message === 'Not supported') {
      // What V8 throws, uncatchably, for import() in an isolate without a module loader.
      return new SandboxError(
        'runtime',
        'Mapping failed: import() is not available (mappings cannot load modules)',
        ref && { mapping: ref },
      );
    }
    if (
      error instanceof Error &&
      (error.name === 'DataCloneError' || message.includes('could not be cloned'))
    ) {
      return new TypeError(`The evaluation context must hold only JSON-like data: ${message}`);
    }
    return error;
  }

  /**
   * Runs `task` on the least busy isolate with a slot reserved for it, and runs it again on another
   * isolate when its own died under it because of another evaluation, or again on the same one
   * when a timeout turns out to be time spent waiting for a core.
   */
  private async withIsolate<T>(task: (member: PooledIsolate, slot: number) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const acquired = this.acquire();
      const member = acquired instanceof PooledIsolate ? acquired : await acquired;
      const slot = member.takeSlot();
      try {
        return await task(member, slot);
      } catch (error) {
        if (this.disposed) throw new Error('The sandbox has been disposed', { cause: error });
        const retry =
          error instanceof TimeoutToRetry
            ? attempt === 1 || error.waitedForCore
            : !member.alive && !(error instanceof SandboxError);
        if (!retry || attempt >= MAX_ATTEMPTS) throw error instanceof TimeoutToRetry ? error.failure : error;
      } finally {
        member.releaseSlot(slot);
        if (!member.alive) this.remove(member);
        this.waiters.shift()?.();
      }
    }
  }

  /** The least busy live isolate with a free slot; waits only while the pool starts or is full. */
  private acquire(): PooledIsolate | Promise<PooledIsolate> {
    return this.pick() ?? this.acquireWhenReady();
  }

  /** An isolate to use now (starting another one when every isolate is busy), if there is one. */
  private pick(): PooledIsolate | undefined {
    if (this.disposed) throw new Error('The sandbox has been disposed');
    let best: PooledIsolate | undefined;
    for (const member of this.members) {
      if (member.alive && member.hasFreeSlot && (best === undefined || member.inFlight < best.inFlight)) {
        best = member;
      }
    }
    if (best === undefined || best.inFlight === 0) return best;
    if (this.canGrow) this.grow().catch(() => undefined); // a failed start surfaces on the next one
    return best;
  }

  private async acquireWhenReady(): Promise<PooledIsolate> {
    for (;;) {
      const member = this.pick();
      if (member !== undefined) return member;
      if (this.canGrow) await this.grow();
      else if (this.growing !== undefined) await this.growing.catch(() => undefined);
      else await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private get canGrow(): boolean {
    return this.members.length < this.poolSize && this.growing === undefined;
  }

  private grow(): Promise<void> {
    const growing = PooledIsolate.create(this.settings)
      .then((member) => {
        if (this.disposed) member.dispose();
        else this.members.push(member);
      })
      .finally(() => {
        this.growing = undefined;
      });
    this.growing = growing;
    return growing;
  }

  private remove(member: PooledIsolate): void {
    const index = this.members.indexOf(member);
    if (index !== -1) this.members.splice(index, 1);
    member.dispose();
  }

  private variableNamesOf(context: Record<string, unknown>): VariableNames {
    if (typeof context !== 'object' || context === null || Array.isArray(context)) {
      throw new TypeError('The evaluation context must be an object of variables');
    }
    const list = Object.keys(context).sort();
    const key = list.join(',');
    let names = this.variableNames.get(key);
    if (names === undefined) {
      const invalid = list.find((name) => !isValidVariableName(name));
      if (invalid !== undefined) {
        throw new TypeError(`"${invalid}" cannot be a mapping variable; convert it with toIdentifier()`);
      }
      if (this.variableNames.size >= 100) this.variableNames.clear();
      names = { key, list };
      this.variableNames.set(key, names);
    }
    return names;
  }
}

function checkMapping(mapping: MappingSource): CompiledMapping {
  if (typeof mapping.id !== 'string' || mapping.id === '') throw new TypeError('A mapping needs an id');
  if (typeof mapping.expression !== 'string') throw new TypeError('A mapping expression must be a string');
  return Object.isFrozen(mapping)
    ? mapping
    : Object.freeze({ id: mapping.id, version: mapping.version, expression: mapping.expression });
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer`);
  return value;
}
