import { BadRequestException, ValidationPipe, type ValidationError } from '@nestjs/common';
import type { FieldError } from './domain-error.js';

/** Flattens class-validator's tree into `{ field: "emails[0].value", message }` entries. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = /^\d+$/.test(error.property)
      ? `${parent}[${error.property}]`
      : parent
        ? `${parent}.${error.property}`
        : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}

/** The admin API's validation: whitelist, reject unknown fields, list every failing field. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    forbidUnknownValues: true,
    exceptionFactory: (errors) => {
      const list = flattenValidationErrors(errors);
      return new BadRequestException({
        code: 'validation_failed',
        detail: `Invalid request: ${list.map((e) => `${e.field}: ${e.message}`).join('; ')}`,
        errors: list,
      });
    },
  });
}
