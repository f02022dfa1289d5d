/**
 * Binds `value` as the next positional parameter of a statement being built, cast to `type`:
 * `INSERT … SELECT $n::type …` needs the casts, because PostgreSQL cannot infer a parameter's
 * type from a SELECT list the way it does from VALUES. Returns the placeholder (`$n::type`).
 */
export function bindParam(params: unknown[], value: unknown, type: string): string {
  params.push(value);
  return `$${params.length}::${type}`;
}
