import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs on stdout (pino). Tests pass `silent`. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'newspush' }, redact: ['req.headers.authorization', 'headers.authorization'] });
}
