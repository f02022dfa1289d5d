import { Controller, Get, Header, HttpStatus, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { migrationsApplied } from '../database/migrate.js';
import { Public } from '../http/public.decorator.js';
import { registry } from '../metrics/metrics.js';

/** Liveness, readiness and metrics: no token, served by every role. */
@Public()
@ApiExcludeController()
@Controller()
export class HealthController {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  async readyz(@Res() res: Response): Promise<void> {
    const checks = { database: false, migrations: false };
    try {
      await this.dataSource.query('SELECT 1');
      checks.database = true;
      checks.migrations = await migrationsApplied(this.dataSource);
    } catch {
      // reported below as not ready
    }
    const ready = checks.database && checks.migrations;
    res
      .status(ready ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE)
      .json({ status: ready ? 'ready' : 'not_ready', checks });
  }

  @Get('metrics')
  @Header('Content-Type', registry.contentType)
  async metrics(): Promise<string> {
    return registry.metrics();
  }
}
