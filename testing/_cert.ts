/**
 * A throwaway certificate authority and server certificate, made in-process
 * with `node:crypto` (ECDSA P-256 keys and signatures) and a minimal DER
 * writer for the X.509 structures. No network, no dependency: the test
 * server makes a fresh pair on every start.
 *
 * Two certificates rather than one self-signed leaf, because TLS stacks
 * differ on a self-signed end-entity certificate (rustls refuses a CA
 * certificate used as the server's own, OpenSSL wants a CA to anchor on);
 * a CA plus a leaf it signed is accepted by both.
 *
 * @module
 */
import {
  createHash,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from "node:crypto";

/** The PEM texts the server and its clients need. */
export interface TestCertificates {
  /** The CA certificate clients trust. */
  caPem: string;
  /** The server certificate (signed by the CA). */
  certPem: string;
  /** The server's private key (PKCS#8). */
  keyPem: string;
}

const OID = {
  ecPublicKey: "1.2.840.10045.2.1",
  prime256v1: "1.2.840.10045.3.1.7",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

function concat(parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function tlv(tag: number, value: Uint8Array): Uint8Array {
  const len = value.length;
  let header: number[];
  if (len < 0x80) header = [tag, len];
  else {
    const bytes: number[] = [];
    for (let n = len; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
    header = [tag, 0x80 | bytes.length, ...bytes];
  }
  return concat([Uint8Array.from(header), value]);
}

const seq = (...items: Uint8Array[]) => tlv(0x30, concat(items));
const set = (...items: Uint8Array[]) => tlv(0x31, concat(items));
const octets = (value: Uint8Array) => tlv(0x04, value);
const bits = (value: Uint8Array) =>
  tlv(0x03, concat([Uint8Array.of(0), value]));
const utf8 = (text: string) => tlv(0x0c, new TextEncoder().encode(text));
const bool = (value: boolean) => tlv(0x01, Uint8Array.of(value ? 0xff : 0));
const explicit = (n: number, value: Uint8Array) => tlv(0xa0 + n, value);

function integer(value: Uint8Array): Uint8Array {
  let v = value;
  while (v.length > 1 && v[0] === 0 && (v[1] & 0x80) === 0) v = v.subarray(1);
  if (v[0] & 0x80) v = concat([Uint8Array.of(0), v]);
  return tlv(0x02, v);
}

function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  const bytes: number[] = [arcs[0] * 40 + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) {
      chunk.unshift((n & 0x7f) | 0x80);
    }
    bytes.push(...chunk);
  }
  return tlv(0x06, Uint8Array.from(bytes));
}

function time(date: Date): Uint8Array {
  const p = (n: number) => String(n).padStart(2, "0");
  const text = `${p(date.getUTCFullYear() % 100)}${p(date.getUTCMonth() + 1)}${
    p(date.getUTCDate())
  }${p(date.getUTCHours())}${p(date.getUTCMinutes())}${
    p(date.getUTCSeconds())
  }Z`;
  return tlv(0x17, new TextEncoder().encode(text));
}

function name(commonName: string): Uint8Array {
  return seq(
    set(seq(oid(OID.organization), utf8("k8s-operator testing"))),
    set(seq(oid(OID.commonName), utf8(commonName))),
  );
}

function extension(id: string, critical: boolean, value: Uint8Array) {
  return critical
    ? seq(oid(id), bool(true), octets(value))
    : seq(oid(id), octets(value));
}

function ipBytes(ip: string): Uint8Array | null {
  const v4 = ip.split(".");
  if (v4.length === 4 && v4.every((p) => /^\d{1,3}$/.test(p))) {
    return Uint8Array.from(v4.map(Number));
  }
  if (ip === "::1") {
    const out = new Uint8Array(16);
    out[15] = 1;
    return out;
  }
  return null;
}

function subjectAltNames(hosts: string[]): Uint8Array {
  const entries = hosts.map((host) => {
    const ip = ipBytes(host);
    return ip ? tlv(0x87, ip) : tlv(0x82, new TextEncoder().encode(host));
  });
  return seq(...entries);
}

function spkiDer(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ type: "spki", format: "der" }));
}

function keyId(spki: Uint8Array): Uint8Array {
  // The SHA-1 of the whole SPKI; any stable unique value is valid here.
  return new Uint8Array(createHash("sha1").update(spki).digest());
}

function pem(label: string, der: Uint8Array): string {
  const b64 = btoa(String.fromCharCode(...der));
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${
    lines.join("\n")
  }\n-----END ${label}-----\n`;
}

interface CertificateSpec {
  subject: string;
  issuer: string;
  subjectKey: KeyObject;
  issuerKey: KeyObject;
  extensions: Uint8Array[];
  now: Date;
}

function certificate(spec: CertificateSpec): Uint8Array {
  const algorithm = seq(oid(OID.ecdsaWithSha256));
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  const tbs = seq(
    explicit(0, integer(Uint8Array.of(2))),
    integer(new Uint8Array(serial)),
    algorithm,
    name(spec.issuer),
    seq(
      time(new Date(spec.now.getTime() - 3600_000)),
      time(new Date(spec.now.getTime() + 365 * 24 * 3600_000)),
    ),
    name(spec.subject),
    spkiDer(spec.subjectKey),
    explicit(3, seq(...spec.extensions)),
  );
  const signature = new Uint8Array(sign("sha256", tbs, spec.issuerKey));
  return seq(tbs, algorithm, bits(signature));
}

/**
 * Makes a CA and a server certificate for `hosts` (names and IP
 * addresses), valid from an hour ago for a year.
 */
export function makeTestCertificates(
  hosts: string[],
  now: Date = new Date(),
): TestCertificates {
  const ca = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const leaf = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const caKeyId = keyId(spkiDer(ca.publicKey));
  const caDer = certificate({
    subject: "k8s-operator testing CA",
    issuer: "k8s-operator testing CA",
    subjectKey: ca.publicKey,
    issuerKey: ca.privateKey,
    now,
    extensions: [
      extension(OID.basicConstraints, true, seq(bool(true))),
      // keyCertSign | cRLSign
      extension(OID.keyUsage, true, bits(Uint8Array.of(0x06))),
      extension(OID.subjectKeyIdentifier, false, octets(caKeyId)),
    ],
  });
  const leafDer = certificate({
    subject: "k8s-operator testing apiserver",
    issuer: "k8s-operator testing CA",
    subjectKey: leaf.publicKey,
    issuerKey: ca.privateKey,
    now,
    extensions: [
      extension(OID.basicConstraints, true, seq()),
      // digitalSignature
      extension(OID.keyUsage, true, bits(Uint8Array.of(0x80))),
      extension(
        OID.extKeyUsage,
        false,
        seq(oid(OID.serverAuth), oid(OID.clientAuth)),
      ),
      extension(OID.subjectAltName, false, subjectAltNames(hosts)),
      extension(
        OID.authorityKeyIdentifier,
        false,
        seq(tlv(0x80, caKeyId)),
      ),
    ],
  });
  return {
    caPem: pem("CERTIFICATE", caDer),
    certPem: pem("CERTIFICATE", leafDer),
    keyPem: String(leaf.privateKey.export({ type: "pkcs8", format: "pem" })),
  };
}
