import { Smartlog } from '@push.rocks/smartlog';
import type { ILoggingConfig } from './interfaces.core.js';

type TLevel = NonNullable<ILoggingConfig['level']>;

const LEVEL_RANK: Record<TLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };

/**
 * Structured logging through smartlog. smartlog's own `minimumLogLevel` is not applied, so the
 * level filter lives here.
 */
export class Logger {
  private readonly smartlog: Smartlog;
  private readonly rank: number;

  constructor(config: ILoggingConfig = {}) {
    this.rank = LEVEL_RANK[config.level ?? 'info'];
    this.smartlog = new Smartlog({
      logContext: { company: 'push.rocks', companyunit: 'smartregistry', containerName: 'smartregistry', environment: 'production', runtime: 'node', zone: 'local' },
    });
    if (this.rank > 0) this.smartlog.enableConsole();
  }

  error(message: string, data?: unknown) {
    this.write('error', message, data);
  }
  warn(message: string, data?: unknown) {
    this.write('warn', message, data);
  }
  info(message: string, data?: unknown) {
    this.write('info', message, data);
  }
  debug(message: string, data?: unknown) {
    this.write('debug', message, data);
  }

  private write(level: Exclude<TLevel, 'silent'>, message: string, data?: unknown) {
    if (LEVEL_RANK[level] > this.rank) return;
    const payload = data instanceof Error ? { error: data.message, stack: data.stack } : data;
    void this.smartlog.log(level, message, payload).catch(() => undefined);
  }
}
