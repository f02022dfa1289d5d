import { Counter, Gauge, Histogram } from 'prom-client';
import { metricOnce, registry } from '../../platform/metrics/metrics.js';

/** Per-provider metrics (label `provider` = provider id). Queue lag and run gauges are read at scrape time. */
export const pushesTotal = metricOnce(
  'identity_bridge_provider_pushes_total',
  () =>
    new Counter({
      name: 'identity_bridge_provider_pushes_total',
      help: 'Objects pushed to downstream apps, by provider and outcome (created, updated, deleted, deactivated, unchanged, skipped, failed, retried)',
      labelNames: ['provider', 'outcome'] as const,
      registers: [registry],
    }),
);

export const requestsTotal = metricOnce(
  'identity_bridge_provider_requests_total',
  () =>
    new Counter({
      name: 'identity_bridge_provider_requests_total',
      help: 'HTTP requests to downstream apps, by provider, method and outcome (HTTP status class or error kind)',
      labelNames: ['provider', 'method', 'outcome'] as const,
      registers: [registry],
    }),
);

export const requestDuration = metricOnce(
  'identity_bridge_provider_request_duration_seconds',
  () =>
    new Histogram({
      name: 'identity_bridge_provider_request_duration_seconds',
      help: 'Duration of HTTP requests to downstream apps',
      labelNames: ['provider', 'method'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
);

export const bulkRequestsTotal = metricOnce(
  'identity_bridge_provider_bulk_requests_total',
  () =>
    new Counter({
      name: 'identity_bridge_provider_bulk_requests_total',
      help: 'SCIM Bulk requests sent to downstream apps, by provider (each carries several writes)',
      labelNames: ['provider'] as const,
      registers: [registry],
    }),
);

export const bulkOperationsTotal = metricOnce(
  'identity_bridge_provider_bulk_operations_total',
  () =>
    new Counter({
      name: 'identity_bridge_provider_bulk_operations_total',
      help: 'Writes carried in SCIM Bulk requests, by provider',
      labelNames: ['provider'] as const,
      registers: [registry],
    }),
);

export const circuitOpen = metricOnce(
  'identity_bridge_provider_circuit_open',
  () =>
    new Gauge({
      name: 'identity_bridge_provider_circuit_open',
      help: '1 while the circuit breaker of a provider is open or half-open in this process',
      labelNames: ['provider'] as const,
      registers: [registry],
    }),
);

export const deltaLatency = metricOnce(
  'identity_bridge_provider_delta_latency_seconds',
  () =>
    new Histogram({
      name: 'identity_bridge_provider_delta_latency_seconds',
      help: 'From a directory change to the end of its push to a provider',
      labelNames: ['provider'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
);
