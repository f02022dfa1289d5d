/**
 * SCIM filter parser (RFC 7644 §3.4.2.2) producing our own AST.
 *
 * Why not `scim2-parse-filter`: we pinned it against the cases the bridge needs and it fails
 * several of them — it doubles escaped backslashes (`"a\\b"` becomes `a\\b`), leaves `\u0041`
 * undecoded, rejects `True`/`False` (ABNF literals are case-insensitive), rejects negative numbers
 * and `$ref`, silently rewrites `emails[type eq "work"].value eq "x"` (not valid filter syntax)
 * into a filter with different meaning, and reports errors without positions. The grammar is
 * small, so a recursive-descent parser with hard limits against hostile input is simpler and
 * safer than patching around it.
 *
 * Grammar (precedence: `or` < `and` < `not` / grouping):
 *
 *   filter    = orExp
 *   orExp     = andExp *("or" andExp)
 *   andExp    = unary *("and" unary)
 *   unary     = "not" "(" filter ")" / "(" filter ")" / attrPath "[" valFilter "]" / attrExp
 *   attrExp   = attrPath "pr" / attrPath compareOp compValue
 *   valFilter = the same, without nested value paths and with sub-attribute names only
 *   compValue = "true" / "false" / "null" / number / JSON string
 */
import { ScimError } from './schema.types.js';

export type CompareOperator = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type FilterValue = string | number | boolean | null;

/** A filter expression. Attribute paths are kept as written; resolving them needs the schemas. */
export type FilterAst =
  | { type: 'compare'; attribute: string; operator: CompareOperator; value: FilterValue }
  | { type: 'present'; attribute: string }
  | { type: 'and'; filters: FilterAst[] }
  | { type: 'or'; filters: FilterAst[] }
  | { type: 'not'; filter: FilterAst }
  /** `attribute[filter]`: the inner filter's attributes are sub-attributes of one element. */
  | { type: 'valuePath'; attribute: string; filter: FilterAst };

/** Limits that keep a hostile filter from costing more than a legitimate one ever needs. */
export const FILTER_LIMITS = {
  /** Characters in the filter text. */
  maxLength: 4096,
  /** Attribute expressions (`x eq y`, `x pr`), counting those inside value paths. */
  maxTerms: 50,
  /** Nested groups: parentheses, `not (…)` and `attr[…]`. */
  maxDepth: 10,
} as const;

const COMPARE_OPERATORS: ReadonlySet<string> = new Set([
  'eq',
  'ne',
  'co',
  'sw',
  'ew',
  'gt',
  'ge',
  'lt',
  'le',
]);

type TokenKind = 'word' | 'string' | 'number' | '(' | ')' | '[' | ']' | 'end';

interface Token {
  kind: TokenKind;
  /** The source text (for `string`, the decoded value). */
  text: string;
  /** Offset in the filter text, for error messages. */
  position: number;
}

const WORD_CHAR = /[A-Za-z0-9_.:$\-]/;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/;
const ATTRIBUTE_NAME = String.raw`\$?[A-Za-z][A-Za-z0-9_\-]*`;
/** `[urn:…:]name[.sub]`; the URN itself may contain dots (`2.0`), so only the last segment counts. */
const ATTRIBUTE_PATH = new RegExp(
  `^(?:urn:[A-Za-z0-9][A-Za-z0-9.:\\-]*:)?${ATTRIBUTE_NAME}(?:\\.${ATTRIBUTE_NAME})?$`,
  'i',
);
const SUB_ATTRIBUTE_NAME = new RegExp(`^${ATTRIBUTE_NAME}$`);

function invalid(message: string): ScimError {
  return new ScimError(400, 'invalidFilter', message);
}

