/**
 * Compiles a SCIM filter AST (RFC 7644 §3.4.2.2) and `sortBy` (§3.4.2.3) into PostgreSQL.
 *
 * The resource is read from a jsonb column holding its SCIM JSON (extension attributes under
 * their URN key); callers may point hot attributes at indexed columns (`columns`) or compile
 * them entirely themselves (`custom`, e.g. group membership kept in its own table). Values are
 * always bound as `$n` parameters, never written into the SQL.
 */
import { isScimDateTime } from './coerce.js';
import type { CompareOperator, FilterAst, FilterValue } from './filter.js';
import { ScimError, type ScimAttribute, type ScimAttributeType, type ScimSchema } from './schema.types.js';
import { findAttribute, resolveAttribute } from './schemas.js';

/** Where one attribute lives when it is not read from the jsonb document. */
export type FilterColumn =
  | {
      /** A single-valued SQL expression, e.g. `l.user_name`. */
      sql: string;
      /** The column's SCIM type; defaults to the attribute's. */
      type?: ScimAttributeType;
      /**
       * Defaults to the attribute's `caseExact`. When false, comparisons are written
       * `lower(col) = lower($n)`, so an index on `lower(col)` applies.
       */
      caseExact?: boolean;
    }
  | {
      /**
       * A lower-cased `text[]` of every value of a multi-valued, case-insensitive attribute
       * (e.g. `ib_email_values(l.payload)` for `emails.value`); `eq` becomes
       * `arr @> ARRAY[lower($n)]`, which a GIN index on the expression serves.
       */
      multiValuedTextArraySql: string;
    };

/** A filter value other than null (`eq null` / `ne null` are compiled as `not pr` / `pr`). */
export type ComparableValue = Exclude<FilterValue, null>;

/** One condition handed to a {@link CustomFilterCompiler}. */
export type CustomComparison =
  | { operator: 'pr' }
  | {
      operator: CompareOperator;
      value: ComparableValue;
      /**
       * Binds `value` as the next `$n` parameter and returns that reference (the same one on
       * every call). Call it only if the fragment uses it: PostgreSQL rejects unreferenced
       * parameters.
       */
      param(): string;
    };

/** Compiles comparisons on one attribute path to a boolean SQL fragment; may throw ScimError. */
export type CustomFilterCompiler = (comparison: CustomComparison) => string;

export interface FilterTarget {
  /** The resource's schemas: core first, then extensions. */
  schemas: ScimSchema[];
  /** The jsonb column holding the SCIM resource, e.g. `l.payload`. */
  jsonColumn: string;
  /**
   * Overrides keyed by lower-cased canonical path: `username`, `meta.lastmodified`,
   * `emails.value`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:employeenumber`.
   */
  columns?: Record<string, FilterColumn>;
  /**
   * Caller-compiled attributes keyed by lower-cased canonical path (e.g. `members.value`). Used
   * for `members.value eq "x"`, `members eq "x"` and `members[value eq "x"]`. Inside a value path
   * they combine only with `or`, which keeps RFC "same element" semantics exact.
   */
  custom?: Record<string, CustomFilterCompiler>;
}

export type SortOrder = 'ascending' | 'descending';

/** The `schemas` attribute (RFC 7643 §3) is filterable (§3.4.2.2 example) but in no schema. */
const SCHEMAS_ATTRIBUTE: ScimAttribute = {
  name: 'schemas',
  type: 'reference',
  multiValued: true,
  description: 'The schema URIs the resource conforms to.',
  required: true,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'always',
  uniqueness: 'none',
};

const ORDERING_OPERATORS: ReadonlySet<string> = new Set(['gt', 'ge', 'lt', 'le']);
const SUBSTRING_OPERATORS: ReadonlySet<string> = new Set(['co', 'sw', 'ew']);

