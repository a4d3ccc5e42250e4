import { redact } from './redact';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

/** JSON lines on stdout. Fields pass through `redact`, so a credential or value never reaches a log line. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export function createLogger(options: { level: LogLevel; write?: (line: string) => void; base?: LogFields }): Logger {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const min = rank[options.level];
  const base = options.base ?? {};
  const hasBase = Object.keys(base).length > 0;
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (rank[level] < min) return;
    const own = fields ? redact(hasBase ? { ...base, ...fields } : fields) : hasBase ? redact(base) : undefined;
    write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...own }));
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => createLogger({ ...options, base: { ...base, ...fields } }),
  };
}

/** For tests and tools that must stay quiet. */
export const silentLogger: Logger = createLogger({ level: 'error', write: () => {} });
