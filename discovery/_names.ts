/**
 * Internal helpers: DNS names and `host:port` addresses.
 *
 * @module
 */
import { DiscoveryConfigError } from "./errors.ts";
import type { Peer } from "./peer.ts";

/** An option being checked: its name, and how a message calls it. */
export interface Checked {
  /** The option's name, such as `service`. */
  option: string;
  /** How a message calls it, such as "the service name". */
  what: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HOST_NAME =
  /^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Whether `value` is an RFC 1123 label as Kubernetes names require. */
export function isDnsLabel(value: string): boolean {
  return value.length <= 63 && DNS_LABEL.test(value);
}

/** Throws {@linkcode DiscoveryConfigError} unless `value` is a DNS label. */
export function requireDnsLabel(value: string, checked: Checked): string {
  if (typeof value !== "string" || !isDnsLabel(value)) {
    throw DiscoveryConfigError.option(checked.what, {
      option: checked.option,
      value,
      expected:
        "a DNS label (lower-case letters, digits and '-', at most 63 characters)",
    });
  }
  return value;
}

/** Throws {@linkcode DiscoveryConfigError} unless `value` is a dotted DNS name. */
export function requireDnsName(value: string, checked: Checked): string {
  const labels = typeof value === "string" ? value.split(".") : [];
  if (labels.length === 0 || !labels.every(isDnsLabel)) {
    throw DiscoveryConfigError.option(checked.what, {
      option: checked.option,
      value,
      expected: 'a DNS name such as "cluster.local"',
    });
  }
  return value;
}

/** Throws {@linkcode DiscoveryConfigError} unless `port` is in 1..65535. */
export function requirePort(port: number, checked: Checked): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw DiscoveryConfigError.option(checked.what, {
      option: checked.option,
      value: port,
      expected: "a port from 1 to 65535",
    });
  }
  return port;
}

/** `name` without one trailing dot (DNS answers carry fully qualified names). */
export function withoutTrailingDot(name: string): string {
  return name.endsWith(".") ? name.slice(0, -1) : name;
}

/** `name` with exactly one trailing dot, so no search domain is appended. */
export function fullyQualified(name: string): string {
  return name.endsWith(".") ? name : `${name}.`;
}

/** Whether `host` is an IPv4 or IPv6 literal. */
export function isIpLiteral(host: string): boolean {
  const v4 = IPV4.exec(host);
  if (v4) return v4.slice(1).every((part) => Number(part) <= 255);
  return host.includes(":") && /^[0-9A-Fa-f:.]+$/.test(host);
}

/** Whether `host` is a valid host name (labels of letters, digits, '-'). */
export function isHostName(host: string): boolean {
  return host.length <= 253 && HOST_NAME.test(host) &&
    host.split(".").every((label) => label.length <= 63);
}

/** `host:port`, with an IPv6 host in brackets. */
export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Splits `host:port` (IPv6 in brackets; a host name may end in a dot, fully
 * qualified); `null` when malformed.
 */
export function parseAddress(
  address: string,
): { host: string; port: number } | null {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(
    address,
  );
  if (!match) return null;
  const host = match[1] ?? match[2];
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return null;
  if (
    match[1] !== undefined
      ? !isIpLiteral(host)
      : !(isIpLiteral(host) || isHostName(withoutTrailingDot(host)))
  ) {
    return null;
  }
  return { host, port };
}

/** Splits a StatefulSet pod name `name-N` into set name and ordinal; `null` if it is not one. */
export function splitOrdinal(
  podName: string,
): { statefulSet: string; ordinal: number } | null {
  if (!isDnsLabel(podName)) return null;
  const match = /^([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)-(0|[1-9][0-9]*)$/.exec(
    podName,
  );
  if (!match) return null;
  const ordinal = Number(match[2]);
  if (!Number.isSafeInteger(ordinal)) return null;
  return { statefulSet: match[1], ordinal };
}

/** Sorts peers by node id (null last), then host, then port. */
export function comparePeers(a: Peer, b: Peer): number {
  const ia = a.nodeId ?? Number.POSITIVE_INFINITY;
  const ib = b.nodeId ?? Number.POSITIVE_INFINITY;
  if (ia !== ib) return ia < ib ? -1 : 1;
  if (a.host !== b.host) return a.host < b.host ? -1 : 1;
  return a.port - b.port;
}