/** An attribute path resolved against the target's schemas. */
interface AttributeRef {
  /** Canonical spelling used in messages, e.g. `emails.value`. */
  label: string;
  /** Lower-cased canonical path, the key of `columns` and `custom`. */
  key: string;
  /** The jsonb expression of the object holding the attribute (the resource or an extension). */
  container: string;
  attribute: ScimAttribute;
  subAttribute?: ScimAttribute;
}

/** A jsonb value: `base->'key'`, or `base` itself when there is no key. */
interface JsonOperand {
  base: string;
  key?: string;
}

function invalidFilter(message: string): ScimError {
  return new ScimError(400, 'invalidFilter', message);
}

/** Where an attribute path came from: a bad one is `invalidFilter` or `invalidValue` (RFC 7644 §3.12). */
type Usage = 'filter' | 'sortBy';

function usageError(usage: Usage): (message: string) => ScimError {
  return usage === 'filter' ? invalidFilter : (message) => new ScimError(400, 'invalidValue', message);
}

function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

function jsonValue(operand: JsonOperand): string {
  return operand.key === undefined ? operand.base : `${operand.base}->${sqlString(operand.key)}`;
}

function jsonText(operand: JsonOperand): string {
  return operand.key === undefined
    ? `${operand.base} #>> '{}'`
    : `${operand.base}->>${sqlString(operand.key)}`;
}

/** Elements of a jsonb array; anything that is not an array reads as empty. */
function jsonElements(json: string): string {
  return `jsonb_array_elements(CASE WHEN jsonb_typeof(${json}) = 'array' THEN ${json} ELSE '[]'::jsonb END)`;
}

