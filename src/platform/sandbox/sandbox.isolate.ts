/**
 * One isolate of the sandbox's pool: its frozen context (see `sandbox.runtime.ts`), the host's
 * references to the runtime, the mapping versions compiled in it, and the bookkeeping that lets
 * the pool survive the isolate's death.
 */
import ivm from 'isolated-vm';

import { SandboxError, toErrorMapping } from './sandbox.errors.js';
import { RUNTIME_SOURCE } from './sandbox.runtime.js';
import type { Contribution, MappingSource } from './sandbox.js';

/** Evaluations that may be under way on one isolate at once (one progress slot each). */
const SLOTS_PER_ISOLATE = 256;
/** Time allowed for the runtime's own work: start-up, compiling a mapping. */
const SETUP_TIMEOUT_MS = 5_000;
/** File name syntax errors are reported against (only the line and column are kept). */
const SYNTAX_CHECK_FILE = 'mapping.js';

/** The sorted variable names of an evaluation context, and their cache key. */
export interface VariableNames {
  key: string;
  list: readonly string[];
}

export type RuntimeError = { name: string; message: string; line?: number; column?: number };

/** What the isolate's `run` reports (a JSON string, parsed). */
export type RunOutcome =
  | { status: 'ok'; results: Contribution[] }
  | { status: 'skipped'; index: number; reason: string; results: Contribution[] }
  | { status: 'timeout'; index: number }
  | { status: 'invalidResult'; index: number; message: string }
  | { status: 'runtime'; index: number; error: RuntimeError }
  | { status: 'missing'; index: number };

export interface IsolateSettings {
  memoryLimitMb: number;
  maxCachedMappings: number;
  onCatastrophicError: (message: string) => void;
}

interface CachedMapping {
  key: string;
  expression: string;
  checked: Promise<void>;
  /** Compiled units by variable-name key: the unit id once known, the pending compile before. */
  units: Map<string, { id?: number; ready: Promise<number> }>;
  /** Evaluations holding this entry's units; an evicted entry is freed when the last one ends. */
  inUse: number;
  evicted: boolean;
}

/** Compiled units held for one evaluation; `release()` when it is over. */
export interface UnitLease {
  ids: readonly (number | Promise<number>)[];
  release(): void;
}

/**
 * Raised by an isolate V8 lost control of (isolated-vm's catastrophic error): its thread never
 * answers again, so every call still waiting on it is failed here instead. `culprit` is set on
 * the call that was running when it happened (calls run in the order they were made).
 */
export class LostIsolateError extends Error {
  constructor(
    readonly reason: string,
    readonly culprit: boolean,
  ) {
    super(`The isolate was lost: ${reason}`);
  }
}

type RuntimeReferences = { run: ivm.Reference; define: ivm.Reference; forget: ivm.Reference };

/** One isolate of the pool with its frozen context, runtime references and compiled mappings. */
export class PooledIsolate {
  inFlight = 0;
  readonly isolate: ivm.Isolate;
  private started: { context: ivm.Context; runtime: RuntimeReferences } | undefined;
  private readonly progress = new Int32Array(
    new SharedArrayBuffer(SLOTS_PER_ISOLATE * Int32Array.BYTES_PER_ELEMENT),
  );
  private readonly freeSlots = Array.from(
    { length: SLOTS_PER_ISOLATE },
    (_, index) => SLOTS_PER_ISOLATE - 1 - index,
  );
  private readonly cache = new Map<string, CachedMapping>();
  /** Calls waiting on the isolate, oldest first (the isolate runs them in that order). */
  private readonly calls = new Map<object, (error: LostIsolateError) => void>();
  private lostReason: string | undefined;
  private nextFile = 1;

  private constructor(private readonly settings: IsolateSettings) {
    this.isolate = new ivm.Isolate({
      memoryLimit: settings.memoryLimitMb,
      onCatastrophicError: (message) => this.markLost(message),
    });
  }

  static async create(settings: IsolateSettings): Promise<PooledIsolate> {
    const member = new PooledIsolate(settings);
    try {
      await member.start();
      return member;
    } catch (error) {
      member.dispose();
      throw error;
    }
  }

  get alive(): boolean {
    return this.lostReason === undefined && !this.isolate.isDisposed;
  }

  get hasFreeSlot(): boolean {
    return this.freeSlots.length > 0;
  }

  takeSlot(): number {
    const slot = this.freeSlots.pop();
    if (slot === undefined) throw new Error('No free evaluation slot on this isolate');
    this.inFlight++;
    return slot;
  }

  releaseSlot(slot: number): void {
    Atomics.store(this.progress, slot, 0);
    this.freeSlots.push(slot);
    this.inFlight--;
  }

