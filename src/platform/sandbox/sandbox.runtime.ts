/**
 * The code that runs INSIDE each isolate, kept as source text: it is compiled once per isolate by
 * `sandbox.ts` and never runs in the service's own heap.
 *
 * The script evaluates to `bootstrap(progressBuffer)`, which
 * 1. removes globals a mapping has no use for and every way to keep state or work alive past one
 *    evaluation (`eval`, `console`, `SharedArrayBuffer`/`Atomics`, `WebAssembly`, `WeakRef`,
 *    `FinalizationRegistry`, RegExp's legacy `RegExp.$1`-style statics);
 * 2. installs the helpers of {@link HELPERS_DOC} as read-only globals;
 * 3. freezes every object reachable from the global object and the intrinsics only syntax reaches
 *    (generator and async function prototypes, iterator prototypes, %TypedArray% …), so nothing an
 *    evaluation can reach can be changed: the state of one evaluation cannot leak into the next;
 * 4. returns the runner `{ define, forget, run }`, which only the host holds a reference to.
 *
 * `run` evaluates a list of mappings against one copy of the variables and reports, as a JSON
 * string, either every contribution or the first mapping that skipped, threw, ran over its time or
 * returned something that is not a plain JSON object. Before each mapping it writes the mapping's
 * position into the shared `progressBuffer`, so the host can name the mapping even when the isolate
 * is terminated (timeout) or disposed (memory limit) in the middle of it.
 */

/** One helper available to mapping expressions, for the README and the OpenAPI description. */
export interface HelperDoc {
  name: string;
  signature: string;
  description: string;
}

/** The helpers every mapping expression can call. */
export const HELPERS_DOC: readonly HelperDoc[] = Object.freeze([
  {
    name: 'skipObject',
    signature: 'skipObject(reason?: string): never',
    description:
      'Stops the mapping and marks the object as skipped: it is not synced (on a source:* scope the identity provider gets 400 with the reason).',
  },
  {
    name: 'lower',
    signature: 'lower(text): string | undefined',
    description: 'The text in lower case; undefined for null or undefined.',
  },
  {
    name: 'upper',
    signature: 'upper(text): string | undefined',
    description: 'The text in upper case; undefined for null or undefined.',
  },
  {
    name: 'trim',
    signature: 'trim(text): string | undefined',
    description: 'The text without leading and trailing white space; undefined for null or undefined.',
  },
  {
    name: 'slugify',
    signature: 'slugify(text): string | undefined',
    description:
      'Lower-case ASCII letters and digits separated by single dashes, accents removed ("Zoë Saldaña" → "zoe-saldana").',
  },
  {
    name: 'split',
    signature: 'split(text, separator = ","): string[]',
    description: 'The parts of the text, trimmed, without empty ones; [] for null or undefined.',
  },
  {
    name: 'join',
    signature: 'join(list, separator = " "): string | undefined',
    description:
      'The non-empty items joined with the separator; undefined when none is left (join([given, family]) for a display name).',
  },
  {
    name: 'firstOf',
    signature: 'firstOf(...values): unknown',
    description: 'The first value that is not null, undefined, an empty or blank string, or an empty list.',
  },
  {
    name: 'emailLocalPart',
    signature: 'emailLocalPart(email): string | undefined',
    description: 'What comes before the last "@" ("ada@example.com" → "ada"); undefined without one.',
  },
  {
    name: 'emailDomain',
    signature: 'emailDomain(email): string | undefined',
    description: 'What comes after the last "@", in lower case ("ada@Example.com" → "example.com").',
  },
  {
    name: 'normalizeEmail',
    signature: 'normalizeEmail(email): string | undefined',
    description: 'The address trimmed and in lower case; undefined when empty.',
  },
  {
    name: 'primaryOf',
    signature: 'primaryOf(list): unknown',
    description:
      'The item of a multi-valued attribute marked primary: true, else the first item; undefined for an empty list.',
  },
]);

/** Names of the helpers, which are globals inside the isolate. */
export const HELPER_NAMES: readonly string[] = Object.freeze(HELPERS_DOC.map((helper) => helper.name));

