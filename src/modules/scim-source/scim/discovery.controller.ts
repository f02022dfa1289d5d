import { Controller, Get, Param, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ScimError } from '../../../lib/scim/schema.types.js';
import { MAX_BODY_BYTES } from '../../../platform/http/body-limit.js';
import { Public } from '../../../platform/http/public.decorator.js';
import {
  allResourceTypes,
  allSchemas,
  findResourceType,
  findSchemaDocument,
  listOf,
  resourceTypeDocument,
  schemaDocument,
  serviceProviderConfig,
} from './discovery.js';
import { queryParameters } from './list-request.js';
import { sourceOf, ScimSourceGuard } from './scim-auth.guard.js';
import { sendScim } from './scim-http.js';
import { ScimQueryService } from './scim-query.service.js';

/** RFC 7644 §4: filters are not supported on the discovery endpoints, and must not look as if they were. */
function refuseFilter(query: unknown): void {
  const params = queryParameters(query);
  if (Object.keys(params).some((key) => key.toLowerCase() === 'filter')) {
    throw new ScimError(403, undefined, 'Filtering is not supported on this endpoint');
  }
}

/** `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas`: generated from what the server implements. */
@ApiExcludeController()
@Public()
@UseGuards(ScimSourceGuard)
@Controller('scim/:slug/v2')
export class ScimDiscoveryController {
  constructor(private readonly query: ScimQueryService) {}

  @Get('ServiceProviderConfig')
  config(@Req() req: Request, @Res() res: Response): void {
    sendScim(res, 200, serviceProviderConfig(this.base(req), MAX_BODY_BYTES));
  }

  @Get('ResourceTypes')
  resourceTypes(@Req() req: Request, @Query() query: unknown, @Res() res: Response): void {
    refuseFilter(query);
    sendScim(res, 200, listOf(allResourceTypes().map((type) => resourceTypeDocument(type, this.base(req)))));
  }

  @Get('ResourceTypes/:name')
  resourceType(@Req() req: Request, @Param('name') name: string, @Res() res: Response): void {
    const type = findResourceType(name);
    if (!type) throw new ScimError(404, undefined, `Resource type "${name}" not found`);
    sendScim(res, 200, resourceTypeDocument(type, this.base(req)));
  }

  @Get('Schemas')
  schemas(@Req() req: Request, @Query() query: unknown, @Res() res: Response): void {
    refuseFilter(query);
    sendScim(res, 200, listOf(allSchemas().map((schema) => schemaDocument(schema, this.base(req)))));
  }

  @Get('Schemas/:urn')
  schema(@Req() req: Request, @Param('urn') urn: string, @Res() res: Response): void {
    const schema = findSchemaDocument(urn);
    if (!schema) throw new ScimError(404, undefined, `Schema "${urn}" not found`);
    sendScim(res, 200, schemaDocument(schema, this.base(req)));
  }

  private base(req: Request): string {
    return this.query.baseUrl(sourceOf(req));
  }
}
