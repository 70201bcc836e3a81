/**
 * Internal: the byte writer and reader of the binary grant messages.
 * Unsigned LEB128 varints up to `Number.MAX_SAFE_INTEGER`; shard lists as a
 * length and the gaps between ascending shards.
 *
 * @module
 */
import { ShardFormatError } from "./errors.ts";

/** Grows a byte buffer. */
export class ByteWriter {
  #bytes: number[] = [];

  /** One byte. */
  byte(value: number): void {
    this.#bytes.push(value & 0xff);
  }

  /** A non-negative safe integer as an unsigned LEB128 varint. */
  varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new ShardFormatError(
        `Expected a non-negative safe integer to encode, found ${value}`,
      );
    }
    let v = value;
    while (v >= 0x80) {
      this.#bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.#bytes.push(v);
  }

  /** Strictly ascending shards: their count, then the gaps between them. */
  shards(shards: readonly number[]): void {
    this.varint(shards.length);
    let previous = -1;
    for (const s of shards) {
      if (!Number.isSafeInteger(s) || s <= previous) {
        throw new ShardFormatError(
          `Expected strictly ascending shard numbers to encode, found ${s} after ${previous}`,
        );
      }
      this.varint(s - previous - 1);
      previous = s;
    }
  }

  /** The bytes written. */
  finish(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }
}

/** Reads what {@linkcode ByteWriter} wrote; every error is a {@linkcode ShardFormatError}. */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #what: string;
  #at = 0;

  /** Reads `bytes`, naming them `what` in errors. */
  constructor(bytes: Uint8Array, what: string) {
    if (!(bytes instanceof Uint8Array)) {
      throw new ShardFormatError(
        `Expected the ${what} to be a Uint8Array, found ${typeof bytes}`,
      );
    }
    this.#bytes = bytes;
    this.#what = what;
  }

  /** One byte. */
  byte(field: string): number {
    if (this.#at >= this.#bytes.length) this.#truncated(field);
    return this.#bytes[this.#at++];
  }

  /** An unsigned LEB128 varint that fits a safe integer. */
  varint(field: string): number {
    let value = 0;
    let scale = 1;
    for (let i = 0;; i++) {
      if (this.#at >= this.#bytes.length) this.#truncated(field);
      const b = this.#bytes[this.#at++];
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (i > 0 && b === 0) {
          throw new ShardFormatError(
            `Expected the ${this.#what}'s ${field} as a minimal varint, found a padded one at byte ${
              this.#at - 1
            }`,
          );
        }
        break;
      }
      scale *= 0x80;
      if (i >= 7) {
        throw new ShardFormatError(
          `Expected the ${this.#what}'s ${field} to fit a safe integer, found a varint of more than 8 bytes`,
        );
      }
    }
    if (!Number.isSafeInteger(value)) {
      throw new ShardFormatError(
        `Expected the ${this.#what}'s ${field} to fit a safe integer, found ${value}`,
      );
    }
    return value;
  }

  /** Strictly ascending shards below `limit`. */
  shards(field: string, limit: number): number[] {
    const count = this.varint(`${field} count`);
    if (count > limit) {
      throw new ShardFormatError(
        `Expected at most ${limit} shards in the ${this.#what}'s ${field}, found ${count}`,
      );
    }
    const out: number[] = [];
    let previous = -1;
    for (let i = 0; i < count; i++) {
      const shard = previous + 1 + this.varint(field);
      if (shard >= limit) {
        throw new ShardFormatError(
          `Expected the ${this.#what}'s ${field} to name shards below ${limit}, found ${shard}`,
        );
      }
      out.push(shard);
      previous = shard;
    }
    return out;
  }

  /** Throws unless every byte was read. */
  end(): void {
    if (this.#at !== this.#bytes.length) {
      throw new ShardFormatError(
        `Expected the ${this.#what} to end after ${this.#at} bytes, found ${
          this.#bytes.length - this.#at
        } more`,
      );
    }
  }

  #truncated(field: string): never {
    throw new ShardFormatError(
      `Expected the ${this.#what}'s ${field} at byte ${this.#at}, found the end of ${this.#bytes.length} bytes`,
    );
  }
}
