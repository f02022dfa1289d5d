/**
 * Why a mapping expression could not be compiled or evaluated:
 * - `syntax`: the expression is not a valid JavaScript function body (reported at save time);
 * - `timeout`: it ran longer than its CPU-time limit;
 * - `memory`: it went over the isolate's memory limit (the isolate is replaced);
 * - `runtime`: it threw;
 * - `invalidResult`: it returned something other than a plain object, `null` or `undefined`, or
 *   an object that JSON cannot carry (functions, `NaN`, a `Date`, keys such as `__proto__` …).
 */
export type SandboxErrorKind = 'syntax' | 'timeout' | 'memory' | 'runtime' | 'invalidResult';

/** The mapping an error belongs to. */
export interface SandboxErrorMapping {
  id: string;
  version: number | string;
}

/** The `{ id, version }` of a mapping, for an error. */
export function toErrorMapping(mapping: SandboxErrorMapping): SandboxErrorMapping {
  return { id: mapping.id, version: mapping.version };
}

export interface SandboxErrorOptions {
  mapping?: SandboxErrorMapping;
  /** 1-based line in the expression body. */
  line?: number;
  /** 1-based column in the expression body. */
  column?: number;
}

/** An error an admin can act on: the message says what the mapping did and where. */
export class SandboxError extends Error {
  readonly mapping?: SandboxErrorMapping;
  readonly line?: number;
  readonly column?: number;

  constructor(
    readonly kind: SandboxErrorKind,
    message: string,
    options: SandboxErrorOptions = {},
  ) {
    super(message);
    this.name = 'SandboxError';
    if (options.mapping !== undefined) this.mapping = options.mapping;
    if (options.line !== undefined) this.line = options.line;
    if (options.column !== undefined) this.column = options.column;
  }

  /** Stable machine-readable code, e.g. `mapping_timeout`. */
  get code(): string {
    return `mapping_${this.kind.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)}`;
  }

  /** Fields for an error response (problem+json `details`, a sync-run error entry …). */
  get details(): Record<string, unknown> {
    return {
      kind: this.kind,
      ...(this.mapping && { mappingId: this.mapping.id, mappingVersion: this.mapping.version }),
      ...(this.line !== undefined && { line: this.line }),
      ...(this.column !== undefined && { column: this.column }),
    };
  }
}
