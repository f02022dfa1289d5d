import { createHash, randomBytes } from 'node:crypto';
import {
  isValidVariableName,
  type Contribution,
  type MappingSource,
} from '../../../platform/sandbox/sandbox.js';
import type { MappingSandbox } from './mapping-sandbox.js';

/** Objects evaluated together in one call into the isolate. */
export const MAX_OBJECTS_PER_CALL = 64;
/** After a batch of a list runs over its time, that list is evaluated object by object for this long. */
const COOL_DOWN_MS = 60_000;
/** Generated programs kept (one per mapping list version and variable set). */
const MAX_PROGRAMS = 200;

/** What the batcher needs of a mapping. */
export interface BatchableMapping {
  id: string;
  version: number;
  expression: string;
}

export interface BatchedContributions {
  contributions: Contribution[];
  /** The object's share of the call's time. */
  durationMs: number;
}

interface Pending {
  variables: Record<string, unknown>;
  resolve(outcome: BatchedContributions | null): void;
}

interface Queue {
  mappings: readonly BatchableMapping[];
  names: readonly string[];
  items: Pending[];
}

/**
 * Crossing into an isolate costs far more than running a typical mapping, so objects that are
 * mapped at the same time with the same mapping list (a sync maps a page of users concurrently)
 * are evaluated together: requests made in the same turn of the event loop are queued and sent as
 * one call of up to {@link MAX_OBJECTS_PER_CALL} objects.
 *
 * The call runs a generated program (a function body, like any mapping) that embeds the list's
 * expressions — each exactly as the sandbox wraps it, each already checked by the sandbox to parse
 * as a function body on its own, so none can reach outside its function — and calls them for each
 * object with that object's own copy of the variables. Only clean successes come back from it:
 * an object whose mapping throws, calls `skipObject()`, runs over its time or returns anything but
 * a plain JSON object, and every object of a call that fails as a whole (time, memory), answers
 * `null`, and the engine then evaluates it on its own through the ordinary path, which reports
 * exactly what happened. So batching changes speed, never outcomes:
 * - each result is copied (and checked) the moment its mapping returns, as the sandbox does, so a
 *   later mapping cannot change an earlier one's contribution through a shared object;
 * - the program's own names carry a random per-process suffix, so an expression cannot name them
 *   and see another object; `skipObject` is shadowed by a frozen function that only marks the
 *   object for the ordinary path;
 * - a lone request skips all this and answers `null` at once.
 *
 * This belongs in the sandbox runtime (a multi-object `run`); it lives here until the sandbox
 * offers it.
 */
export class ObjectBatcher {
  private readonly queues = new Map<string, Queue>();
  private readonly programs = new Map<string, MappingSource>();
  private readonly coolingDown = new Map<string, number>();
  private readonly prefix = `ib${randomBytes(6).toString('hex')}_`;

  constructor(private readonly sandbox: MappingSandbox) {}

  /** The object's contributions, or null when it must be evaluated on its own. */
  evaluate(
    mappings: readonly BatchableMapping[],
    variables: Record<string, unknown>,
  ): Promise<BatchedContributions | null> {
    const names = Object.keys(variables).sort();
    if (mappings.length === 0 || !names.every(isValidVariableName)) return Promise.resolve(null);
    const key = `${mappings.map((m) => `${m.id}@${m.version}`).join(',')}|${names.join(',')}`;
    const until = this.coolingDown.get(key);
    if (until !== undefined) {
      if (until > Date.now()) return Promise.resolve(null);
      this.coolingDown.delete(key);
    }
    return new Promise((resolve) => {
      let queue = this.queues.get(key);
      if (!queue) {
        queue = { mappings, names, items: [] };
        this.queues.set(key, queue);
        const scheduled = queue;
        setImmediate(() => {
          if (this.queues.get(key) === scheduled) this.flush(key, scheduled);
        });
      }
      queue.items.push({ variables, resolve });
      if (queue.items.length >= MAX_OBJECTS_PER_CALL) this.flush(key, queue);
    });
  }

  private flush(key: string, queue: Queue): void {
    this.queues.delete(key);
    if (queue.items.length === 1) {
      queue.items[0]!.resolve(null);
      return;
    }
    void this.run(key, queue);
  }