function describe(token: Token): string {
  if (token.kind === 'end') return 'the end of the filter';
  if (token.kind === 'string') return `string ${JSON.stringify(token.text)}`;
  return `"${token.text}"`;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    if (char === ' ' || char === '\t' || char === '\n' || char === '\r') {
      i++;
      continue;
    }
    if (char === '(' || char === ')' || char === '[' || char === ']') {
      tokens.push({ kind: char, text: char, position: i });
      i++;
      continue;
    }
    if (char === '"') {
      const start = i;
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      if (i >= text.length) throw invalid(`Unterminated string starting at position ${start}`);
      i++;
      const literal = text.slice(start, i);
      let value: unknown;
      try {
        value = JSON.parse(literal);
      } catch {
        throw invalid(`Invalid string ${literal} at position ${start}: use JSON string escapes`);
      }
      tokens.push({ kind: 'string', text: value as string, position: start });
      continue;
    }
    if (WORD_CHAR.test(char)) {
      const start = i;
      while (i < text.length && WORD_CHAR.test(text[i]!)) i++;
      const word = text.slice(start, i);
      const number = NUMBER.exec(word);
      const kind: TokenKind = number && number[0].length === word.length ? 'number' : 'word';
      tokens.push({ kind, text: word, position: start });
      continue;
    }
    throw invalid(`Unexpected character "${char}" at position ${i}`);
  }
  tokens.push({ kind: 'end', text: '', position: text.length });
  return tokens;
}

class Parser {
  private index = 0;
  private terms = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): FilterAst {
    const filter = this.parseOr(false);
    const next = this.peek();
    if (next.kind !== 'end') {
      throw invalid(
        `Expected "and", "or" or the end of the filter at position ${next.position}, found ${describe(next)}`,
      );
    }
    return filter;
  }

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  private next(): Token {
    const token = this.tokens[this.index]!;
    if (token.kind !== 'end') this.index++;
    return token;
  }

  private isKeyword(token: Token, keyword: string): boolean {
    return token.kind === 'word' && token.text.toLowerCase() === keyword;
  }

  private expect(kind: TokenKind, context: string): Token {
    const token = this.next();
    if (token.kind !== kind) {
      throw invalid(`Expected "${kind}" ${context} at position ${token.position}, found ${describe(token)}`);
    }
    return token;
  }

  private enterGroup(position: number): void {
    this.depth++;
    if (this.depth > FILTER_LIMITS.maxDepth) {
      throw invalid(
        `Filter is nested too deeply at position ${position} (at most ${FILTER_LIMITS.maxDepth} levels)`,
      );
    }
  }

  private parseOr(inValuePath: boolean): FilterAst {
    const filters = [this.parseAnd(inValuePath)];
    while (this.isKeyword(this.peek(), 'or')) {
      this.next();
      filters.push(this.parseAnd(inValuePath));
    }
    return filters.length === 1 ? filters[0]! : { type: 'or', filters: flatten('or', filters) };
  }

  private parseAnd(inValuePath: boolean): FilterAst {
    const filters = [this.parseUnary(inValuePath)];
    while (this.isKeyword(this.peek(), 'and')) {
      this.next();
      filters.push(this.parseUnary(inValuePath));
    }
    return filters.length === 1 ? filters[0]! : { type: 'and', filters: flatten('and', filters) };
  }

  private parseUnary(inValuePath: boolean): FilterAst {
    const token = this.peek();
    if (token.kind === '(') {
      return this.parseGroup(inValuePath);
    }
    // `not` is a keyword only when a group follows; otherwise it is an attribute named "not".
    if (this.isKeyword(token, 'not') && this.tokens[this.index + 1]?.kind === '(') {
      this.next();
      return { type: 'not', filter: this.parseGroup(inValuePath) };
    }
    if (token.kind !== 'word') {
      throw invalid(
        `Expected an attribute, "not" or "(" at position ${token.position}, found ${describe(token)}`,
      );
    }
    return this.parseAttributeExpression(inValuePath);
  }

  private parseGroup(inValuePath: boolean): FilterAst {
    const open = this.expect('(', 'to open a group');
    this.enterGroup(open.position);
    const filter = this.parseOr(inValuePath);
    this.expect(')', `to close the group opened at position ${open.position}`);
    this.depth--;
    return filter;
  }

  private parseAttributeExpression(inValuePath: boolean): FilterAst {
    const pathToken = this.next();
    const attribute = pathToken.text;
    const validPath = inValuePath ? SUB_ATTRIBUTE_NAME.test(attribute) : ATTRIBUTE_PATH.test(attribute);
    if (!validPath) {
      const expected = inValuePath ? 'a sub-attribute name' : 'an attribute path';
      throw invalid(`Expected ${expected} at position ${pathToken.position}, found "${attribute}"`);
    }

    const operatorToken = this.next();
    if (operatorToken.kind === '[') {
      if (inValuePath) throw invalid(`Value paths cannot be nested (position ${operatorToken.position})`);
      this.enterGroup(operatorToken.position);
      const filter = this.parseOr(true);
      this.expect(
        ']',
        `to close the value path "${attribute}[" opened at position ${operatorToken.position}`,
      );
      this.depth--;
      return { type: 'valuePath', attribute, filter };
    }

    this.countTerm(pathToken.position);
    const operator = operatorToken.kind === 'word' ? operatorToken.text.toLowerCase() : '';
    if (operator === 'pr') return { type: 'present', attribute };
    if (!COMPARE_OPERATORS.has(operator)) {
      throw invalid(
        `Expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after "${attribute}" at position ${operatorToken.position}, found ${describe(operatorToken)}`,
      );
    }
    const value = this.parseValue(operator);
    return { type: 'compare', attribute, operator: operator as CompareOperator, value };
  }

  private parseValue(operator: string): FilterValue {
    const token = this.next();
    if (token.kind === 'string') return token.text;
    if (token.kind === 'number') {
      const value = Number(token.text);
      if (!Number.isFinite(value))
        throw invalid(`Number ${token.text} at position ${token.position} is out of range`);
      return value;
    }
    if (token.kind === 'word') {
      const literal = token.text.toLowerCase();
      if (literal === 'true') return true;
      if (literal === 'false') return false;
      if (literal === 'null') return null;
    }
    throw invalid(
      `Expected a value (a quoted string, number, true, false or null) after "${operator}" at position ${token.position}, found ${describe(token)}`,
    );
  }

  private countTerm(position: number): void {
    this.terms++;
    if (this.terms > FILTER_LIMITS.maxTerms) {
      throw invalid(
        `Filter has too many expressions at position ${position} (at most ${FILTER_LIMITS.maxTerms})`,
      );
    }
  }
}

