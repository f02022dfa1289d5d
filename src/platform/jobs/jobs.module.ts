import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { Role } from '../../config/config.js';
import { JobProcessors } from './job-processors.js';
import { JobQueue } from './job-queue.js';
import { ProcessPresence } from './process-presence.js';
import {
  DEFAULT_JOB_RUNNER_OPTIONS,
  JOB_RUNNER_OPTIONS,
  JobRunner,
  type JobRunnerOptions,
} from './job-runner.js';

/**
 * The job platform. Every role can enqueue ({@link JobQueue}); the runner only runs in worker
 * roles (`all`, `worker`), so `ROLE=api` processes serve HTTP and nothing else.
 */
@Global()
@Module({})
export class JobsModule {
  static forRoot(role: Role, options: Partial<JobRunnerOptions> = {}): DynamicModule {
    const runJobs = role !== 'api';
    return {
      module: JobsModule,
      providers: [
        JobQueue,
        JobProcessors,
        ProcessPresence,
        { provide: JOB_RUNNER_OPTIONS, useValue: { ...DEFAULT_JOB_RUNNER_OPTIONS, ...options } },
        ...(runJobs ? [JobRunner] : []),
      ],
      exports: [JobQueue, JobProcessors, ProcessPresence],
    };
  }
}
