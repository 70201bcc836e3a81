/**
 * The string formats a kube-apiserver 1.32 checks in custom resources
 * (apiextensions' `supportedFormats`, checked by kube-openapi's `strfmt`
 * registry). Any other format is stripped by the server and never checked.
 * Each checker follows the Go function the server calls; `email` and `uri`
 * (Go's `net/mail` and `net/url` parsers) are close approximations.
 *
 * @module
 */
import { compilePattern } from "./_regexp.ts";

function re(pattern: string): (value: string) => boolean {
  const compiled = compilePattern(pattern);
  if (compiled instanceof Error) throw compiled;
  return (value) => compiled.test(value);
}

function bytes(value: string): number {
  return new TextEncoder().encode(value).length;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Go's `time.Parse("2006-01-02", s)`. */
function isDate(value: string): boolean {
  const match = DATE.exec(value);
  if (match === null) return false;
  const [year, month, day] = [
    Number(match[1]),
    Number(match[2]),
    Number(match[3]),
  ];
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return day <= days[month - 1];
}

const TIME = re(
  "^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$",
);
const TIME_PARTS =
  /^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$/;

/** strfmt's `IsDateTime`: the date, a `t`, then the time with a zone. */
function isDateTime(value: string): boolean {
  if (value.length < 4) return false;
  const parts = value.toLowerCase().split("t");
  if (parts.length < 2 || !isDate(parts[0])) return false;
  if (!TIME(parts[1])) return false;
  const m = TIME_PARTS.exec(parts[1]);
  return m !== null && m[1] <= "23" && m[2] <= "59" && m[3] <= "59";
}

const GO_DURATION =
  /^[-+]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+$/;
const UNITS = [
  ["ns", "nano"],
  ["us", "\u00b5s", "micro"],
  ["ms", "milli"],
  ["s", "sec"],
  ["m", "min"],
  ["h", "hr", "hour"],
  ["d", "day"],
  ["w", "wk", "week"],
];

/** strfmt's `ParseDuration`: Go's, else any `<digits><unit>` it finds. */
function isDuration(value: string): boolean {
  if (/^[-+]?0$/.test(value) || GO_DURATION.test(value)) return true;
  for (
    const match of value.matchAll(/([0-9]+)[\t\n\f\r ]*([A-Za-z\u00b5]+)/g)
  ) {
    const unit = match[2].toLowerCase();
    for (const variants of UNITS) {
      const last = variants.length - 1;
      if (
        variants.some((variant, i) =>
          (i === last && unit.startsWith(variant)) || variant === unit
        )
      ) {
        return true;
      }
    }
  }
  return false;
}

/** k8s.io/utils/net `ParseIPSloppy`'s IPv4: leading zeros allowed. */
function parseIPv4(value: string): boolean {
  const parts = value.split(".");
  if (parts.length !== 4) return false;
  return parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255);
}

/** Go's IPv6 parser (with an IPv4 tail), strict or sloppy about zeros. */
function parseIPv6(value: string, sloppy: boolean): boolean {
  let rest = value;
  let groups = 0;
  let ellipsis = false;
  if (rest.startsWith("::")) {
    ellipsis = true;
    rest = rest.slice(2);
    if (rest === "") return true;
  }
  while (rest.length > 0) {
    const hex = /^[0-9a-fA-F]{1,4}/.exec(rest);
    if (hex === null) return false;
    if (
      rest.length > hex[0].length && rest[hex[0].length] === "." &&
      (ellipsis || groups === 6) && groups <= 6
    ) {
      const v4 = rest;
      if (!sloppy && v4.split(".").some((p) => p.length > 1 && p[0] === "0")) {
        return false;
      }
      if (!parseIPv4(v4)) return false;
      groups += 2;
      rest = "";
      break;
    }
    groups++;
    rest = rest.slice(hex[0].length);
    if (rest === "") break;
    if (rest[0] !== ":" || rest.length === 1) return false;
    rest = rest.slice(1);
    if (rest[0] === ":") {
      if (ellipsis) return false;
      ellipsis = true;
      rest = rest.slice(1);
      if (rest === "") break;
    }
    if (groups > 8) return false;
  }
  return ellipsis ? groups < 8 : groups === 8;
}