  private async run(key: string, queue: Queue): Promise<void> {
    const { items, mappings } = queue;
    const limitMs = this.sandbox.cpuTimeLimitMs;
    try {
      const objects = items.map((item) => item.variables);
      // JSON crosses into the isolate faster than a structured copy; it carries the same values
      // when every context is JSON data (the usual case: views and SCIM payloads).
      const input = objects.every((variables) => isJsonData(variables, 0))
        ? JSON.stringify(objects)
        : objects;
      const batch = await this.sandbox.evaluateAll(
        [this.program(key, queue)],
        { [`${this.prefix}input`]: input },
        // One object's budget for the whole call: a healthy batch needs a fraction of it.
        { cpuTimeLimitMs: limitMs * mappings.length },
      );
      // The program hands its outcomes back as one JSON string: a string crosses back (and through
      // the runtime's result check) far cheaper than the same data as objects.
      const encoded = (batch.results[0] as { r?: unknown } | null)?.r;
      const outcomes = typeof encoded === 'string' ? (JSON.parse(encoded) as unknown) : undefined;
      if (batch.skipped || !Array.isArray(outcomes) || outcomes.length !== items.length) {
        items.forEach((item) => item.resolve(null));
        return;
      }
      const share = batch.durationMs / items.length;
      items.forEach((item, index) => {
        const contributions = outcomes[index] as Contribution[] | 0;
        item.resolve(Array.isArray(contributions) ? { contributions, durationMs: share } : null);
      });
    } catch (error) {
      if (error instanceof Error && 'kind' in error && error.kind === 'timeout') {
        if (this.coolingDown.size >= MAX_PROGRAMS) this.coolingDown.clear();
        this.coolingDown.set(key, Date.now() + COOL_DOWN_MS);
      }
      items.forEach((item) => item.resolve(null));
    }
  }

  private program(key: string, queue: Queue): MappingSource {
    let program = this.programs.get(key);
    if (!program) {
      if (this.programs.size >= MAX_PROGRAMS) this.programs.clear();
      const expression = batchProgram(this.prefix, queue.mappings, queue.names, this.sandbox.cpuTimeLimitMs);
      const id = `batch:${createHash('sha256').update(key).digest('base64url')}`;
      program = Object.freeze({ id, version: 1, expression });
      this.programs.set(key, program);
    }
    return program;
  }
}

const MAX_JSON_DEPTH = 64;

/**
 * Whether JSON carries `value` exactly as a structured copy would: plain objects and arrays,
 * strings, booleans, null and finite numbers (not -0); `undefined` only as an object member (both
 * then leave the member out). Anything else (a Date, a Map, a class instance …) is sent as a copy.
 */
export function isJsonData(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      if (depth > MAX_JSON_DEPTH) return false;
      if (Array.isArray(value)) {
        for (const item of value) if (item === undefined || !isJsonData(item, depth + 1)) return false;
        return true;
      }
      const prototype = Object.getPrototypeOf(value) as unknown;
      if (prototype !== Object.prototype && prototype !== null) return false;
      for (const key in value) {
        const item = (value as Record<string, unknown>)[key];
        if (item !== undefined && !isJsonData(item, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/** The generated function body (see {@link ObjectBatcher}); `$name` stands for the private prefix + name. */
export function batchProgram(
  prefix: string,
  mappings: readonly BatchableMapping[],
  names: readonly string[],
  limitMs: number,
): string {
  const functions = mappings
    .map(
      (m) => `function (${names.join(', ')}) { return (function () {'use strict';\n${m.expression}\n})(); }`,
    )
    .join(',\n');
  const args = names.map((name) => `${prefix}c.${name}`).join(', ');
  // The private prefix goes into the program's own names first; the expressions go in after, untouched.
  const template = String.raw`const $objects = typeof $input === 'string' ? JSON.parse($input) : $input;
let $skipped = false;
const $bad = Object.freeze({});
const skipObject = Object.freeze(function () { $skipped = true; throw $bad; });
const $copy = (value, depth) => {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') { if (Number.isFinite(value)) return value; throw $bad; }
  if (typeof value !== 'object' || depth > 56) throw $bad;
  if (Array.isArray(value)) {
    const list = [];
    const length = value.length;
    for (let i = 0; i < length; i++) { const item = value[i]; list.push(item === undefined ? null : $copy(item, depth + 1)); }
    return list;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) throw $bad;
  const copy = {};
  for (const key of Object.keys(value)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') throw $bad;
    const item = value[key];
    if (item !== undefined) copy[key] = $copy(item, depth + 1);
  }
  return copy;
};
const $fns = [
@@FUNCTIONS@@
];
const $out = [];
for (let $i = 0; $i < $objects.length; $i++) {
  const $c = $objects[$i];
  let $results = [];
  for (let $k = 0; $k < $fns.length; $k++) {
    $skipped = false;
    const $started = Date.now();
    let $value;
    try {
      $value = $fns[$k](@@ARGS@@);
      if ($skipped || Date.now() - $started > @@LIMIT@@) throw $bad;
      if ($value === undefined || $value === null) { $results.push(null); continue; }
      if (typeof $value !== 'object' || Array.isArray($value)) throw $bad;
      $results.push($copy($value, 0));
    } catch ($error) {
      $results = 0;
      break;
    }
  }
  $out.push($results);
}
return { r: JSON.stringify($out) };`.replace(/\$(?=[a-zA-Z])/g, prefix);
  return template
    .replace('@@LIMIT@@', String(limitMs))
    .replace('@@ARGS@@', () => args)
    .replace('@@FUNCTIONS@@', () => functions);
}
