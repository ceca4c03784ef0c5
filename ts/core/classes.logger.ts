import { Smartlog } from '@push.rocks/smartlog';
import { describeError, serializeError } from './helpers.errortext.js';
import type { ILoggingConfig } from './interfaces.core.js';

type TLevel = NonNullable<ILoggingConfig['level']>;

const LEVEL_RANK: Record<TLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };

/**
 * Structured logging through smartlog. smartlog's own `minimumLogLevel` is not applied, so the
 * level filter lives here. An error passed along is written into the text itself (its cause chain,
 * stacks and codes), because smartlog's console output prints only the text; destinations also get
 * it as data (`{ error }`).
 */
export class Logger {
  private readonly smartlog: Smartlog;
  private readonly rank: number;

  constructor(config: ILoggingConfig = {}) {
    this.rank = LEVEL_RANK[config.level ?? 'info'];
    this.smartlog = new Smartlog({
      logContext: { company: 'push.rocks', companyunit: 'smartregistry', containerName: 'smartregistry', environment: 'production', runtime: 'node', zone: 'local' },
    });
    if (this.rank === 0) return;
    if (config.console !== false) this.smartlog.enableConsole();
    for (const destination of config.destinations ?? []) this.smartlog.addLogDestination(destination);
  }

  /** `error`: what was thrown, if anything. */
  error(message: string, error?: unknown) {
    this.write('error', message, error);
  }
  warn(message: string, error?: unknown) {
    this.write('warn', message, error);
  }
  info(message: string) {
    this.write('info', message);
  }
  debug(message: string) {
    this.write('debug', message);
  }

  private write(level: Exclude<TLevel, 'silent'>, message: string, error?: unknown) {
    if (LEVEL_RANK[level] > this.rank) return;
    const text = error === undefined ? message : `${message}\n${describeError(error)}`;
    const data = error === undefined ? undefined : { error: serializeError(error) };
    void this.smartlog.log(level, text, data).catch(() => undefined);
  }
}
