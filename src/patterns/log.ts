/** Anything with the usual level methods (console, pino, the server's Logger). */
export interface PatternLogger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn?(msg: string, fields?: Record<string, unknown>): void;
  info?(msg: string, fields?: Record<string, unknown>): void;
  debug?(msg: string, fields?: Record<string, unknown>): void;
}

export const quietLog: PatternLogger = { error: () => undefined };