  /**
   * CPU time the isolate has used, in ns. Read while the isolate runs, isolated-vm counts the
   * current stretch in wall time, so differences are upper bounds of the CPU used.
   */
  get cpuTime(): bigint {
    return this.alive ? this.isolate.cpuTime : 0n;
  }

  /** Milliseconds of CPU the isolate used since `cpuTime` read `before` (0 once it is gone). */
  cpuSince(before: bigint): number {
    return this.alive ? Number(this.isolate.cpuTime - before) / 1e6 : 0;
  }

  /** Index (0-based) of the mapping the evaluation in `slot` was running, or -1. */
  progressOf(slot: number): number {
    return Atomics.load(this.progress, slot) - 1;
  }

  /** Checks that the expression parses as a function body, once per mapping version. */
  check(mapping: MappingSource): Promise<void> {
    const entry = this.entryFor(mapping);
    this.trimCache();
    return entry.checked;
  }

  /**
   * The compiled units of `mappings` for these variable names, compiling what is missing. They
   * stay in the isolate until the lease is released, even if the cache drops them meanwhile.
   */
  lease(mappings: readonly MappingSource[], names: VariableNames): UnitLease {
    const entries = mappings.map((mapping) => this.entryFor(mapping));
    for (const entry of entries) entry.inUse++;
    const ids = entries.map((entry, index) => this.unitOf(entry, mappings[index]!, names));
    return {
      ids,
      release: () => {
        for (const entry of entries) {
          entry.inUse--;
          if (entry.evicted && entry.inUse === 0) this.free(entry);
        }
        this.trimCache();
      },
    };
  }

  /**
   * Runs compiled units in order; resolves to the runtime's report (a JSON string). The call is
   * stopped after `limitMs` per unit; in a batch, each unit that returns late fails as well.
   */
  run(slot: number, unitIds: readonly number[], variables: object, limitMs: number): Promise<string> {
    const eachLimitMs = unitIds.length > 1 ? limitMs : 0;
    return this.call(
      this.session.runtime.run.apply(undefined, [slot, unitIds, variables, eachLimitMs], {
        arguments: { copy: true },
        timeout: Math.ceil(limitMs * unitIds.length),
      }) as Promise<string>,
    );
  }

  /** Frees the isolate; one V8 lost control of is left alone (its thread never returns). */
  dispose(): void {
    if (this.alive) this.isolate.dispose();
  }

  private get session(): { context: ivm.Context; runtime: RuntimeReferences } {
    if (this.started === undefined) throw new Error('The isolate has not started');
    return this.started;
  }

  private async start(): Promise<void> {
    const context = await this.call(this.isolate.createContext());
    const script = await this.call(
      this.isolate.compileScript(RUNTIME_SOURCE, { filename: 'sandbox-runtime.js' }),
    );
    const bootstrap = (await this.call(
      script.run(context, { reference: true, timeout: SETUP_TIMEOUT_MS }),
    )) as ivm.Reference;
    script.release();
    const runner = (await this.call(
      bootstrap.apply(undefined, [new ivm.ExternalCopy(this.progress.buffer).copyInto({ release: true })], {
        result: { reference: true },
        timeout: SETUP_TIMEOUT_MS,
      }),
    )) as ivm.Reference;
    bootstrap.release();
    const get = (name: string): Promise<ivm.Reference> => runner.get(name, { reference: true });
    const [run, define, forget] = await this.call(Promise.all([get('run'), get('define'), get('forget')]));
    runner.release();
    this.started = { context, runtime: { run, define, forget } };
  }

  /** Awaits a call into the isolate, or fails it when V8 loses control of the isolate. */
  private call<T>(operation: Promise<T>): Promise<T> {
    if (this.lostReason !== undefined) {
      operation.catch(() => undefined);
      return Promise.reject(new LostIsolateError(this.lostReason, false));
    }
    return new Promise<T>((resolve, reject) => {
      const token = {};
      this.calls.set(token, reject);
      operation.then(
        (value) => {
          this.calls.delete(token);
          resolve(value);
        },
        (error: unknown) => {
          this.calls.delete(token);
          // isolated-vm rejects with its own error objects; pass them through untouched.
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
          reject(error);
        },
      );
    });
  }

  /** The isolate's thread never answers again: fail what waits on it, the oldest call as culprit. */
  private markLost(message: string): void {
    if (this.lostReason !== undefined) return;
    this.lostReason = message;
    let culprit = true;
    for (const reject of this.calls.values()) {
      reject(new LostIsolateError(message, culprit));
      culprit = false;
    }
    this.calls.clear();
    this.settings.onCatastrophicError(message);
  }

