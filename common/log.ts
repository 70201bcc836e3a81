/**
 * The logger the controller writes to: structured fields, no globals.
 *
 * @module
 */

/**
 * Structured fields of a log line.
 *
 * @example
 * ```ts
 * import { consoleLogger, type LogFields } from "./log.ts";
 * const fields: LogFields = { key: "default/web", term: 7, durationMs: 12.5 };
 * consoleLogger.info("reconciled", fields);
 * ```
 */
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

/**
 * Log levels, from the most to the least verbose.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonLogger, type LogLevel } from "./log.ts";
 * const verbose = false; // e.g. from a --verbose flag
 * const level: LogLevel = verbose ? "debug" : "info";
 * const lines: string[] = [];
 * const logger = jsonLogger({ level, write: (line) => lines.push(line) });
 * logger.debug?.("reconciled", { key: "default/web" }); // written only at "debug"
 * logger.info("started", { node: 0 });
 * assert.equal(lines.length, 1);
 * assert.equal(JSON.parse(lines[0]).message, "started");
 * ```
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVELS: Record<LogLevel, number> = {
  debug: 0,
  info: 1,
  warn: 2,
  error: 3,
};

/**
 * Options of {@linkcode jsonLogger}.
 *
 * @example
 * ```ts
 * import { jsonLogger, type JsonLoggerOptions } from "./log.ts";
 * const options: JsonLoggerOptions = {
 *   level: "warn",
 *   fields: { pod: "widget-operator-0", controller: "widgets" },
 *   write: (line) => console.error(line), // stderr instead of stdout
 * };
 * const logger = jsonLogger(options);
 * logger.info("dropped"); // below "warn"
 * logger.warn("watch failed, retrying", { resource: "widgets" });
 * ```
 */
export interface JsonLoggerOptions {
  /** The least severe level written (default `info`). */
  level?: LogLevel;
  /** Where each line goes, without its newline (default `console.log`). */
  write?: (line: string) => void;
  /** Fields added to every line (for instance `{ pod: "op-0" }`). */
  fields?: LogFields;
  /** The wall clock for the `time` field (default `Date.now`). */
  now?: () => number;
}

/**
 * A logger writing one JSON object per line: `time` (RFC 3339), `level`,
 * `message`, then the fields. Errors become `"Name: message"`; values JSON
 * cannot hold (bigint, cycles) are written as strings, never thrown.
 *
 * @example
 * ```ts
 * import { jsonLogger } from "./log.ts";
 * const lines: string[] = [];
 * const logger = jsonLogger({ level: "debug", write: (l) => lines.push(l), now: () => 0 });
 * logger.debug?.("reconciled", { key: "default/web", term: 3 });
 * console.log(lines[0]);
 * // {"time":"1970-01-01T00:00:00.000Z","level":"debug","message":"reconciled","key":"default/web","term":3}
 * ```
 */
export function jsonLogger(options: JsonLoggerOptions = {}): Logger {
  const threshold = LEVELS[options.level ?? "info"];
  if (threshold === undefined) {
    throw new RangeError(
      `Expected a log level of debug, info, warn or error, found ${
        JSON.stringify(options.level)
      }`,
    );
  }
  const write = options.write ?? ((l: string) => console.log(l));
  const now = options.now ?? Date.now;
  const base = options.fields;
  const at = (level: LogLevel) =>
    LEVELS[level] < threshold
      ? () => {}
      : (message: string, fields?: LogFields) =>
        write(line(level, message, { ...base, ...fields }, now()));
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
  };
}

/**
 * A logger that adds `fields` to every line of `logger` (the line's own
 * fields win).
 *
 * @example
 * ```ts
 * import { consoleLogger, withFields } from "./log.ts";
 * const log = withFields(consoleLogger, { controller: "widgets" });
 * log.info("started");
 * ```
 */
export function withFields(logger: Logger, fields: LogFields): Logger {
  const merge = (more?: LogFields) => ({ ...fields, ...more });
  return {
    debug: (message, more) => logger.debug?.(message, merge(more)),
    info: (message, more) => logger.info(message, merge(more)),
    warn: (message, more) => logger.warn(message, merge(more)),
    error: (message, more) => logger.error(message, merge(more)),
  };
}

function line(
  level: string,
  message: string,
  fields?: LogFields,
  time?: number,
): string {
  const head = time === undefined
    ? { level, message }
    : { time: new Date(time).toISOString(), level, message };
  const entry = { ...head, ...fields };
  try {
    return JSON.stringify(entry, replacer);
  } catch {
    return JSON.stringify({ ...head, fields: String(fields) });
  }
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === "bigint") return value.toString();
  return value;
}