/** Deepest nesting a mapping result may have (deeper usually means a circular structure). */
export const MAX_RESULT_DEPTH = 64;

/**
 * Source of the bootstrap function (see the file comment). The isolate code uses no template
 * literals, so it sits in `String.raw` as written; only MAX_RESULT_DEPTH is interpolated.
 */
export const RUNTIME_SOURCE = String.raw`(function bootstrap(progressBuffer) {
  'use strict';

  // 1. Remove what a mapping has no use for, and every way to keep state or work alive.
  for (const name of ['console', 'eval', 'SharedArrayBuffer', 'Atomics', 'WebAssembly', 'WeakRef',
    'FinalizationRegistry']) {
    delete globalThis[name];
  }
  // RegExp.$1, RegExp.lastMatch … would show one evaluation the last match of another.
  for (const name of ['$1', '$2', '$3', '$4', '$5', '$6', '$7', '$8', '$9', 'input', '$_', 'lastMatch',
    '$&', 'lastParen', '$+', 'leftContext', '$\x60', 'rightContext', "$'"]) {
    delete RegExp[name];
  }

  // Frozen prototypes would make "error.name = …" or "object.toString = …" throw on an instance
  // (the "override mistake"); an accessor that defines an own property keeps that working.
  const allowOverride = (prototype, key) => {
    const { value, enumerable } = Object.getOwnPropertyDescriptor(prototype, key);
    Object.defineProperty(prototype, key, {
      get() { return value; },
      set(next) {
        if (this === prototype) throw new TypeError('Cannot assign to read only property ' + key);
        Object.defineProperty(this, key, { value: next, writable: true, enumerable: true, configurable: true });
      },
      enumerable,
      configurable: false,
    });
  };
  allowOverride(Object.prototype, 'toString');
  allowOverride(Object.prototype, 'valueOf');
  allowOverride(Error.prototype, 'name');
  allowOverride(Error.prototype, 'message');

  // 2. Helpers.
  const MAX_REASON_LENGTH = 500;
  let skipReason;
  const SKIP = Object.freeze(new Error('skipObject() was called'));
  const isAbsent = (value) => value === undefined || value === null;
  const isBlank = (value) => isAbsent(value) || (typeof value === 'string' && value.trim() === '')
    || (Array.isArray(value) && value.length === 0);
  const helpers = {
    skipObject(reason) {
      skipReason = isAbsent(reason) ? 'skipped by a mapping' : String(reason).slice(0, MAX_REASON_LENGTH);
      throw SKIP;
    },
    lower(text) { return isAbsent(text) ? undefined : String(text).toLowerCase(); },
    upper(text) { return isAbsent(text) ? undefined : String(text).toUpperCase(); },
    trim(text) { return isAbsent(text) ? undefined : String(text).trim(); },
    slugify(text) {
      if (isAbsent(text)) return undefined;
      return String(text).normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
        .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
    },
    split(text, separator) {
      if (isAbsent(text)) return [];
      return String(text).split(isAbsent(separator) ? ',' : separator)
        .map((part) => part.trim()).filter((part) => part !== '');
    },
    join(list, separator) {
      if (!Array.isArray(list)) return isBlank(list) ? undefined : String(list);
      const joined = list.filter((item) => !isBlank(item)).map(String)
        .join(isAbsent(separator) ? ' ' : String(separator));
      return joined === '' ? undefined : joined;
    },
    firstOf(...values) { return values.find((value) => !isBlank(value)); },
    emailLocalPart(email) {
      if (isAbsent(email)) return undefined;
      const address = String(email).trim();
      const at = address.lastIndexOf('@');
      return at > 0 ? address.slice(0, at) : undefined;
    },
    emailDomain(email) {
      if (isAbsent(email)) return undefined;
      const address = String(email).trim();
      const at = address.lastIndexOf('@');
      return at >= 0 && at < address.length - 1 ? address.slice(at + 1).toLowerCase() : undefined;
    },
    normalizeEmail(email) {
      if (isAbsent(email)) return undefined;
      const address = String(email).trim().toLowerCase();
      return address === '' ? undefined : address;
    },
    primaryOf(list) {
      if (!Array.isArray(list) || list.length === 0) return undefined;
      const primary = list.find((item) => item !== null && typeof item === 'object' && item.primary === true);
      return primary === undefined ? list[0] : primary;
    },
  };
  for (const name of Object.keys(helpers)) {
    Object.defineProperty(globalThis, name, { value: helpers[name], writable: false, enumerable: false,
      configurable: false });
  }

  // 3. Freeze everything an evaluation can reach.
  const iteratorPrototypeOf = (iterable) => Object.getPrototypeOf(iterable[Symbol.iterator]());
  const roots = [
    globalThis,
    Object.getPrototypeOf(function* () {}),
    Object.getPrototypeOf(async function () {}),
    Object.getPrototypeOf(async function* () {}),
    iteratorPrototypeOf([]),
    iteratorPrototypeOf(''),
    iteratorPrototypeOf(new Map()),
    iteratorPrototypeOf(new Set()),
    Object.getPrototypeOf('a'.matchAll(/a/g)),
    Object.getPrototypeOf(Int8Array),
  ];
  if (typeof Intl === 'object' && typeof Intl.Segmenter === 'function') {
    const segments = new Intl.Segmenter().segment('');
    roots.push(Object.getPrototypeOf(segments), iteratorPrototypeOf(segments));
  }
  const frozen = new Set();
  const pending = roots.slice();
  while (pending.length > 0) {
    const object = pending.pop();
    if ((typeof object !== 'object' && typeof object !== 'function') || object === null || frozen.has(object)) {
      continue;
    }
    frozen.add(object);
    Object.freeze(object);
    pending.push(Object.getPrototypeOf(object));
    for (const key of Reflect.ownKeys(object)) {
      const descriptor = Object.getOwnPropertyDescriptor(object, key);
      pending.push(descriptor.value, descriptor.get, descriptor.set);
    }
  }

  // 4. The runner.
  const MAX_DEPTH = ${String(MAX_RESULT_DEPTH)};
  const MAX_MESSAGE_LENGTH = 1000;
  const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
  const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
  const progress = new Int32Array(progressBuffer);
  const units = new Map();
  let nextUnit = 1;

  class InvalidResult {
    constructor(message) { this.message = message; }
  }

  const describeObject = (value) => {
    if (value instanceof Promise) {
      return 'a Promise (mappings run synchronously: async functions and import() are not available)';
    }
    if (value instanceof Date) return 'a Date (return date.toISOString() instead)';
    const tag = Object.prototype.toString.call(value).slice(8, -1);
    return tag === 'Object' ? 'an instance of a class' : 'a ' + tag;
  };

  const describeValue = (value) => {
    if (value === null) return 'null';
    if (Array.isArray(value)) return 'an array';
    if (typeof value === 'object') return describeObject(value);
    return (typeof value === 'undefined' ? '' : 'a ') + typeof value;
  };

  const isPlainObject = (value) => {
    const prototype = Object.getPrototypeOf(value);
    return prototype === Object.prototype || prototype === null;
  };

  // Copies a result into fresh JSON-compatible values, reading every property exactly once. The
  // keys on the way down are kept on a stack, so a path is only spelled out for an error.
  const keys = [];
  const invalid = (problem) => {
    let path = 'result';
    for (const key of keys) {
      if (typeof key === 'number') path += '[' + key + ']';
      else path += IDENTIFIER.test(key) ? '.' + key : '[' + JSON.stringify(key) + ']';
    }
    return new InvalidResult(path + problem);
  };
  const defineOwn = (object, key, value) => {
    // A plain assignment would hit Object.prototype's read-only members (hasOwnProperty …).
    if (key in Object.prototype) {
      Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
    } else {
      object[key] = value;
    }
  };
  const toPlain = (value, depth) => {
    switch (typeof value) {
      case 'string':
      case 'boolean':
      case 'undefined':
        return value;
      case 'number':
        if (Number.isFinite(value)) return value;
        throw invalid(' is ' + String(value) + ', which JSON cannot carry');
      case 'object':
        if (value === null) return null;
        break;
      default:
        throw invalid(' is ' + describeValue(value)
          + '; a result may hold only objects, arrays, strings, numbers, booleans and null');
    }
    if (depth >= MAX_DEPTH) throw invalid(' is nested more than ' + MAX_DEPTH + ' levels deep (is it circular?)');
    if (Array.isArray(value)) {
      const length = value.length;
      const items = [];
      for (let index = 0; index < length; index++) {
        keys.push(index);
        const item = toPlain(value[index], depth + 1);
        keys.pop();
        items.push(item === undefined ? null : item);
      }
      return items;
    }
    if (!isPlainObject(value)) {
      throw invalid(' is ' + describeObject(value) + '; a result may hold only plain objects and arrays');
    }
    const copy = {};
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) throw invalid(' has the key "' + key + '", which is not allowed');
      keys.push(key);
      const item = toPlain(value[key], depth + 1);
      keys.pop();
      if (item !== undefined) defineOwn(copy, key, item);
    }
    return copy;
  };

  const toContribution = (value) => {
    if (value === undefined || value === null) return null;
    if (typeof value !== 'object' || Array.isArray(value) || !isPlainObject(value)) {
      throw new InvalidResult('a mapping must return an object, null or undefined, not ' + describeValue(value));
    }
    keys.length = 0;
    return toPlain(value, 0);
  };

  // Name, message and the innermost position inside the mapping's own file of a thrown value.
  const describeError = (error, file) => {
    let name = '';
    let message = '';
    let stack = '';
    try {
      if (error !== null && (typeof error === 'object' || typeof error === 'function')) {
        name = typeof error.name === 'string' ? error.name : '';
        message = typeof error.message === 'string' ? error.message : String(error);
        stack = typeof error.stack === 'string' ? error.stack : '';
      } else {
        message = String(error);
      }
    } catch (unreadable) {
      message = 'the mapping threw a value that cannot be read';
    }
    const described = { name: name.slice(0, 100), message: message.slice(0, MAX_MESSAGE_LENGTH) };
    for (const frame of stack.split('\n')) {
      const at = frame.indexOf(file + ':');
      if (!frame.trimStart().startsWith('at ') || at === -1) continue;
      const position = /^(\d+):(\d+)/.exec(frame.slice(at + file.length + 1));
      if (position !== null) {
        described.line = Number(position[1]);
        described.column = Number(position[2]);
        break;
      }
    }
    return described;
  };

  const define = (fn, names, file) => {
    const id = nextUnit++;
    units.set(id, { fn, names, file });
    return id;
  };

  const forget = (id) => {
    units.delete(id);
  };

  // limitMs: wall time each mapping may take, checked when it returns (0: unchecked, when the
  // host's timeout for the whole call already is the limit of the only mapping).
  const run = (slot, unitIds, variables, limitMs) => {
    const results = [];
    for (let index = 0; index < unitIds.length; index++) {
      const unit = units.get(unitIds[index]);
      if (unit === undefined) return JSON.stringify({ status: 'missing', index });
      progress[slot] = index + 1;
      skipReason = undefined;
      const started = Date.now();
      try {
        const value = unit.fn.apply(undefined, unit.names.map((name) => variables[name]));
        if (skipReason === undefined) {
          if (limitMs > 0 && Date.now() - started > limitMs) return JSON.stringify({ status: 'timeout', index });
          results.push(toContribution(value));
        }
      } catch (error) {
        if (skipReason === undefined) {
          return JSON.stringify(error instanceof InvalidResult
            ? { status: 'invalidResult', index, message: error.message }
            : { status: 'runtime', index, error: describeError(error, unit.file) });
        }
      }
      if (skipReason !== undefined) return JSON.stringify({ status: 'skipped', index, reason: skipReason, results });
    }
    return JSON.stringify({ status: 'ok', results });
  };

  return { define, forget, run };
})`;
