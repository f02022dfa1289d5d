import { Body, Controller, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../../../platform/http/public.decorator.js';
import { ScimBulkService } from './bulk.service.js';
import { sourceOf, ScimSourceGuard } from './scim-auth.guard.js';
import { sendScim } from './scim-http.js';

/** `POST /Bulk` (RFC 7644 §3.7). */
@ApiExcludeController()
@Public()
@UseGuards(ScimSourceGuard)
@Controller('scim/:slug/v2/Bulk')
export class ScimBulkController {
  constructor(private readonly bulk: ScimBulkService) {}

  @Post()
  async execute(@Req() req: Request, @Body() body: unknown, @Res() res: Response): Promise<void> {
    sendScim(res, 200, await this.bulk.execute(sourceOf(req), body));
  }
}
