import { Body, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { DomainError } from '../../../../platform/errors/domain-error.js';
import { flattenValidationErrors } from '../../../../platform/errors/validation.js';
import { AdminController, ApiProblems, ListQueryDto, pageOf } from '../../../../platform/http/openapi.js';
import { SourceErrors } from '../../scim-source.errors.js';
import { SourcesService, type SourceWithToken } from '../sources.service.js';
import {
  CreatedSourceDto,
  CreateSourceDto,
  RotateTokenDto,
  SourceDto,
  SourceTokenDto,
  UpdateSourceDto,
} from './source.dto.js';

const SourcePage = pageOf(SourceDto, 'SourcePage');

/** SCIM sources: the identity providers that provision into the bridge. */
@AdminController('sources', 'Sources')
export class SourcesController {
  constructor(private readonly sources: SourcesService) {}

  @Post()
  @ApiOperation({
    summary: 'Create a source',
    description:
      'Returns the SCIM base URL and the bearer token for the identity provider. The token is shown only here.',
  })
  @ApiCreatedResponse({ type: CreatedSourceDto })
  @ApiProblems(400, 409)
  async create(@Body() body: CreateSourceDto): Promise<CreatedSourceDto> {
    const created = await this.sources.create(body);
    return { ...this.toDto(created), token: created.secret };
  }

  @Get()
  @ApiOperation({ summary: 'List sources' })
  @ApiOkResponse({ type: SourcePage })
  @ApiProblems(400)
  async list(@Query() query: ListQueryDto) {
    const page = await this.sources.list(query.limit, query.cursor);
    return { items: page.items.map((s) => this.toDto(s)), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read a source (never its token)' })
  @ApiOkResponse({ type: SourceDto })
  @ApiProblems(400, 404)
  async get(@Param('id', new ParseUUIDPipe()) id: string): Promise<SourceDto> {
    return this.toDto(await this.sources.get(id));
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Change a source (JSON merge patch, RFC 7396)',
    description:
      '`null` for `userMappings` or `groupMappings` restores the managed defaults. The slug cannot change.',
  })
  @ApiBody({ type: UpdateSourceDto })
  @ApiOkResponse({ type: SourceDto })
  @ApiProblems(400, 404)
  async update(@Param('id', new ParseUUIDPipe()) id: string, @Body() patch: unknown): Promise<SourceDto> {
    const changes = await validatedPatch(patch);
    const userDefaults =
      changes.userMappings === null ? await this.sources.defaultMappingIds('source:user') : undefined;
    const groupDefaults =
      changes.groupMappings === null ? await this.sources.defaultMappingIds('source:group') : undefined;
    const current = await this.sources.get(id);
    if (changes.slug !== undefined && changes.slug !== current.source.slug)
      throw SourceErrors.slugImmutable();
    const updated = await this.sources.update(id, (settings) => ({
      name: changes.name ?? settings.name,
      enabled: changes.enabled ?? settings.enabled,
      userMappings: userDefaults ?? changes.userMappings ?? settings.userMappings,
      groupMappings: groupDefaults ?? changes.groupMappings ?? settings.groupMappings,
      deleteBehavior: changes.deleteBehavior ?? settings.deleteBehavior,
    }));
    return this.toDto(updated);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Remove a source',
    description:
      'Its token stops working at once. The users and groups it provisioned stay in the directory, no longer linked to any source.',
  })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiProblems(400, 404)
  async delete(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    await this.sources.delete(id);
  }

  @Post(':id/token')
  @ApiOperation({
    summary: 'Rotate the token of a source',
    description:
      'Issues a new token (shown only here). The old one keeps working for `graceSeconds` (default 0: it stops now).',
  })
  @ApiCreatedResponse({ type: SourceTokenDto })
  @ApiProblems(400, 404)
  async rotate(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: RotateTokenDto,
  ): Promise<SourceTokenDto> {
    const { secret, token } = await this.sources.rotateToken(id, body);
    return {
      token: secret,
      tokenPrefix: token.prefix,
      tokenExpiresAt: token.expiresAt?.toISOString() ?? null,
    };
  }

  private toDto({ source, token }: SourceWithToken): SourceDto {
    return {
      id: source.id,
      slug: source.slug,
      name: source.name,
      enabled: source.enabled,
      scimBaseUrl: this.sources.scimBaseUrl(source.slug),
      userMappings: source.userMappingIds,
      groupMappings: source.groupMappingIds,
      deleteBehavior: source.deleteBehavior,
      tokenPrefix: token?.prefix ?? null,
      tokenExpiresAt: token?.expiresAt?.toISOString() ?? null,
      createdAt: source.createdAt.toISOString(),
      updatedAt: source.updatedAt.toISOString(),
    };
  }
}

/** A merge patch of flat settings is a per-key assignment: validate it as such. */
async function validatedPatch(patch: unknown): Promise<UpdateSourceDto> {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new DomainError('invalid_merge_patch', 'validation', 'A merge patch must be a JSON object');
  }
  const body = patch as Record<string, unknown>;
  for (const key of ['name', 'enabled', 'deleteBehavior', 'slug']) {
    if (body[key] === null)
      throw SourceErrors.invalidSettings([{ field: key, message: 'cannot be removed' }]);
  }
  const instance = plainToInstance(UpdateSourceDto, patch);
  const errors = await validate(instance, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
  });
  if (errors.length > 0) throw SourceErrors.invalidSettings(flattenValidationErrors(errors));
  return instance;
}
