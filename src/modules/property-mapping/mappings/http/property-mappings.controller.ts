import {
  Body,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import type { Response } from 'express';
import { applyMergePatch } from '../../../../lib/merge/json-merge-patch.js';
import { DomainError } from '../../../../platform/errors/domain-error.js';
import { flattenValidationErrors } from '../../../../platform/errors/validation.js';
import { etagOf, versionFromIfMatch } from '../../../../platform/http/etag.js';
import { AdminController, ApiProblems, pageOf } from '../../../../platform/http/openapi.js';
import type { PropertyMappingEntity } from '../property-mapping.entity.js';
import { PropertyMappingsService } from '../property-mappings.service.js';
import { CopyMappingDto, MappingBodyDto, MappingDto, MappingListQueryDto } from './property-mapping.dto.js';

const MappingPage = pageOf(MappingDto, 'PropertyMappingPage');
const IF_MATCH = {
  name: 'If-Match',
  required: false,
  description: 'Only write if the version still matches (ETag from a read)',
};

/** Admins' property mappings. Managed (shipped) ones are read-only: copy one to change it. */
@AdminController('property-mappings', 'Property mappings')
export class PropertyMappingsController {
  constructor(private readonly mappings: PropertyMappingsService) {}

  @Get()
  @ApiOperation({ summary: 'List property mappings', description: 'Ordered by name; `scope` filters.' })
  @ApiOkResponse({ type: MappingPage })
  @ApiProblems(400)
  async list(@Query() query: MappingListQueryDto) {
    const page = await this.mappings.list(query.limit, query.cursor, query.scope);
    return { items: page.items.map(toMappingDto), nextCursor: page.nextCursor };
  }

  @Post()
  @ApiOperation({
    summary: 'Create a property mapping',
    description: 'The expression is compiled: a syntax error is a 400 naming line and column.',
  })
  @ApiCreatedResponse({ type: MappingDto })
  @ApiProblems(400, 409)
  async create(@Body() body: MappingBodyDto, @Res({ passthrough: true }) res: Response) {
    const mapping = await this.mappings.create(body);
    res
      .setHeader('ETag', etagOf(mapping.version))
      .setHeader('Location', `/api/v1/property-mappings/${mapping.id}`);
    return toMappingDto(mapping);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read a property mapping' })
  @ApiOkResponse({ type: MappingDto })
  @ApiProblems(400, 404)
  async get(@Param('id', new ParseUUIDPipe()) id: string, @Res({ passthrough: true }) res: Response) {
    const mapping = await this.mappings.get(id);
    res.setHeader('ETag', etagOf(mapping.version));
    return toMappingDto(mapping);
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Change a property mapping (JSON merge patch, RFC 7396)',
    description: 'Managed mappings answer 403: copy them instead. The scope cannot change.',
  })
  @ApiHeader(IF_MATCH)
  @ApiBody({
    schema: {
      type: 'object',
      example: { expression: 'return { title: upper(user.title) };', description: null },
    },
  })
  @ApiOkResponse({ type: MappingDto })
  @ApiProblems(400, 403, 404, 409, 412)
  async patch(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() patch: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
      throw new DomainError('invalid_merge_patch', 'validation', 'A merge patch must be a JSON object');
    }
    const current = await this.mappings.get(id);
    const expectedVersion = versionFromIfMatch(ifMatch) ?? current.version;
    const base = {
      name: current.name,
      scope: current.scope,
      expression: current.expression,
      description: current.description,
    };
    const body = await validated(MappingBodyDto, applyMergePatch(base, patch));
    const mapping = await this.mappings.replace(id, body, expectedVersion);
    res.setHeader('ETag', etagOf(mapping.version));
    return toMappingDto(mapping);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete a property mapping',
    description: 'Refused (409) while a source or provider lists it; 403 for managed mappings.',
  })
  @ApiHeader(IF_MATCH)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblems(400, 403, 404, 409, 412)
  async delete(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Headers('if-match') ifMatch: string | undefined,
  ) {
    await this.mappings.delete(id, versionFromIfMatch(ifMatch));
  }

  @Post(':id/copy')
  @ApiOperation({
    summary: 'Copy a property mapping',
    description:
      'A new, unmanaged mapping with the same scope and expression: how a managed mapping is changed.',
  })
  @ApiCreatedResponse({ type: MappingDto })
  @ApiProblems(400, 404, 409)
  async copy(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: CopyMappingDto,
    @Res({ passthrough: true }) res: Response,
  ) {
    const mapping = await this.mappings.copy(id, body.name);
    res
      .setHeader('ETag', etagOf(mapping.version))
      .setHeader('Location', `/api/v1/property-mappings/${mapping.id}`);
    return toMappingDto(mapping);
  }
}

export function toMappingDto(mapping: PropertyMappingEntity): MappingDto {
  return {
    id: mapping.id,
    name: mapping.name,
    scope: mapping.scope,
    expression: mapping.expression,
    description: mapping.description,
    managed: mapping.managedKey !== null,
    managedKey: mapping.managedKey,
    version: mapping.version,
    createdAt: mapping.createdAt.toISOString(),
    updatedAt: mapping.updatedAt.toISOString(),
  };
}

/** Validates a plain object against a DTO class the way the global pipe does. */
async function validated<T extends object>(cls: new () => T, value: unknown): Promise<T> {
  const instance = plainToInstance(cls, value);
  const errors = await validate(instance, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
  });
  if (errors.length > 0) {
    const list = flattenValidationErrors(errors);
    throw new DomainError(
      'validation_failed',
      'validation',
      `Invalid request: ${list.map((e) => `${e.field}: ${e.message}`).join('; ')}`,
      {
        errors: list,
      },
    );
  }
  return instance;
}
