import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  HELPERS_DOC,
  isValidVariableName,
  Sandbox,
  SandboxError,
  toIdentifier,
  type MappingSource,
} from './sandbox.js';

let version = 0;
/** A mapping with a fresh version, so every test compiles its own. */
const mapping = (expression: string): MappingSource => ({ id: 'm-test', version: ++version, expression });

const NORMAL = mapping('return { userName: lower(scim.userName), source: source.slug };');
const CONTEXT = { scim: { userName: 'Ada@Example.COM' }, source: { slug: 'okta' } };

async function failure(promise: Promise<unknown>): Promise<SandboxError> {
  const error = await promise.then(
    () => undefined,
    (rejected: unknown) => rejected,
  );
  expect(error).toBeInstanceOf(SandboxError);
  return error as SandboxError;
}

describe('toIdentifier', () => {
  it.each([
    ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', 'enterpriseUser'],
    ['urn:ietf:params:scim:schemas:core:2.0:User', 'coreUser'],
    ['urn:ietf:params:scim:schemas:core:2.0:Group', 'coreGroup'],
    ['urn:example:params:scim:schemas:extension:my-company:1.0:Employee', 'myCompanyEmployee'],
    ['urn:foo', 'urn_foo'],
    ['scim', 'scim'],
    ['x-source', 'x_source'],
    ['2fa', '_2fa'],
    ['', '_'],
    ['class', 'class_'],
    ['lower', 'lower_'],
    ['__proto__', '__proto___'],
    ['zoë', 'zo_'],
  ])('%s → %s', (key, identifier) => {
    expect(toIdentifier(key)).toBe(identifier);
    expect(isValidVariableName(identifier)).toBe(true);
  });

  it.each(['urn:x', 'a-b', '1a', 'let', 'arguments', 'eval', 'skipObject', 'constructor', ''])(
    'rejects %j as a variable name',
    (name) => {
      expect(isValidVariableName(name)).toBe(false);
    },
  );
});

describe('HELPERS_DOC', () => {
  it('documents every helper with a signature and a description', () => {
    expect(HELPERS_DOC.map((helper) => helper.name)).toEqual([
      'skipObject',
      'lower',
      'upper',
      'trim',
      'slugify',
      'split',
      'join',
      'firstOf',
      'emailLocalPart',
      'emailDomain',
      'normalizeEmail',
      'primaryOf',
    ]);
    for (const helper of HELPERS_DOC) {
      expect(helper.signature.startsWith(`${helper.name}(`)).toBe(true);
      expect(helper.description.length).toBeGreaterThan(10);
    }
  });
});

