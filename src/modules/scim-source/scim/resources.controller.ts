import {
  All,
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { ProjectionOptions } from '../../../lib/scim/projection.js';
import { ScimError } from '../../../lib/scim/schema.types.js';
import { Public } from '../../../platform/http/public.decorator.js';
import type { ScimResourceTypeName } from '../links/link.entity.js';
import type { LinkRow } from '../links/links.repository.js';
import { parseListRequest, parseSearchRequest, queryParameters } from './list-request.js';
import { notModified } from './preconditions.js';
import { etagOfVersion } from './representation.js';
import { sourceOf, ScimSourceGuard } from './scim-auth.guard.js';
import { ScimCommands } from './scim-commands.js';
import { sendScim } from './scim-http.js';
import { ScimQueryService } from './scim-query.service.js';

/** `attributes` / `excludedAttributes` of a single-resource request. */
function projectionOf(query: unknown): ProjectionOptions {
  return parseListRequest(queryParameters(query)).projection;
}

const hasProjection = (p: ProjectionOptions): boolean =>
  p.attributes !== undefined || p.excludedAttributes !== undefined;

/**
 * The RFC 7644 resource endpoints, the same for Users and Groups. Thin: parse, call the query
 * service or the commands, shape the response (status, ETag, Location, projection).
 */
abstract class ResourceEndpoints {
  protected abstract readonly type: ScimResourceTypeName;

  constructor(
    protected readonly query: ScimQueryService,
    protected readonly commands: ScimCommands,
  ) {}

  @Get()
  async list(@Req() req: Request, @Query() query: unknown, @Res() res: Response): Promise<void> {
    const request = parseListRequest(queryParameters(query));
    sendScim(res, 200, await this.query.list(sourceOf(req), this.type, request));
  }

  @Post('.search')
  async search(@Req() req: Request, @Body() body: unknown, @Res() res: Response): Promise<void> {
    const request = parseSearchRequest(body);
    sendScim(res, 200, await this.query.list(sourceOf(req), this.type, request));
  }

  @Get(':id')
  async get(
    @Req() req: Request,
    @Param('id') id: string,
    @Query() query: unknown,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    const projection = projectionOf(query);
    const source = sourceOf(req);
    const link = await this.query.get(source, this.type, id, projection);
    const etag = etagOfVersion(link.version);
    if (notModified(ifNoneMatch, link.version)) {
      res.status(304).setHeader('ETag', etag).end();
      return;
    }
    sendScim(res, 200, this.query.render(source, link, projection), { ETag: etag });
  }

  @Post()
  async create(
    @Req() req: Request,
    @Body() body: unknown,
    @Query() query: unknown,
    @Res() res: Response,
  ): Promise<void> {
    const projection = projectionOf(query);
    const link = await this.commands.of(this.type).create(sourceOf(req), body);
    await this.respond(req, res, 201, link, projection, { created: true, fresh: this.type === 'User' });
  }

  @Put(':id')
  async replace(
    @Req() req: Request,
    @Param('id') id: string,
    @Body() body: unknown,
    @Query() query: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    const projection = projectionOf(query);
    const link = await this.commands.of(this.type).replace(sourceOf(req), id, body, ifMatch);
    await this.respond(req, res, 200, link, projection);
  }

  /**
   * Users answer 200 with the resource. Groups answer 204 (a group's members can be many), or 200
   * with the resource when the request asks for attributes.
   */
  @Patch(':id')
  async patch(
    @Req() req: Request,
    @Param('id') id: string,
    @Body() body: unknown,
    @Query() query: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    const projection = projectionOf(query);
    const link = await this.commands.of(this.type).patch(sourceOf(req), id, body, ifMatch);
    if (this.type === 'Group' && !hasProjection(projection)) {
      res.status(204).setHeader('ETag', etagOfVersion(link.version)).end();
      return;
    }
    await this.respond(req, res, 200, link, projection);
  }

  @Delete(':id')
  async delete(
    @Req() req: Request,
    @Param('id') id: string,
    @Headers('if-match') ifMatch: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    await this.commands.of(this.type).delete(sourceOf(req), id, ifMatch);
    res.status(204).end();
  }

  private async respond(
    req: Request,
    res: Response,
    status: number,
    link: LinkRow,
    projection: ProjectionOptions,
    { created = false, fresh = false }: { created?: boolean; fresh?: boolean } = {},
  ) {
    const source = sourceOf(req);
    const resource = await this.query.resource(source, link, projection, fresh);
    const headers: Record<string, string> = { ETag: etagOfVersion(link.version) };
    if (created)
      headers['Location'] =
        `${this.query.baseUrl(source)}/${this.type === 'User' ? 'Users' : 'Groups'}/${link.id}`;
    sendScim(res, status, resource, headers);
  }
}

@ApiExcludeController()
@Public()
@UseGuards(ScimSourceGuard)
@Controller('scim/:slug/v2/Users')
export class ScimUsersController extends ResourceEndpoints {
  protected readonly type = 'User';

  constructor(query: ScimQueryService, commands: ScimCommands) {
    super(query, commands);
  }
}

@ApiExcludeController()
@Public()
@UseGuards(ScimSourceGuard)
@Controller('scim/:slug/v2/Groups')
export class ScimGroupsController extends ResourceEndpoints {
  protected readonly type = 'Group';

  constructor(query: ScimQueryService, commands: ScimCommands) {
    super(query, commands);
  }
}

/** RFC 7644 §3.11: `/Me` is optional; without a user behind a source token it is not implemented. */
@ApiExcludeController()
@Public()
@UseGuards(ScimSourceGuard)
@Controller('scim/:slug/v2/Me')
export class ScimMeController {
  @All()
  me(): never {
    throw new ScimError(
      501,
      undefined,
      'The /Me endpoint is not supported: a source token does not stand for a user',
    );
  }
}
