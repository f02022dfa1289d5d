import { CronExpressionParser } from 'cron-parser';
import type { ProviderSchedule } from './provider.entity.js';

/**
 * When the next scheduled full sync is due after `from`, or null when there is no schedule or it
 * is paused. Throws on an invalid cron expression or time zone (caught at save time).
 */
export function nextRunAt(schedule: ProviderSchedule | null, from: Date): Date | null {
  if (!schedule || schedule.paused) return null;
  if (schedule.cron) {
    return CronExpressionParser.parse(schedule.cron, { currentDate: from, tz: schedule.timezone ?? 'UTC' })
      .next()
      .toDate();
  }
  if (schedule.intervalMinutes) return new Date(from.getTime() + schedule.intervalMinutes * 60_000);
  return null;
}

/** A readable problem with a schedule, or null when it is valid. */
export function scheduleProblem(schedule: ProviderSchedule | null): string | null {
  if (!schedule) return null;
  if (schedule.cron && schedule.intervalMinutes) return 'give either cron or intervalMinutes, not both';
  if (!schedule.cron && !schedule.intervalMinutes) return 'give cron or intervalMinutes';
  try {
    nextRunAt({ ...schedule, paused: false }, new Date());
    return null;
  } catch (error) {
    return `invalid cron expression or timezone: ${error instanceof Error ? error.message : String(error)}`;
  }
}
