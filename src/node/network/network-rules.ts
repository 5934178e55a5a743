/**
 * The binary rule list of a network config (dictionary key R, and capabilities): per rule a type
 * byte (low 6 bits the type, 0x80 NOT, 0x40 OR), a length byte and the value. Each known type has
 * a fixed value length; a rule of an unknown type or wrong length makes the whole rule set fail
 * closed (a single DROP), so a config we cannot fully understand never lets traffic through.
 */
import type { RuleView } from './rules-engine.js';
import { fail, ok, type Parsed } from '../wire/bytes.js';

export type Rule = RuleView;

export const RULE_FLAG_NOT = 0x80;
export const RULE_FLAG_OR = 0x40;
export const RULE_TYPE_MASK = 0x3f;
/** Stock's bound on rules per network. */
export const MAX_NETWORK_RULES = 1024;

/** Value length of each rule type stock 1.14 defines. */
const VALUE_LENGTH = new Map<number, number>([
  [0, 0], // ACTION_DROP
  [1, 0], // ACTION_ACCEPT
  [2, 14], // ACTION_TEE: address (8), flags (4), length (2)
  [3, 14], // ACTION_WATCH
  [4, 14], // ACTION_REDIRECT
  [5, 0], // ACTION_BREAK
  [6, 0], // ACTION_PRIORITY
  [24, 5], // MATCH_SOURCE_ZEROTIER_ADDRESS
  [25, 5], // MATCH_DEST_ZEROTIER_ADDRESS
  [26, 2], // MATCH_VLAN_ID
  [27, 1], // MATCH_VLAN_PCP
  [28, 1], // MATCH_VLAN_DEI
  [29, 6], // MATCH_MAC_SOURCE
  [30, 6], // MATCH_MAC_DEST
  [31, 5], // MATCH_IPV4_SOURCE: address, prefix length
  [32, 5], // MATCH_IPV4_DEST
  [33, 17], // MATCH_IPV6_SOURCE
  [34, 17], // MATCH_IPV6_DEST
  [35, 3], // MATCH_IP_TOS: mask, start, end
  [36, 1], // MATCH_IP_PROTOCOL
  [37, 2], // MATCH_ETHERTYPE
  [38, 3], // MATCH_ICMP: type, code, flags
  [39, 4], // MATCH_IP_SOURCE_PORT_RANGE
  [40, 4], // MATCH_IP_DEST_PORT_RANGE
  [41, 8], // MATCH_CHARACTERISTICS
  [42, 4], // MATCH_FRAME_SIZE_RANGE
  [43, 4], // MATCH_RANDOM
  [44, 8], // MATCH_TAGS_DIFFERENCE … MATCH_TAG_RECEIVER: id, value
  [45, 8],
  [46, 8],
  [47, 8],
  [48, 8],
  [49, 8],
  [50, 8],
  [51, 19], // MATCH_INTEGER_RANGE
]);

export const DROP_ALL: readonly Rule[] = [{ type: 0, not: false, or: false, value: new Uint8Array(0) }];

/** Decodes a rule list; an error names the first rule we cannot honour. */
export function decodeRules(bytes: Uint8Array): Parsed<Rule[]> {
  const rules: Rule[] = [];
  let p = 0;
  while (p < bytes.length) {
    if (rules.length >= MAX_NETWORK_RULES) return fail(`more than ${MAX_NETWORK_RULES} rules`);
    if (p + 2 > bytes.length) return fail('rule truncated');
    const t = bytes[p]!;
    const len = bytes[p + 1]!;
    if (p + 2 + len > bytes.length) return fail('rule value truncated');
    const type = t & RULE_TYPE_MASK;
    const want = VALUE_LENGTH.get(type);
    if (want === undefined) return fail(`unknown rule type ${type}`);
    if (want !== len) return fail(`rule type ${type} with a ${len}-byte value (expected ${want})`);
    rules.push({
      type,
      not: (t & RULE_FLAG_NOT) !== 0,
      or: (t & RULE_FLAG_OR) !== 0,
      value: Buffer.from(bytes.subarray(p + 2, p + 2 + len)),
    });
    p += 2 + len;
  }
  return ok(rules);
}

export function encodeRules(rules: readonly Rule[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of rules) {
    parts.push(
      Buffer.from([(r.type & RULE_TYPE_MASK) | (r.not ? RULE_FLAG_NOT : 0) | (r.or ? RULE_FLAG_OR : 0), r.value.length]),
      Buffer.from(r.value),
    );
  }
  return Buffer.concat(parts);
}

/** Decodes for enforcement: anything undecodable becomes DROP everything, with the reason. */
export function rulesOrDropAll(bytes: Uint8Array): { rules: Rule[]; error: string | null } {
  const d = decodeRules(bytes);
  return d.ok ? { rules: d.value, error: null } : { rules: [...DROP_ALL], error: d.error };
}

export const ruleAccept = (): Rule => ({ type: 1, not: false, or: false, value: new Uint8Array(0) });
export const ruleDrop = (): Rule => ({ type: 0, not: false, or: false, value: new Uint8Array(0) });

export function ruleMatchEtherType(etherType: number, opts: { not?: boolean; or?: boolean } = {}): Rule {
  const v = Buffer.alloc(2);
  v.writeUInt16BE(etherType & 0xffff);
  return { type: 37, not: opts.not ?? false, or: opts.or ?? false, value: v };
}
