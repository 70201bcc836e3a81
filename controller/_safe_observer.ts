/**
 * Internal: observer hooks that cannot break the runtime. A hook that
 * throws is reported to `onError` and otherwise ignored.
 *
 * @module
 */

/** `observer` with every method wrapped so that a throw goes to `onError`. */
export function safeObserver<O extends object>(
  observer: O | undefined,
  onError: (hook: string, error: unknown) => void,
): O | undefined {
  if (observer === undefined) return undefined;
  return new Proxy(observer, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        try {
          return value.apply(target, args);
        } catch (error) {
          onError(String(property), error);
          return undefined;
        }
      };
    },
  });
}
