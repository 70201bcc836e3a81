/**
 * The logger the controller writes to: structured fields, no globals.
 *
 * @module
 */

/** Structured fields of a log line. */
export type LogFields = Record<string, unknown>;

/**
 * Where the controller's log lines go. Any object with these methods fits,
 * so a logger of your own (pino, winston, console) plugs in directly.
 *
 * @example Plugging in your own logger
 * ```ts
 * import type { Logger } from "./log.ts";
 * const mine: Logger = {
 *   debug: (message, fields) => console.debug(message, fields),
 *   info: (message, fields) => console.info(message, fields),
 *   warn: (message, fields) => console.warn(message, fields),
 *   error: (message, fields) => console.error(message, fields),
 * };
 * ```
 */
export interface Logger {
  /** Detail for debugging (one line per reconcile); optional. */
  debug?(message: string, fields?: LogFields): void;
  /** Routine progress. */
  info(message: string, fields?: LogFields): void;
  /** Something went wrong and will be retried. */
  warn(message: string, fields?: LogFields): void;
  /** Something went wrong. */
  error(message: string, fields?: LogFields): void;
}

/**
 * A logger writing one JSON line per entry to the console.
 *
 * @example
 * ```ts
 * import { consoleLogger } from "./log.ts";
 * consoleLogger.info("started", { workers: 4 });
 * ```
 */
export const consoleLogger: Logger = {
  debug: (message, fields) => console.debug(line("debug", message, fields)),
  info: (message, fields) => console.log(line("info", message, fields)),
  warn: (message, fields) => console.warn(line("warn", message, fields)),
  error: (message, fields) => console.error(line("error", message, fields)),
};

/**
 * A logger that drops everything.
 *
 * @example
 * ```ts
 * import { silentLogger } from "./log.ts";
 * silentLogger.warn("ignored");
 * ```
 */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

function line(level: string, message: string, fields?: LogFields): string {
  return JSON.stringify(
    { level, message, ...fields },
    (_key, value) =>
      value instanceof Error ? `${value.name}: ${value.message}` : value,
  );
}