/** `a and (b and c)` → `and[a, b, c]`: same meaning, flatter tree. */
function flatten(type: 'and' | 'or', filters: FilterAst[]): FilterAst[] {
  return filters.flatMap((filter) => (filter.type === type ? filter.filters : [filter]));
}

/**
 * Parses a SCIM filter into a {@link FilterAst}. Operators, `and`/`or`/`not` and the literals
 * `true`/`false`/`null` are case-insensitive; strings use JSON escapes. Throws
 * `ScimError(400, 'invalidFilter')` for malformed input or input over {@link FILTER_LIMITS}.
 */
export function parseFilter(text: string): FilterAst {
  if (text.length > FILTER_LIMITS.maxLength) {
    throw invalid(`Filter is too long (${text.length} characters, at most ${FILTER_LIMITS.maxLength})`);
  }
  if (text.trim() === '') throw invalid('Filter is empty');
  return new Parser(tokenize(text)).parse();
}

/** Renders a filter back to SCIM filter text (e.g. for requests to downstream apps). */
export function formatFilter(filter: FilterAst): string {
  switch (filter.type) {
    case 'compare':
      return `${filter.attribute} ${filter.operator} ${JSON.stringify(filter.value)}`;
    case 'present':
      return `${filter.attribute} pr`;
    case 'and':
    case 'or':
      return filter.filters
        .map((inner) =>
          inner.type === 'or' && filter.type === 'and' ? `(${formatFilter(inner)})` : formatFilter(inner),
        )
        .join(` ${filter.type} `);
    case 'not':
      return `not (${formatFilter(filter.filter)})`;
    case 'valuePath':
      return `${filter.attribute}[${formatFilter(filter.filter)}]`;
  }
}
