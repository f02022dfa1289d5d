import { applyDecorators, Controller, HttpStatus, type Type } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiExtraModels,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { Type as TransformType } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

/** RFC 9457 problem details, as every admin API error is shaped. */
export class ProblemDto {
  @ApiProperty({ example: 'urn:identity-bridge:problem:validation_failed' }) type: string;
  @ApiProperty({ example: 'Bad Request' }) title: string;
  @ApiProperty({ example: 400 }) status: number;
  @ApiProperty({ example: 'Invalid request: userName: userName must be a string' }) detail: string;
  @ApiProperty({ example: 'validation_failed', description: 'Stable machine-readable error code' })
  code: string;
  @ApiPropertyOptional({ example: '/api/v1/users' }) instance?: string;
  @ApiPropertyOptional({ description: 'The request id, also in the X-Request-Id header' }) requestId?: string;
  @ApiPropertyOptional({
    description: 'Per-field validation errors',
    type: 'array',
    items: {
      type: 'object',
      properties: { field: { type: 'string' }, message: { type: 'string' } },
      required: ['field', 'message'],
    },
  })
  errors?: { field: string; message: string }[];
}

const problemResponse = (status: number, description: string) =>
  ApiResponse({
    status,
    description,
    content: { 'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDto) } } },
  });

/** Documents problem+json responses for the given statuses. */
export const ApiProblems = (...statuses: number[]) =>
  applyDecorators(
    ...statuses.map((status) =>
      problemResponse(status, PROBLEM_DESCRIPTIONS[status] ?? `Error ${status} (problem+json)`),
    ),
  );

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (problem+json listing the failing fields)',
  401: 'Missing or invalid admin token',
  404: 'No such object',
  409: 'Conflict with the current state (e.g. a duplicate userName)',
  412: 'The If-Match version does not match',
  413: 'Request body too large',
  500: 'Unexpected error (logged with the request id)',
};

/**
 * The one decorator an admin controller needs: route prefix, OpenAPI tag, bearer auth and the
 * error responses every admin route can give.
 */
export const AdminController = (path: string, tag: string) =>
  applyDecorators(
    Controller(`api/v1/${path}`),
    ApiTags(tag),
    ApiBearerAuth(),
    ApiExtraModels(ProblemDto),
    ApiProblems(HttpStatus.UNAUTHORIZED, HttpStatus.INTERNAL_SERVER_ERROR),
  );

/** `?limit=&cursor=` on every list. */
export class ListQueryDto {
  /** Page size, 1–500 (default 50). */
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50, description: 'Page size' })
  @IsOptional()
  @TransformType(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit: number = 50;

  @ApiPropertyOptional({ description: 'Opaque cursor from a previous page’s `nextCursor`' })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  cursor?: string;
}

/** A page: `{ items, nextCursor }` with the item schema filled in. */
export function pageOf<T>(item: Type<T>, name: string): Type<{ items: T[]; nextCursor: string | null }> {
  class Page {
    @ApiProperty({ type: [item] }) items: T[];
    @ApiProperty({
      type: String,
      nullable: true,
      description: 'Pass as `cursor` for the next page; null on the last',
    })
    nextCursor: string | null;
  }
  Object.defineProperty(Page, 'name', { value: name });
  return Page;
}
