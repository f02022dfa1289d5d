import { Injectable } from '@nestjs/common';
import { JOB_QUEUES, type JobProcessor, type ProcessorQueue } from './job-catalogue.js';

/**
 * Where feature modules hand their processor to the runner: one processor per queue. Modules
 * register in their constructor or `onModuleInit`; the runner starts after every module is
 * initialised and refuses to start if a queue has none.
 */
@Injectable()
export class JobProcessors {
  private readonly processors = new Map<ProcessorQueue, JobProcessor<ProcessorQueue>>();

  register<Q extends ProcessorQueue>(queue: Q, processor: JobProcessor<Q>): void {
    if (this.processors.has(queue)) throw new Error(`A processor for queue ${queue} is already registered`);
    this.processors.set(queue, processor as unknown as JobProcessor<ProcessorQueue>);
  }

  get(queue: ProcessorQueue): JobProcessor<ProcessorQueue> | undefined {
    return this.processors.get(queue);
  }

  /** Queues of the catalogue that have no processor. */
  missing(): ProcessorQueue[] {
    return (Object.keys(JOB_QUEUES) as ProcessorQueue[]).filter((q) => !this.processors.has(q));
  }
}
