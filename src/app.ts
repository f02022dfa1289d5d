import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { pinoHttp } from 'pino-http';
import { AppModule, type AppDependencies } from './app.module.js';
import { registerPoolMetrics, httpMetricsMiddleware } from './platform/metrics/metrics.js';
import { PinoNestLogger } from './platform/logging/logger.js';
import { requestContextMiddleware } from './platform/http/request-context.js';
import { MAX_BODY_BYTES } from './platform/http/body-limit.js';

export const JSON_MEDIA_TYPES = [
  'application/json',
  'application/scim+json',
  'application/merge-patch+json',
  'application/*+json',
];

/**
 * Builds the HTTP application without listening: `main.ts` listens, tests drive it with supertest.
 * Workers get the same app (health and metrics only) so every role is observable the same way.
 */
export async function createApp(deps: AppDependencies): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(deps), {
    logger: new PinoNestLogger(deps.logger.child({ component: 'nest' })),
    bodyParser: false,
    abortOnError: false,
  });
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', true);
  app.use(requestContextMiddleware);
  app.use(
    pinoHttp({
      logger: deps.logger.child({ component: 'http' }),
      genReqId: (req) => (req as { id?: string }).id ?? '',
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug',
      autoLogging: { ignore: (req) => ['/healthz', '/readyz', '/metrics'].includes(req.url ?? '') },
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          url: req.url.split('?')[0],
        }),
      },
    }),
  );
  app.use(httpMetricsMiddleware);
  app.useBodyParser('json', { limit: MAX_BODY_BYTES, type: JSON_MEDIA_TYPES, strict: false });
  registerPoolMetrics(deps.dataSource);

  if (deps.config.role !== 'worker') {
    const document = buildOpenApiDocument(app, deps.config.publicUrl);
    SwaggerModule.setup('api/docs', app, document, {
      jsonDocumentUrl: 'api/docs-json',
      yamlDocumentUrl: 'api/docs-yaml',
    });
  }
  // No enableShutdownHooks(): main.ts owns SIGTERM/SIGINT, drains via app.close(), then stops the database.
  return app;
}

export function buildOpenApiDocument(app: NestExpressApplication, publicUrl: string): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Identity Bridge admin API')
    .setDescription(
      'Configure SCIM sources (identity providers in), providers (apps out), property mappings and the directory. ' +
        'Every route needs an admin bearer token. Errors are RFC 9457 problem+json. Lists take `limit` and `cursor` and return `{ items, nextCursor }`.',
    )
    .setVersion('1')
    .addServer(publicUrl)
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'Admin token (ibadm_…) or ADMIN_TOKEN' })
    .build();
  return SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '')}_${method}`,
  });
}