function parseIP(value: string, sloppy: boolean): boolean {
  for (const c of value) {
    if (c === ".") {
      if (
        !sloppy && value.split(".").some((p) => p.length > 1 && p[0] === "0")
      ) {
        return false;
      }
      return parseIPv4(value);
    }
    if (c === ":") return parseIPv6(value, sloppy);
  }
  return false;
}

function isCIDR(value: string): boolean {
  const slash = value.indexOf("/");
  if (slash < 0) return false;
  const address = value.slice(0, slash);
  const mask = value.slice(slash + 1);
  if (!/^[0-9]+$/.test(mask) || !parseIP(address, true)) return false;
  const bits = address.includes(":") ? 128 : 32;
  return Number(mask) <= bits;
}

/** Go's `net.ParseMAC`. */
function isMAC(value: string): boolean {
  if (value.length < 14) return false;
  if (value[2] === ":" || value[2] === "-") {
    if ((value.length + 1) % 3 !== 0) return false;
    const n = (value.length + 1) / 3;
    if (n !== 6 && n !== 8 && n !== 20) return false;
    const sep = value[2];
    for (let i = 0; i < n; i++) {
      const at = i * 3;
      if (!/^[0-9a-fA-F]{2}$/.test(value.slice(at, at + 2))) return false;
      if (i < n - 1 && value[at + 2] !== sep) return false;
    }
    return true;
  }
  if (value[4] === ".") {
    if ((value.length + 1) % 5 !== 0) return false;
    const n = (2 * (value.length + 1)) / 5;
    if (n !== 6 && n !== 8 && n !== 20) return false;
    for (let i = 0; i < n / 2; i++) {
      const at = i * 5;
      if (!/^[0-9a-fA-F]{4}$/.test(value.slice(at, at + 4))) return false;
      if (i < n / 2 - 1 && value[at + 4] !== ".") return false;
    }
    return true;
  }
  return false;
}

const HOSTNAME = re(
  "^([a-zA-Z0-9\\p{S}\\p{L}]((-?[a-zA-Z0-9\\p{S}\\p{L}]{0,62})?)|([a-zA-Z0-9\\p{S}\\p{L}](([a-zA-Z0-9-\\p{S}\\p{L}]{0,61}[a-zA-Z0-9\\p{S}\\p{L}])?)(\\.)){1,}([a-zA-Z\\p{L}]){2,63})$",
);

function isHostname(value: string): boolean {
  return HOSTNAME(value) && bytes(value) <= 255 &&
    value.split(".").every((part) => bytes(part) <= 63);
}

const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const DOT_ATOM = `${ATEXT}(?:\\.${ATEXT})*`;
const QUOTED = '"(?:[^"\\\\\\r\\n]|\\\\.)*"';
const ADDR_SPEC =
  `(?:${DOT_ATOM}|${QUOTED})@(?:${DOT_ATOM}|\\[[^\\[\\]\\\\]*\\])`;
const EMAIL = new RegExp(
  `^[ \\t]*(?:${ADDR_SPEC}|(?:(?:${ATEXT}|${QUOTED})(?:[ \\t]+(?:${ATEXT}|${QUOTED}))*[ \\t]*)?<${ADDR_SPEC}>)[ \\t]*$`,
);

/** Go's `net/mail.ParseAddress` (without comments and encoded words). */
function isEmail(value: string): boolean {
  return EMAIL.test(value);
}

