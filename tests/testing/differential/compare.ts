/**
 * The differences between what two planes answered, as paths into the
 * observation with both values.
 *
 * @module
 */

/** One difference: where, and what each plane showed (`undefined`: absent). */
export interface Difference {
  path: string;
  fake: unknown;
  real: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function step(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key)
    ? `${path}.${key}`
    : `${path}[${JSON.stringify(key)}]`;
}

/** Every leaf-most difference between `fake` and `real`. */
export function differences(
  fake: unknown,
  real: unknown,
  path = "",
): Difference[] {
  if (Array.isArray(fake) && Array.isArray(real)) {
    const out: Difference[] = [];
    const n = Math.max(fake.length, real.length);
    for (let i = 0; i < n; i++) {
      out.push(...differences(fake[i], real[i], `${path}[${i}]`));
    }
    return out;
  }
  if (isRecord(fake) && isRecord(real)) {
    const out: Difference[] = [];
    const keys = new Set([...Object.keys(fake), ...Object.keys(real)]);
    for (const key of [...keys].sort()) {
      out.push(...differences(fake[key], real[key], step(path, key)));
    }
    return out;
  }
  if (JSON.stringify(fake) === JSON.stringify(real)) return [];
  return [{ path, fake, real }];
}