  private entryFor(mapping: MappingSource): CachedMapping {
    const key = cacheKey(mapping);
    let entry = this.cache.get(key);
    if (entry !== undefined && entry.expression !== mapping.expression) {
      this.evict(entry);
      entry = undefined;
    }
    if (entry === undefined) {
      const created: CachedMapping = {
        key,
        expression: mapping.expression,
        checked: this.checkSyntax(mapping),
        units: new Map(),
        inUse: 0,
        evicted: false,
      };
      created.checked.catch(() => {
        if (this.cache.get(key) === created) this.cache.delete(key);
      });
      entry = created;
    } else {
      this.cache.delete(key); // re-inserted below: the Map's order is least recently used first
    }
    this.cache.set(key, entry);
    return entry;
  }

  private unitOf(
    entry: CachedMapping,
    mapping: MappingSource,
    names: VariableNames,
  ): number | Promise<number> {
    let unit = entry.units.get(names.key);
    if (unit === undefined) {
      const ready = entry.checked.then(() => this.compileUnit(mapping, names));
      const created: { id?: number; ready: Promise<number> } = { ready };
      ready.then(
        (id) => {
          created.id = id;
        },
        () => {
          if (entry.units.get(names.key) === created) entry.units.delete(names.key);
        },
      );
      entry.units.set(names.key, created);
      unit = created;
    }
    return unit.id ?? unit.ready;
  }

  /** Drops least recently used mapping versions beyond `maxCachedMappings`. */
  private trimCache(): void {
    for (const entry of this.cache.values()) {
      if (this.cache.size <= this.settings.maxCachedMappings) break;
      this.evict(entry);
    }
  }

  private evict(entry: CachedMapping): void {
    if (this.cache.get(entry.key) === entry) this.cache.delete(entry.key);
    entry.evicted = true;
    if (entry.inUse === 0) this.free(entry);
  }

  /** Forgets an evicted entry's compiled units in the isolate. */
  private free(entry: CachedMapping): void {
    for (const unit of entry.units.values()) {
      unit.ready.then(
        (id) => {
          // A dead isolate has nothing left to forget.
          if (this.alive) this.session.runtime.forget.applyIgnored(undefined, [id]);
        },
        () => undefined,
      );
    }
    entry.units.clear();
  }

  private async checkSyntax(mapping: MappingSource): Promise<void> {
    const { context } = this.session;
    try {
      // Parsed as a function body on its own (V8 CompileFunction) and called, but it returns at once.
      await this.call(
        context.evalClosure(`'use strict';return;\n${mapping.expression}`, [], {
          filename: SYNTAX_CHECK_FILE,
          lineOffset: -1,
          timeout: SETUP_TIMEOUT_MS,
        }),
      );
    } catch (error) {
      if (error instanceof Error && error.name === 'SyntaxError') throw syntaxError(error, mapping);
      throw error;
    }
  }

  private async compileUnit(mapping: MappingSource, names: VariableNames): Promise<number> {
    const file = `mapping-${this.nextFile++}.js`;
    // The body sits in a function of its own, so its declarations may shadow variables and helpers.
    const source =
      `(function (${names.list.join(', ')}) { return (function () {'use strict';\n` +
      `${mapping.expression}\n})(); })`;
    const script = await this.call(this.isolate.compileScript(source, { filename: file, lineOffset: -1 }));
    const fn = (await this.call(
      script.run(this.session.context, { reference: true, timeout: SETUP_TIMEOUT_MS }),
    )) as ivm.Reference;
    script.release();
    return (await this.call(
      this.session.runtime.define.apply(
        undefined,
        [fn.derefInto({ release: true }), new ivm.ExternalCopy(names.list).copyInto({ release: true }), file],
        { timeout: SETUP_TIMEOUT_MS },
      ),
    )) as number;
  }
}

function cacheKey(mapping: MappingSource): string {
  return `${mapping.id}\u0000${String(mapping.version)}`;
}

function syntaxError(error: Error, mapping: MappingSource): SandboxError {
  // isolated-vm appends "[file:line:column]" to compile errors.
  const annotated = /\s*\[[^\]]*:(\d+):(\d+)\]$/.exec(error.message);
  const message = annotated ? error.message.slice(0, annotated.index) : error.message;
  const line = annotated ? Number(annotated[1]) : undefined;
  const column = annotated ? Number(annotated[2]) : undefined;
  const where = line === undefined ? '' : ` at line ${line}, column ${column}`;
  return new SandboxError('syntax', `Mapping has a syntax error${where}: ${message}`, {
    mapping: toErrorMapping(mapping),
    ...(line !== undefined && { line, column }),
  });
}