describe('Sandbox', () => {
  let sandbox: Sandbox;
  const lostIsolates: string[] = [];

  beforeAll(() => {
    sandbox = new Sandbox({ poolSize: 1, onCatastrophicError: (message) => lostIsolates.push(message) });
  });

  afterAll(() => {
    sandbox.dispose();
  });

  describe('compile', () => {
    it('accepts a valid body and returns the mapping to evaluate', async () => {
      const compiled = await sandbox.compile('m-1', 1, 'return { active: true };');

      expect(compiled).toEqual({ id: 'm-1', version: 1, expression: 'return { active: true };' });
      expect(Object.isFrozen(compiled)).toBe(true);
      await expect(sandbox.evaluate(compiled, {})).resolves.toMatchObject({ result: { active: true } });
    });

    it('reports a syntax error with its line and column in the body', async () => {
      const error = await failure(
        sandbox.compile('m-2', 1, 'const a = 1;\nconst b = 2;\n    x y;\nreturn {};'),
      );

      expect(error).toMatchObject({ kind: 'syntax', line: 3, column: 7, mapping: { id: 'm-2', version: 1 } });
      expect(error.message).toBe("Mapping has a syntax error at line 3, column 7: Unexpected identifier 'y'");
      expect(error.code).toBe('mapping_syntax');
      expect(error.details).toEqual({
        kind: 'syntax',
        mappingId: 'm-2',
        mappingVersion: 1,
        line: 3,
        column: 7,
      });
    });

    it('reports a syntax error on line 3, column 5', async () => {
      const error = await failure(sandbox.compile('m-3', 1, 'let a;\nlet b;\n    );\n'));

      expect(error).toMatchObject({ kind: 'syntax', line: 3, column: 5 });
    });

    it.each([
      ['closing the wrapper function', '}); (function () {'],
      ['closing the wrapper and declaring shared state', '}; let leak = []; function x() {'],
      ['a sloppy-mode-only statement (mappings are strict)', 'with ({}) {} return {};'],
      ['await outside an async function', "const fs = await import('fs'); return {};"],
    ])('rejects %s', async (_, expression) => {
      await expect(sandbox.compile('m-4', expression.length, expression)).rejects.toMatchObject({
        kind: 'syntax',
      });
    });

    it('also checks the syntax of a mapping evaluated without compile()', async () => {
      await expect(sandbox.evaluate(mapping('}); (function () {'), {})).rejects.toMatchObject({
        kind: 'syntax',
      });
    });

    it('uses the new expression when a version is given a different one', async () => {
      const first = { id: 'm-5', version: 1, expression: 'return { n: 1 };' };
      const second = { id: 'm-5', version: 1, expression: 'return { n: 2 };' };

      await expect(sandbox.evaluate(first, {})).resolves.toMatchObject({ result: { n: 1 } });
      await expect(sandbox.evaluate(second, {})).resolves.toMatchObject({ result: { n: 2 } });
    });
  });

  describe('evaluate', () => {
    it('makes each context key a variable and returns the contribution', async () => {
      const evaluation = await sandbox.evaluate(NORMAL, CONTEXT);

      expect(evaluation.result).toEqual({ userName: 'ada@example.com', source: 'okta' });
      expect(evaluation.skipped).toBeUndefined();
      expect(evaluation.durationMs).toBeGreaterThanOrEqual(0);
    });

    it('returns plain host objects, deep copied', async () => {
      const { result } = await sandbox.evaluate(
        mapping('return { name: { givenName: "Ada" }, emails: [{ value: "a@x" }] };'),
        {},
      );

      expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
      expect(Object.getPrototypeOf((result as { name: object }).name)).toBe(Object.prototype);
      expect(Array.isArray((result as { emails: unknown }).emails)).toBe(true);
    });

    it('passes the context by copy', async () => {
      const context = { user: { tags: ['a'] } };

      const { result } = await sandbox.evaluate(
        mapping('user.tags.push("b"); return { tags: user.tags };'),
        context,
      );

      expect(result).toEqual({ tags: ['a', 'b'] });
      expect(context.user.tags).toEqual(['a']);
    });

    it.each([
      ['undefined', 'return;'],
      ['null', 'return null;'],
      ['no return', 'const a = 1;'],
    ])('treats %s as no contribution', async (_, expression) => {
      await expect(sandbox.evaluate(mapping(expression), {})).resolves.toMatchObject({ result: null });
    });

    it('drops undefined members like JSON', async () => {
      const { result } = await sandbox.evaluate(
        mapping('return { a: undefined, b: [undefined, 1], c: null };'),
        {},
      );

      expect(result).toEqual({ b: [null, 1], c: null });
    });

    it('lets the body declare names that shadow variables and helpers', async () => {
      const expression = 'const scim = 1; const lower = (s) => s + "!"; return { v: lower(scim) };';

      await expect(sandbox.evaluate(mapping(expression), { scim: 0 })).resolves.toMatchObject({
        result: { v: '1!' },
      });
    });

    it('runs the body in strict mode', async () => {
      const error = await failure(sandbox.evaluate(mapping('undeclared = 1; return {};'), {}));

      expect(error.kind).toBe('runtime');
      expect(error.message).toContain('undeclared is not defined');
    });

    it('allows overriding inherited properties on own objects', async () => {
      const expression =
        'class MappingProblem extends Error { constructor() { super("x"); this.name = "MappingProblem"; } }\n' +
        'const o = {}; o.toString = () => "o";\n' +
        'return { name: new MappingProblem().name, text: String(o) };';

      await expect(sandbox.evaluate(mapping(expression), {})).resolves.toMatchObject({
        result: { name: 'MappingProblem', text: 'o' },
      });
    });

    it('rejects a context that cannot be copied', async () => {
      await expect(
        sandbox.evaluate(NORMAL, { ...CONTEXT, scim: { userName: 'a', f: () => 1 } }),
      ).rejects.toThrow(/The evaluation context must hold only JSON-like data/);
    });

    it('rejects variable names that are not identifiers', async () => {
      await expect(
        sandbox.evaluate(NORMAL, { 'urn:ietf:params:scim:schemas:core:2.0:User': {} }),
      ).rejects.toThrow(/cannot be a mapping variable; convert it with toIdentifier/);
      await expect(sandbox.evaluate(NORMAL, { lower: 1 })).rejects.toThrow(TypeError);
    });

    it('applies a per-call time limit', async () => {
      const error = await failure(
        sandbox.evaluate(
          mapping('const end = Date.now() + 40; while (Date.now() < end) {} return {};'),
          {},
          { cpuTimeLimitMs: 10 },
        ),
      );

      expect(error.kind).toBe('timeout');
      expect(error.message).toBe('Mapping exceeded its 10 ms CPU limit');
    });
  });

  describe('helpers', () => {
    it.each([
      ['lower("AbC")', 'abc'],
      ['lower(null)', undefined],
      ['upper("abc")', 'ABC'],
      ['trim("  a b ")', 'a b'],
      ['trim(undefined)', undefined],
      ['slugify("  Zoë Saldaña & Co. ")', 'zoe-saldana-co'],
      ['split("a, b,,c ")', ['a', 'b', 'c']],
      ['split("a|b", "|")', ['a', 'b']],
      ['split(null)', []],
      ['join(["Ada", null, "", "King"])', 'Ada King'],
      ['join(["a", "b"], ", ")', 'a, b'],
      ['join([null, " "])', undefined],
      ['firstOf(null, "", "  ", [], "x", "y")', 'x'],
      ['firstOf(undefined, null)', undefined],
      ['firstOf(0, 1)', 0],
      ['emailLocalPart(" ada.king@example.com ")', 'ada.king'],
      ['emailLocalPart("a@b@example.com")', 'a@b'],
      ['emailLocalPart("no-at-sign")', undefined],
      ['emailDomain("ada@Example.COM")', 'example.com'],
      ['emailDomain("ada@")', undefined],
      ['normalizeEmail("  Ada@Example.COM ")', 'ada@example.com'],
      ['normalizeEmail("  ")', undefined],
      ['primaryOf([{ value: "a" }, { value: "b", primary: true }])', { value: 'b', primary: true }],
      ['primaryOf([{ value: "a" }, { value: "b" }])', { value: 'a' }],
      ['primaryOf([])', undefined],
      ['primaryOf(null)', undefined],
    ])('%s', async (call, expected) => {
      const { result } = await sandbox.evaluate(mapping(`return { value: ${call} };`), {});

      expect(result).toEqual(expected === undefined ? {} : { value: expected });
    });

    it('skipObject() stops the mapping and reports the reason', async () => {
      const evaluation = await sandbox.evaluate(
        mapping('if (!user.active) skipObject("inactive user"); return { never: true };'),
        { user: { active: false } },
      );

      expect(evaluation).toMatchObject({ result: null, skipped: { reason: 'inactive user' } });
    });

    it('skipObject() counts even when the mapping catches it', async () => {
      const evaluation = await sandbox.evaluate(
        mapping('try { skipObject(); } catch { } return { a: 1 };'),
        {},
      );

      expect(evaluation).toMatchObject({ result: null, skipped: { reason: 'skipped by a mapping' } });
    });

    it('helpers cannot be changed', async () => {
      const error = await failure(sandbox.evaluate(mapping('lower.cache = {}; return {};'), {}));

      expect(error.kind).toBe('runtime');
      await expect(
        sandbox.evaluate(mapping('return { keys: Object.keys(lower) };'), {}),
      ).resolves.toMatchObject({
        result: { keys: [] },
      });
    });
  });

  describe('evaluateAll', () => {
    it('runs the mappings in order against one context', async () => {
      const batch = await sandbox.evaluateAll(
        [
          mapping('return { a: scim.userName };'),
          mapping('return null;'),
          mapping('return { b: upper(scim.userName) };'),
        ],
        CONTEXT,
      );

      expect(batch.results).toEqual([{ a: 'Ada@Example.COM' }, null, { b: 'ADA@EXAMPLE.COM' }]);
      expect(batch.skipped).toBeUndefined();
    });

    it('stops at the first skip and names the mapping', async () => {
      const skipping = mapping('skipObject("not in scope");');

      const batch = await sandbox.evaluateAll(
        [mapping('return { a: 1 };'), skipping, mapping('return { c: 1 };')],
        {},
      );

      expect(batch.results).toEqual([{ a: 1 }]);
      expect(batch.skipped).toEqual({
        reason: 'not in scope',
        mapping: { id: 'm-test', version: skipping.version },
        index: 1,
      });
    });

    it('names the mapping that failed', async () => {
      const failing = mapping('return { a: missing.value };');

      const error = await failure(sandbox.evaluateAll([mapping('return {};'), failing], {}));

      expect(error).toMatchObject({ kind: 'runtime', mapping: { id: 'm-test', version: failing.version } });
    });

    it('names the mapping that ran out of time in a batch', async () => {
      const looping = mapping('while (true) {}');

      const error = await failure(
        sandbox.evaluateAll([mapping('return {};'), looping, mapping('return {};')], {}),
      );

      expect(error).toMatchObject({ kind: 'timeout', mapping: { version: looping.version } });
    });

    it('fails a mapping of a batch that returns after its own limit', async () => {
      const slow = mapping('const end = Date.now() + 80; while (Date.now() < end) {} return {};');

      const error = await failure(
        sandbox.evaluateAll([mapping('return {};'), slow, mapping('return {};')], {}),
      );

      expect(error).toMatchObject({ kind: 'timeout', mapping: { version: slow.version } });
    });

    it('keeps a batch larger than the compiled-mapping cache working', async () => {
      const own = new Sandbox({ poolSize: 1, maxCachedMappings: 1 });
      try {
        const list = [mapping('return { a: 1 };'), mapping('return { b: 2 };'), mapping('return { c: 3 };')];
        for (let round = 0; round < 3; round++) {
          const batches = await Promise.all([
            own.evaluateAll(list, {}),
            own.evaluateAll([...list].reverse(), {}),
          ]);

          expect(batches.map((batch) => batch.results)).toEqual([
            [{ a: 1 }, { b: 2 }, { c: 3 }],
            [{ c: 3 }, { b: 2 }, { a: 1 }],
          ]);
        }
      } finally {
        own.dispose();
      }
    });

    it('returns nothing for no mappings', async () => {
      await expect(sandbox.evaluateAll([], {})).resolves.toEqual({ results: [], durationMs: 0 });
    });
  });

  describe('runtime errors', () => {
    it('reports the line and column in the body', async () => {
      const error = await failure(
        sandbox.evaluate(mapping('const a = 1;\nconst b = null;\n  return { x: b.name };'), {}),
      );

      expect(error).toMatchObject({ kind: 'runtime', line: 3, column: 17 });
      expect(error.message).toBe(
        "Mapping failed at line 3, column 17: TypeError: Cannot read properties of null (reading 'name')",
      );
    });

    it('reports the innermost line of the body for errors in nested functions', async () => {
      const expression = 'function pick(list) {\n  return list[0].value;\n}\nreturn { v: pick([]) };';

      await expect(sandbox.evaluate(mapping(expression), {})).rejects.toMatchObject({
        kind: 'runtime',
        line: 2,
      });
    });

    it('reports a thrown value that is not an Error', async () => {
      const error = await failure(sandbox.evaluate(mapping('throw "no manager";'), {}));

      expect(error.message).toBe('Mapping failed: no manager');
    });
  });

  describe('invalid results', () => {
    it.each([
      ['a string', 'return "x";', 'not a string'],
      ['a number', 'return 42;', 'not a number'],
      ['a boolean', 'return true;', 'not a boolean'],
      ['a function', 'return () => 1;', 'not a function'],
      ['an array', 'return [1];', 'not an array'],
      ['a Promise', 'return Promise.resolve({});', 'not a Promise (mappings run synchronously'],
      ['a class instance', 'class A {}; return new A();', 'not an instance of a class'],
      ['a nested function', 'return { a: { f() {} } };', 'result.a.f is a function'],
      [
        'a nested Date',
        'return { when: new Date(0) };',
        'result.when is a Date (return date.toISOString() instead)',
      ],
      ['a nested Map', 'return { m: new Map() };', 'result.m is a Map'],
      ['NaN', 'return { n: 0 / 0 };', 'result.n is NaN, which JSON cannot carry'],
      ['a bigint', 'return { n: 1n };', 'result.n is a bigint'],
      ['a symbol in a list', 'return { list: [1, Symbol("s")] };', 'result.list[1] is a symbol'],
      ['a non-identifier key path', 'return { "urn:x": { f: () => 1 } };', 'result["urn:x"].f is a function'],
      ['a circular structure', 'const a = {}; a.self = a; return a;', 'levels deep (is it circular?)'],
      [
        'a __proto__ key',
        'return JSON.parse(\'{"__proto__": {"polluted": true}}\');',
        'has the key "__proto__"',
      ],
      [
        'a nested constructor key',
        'return { a: { constructor: { prototype: { polluted: true } } } };',
        'has the key "constructor"',
      ],
      ['a prototype key', 'return { prototype: 1 };', 'has the key "prototype"'],
    ])('rejects %s', async (_, expression, message) => {
      const error = await failure(sandbox.evaluate(mapping(expression), {}));

      expect(error.kind).toBe('invalidResult');
      expect(error.message).toContain(message);
      expect(error.message.startsWith('Mapping returned an invalid result: ')).toBe(true);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('reads a getter of the result once, as it copies', async () => {
      const expression = 'let reads = 0; return { get n() { reads++; return reads; } };';

      await expect(sandbox.evaluate(mapping(expression), {})).resolves.toMatchObject({ result: { n: 1 } });
    });
  });

  describe('abuse', () => {
    const abuses: {
      name: string;
      expression: string;
      cpuTimeLimitMs?: number;
      kind: SandboxError['kind'];
      message: RegExp;
    }[] = [
      {
        name: 'reaching process',
        expression: 'return { pid: process.pid };',
        kind: 'runtime',
        message: /process is not defined/,
      },
      {
        name: 'reaching require',
        expression: 'return { fs: require("fs") };',
        kind: 'runtime',
        message: /require is not defined/,
      },
      {
        name: 'the Function constructor trick',
        expression: 'return { p: globalThis.constructor.constructor("return process")() };',
        kind: 'runtime',
        message: /process is not defined/,
      },
      {
        name: 'dynamic import',
        expression: 'return import("fs");',
        kind: 'runtime',
        message: /import\(\) is not available \(mappings cannot load modules\)/,
      },
      {
        name: 'dynamic import inside try/catch',
        expression: 'try { import("fs"); } catch {} return {};',
        kind: 'runtime',
        message: /import\(\) is not available/,
      },
      {
        name: 'an infinite loop',
        expression: 'while (true) {}',
        kind: 'timeout',
        message: /exceeded its 50 ms CPU limit/,
      },
      {
        name: 'an endless microtask chain',
        expression: '(function again() { Promise.resolve().then(again); })(); return {};',
        kind: 'timeout',
        message: /exceeded its 50 ms CPU limit/,
      },
      {
        name: 'a 1 GB allocation',
        expression: 'const a = []; while (true) a.push(new Array(1e6).fill(1));',
        cpuTimeLimitMs: 10_000,
        kind: 'memory',
        message: /exceeded the 32 MB memory limit/,
      },
      {
        // V8 cannot stop this one gracefully: isolated-vm reports a catastrophic error instead.
        name: 'one huge array',
        expression: 'return { a: new Array(1e8).fill(1) };',
        kind: 'memory',
        message: /exceeded the 32 MB memory limit/,
      },
      {
        name: 'an object with ten million keys',
        expression: 'const o = {}; for (let i = 0; i < 1e7; i++) o["k" + i] = i; return o;',
        kind: 'memory',
        message: /exceeded the 32 MB memory limit/,
      },
      {
        name: 'a 1 GB string',
        expression: 'return { s: "x".repeat(2 ** 30) };',
        kind: 'runtime',
        message: /Invalid string length/,
      },
      {
        name: 'deep recursion',
        expression: 'function f() { return f(); } return f();',
        kind: 'runtime',
        message: /Maximum call stack size exceeded/,
      },
      {
        name: 'timers',
        expression: 'setTimeout(() => {}, 0); return {};',
        kind: 'runtime',
        message: /setTimeout is not defined/,
      },
      {
        name: 'queueMicrotask',
        expression: 'queueMicrotask(() => {}); return {};',
        kind: 'runtime',
        message: /queueMicrotask is not defined/,
      },
      {
        name: 'eval',
        expression: 'const run = eval; return run("({})");',
        kind: 'runtime',
        message: /eval is not defined/,
      },
      {
        name: 'WebAssembly',
        expression: 'return { w: WebAssembly.Module };',
        kind: 'runtime',
        message: /WebAssembly is not defined/,
      },
      {
        name: 'Atomics.wait',
        expression: 'Atomics.wait(new Int32Array(4), 0, 0); return {};',
        kind: 'runtime',
        message: /Atomics is not defined/,
      },
      {
        name: 'writing a global',
        expression: 'globalThis.leak = 1; return {};',
        kind: 'runtime',
        message: /Cannot add property leak, object is not extensible/,
      },
      {
        name: 'patching a prototype',
        expression: 'Object.prototype.polluted = true; return {};',
        kind: 'runtime',
        message: /Cannot add property polluted/,
      },
      {
        name: 'replacing a built-in method',
        expression: 'Array.prototype.map = () => []; return {};',
        kind: 'runtime',
        message: /Cannot assign to read only property 'map'/,
      },
      {
        name: 'patching a hidden intrinsic',
        expression: 'Object.getPrototypeOf(function* () {}).prototype.leak = 1; return {};',
        kind: 'runtime',
        message: /Cannot add property leak/,
      },
      {
        name: 'a result that is a string',
        expression: 'return "x";',
        kind: 'invalidResult',
        message: /not a string/,
      },
      {
        name: 'a result that is a number',
        expression: 'return 1;',
        kind: 'invalidResult',
        message: /not a number/,
      },
      {
        name: 'a result that is a function',
        expression: 'return function () {};',
        kind: 'invalidResult',
        message: /not a function/,
      },
      {
        name: 'a result carrying __proto__',
        expression:
          'const r = {}; Object.defineProperty(r, "__proto__", { value: { polluted: 1 }, enumerable: true }); return r;',
        kind: 'invalidResult',
        message: /has the key "__proto__"/,
      },
      {
        name: 'a result carrying constructor',
        expression: 'return { constructor: { prototype: { polluted: 1 } } };',
        kind: 'invalidResult',
        message: /has the key "constructor"/,
      },
    ];

    it.each(abuses)(
      'denies $name, then serves a normal evaluation',
      async ({ expression, cpuTimeLimitMs, kind, message }) => {
        const error = await failure(
          sandbox.evaluate(mapping(expression), {}, cpuTimeLimitMs ? { cpuTimeLimitMs } : {}),
        );

        expect(error.kind).toBe(kind);
        expect(error.message).toMatch(message);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        await expect(sandbox.evaluate(NORMAL, CONTEXT)).resolves.toMatchObject({
          result: { userName: 'ada@example.com', source: 'okta' },
        });
      },
    );

    it('reported the isolates V8 lost control of to onCatastrophicError', () => {
      expect(lostIsolates).toEqual(['Catastrophic out-of-memory error', 'Catastrophic out-of-memory error']);
    });

    it('keeps no state from one evaluation for the next', async () => {
      const writer = mapping('try { globalThis.leak = scim.userName; } catch {} var local = 1; return {};');
      const reader = mapping(
        'return { leak: typeof leak, local: typeof local, viaGlobal: typeof globalThis.leak };',
      );

      await sandbox.evaluate(writer, CONTEXT);

      await expect(sandbox.evaluate(reader, {})).resolves.toMatchObject({
        result: { leak: 'undefined', local: 'undefined', viaGlobal: 'undefined' },
      });
    });

    it("does not show one evaluation's regular-expression match to the next", async () => {
      await sandbox.evaluate(mapping('/(secret)/.test(scim.userName); return {};'), {
        scim: { userName: 'secret' },
      });

      await expect(
        sandbox.evaluate(mapping('return { last: typeof RegExp.lastMatch, one: typeof RegExp.$1 };'), {}),
      ).resolves.toMatchObject({
        result: { last: 'undefined', one: 'undefined' },
      });
    });
  });

  describe('isolate replacement', () => {
    it('replaces an isolate that broke its memory limit; evaluations queued on it still succeed', async () => {
      const own = new Sandbox({ poolSize: 1, memoryLimitMb: 16 });
      try {
        await own.evaluate(NORMAL, CONTEXT);
        const bomb = own.evaluate(mapping('const a = []; while (true) a.push(new Array(1e6).fill(1));'), {});
        const queued = [1, 2, 3].map(() => own.evaluate(NORMAL, CONTEXT));

        await expect(bomb).rejects.toMatchObject({
          kind: 'memory',
          message: 'Mapping exceeded the 16 MB memory limit',
        });
        for (const evaluation of queued) {
          await expect(evaluation).resolves.toMatchObject({ result: { userName: 'ada@example.com' } });
        }
        await expect(own.evaluate(NORMAL, CONTEXT)).resolves.toMatchObject({ result: { source: 'okta' } });
      } finally {
        own.dispose();
      }
    });

    it('spreads concurrent evaluations over the pool', async () => {
      const own = new Sandbox({ poolSize: 2 });
      try {
        const evaluations = await Promise.all(
          Array.from({ length: 50 }, () => own.evaluate(NORMAL, CONTEXT)),
        );

        expect(evaluations.every((evaluation) => evaluation.result?.userName === 'ada@example.com')).toBe(
          true,
        );
      } finally {
        own.dispose();
      }
    });

    it('fails evaluations after dispose()', async () => {
      const own = new Sandbox({ poolSize: 1 });
      await own.evaluate(NORMAL, CONTEXT);

      own.dispose();

      await expect(own.evaluate(NORMAL, CONTEXT)).rejects.toThrow('The sandbox has been disposed');
    });
  });

  describe('options', () => {
    it.each([
      [{ poolSize: 0 }, 'poolSize must be a positive integer'],
      [{ cpuTimeLimitMs: 1.5 }, 'cpuTimeLimitMs must be a positive integer'],
      [{ memoryLimitMb: 4 }, 'memoryLimitMb must be at least 8'],
    ])('rejects %j', (options, message) => {
      expect(() => new Sandbox(options)).toThrow(message);
    });
  });
});
