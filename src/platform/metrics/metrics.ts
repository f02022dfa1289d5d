import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { DataSource } from 'typeorm';

/**
 * The process's Prometheus registry. Feature modules register their own metrics on it (provider
 * queue lag, pushes by outcome, …); `/metrics` serves it in text format.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'identity_bridge_' });

/**
 * The metric registered under `name`, created by `create` the first time: module code can be
 * evaluated more than once in one process (tests), and the registry refuses a second metric of a
 * name.
 */
export function metricOnce<T>(name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

const httpDuration = new Histogram({
  name: 'identity_bridge_http_request_duration_seconds',
  help: 'HTTP request duration by method, route template and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

/**
 * Times every request. The label is the matched route template (`/api/v1/users/:id`), never the
 * raw path, so label cardinality stays bounded.
 */
export function httpMetricsMiddleware(req: Request, res: Response, next: NextFunction): void {
  const stop = httpDuration.startTimer();
  res.once('finish', () => {
    const route = (req.route as { path?: string } | undefined)?.path;
    const template = route ? `${req.baseUrl}${route}` : 'unmatched';
    stop({ method: req.method, route: template, status: String(res.statusCode) });
  });
  next();
}

interface PgPoolLike {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/** Connection-pool gauges read from the DataSource's pg pool at scrape time. */
export function registerPoolMetrics(dataSource: DataSource): void {
  const pool = (): PgPoolLike | undefined => (dataSource.driver as unknown as { master?: PgPoolLike }).master;
  const gauge = (name: string, help: string, read: (p: PgPoolLike) => number) => {
    registry.removeSingleMetric(name);
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const p = pool();
        this.set(p ? read(p) : 0);
      },
    });
  };
  gauge('identity_bridge_db_pool_connections', 'Open connections in the database pool', (p) => p.totalCount);
  gauge('identity_bridge_db_pool_idle', 'Idle connections in the database pool', (p) => p.idleCount);
  gauge('identity_bridge_db_pool_waiting', 'Queries waiting for a pool connection', (p) => p.waitingCount);
}