/** Go's `net/url.ParseRequestURI`: an absolute URI or an absolute path. */
function isRequestURI(value: string): boolean {
  for (const c of value) {
    const code = c.codePointAt(0)!;
    if (code < 0x20 || code === 0x7f) return false;
  }
  if (/%(?![0-9A-Fa-f]{2})/.test(value.split("#")[0])) return false;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(value);
  if (scheme === null) return value.startsWith("/");
  const rest = scheme[2];
  if (!rest.startsWith("//")) return true;
  const authority = rest.slice(2).split(/[/?#]/)[0];
  const host = authority.slice(authority.lastIndexOf("@") + 1);
  if (host.startsWith("[")) {
    return /^\[[0-9A-Fa-f:.]+(%25[^\]]*)?\](:[0-9]*)?$/.test(host);
  }
  return /^[A-Za-z0-9\-._~!$&'()*+,;=%]*(:[0-9]*)?$/.test(host);
}

function isISBN10(value: string): boolean {
  const s = value.replace(/[\s-]+/g, "");
  if (!/^(?:[0-9]{9}X|[0-9]{10})$/.test(s)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (i + 1) * Number(s[i]);
  sum += 10 * (s[9] === "X" ? 10 : Number(s[9]));
  return sum % 11 === 0;
}

function isISBN13(value: string): boolean {
  const s = value.replace(/[\s-]+/g, "");
  if (!/^[0-9]{13}$/.test(s)) return false;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(s[i]) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10 === Number(s[12]);
}

const CREDIT_CARD =
  /^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35[0-9]{3})[0-9]{11})$/;

function isCreditCard(value: string): boolean {
  const s = value.replace(/[^0-9]+/g, "");
  if (!CREDIT_CARD.test(s)) return false;
  let sum = 0;
  let double = false;
  for (let i = s.length - 1; i >= 0; i--) {
    let digit = Number(s[i]);
    if (double) {
      digit *= 2;
      sum += digit >= 10 ? (digit % 10) + 1 : digit;
    } else {
      sum += digit;
    }
    double = !double;
  }
  return sum % 10 === 0;
}

const UUID = "[0-9a-f]{8}-?[0-9a-f]{4}-?";
const OCTET = "(0|[1-9]\\d?|1\\d\\d?|2[0-4]\\d|25[0-5])";

const CHECKS: Record<string, (value: string) => boolean> = {
  bsonobjectid: (v) => /^[0-9a-fA-F]{24}$/.test(v),
  uri: isRequestURI,
  email: isEmail,
  hostname: isHostname,
  ipv4: (v) => parseIP(v, true) && v.includes("."),
  ipv6: (v) => parseIP(v, false) && v.includes(":"),
  cidr: isCIDR,
  mac: isMAC,
  uuid: re(`(?i)^${UUID}[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$`),
  uuid3: re(`(?i)^${UUID}3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$`),
  uuid4: re(`(?i)^${UUID}4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$`),
  uuid5: re(`(?i)^${UUID}5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$`),
  isbn: (v) => isISBN10(v) || isISBN13(v),
  isbn10: isISBN10,
  isbn13: isISBN13,
  creditcard: isCreditCard,
  ssn: (v) => v.length === 11 && re("^\\d{3}[- ]?\\d{2}[- ]?\\d{4}$")(v),
  hexcolor: re("^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"),
  rgbcolor: re(
    `^rgb\\(\\s*${OCTET}\\s*,\\s*${OCTET}\\s*,\\s*${OCTET}\\s*\\)$`,
  ),
  byte: re(
    "^(?:[A-Za-z0-9+\\/]{4})*(?:[A-Za-z0-9+\\/]{2}==|[A-Za-z0-9+\\/]{3}=|[A-Za-z0-9+\\/]{4})$",
  ),
  password: () => true,
  date: isDate,
  duration: isDuration,
  datetime: isDateTime,
};

/**
 * The server's name of a format (dashes removed, as go-openapi normalizes
 * them), or undefined when the server does not check that format.
 */
export function checkedFormat(format: string): string | undefined {
  const name = format.replaceAll("-", "");
  return Object.hasOwn(CHECKS, name) ? name : undefined;
}

/** Whether `value` is valid for `format` (always true for unchecked ones). */
export function matchesFormat(format: string, value: string): boolean {
  const name = checkedFormat(format);
  return name === undefined || CHECKS[name](value);
}
