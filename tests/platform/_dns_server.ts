/**
 * A minimal authoritative DNS server over UDP on loopback for tests: answers
 * A, AAAA and SRV questions from a fixed table, NXDOMAIN for other names and
 * REFUSED for names marked so.
 *
 * @module
 */
import { createSocket } from "node:dgram";
import type { AddressInfo } from "node:net";

/** The records one name answers with; `refuse` answers REFUSED. */
export interface Zone {
  [name: string]: {
    refuse?: boolean;
    a?: string[];
    aaaa?: string[];
    srv?: { priority: number; weight: number; port: number; target: string }[];
  };
}

/** A running test DNS server. */
export interface DnsServer {
  /** The UDP port it listens on (on 127.0.0.1). */
  port: number;
  /** Stops it. */
  close(): Promise<void>;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;
const TYPE_SRV = 33;

function encodeName(name: string): number[] {
  const out: number[] = [];
  for (const label of name.replace(/\.$/, "").split(".")) {
    const bytes = new TextEncoder().encode(label);
    out.push(bytes.length, ...bytes);
  }
  out.push(0);
  return out;
}

function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

function ipv6(address: string): number[] {
  const [head, tail = ""] = address.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = address.includes("::")
    ? [...left, ...Array(8 - left.length - right.length).fill("0"), ...right]
    : left;
  return groups.flatMap((g) => u16(parseInt(g, 16)));
}

function answer(query: Uint8Array, zone: Zone): Uint8Array {
  let offset = 12;
  const labels: string[] = [];
  while (query[offset] !== 0) {
    const length = query[offset];
    labels.push(
      new TextDecoder().decode(query.subarray(offset + 1, offset + 1 + length)),
    );
    offset += length + 1;
  }
  offset += 1;
  const type = (query[offset] << 8) | query[offset + 1];
  const question = [...query.subarray(12, offset + 4)];
  const entry = zone[labels.join(".").toLowerCase()];
  const records: number[][] = [];
  const rr = (rtype: number, rdata: number[]) =>
    records.push([
      0xc0,
      12,
      ...u16(rtype),
      ...u16(1),
      0,
      0,
      0,
      30,
      ...u16(rdata.length),
      ...rdata,
    ]);
  if (type === TYPE_A) {
    for (const a of entry?.a ?? []) rr(TYPE_A, a.split(".").map(Number));
  } else if (type === TYPE_AAAA) {
    for (const a of entry?.aaaa ?? []) rr(TYPE_AAAA, ipv6(a));
  } else if (type === TYPE_SRV) {
    for (const s of entry?.srv ?? []) {
      rr(TYPE_SRV, [
        ...u16(s.priority),
        ...u16(s.weight),
        ...u16(s.port),
        ...encodeName(s.target),
      ]);
    }
  }
  const rcode = entry?.refuse ? 5 : entry ? 0 : 3;
  return new Uint8Array([
    query[0],
    query[1],
    0x84 | (query[2] & 0x01),
    0x80 | rcode,
    ...u16(1),
    ...u16(records.length),
    ...u16(0),
    ...u16(0),
    ...question,
    ...records.flat(),
  ]);
}

/**
 * Starts a DNS server on 127.0.0.1 (a free UDP port) serving `zone`.
 *
 * @example
 * ```ts ignore
 * const dns = await startDnsServer({ "a.test": { a: ["10.0.0.1"] } });
 * await dns.close();
 * ```
 */
export async function startDnsServer(zone: Zone): Promise<DnsServer> {
  const socket = createSocket("udp4");
  socket.on("message", (msg, rinfo) => {
    socket.send(answer(msg, zone), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return {
    port: (socket.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
