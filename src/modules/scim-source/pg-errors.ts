/** PostgreSQL SQLSTATE of a driver error, if any. */
export function pgCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; driverError?: { code?: unknown } };
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The constraint a driver error names, if any. */
export function pgConstraint(error: unknown): string | undefined {
  const e = error as { constraint?: unknown; driverError?: { constraint?: unknown } };
  const c = e?.driverError?.constraint ?? e?.constraint;
  return typeof c === 'string' ? c : undefined;
}

/** A unique violation of the named index or constraint. */
export const isUniqueViolation = (error: unknown, constraint: string): boolean =>
  pgCode(error) === '23505' && pgConstraint(error) === constraint;