/** Present per RFC 7644: assigned, not null, not an empty string, array or object. */
function jsonPresent(json: string): string {
  return `COALESCE(${json} NOT IN ('null', '""', '[]', '{}'), false)`;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

class FilterCompiler {
  private readonly columns: Map<string, FilterColumn>;
  private readonly custom: Map<string, CustomFilterCompiler>;
  private aliases = 0;

  constructor(
    private readonly target: FilterTarget,
    private readonly params: unknown[],
  ) {
    const lowerKeys = <T>(record: Record<string, T> | undefined) =>
      new Map(Object.entries(record ?? {}).map(([key, value]) => [key.toLowerCase(), value]));
    this.columns = lowerKeys(target.columns);
    this.custom = lowerKeys(target.custom);
  }

  bind(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  nextAlias(): string {
    this.aliases++;
    return `el${this.aliases}`;
  }

  columnFor(key: string): FilterColumn | undefined {
    return this.columns.get(key);
  }

  /** Resolves a path to an attribute; unknown or unfilterable ones are a 400 for `usage`. */
  resolve(path: string, usage: Usage = 'filter'): AttributeRef {
    const makeError = usageError(usage);
    if (path.toLowerCase() === 'schemas') {
      return {
        label: 'schemas',
        key: 'schemas',
        container: this.target.jsonColumn,
        attribute: SCHEMAS_ATTRIBUTE,
      };
    }
    const resolved = resolveAttribute(this.target.schemas, path);
    if (!resolved) throw makeError(`Unknown attribute "${path}" in ${usage}`);
    const { schema, attribute, subAttribute } = resolved;
    if (attribute.returned === 'never' || subAttribute?.returned === 'never') {
      throw makeError(`Attribute "${path}" cannot be used in ${usage}`);
    }
    const isCore = schema === this.target.schemas[0];
    const local = subAttribute ? `${attribute.name}.${subAttribute.name}` : attribute.name;
    const label = isCore ? local : `${schema.id}:${local}`;
    const container = isCore ? this.target.jsonColumn : `${this.target.jsonColumn}->${sqlString(schema.id)}`;
    return {
      label,
      key: label.toLowerCase(),
      container,
      attribute,
      ...(subAttribute ? { subAttribute } : {}),
    };
  }

  /** For a complex attribute named without a sub-attribute, the `value` sub-attribute (§3.4.2.2). */
  impliedValue(ref: AttributeRef, usage: Usage = 'filter'): AttributeRef {
    if (ref.attribute.type !== 'complex' || ref.subAttribute) return ref;
    const value = ref.attribute.multiValued
      ? findAttribute(ref.attribute.subAttributes ?? [], 'value')
      : undefined;
    if (!value) {
      const example = ref.attribute.subAttributes?.[0]?.name ?? 'value';
      throw usageError(usage)(
        `Attribute "${ref.label}" is complex: name a sub-attribute such as "${ref.label}.${example}"`,
      );
    }
    const label = `${ref.label}.${value.name}`;
    return { ...ref, label, key: label.toLowerCase(), subAttribute: value };
  }

  compile(filter: FilterAst): string {
    switch (filter.type) {
      case 'and':
      case 'or':
        return `(${filter.filters.map((inner) => this.compile(inner)).join(filter.type === 'and' ? ' AND ' : ' OR ')})`;
      case 'not':
        return `NOT COALESCE(${this.compile(filter.filter)}, false)`;
      case 'present':
        return this.compileLeaf(filter.attribute, 'pr', undefined);
      case 'compare':
        return this.compileLeaf(filter.attribute, filter.operator, filter.value);
      case 'valuePath':
        return this.compileValuePath(filter.attribute, filter.filter);
    }
  }

  private compileLeaf(
    path: string,
    operator: CompareOperator | 'pr',
    value: FilterValue | undefined,
  ): string {
    if (operator === 'pr' || value === undefined) return this.compilePresent(path);
    if (value !== null) return this.compileComparison(path, operator, value);
    // RFC 7643 §2.5: null means "unassigned", so `eq null` is "absent" and `ne null` "present".
    if (operator === 'eq') return `NOT ${this.compilePresent(path)}`;
    if (operator === 'ne') return this.compilePresent(path);
    throw invalidFilter(`Operator "${operator}" cannot compare "${this.resolve(path).label}" with null`);
  }

  private compilePresent(path: string): string {
    const ref = this.resolve(path);
    const custom = this.custom.get(ref.key);
    // Parenthesized so a hook's `a OR b` cannot bind to a neighbouring AND / NOT.
    if (custom) return `(${custom({ operator: 'pr' })})`;

    const column = this.columns.get(ref.key);
    if (column && 'multiValuedTextArraySql' in column) {
      return `cardinality(${column.multiValuedTextArraySql}) > 0`;
    }
    if (column) return columnPresent(column.sql, column.type ?? leafAttribute(ref).type);

    const attributeJson: JsonOperand = { base: ref.container, key: ref.attribute.name };
    if (ref.attribute.multiValued) {
      // Any element with an assigned value (or assigned sub-attribute); a non-array has none.
      const alias = this.nextAlias();
      const element: JsonOperand = ref.subAttribute
        ? { base: alias, key: ref.subAttribute.name }
        : { base: alias };
      const present = jsonPresent(jsonValue(element));
      return `EXISTS (SELECT 1 FROM ${jsonElements(jsonValue(attributeJson))} AS ${alias} WHERE ${present})`;
    }
    const operand = ref.subAttribute
      ? { base: jsonValue(attributeJson), key: ref.subAttribute.name }
      : attributeJson;
    return jsonPresent(jsonValue(operand));
  }

  private compileComparison(path: string, operator: CompareOperator, value: ComparableValue): string {
    // `emails co "x"` compares each email's `value` (RFC 7644 §3.4.2.2 examples).
    const ref = this.impliedValue(this.resolve(path));

    const custom = this.custom.get(ref.key);
    if (custom) {
      let bound: string | undefined;
      return `(${custom({ operator, value, param: () => (bound ??= this.bind(value)) })})`;
    }

    const column = this.columns.get(ref.key);
    if (column && 'multiValuedTextArraySql' in column) {
      return this.compileTextArray(ref, column.multiValuedTextArraySql, operator, value);
    }
    if (column) {
      const type = column.type ?? leafAttribute(ref).type;
      const caseExact = column.caseExact ?? leafAttribute(ref).caseExact;
      return this.compare({ kind: 'column', sql: column.sql }, type, caseExact, ref.label, operator, value);
    }

    const { attribute, subAttribute } = ref;
    const attributeJson: JsonOperand = { base: ref.container, key: attribute.name };
    if (attribute.multiValued) {
      const alias = this.nextAlias();
      const element: JsonOperand = subAttribute ? { base: alias, key: subAttribute.name } : { base: alias };
      const condition = this.compareJson(element, ref, operator, value);
      return `EXISTS (SELECT 1 FROM ${jsonElements(jsonValue(attributeJson))} AS ${alias} WHERE ${condition})`;
    }
    const operand = subAttribute ? { base: jsonValue(attributeJson), key: subAttribute.name } : attributeJson;
    return this.compareJson(operand, ref, operator, value);
  }

  private compareJson(
    operand: JsonOperand,
    ref: AttributeRef,
    operator: CompareOperator,
    value: ComparableValue,
  ): string {
    const attribute = leafAttribute(ref);
    return this.compare(
      { kind: 'json', operand },
      attribute.type,
      attribute.caseExact,
      ref.label,
      operator,
      value,
    );
  }

  /**
   * One comparison on a single value. Type rules follow RFC 7644 §3.4.2.2: strings compare
   * lexicographically (lower-cased unless caseExact), dateTimes chronologically, numbers
   * numerically; `gt`/`ge`/`lt`/`le` on boolean or binary and substring operators on
   * non-strings are invalid. `ne` is null-safe: an unassigned attribute is "not equal".
   */
  compare(
    subject: { kind: 'json'; operand: JsonOperand } | { kind: 'column'; sql: string },
    type: ScimAttributeType,
    caseExact: boolean,
    label: string,
    operator: CompareOperator,
    value: ComparableValue,
  ): string {
    const notAllowed = () =>
      invalidFilter(`Operator "${operator}" is not valid for ${type} attribute "${label}"`);
    const sqlOperator = { eq: '=', ne: 'IS DISTINCT FROM', gt: '>', ge: '>=', lt: '<', le: '<=' } as const;

    switch (type) {
      case 'string':
      case 'reference':
      case 'binary': {
        if (typeof value !== 'string') {
          throw invalidFilter(`Attribute "${label}" is a string: compare it with a quoted string`);
        }
        if (type === 'binary' && ORDERING_OPERATORS.has(operator)) throw notAllowed();
        const text = subject.kind === 'json' ? jsonText(subject.operand) : subject.sql;
        return compareText(text, caseExact, operator, (pattern) => this.bind(pattern ?? value), value);
      }
      case 'boolean': {
        if (operator !== 'eq' && operator !== 'ne') throw notAllowed();
        // Some clients quote booleans (`active eq "True"`); that is unambiguous, so accept it.
        const flag =
          typeof value === 'string' && /^(?:true|false)$/i.test(value)
            ? value.toLowerCase() === 'true'
            : value;
        if (typeof flag !== 'boolean') {
          throw invalidFilter(`Attribute "${label}" is a boolean: compare it with true or false`);
        }
        if (subject.kind === 'column') return `${subject.sql} ${sqlOperator[operator]} ${this.bind(flag)}`;
        return `${jsonValue(subject.operand)} ${sqlOperator[operator]} ${this.bind(JSON.stringify(flag))}::jsonb`;
      }
      case 'integer':
      case 'decimal': {
        if (SUBSTRING_OPERATORS.has(operator)) throw notAllowed();
        if (typeof value !== 'number') {
          throw invalidFilter(`Attribute "${label}" is a number: compare it with a number`);
        }
        if (type === 'integer' && !Number.isInteger(value)) {
          throw invalidFilter(`Attribute "${label}" is an integer: compare it with a whole number`);
        }
        const left = subject.kind === 'column' ? subject.sql : jsonNumber(jsonValue(subject.operand));
        return `${left} ${sqlOperator[operator as keyof typeof sqlOperator]} ${this.bind(value)}::numeric`;
      }
      case 'dateTime': {
        if (SUBSTRING_OPERATORS.has(operator)) throw notAllowed();
        if (typeof value !== 'string' || !isScimDateTime(value)) {
          throw invalidFilter(
            `Attribute "${label}" is a dateTime: compare it with a date-time such as "2011-05-13T04:42:34Z"`,
          );
        }
        const left = subject.kind === 'column' ? subject.sql : `(${jsonText(subject.operand)})::timestamptz`;
        return `${left} ${sqlOperator[operator as keyof typeof sqlOperator]} ${this.bind(value)}::timestamptz`;
      }
      case 'complex':
        throw invalidFilter(`Attribute "${label}" is complex: name one of its sub-attributes`);
    }
  }

  private compileTextArray(
    ref: AttributeRef,
    arraySql: string,
    operator: CompareOperator,
    value: ComparableValue,
  ): string {
    if (typeof value !== 'string') {
      throw invalidFilter(`Attribute "${ref.label}" is a string: compare it with a quoted string`);
    }
    if (operator === 'eq') return `${arraySql} @> ARRAY[lower(${this.bind(value)})]`;
    const alias = this.nextAlias();
    const condition = compareText(alias, false, operator, (pattern) => this.bind(pattern ?? value), value);
    return `EXISTS (SELECT 1 FROM unnest(${arraySql}) AS ${alias} WHERE ${condition})`;
  }

  private compileValuePath(path: string, inner: FilterAst): string {
    const ref = this.resolve(path);
    if (ref.attribute.type !== 'complex' || ref.subAttribute) {
      throw invalidFilter(`"${path}[…]" needs a complex attribute, and "${ref.label}" is not one`);
    }
    const subAttributes = ref.attribute.subAttributes ?? [];
    forEachLeaf(inner, (leaf) => {
      if (!findAttribute(subAttributes, leaf.attribute)) {
        throw invalidFilter(`Unknown attribute "${ref.label}.${leaf.attribute}" in filter`);
      }
    });

    // Singular complex attributes, and filters that distribute over elements (one comparison, or
    // an `or` of comparisons), mean the same as their leaves on `attr.sub`: compile them that way
    // so column overrides and custom hooks apply.
    if (!ref.attribute.multiValued || distributes(inner)) {
      return this.compile(prefixPaths(inner, path));
    }

    const alias = this.nextAlias();
    const condition = this.compileElement(inner, ref, alias);
    return `EXISTS (SELECT 1 FROM ${jsonElements(`${ref.container}->${sqlString(ref.attribute.name)}`)} AS ${alias} WHERE ${condition})`;
  }

  /** A value-path filter evaluated against one array element bound to `alias`. */
  private compileElement(filter: FilterAst, parent: AttributeRef, alias: string): string {
    switch (filter.type) {
      case 'and':
      case 'or':
        return `(${filter.filters.map((inner) => this.compileElement(inner, parent, alias)).join(filter.type === 'and' ? ' AND ' : ' OR ')})`;
      case 'not':
        return `NOT COALESCE(${this.compileElement(filter.filter, parent, alias)}, false)`;
      case 'valuePath':
        throw invalidFilter('Value paths cannot be nested');
      case 'present':
      case 'compare': {
        const subAttribute = findAttribute(parent.attribute.subAttributes ?? [], filter.attribute)!;
        const label = `${parent.label}.${subAttribute.name}`;
        if (this.custom.has(label.toLowerCase())) {
          throw invalidFilter(
            `"${parent.label}[…]" can combine conditions on "${subAttribute.name}" only with "or"`,
          );
        }
        if (subAttribute.returned === 'never') {
          throw invalidFilter(`Attribute "${label}" cannot be used in a filter`);
        }
        const operand: JsonOperand = { base: alias, key: subAttribute.name };
        if (filter.type === 'present') return jsonPresent(jsonValue(operand));
        if (filter.value === null) {
          const present = jsonPresent(jsonValue(operand));
          if (filter.operator === 'eq') return `NOT ${present}`;
          if (filter.operator === 'ne') return present;
          throw invalidFilter(`Operator "${filter.operator}" cannot compare "${label}" with null`);
        }
        return this.compare(
          { kind: 'json', operand },
          subAttribute.type,
          subAttribute.caseExact,
          label,
          filter.operator,
          filter.value,
        );
      }
    }
  }
}

function leafAttribute(ref: AttributeRef): ScimAttribute {
  return ref.subAttribute ?? ref.attribute;
}

function jsonNumber(json: string): string {
  return `(CASE WHEN jsonb_typeof(${json}) = 'number' THEN (${json})::numeric END)`;
}

function columnPresent(sql: string, type: ScimAttributeType): string {
  return type === 'string' || type === 'reference' || type === 'binary'
    ? `(${sql} IS NOT NULL AND ${sql} <> '')`
    : `${sql} IS NOT NULL`;
}

/**
 * A text comparison. `bind(pattern)` binds the LIKE pattern for co/sw/ew, or the plain value
 * when called without one.
 */
function compareText(
  text: string,
  caseExact: boolean,
  operator: CompareOperator,
  bind: (pattern?: string) => string,
  value: string,
): string {
  const fold = (sql: string) => (caseExact ? sql : `lower(${sql})`);
  switch (operator) {
    case 'co':
    case 'sw':
    case 'ew': {
      const escaped = escapeLike(value);
      const pattern = operator === 'co' ? `%${escaped}%` : operator === 'sw' ? `${escaped}%` : `%${escaped}`;
      return `${fold(text)} LIKE ${fold(bind(pattern))}`;
    }
    case 'eq':
      return `${fold(text)} = ${fold(bind())}`;
    case 'ne':
      return `${fold(text)} IS DISTINCT FROM ${fold(bind())}`;
    case 'gt':
      return `${fold(text)} > ${fold(bind())}`;
    case 'ge':
      return `${fold(text)} >= ${fold(bind())}`;
    case 'lt':
      return `${fold(text)} < ${fold(bind())}`;
    case 'le':
      return `${fold(text)} <= ${fold(bind())}`;
  }
}

function forEachLeaf(
  filter: FilterAst,
  visit: (leaf: Extract<FilterAst, { type: 'compare' | 'present' }>) => void,
): void {
  switch (filter.type) {
    case 'compare':
    case 'present':
      visit(filter);
      return;
    case 'and':
    case 'or':
      filter.filters.forEach((inner) => forEachLeaf(inner, visit));
      return;
    case 'not':
      forEachLeaf(filter.filter, visit);
      return;
    case 'valuePath':
      throw invalidFilter('Value paths cannot be nested');
  }
}

/**
 * True when `attr[f]` equals `f` applied to `attr.sub` leaves: a single leaf, or an `or` of such.
 * A null comparison does not distribute: per element it tests absence, a negation.
 */
function distributes(filter: FilterAst): boolean {
  if (filter.type === 'present') return true;
  if (filter.type === 'compare') return filter.value !== null;
  return filter.type === 'or' && filter.filters.every(distributes);
}

function prefixPaths(filter: FilterAst, prefix: string): FilterAst {
  switch (filter.type) {
    case 'compare':
    case 'present':
      return { ...filter, attribute: `${prefix}.${filter.attribute}` };
    case 'and':
    case 'or':
      return { type: filter.type, filters: filter.filters.map((inner) => prefixPaths(inner, prefix)) };
    case 'not':
      return { type: 'not', filter: prefixPaths(filter.filter, prefix) };
    case 'valuePath':
      throw invalidFilter('Value paths cannot be nested');
  }
}

/**
 * Compiles a parsed filter to a PostgreSQL boolean expression over `target`, appending bound
 * values to `params` (placeholders continue from `params.length`). Throws
 * `ScimError(400, 'invalidFilter')` for unknown attributes, operators invalid for the attribute's
 * type and values of the wrong type.
 */
export function compileFilter(filter: FilterAst, target: FilterTarget, params: unknown[]): string {
  return new FilterCompiler(target, params).compile(filter);
}

/**
 * Compiles `sortBy`/`sortOrder` (RFC 7644 §3.4.2.3) to an ORDER BY item such as
 * `lower(l.payload->>'userName') ASC`. Case-insensitive attributes sort lower-cased; a
 * multi-valued attribute sorts by its primary value, else its first. PostgreSQL puts unassigned
 * values last when ascending and first when descending. Throws `ScimError(400, 'invalidValue')`.
 */
export function compileSort(sortBy: string, target: FilterTarget, sortOrder: string = 'ascending'): string {
  const invalidValue = (message: string) => new ScimError(400, 'invalidValue', message);
  const order = sortOrder.toLowerCase();
  if (order !== 'ascending' && order !== 'descending') {
    throw invalidValue(`sortOrder must be "ascending" or "descending", not "${sortOrder}"`);
  }
  const direction = order === 'ascending' ? 'ASC' : 'DESC';

  const compiler = new FilterCompiler(target, []);
  const ref = compiler.impliedValue(compiler.resolve(sortBy, 'sortBy'), 'sortBy');
  const attribute = leafAttribute(ref);

  const column = compiler.columnFor(ref.key);
  if (column && 'sql' in column) {
    const type = column.type ?? attribute.type;
    const caseExact = column.caseExact ?? attribute.caseExact;
    return `${isText(type) && !caseExact ? `lower(${column.sql})` : column.sql} ${direction}`;
  }

  const attributeJson = `${ref.container}->${sqlString(ref.attribute.name)}`;
  if (ref.attribute.multiValued) {
    // Aliases unlikely to shadow the caller's tables: the subquery reads the caller's jsonb column.
    const element: JsonOperand = ref.subAttribute
      ? { base: 'sort_el.value', key: ref.subAttribute.name }
      : { base: 'sort_el.value' };
    const primaryFirst = `COALESCE(sort_el.value->'primary' = 'true'::jsonb, false) DESC, sort_el.ordinal`;
    const elements = `${jsonElements(attributeJson)} WITH ORDINALITY AS sort_el(value, ordinal)`;
    return `(SELECT ${sortExpression(element, attribute)} FROM ${elements} ORDER BY ${primaryFirst} LIMIT 1) ${direction}`;
  }
  const operand: JsonOperand = ref.subAttribute
    ? { base: attributeJson, key: ref.subAttribute.name }
    : { base: ref.container, key: ref.attribute.name };
  return `${sortExpression(operand, attribute)} ${direction}`;
}

function isText(type: ScimAttributeType): boolean {
  return type === 'string' || type === 'reference' || type === 'binary';
}

function sortExpression(operand: JsonOperand, attribute: ScimAttribute): string {
  switch (attribute.type) {
    case 'string':
    case 'reference':
    case 'binary':
      return attribute.caseExact ? jsonText(operand) : `lower(${jsonText(operand)})`;
    case 'boolean': {
      const json = jsonValue(operand);
      return `(CASE WHEN jsonb_typeof(${json}) = 'boolean' THEN (${json})::boolean END)`;
    }
    case 'integer':
    case 'decimal':
      return jsonNumber(jsonValue(operand));
    case 'dateTime':
      return `(${jsonText(operand)})::timestamptz`;
    case 'complex':
      throw new ScimError(400, 'invalidValue', `Cannot sort by complex attribute "${attribute.name}"`);
  }
}
