/** The job platform: catalogue, transactional enqueue, runner (graphile-worker). */
export { JobsModule } from './jobs.module.js';
export {
  JobQueue,
  JOBS_SCHEMA,
  DEFAULT_MAX_ATTEMPTS,
  type AddJobOptions,
  type JobSpec,
} from './job-queue.js';
export { JobProcessors } from './job-processors.js';
export { ProcessPresence, processAliveSql } from './process-presence.js';
export {
  JOB_QUEUES,
  unknownJob,
  type JobName,
  type JobPayloads,
  type JobProcessor,
  type ProcessorQueue,
  type QueuedJob,
  type SyncObjectType,
} from './job-catalogue.js';
export { retryDelayMs } from './backoff.js';
