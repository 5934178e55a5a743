/**
 * Network rules in the JSON API: validation of rules-engine objects (apiVersion 4,
 * `{"type":"MATCH_ETHERTYPE","etherType":2048,"not":false,"or":false}`) into the shape stock
 * renders, and conversion of the 2016 shape (`{ruleNo, etherType, action}`, apiVersion 2) into
 * it. Rules of unknown types are dropped as stock drops them; a known rule with a bad field is a
 * FieldError naming it.
 */
import { parseMac } from '../netstack/index.js';
import { parseCidr, parseIp } from './ip-assignment.js';
import type { RuleObject } from './types.js';
import { FieldError, isObject, wantBool, wantInt, wantString, wantZtAddress } from './validation.js';

export const MAX_RULES = 1024;

type FieldKind =
  'zt' | 'u8' | 'u16' | 'u32' | 'u16mask' | 'u32mask' | 'bit' | 'mac' | 'ip4' | 'ip6' | 'hex64' | 'icmpCode' | 'bool' | 'intString';

/** The value fields of each rule type, as stock renders them. */
const RULE_FIELDS: Record<string, Record<string, FieldKind>> = {
  ACTION_DROP: {},
  ACTION_ACCEPT: {},
  // ZeroTier's rule compiler writes `tee -1 <address>` as length -1 ("the whole frame"): stock
  // keeps the low 16 bits (65535), and the low 32 of flags
  ACTION_TEE: { address: 'zt', flags: 'u32mask', length: 'u16mask' },
  ACTION_WATCH: { address: 'zt', flags: 'u32mask', length: 'u16mask' },
  ACTION_REDIRECT: { address: 'zt', flags: 'u32mask' },
  ACTION_BREAK: {},
  MATCH_SOURCE_ZEROTIER_ADDRESS: { zt: 'zt' },
  MATCH_DEST_ZEROTIER_ADDRESS: { zt: 'zt' },
  MATCH_VLAN_ID: { vlanId: 'u16' },
  MATCH_VLAN_PCP: { vlanPcp: 'u8' },
  MATCH_VLAN_DEI: { vlanDei: 'u8' },
  MATCH_MAC_SOURCE: { mac: 'mac' },
  MATCH_MAC_DEST: { mac: 'mac' },
  MATCH_IPV4_SOURCE: { ip: 'ip4' },
  MATCH_IPV4_DEST: { ip: 'ip4' },
  MATCH_IPV6_SOURCE: { ip: 'ip6' },
  MATCH_IPV6_DEST: { ip: 'ip6' },
  MATCH_IP_TOS: { mask: 'u8', start: 'u8', end: 'u8' },
  MATCH_IP_PROTOCOL: { ipProtocol: 'u8' },
  MATCH_ETHERTYPE: { etherType: 'u16' },
  MATCH_ICMP: { icmpType: 'u8', icmpCode: 'icmpCode' },
  MATCH_IP_SOURCE_PORT_RANGE: { start: 'u16', end: 'u16' },
  MATCH_IP_DEST_PORT_RANGE: { start: 'u16', end: 'u16' },
  MATCH_CHARACTERISTICS: { mask: 'hex64' },
  MATCH_FRAME_SIZE_RANGE: { start: 'u16', end: 'u16' },
  MATCH_RANDOM: { probability: 'u32' },
  MATCH_TAGS_DIFFERENCE: { id: 'u32', value: 'u32' },
  MATCH_TAGS_BITWISE_AND: { id: 'u32', value: 'u32' },
  MATCH_TAGS_BITWISE_OR: { id: 'u32', value: 'u32' },
  MATCH_TAGS_BITWISE_XOR: { id: 'u32', value: 'u32' },
  MATCH_TAGS_EQUAL: { id: 'u32', value: 'u32' },
  MATCH_TAG_SENDER: { id: 'u32', value: 'u32' },
  MATCH_TAG_RECEIVER: { id: 'u32', value: 'u32' },
  INTEGER_RANGE: { start: 'intString', end: 'intString', idx: 'u16', little: 'bool', bits: 'u8' },
};

function checkField(kind: FieldKind, v: unknown, field: string): unknown {
  switch (kind) {
    case 'zt':
      return wantZtAddress(v, field);
    case 'u8':
      return wantInt(v, field, 0, 0xff);
    case 'u16':
      return wantInt(v, field, 0, 0xffff);
    case 'u32':
      return wantInt(v, field, 0, 0xffffffff);
    case 'u16mask':
    case 'u32mask': {
      // any integer, cut to its low bits as stock's `jsonInt(...) & 0xffff` does (-1 → 65535)
      if (typeof v !== 'bigint' && (typeof v !== 'number' || !Number.isInteger(v))) throw new FieldError(field, 'must be an integer');
      return Number(BigInt.asUintN(kind === 'u16mask' ? 16 : 32, BigInt(v)));
    }
    case 'bit':
      return wantInt(v, field, 0, 1);
    case 'bool':
      return wantBool(v, field);
    case 'mac': {
      const s = wantString(v, field);
      const hex = s.replace(/:/g, '');
      if (!/^[0-9a-fA-F]{12}$/.test(hex) || parseMac(hex.replace(/(..)(?!$)/g, '$1:')) === null)
        throw new FieldError(field, 'must be a MAC address');
      return hex.toLowerCase().replace(/(..)(?!$)/g, '$1:');
    }
    case 'ip4':
    case 'ip6': {
      const s = wantString(v, field);
      const family = kind === 'ip4' ? 4 : 6;
      const c = s.includes('/') ? parseCidr(s) : null;
      const ip = c ?? parseIp(s);
      if (!ip || ip.family !== family) throw new FieldError(field, `must be an IPv${family} address or CIDR`);
      return s;
    }
    case 'hex64': {
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v.toString(16);
      const s = wantString(v, field);
      if (!/^(0x)?[0-9a-fA-F]{1,16}$/.test(s)) throw new FieldError(field, 'must be a hex bit mask of at most 64 bits');
      return s.replace(/^0x/, '').toLowerCase();
    }
    case 'icmpCode':
      return v === null ? null : wantInt(v, field, 0, 0xff);
    case 'intString': {
      if (typeof v === 'number' && Number.isInteger(v)) return v;
      // a 64-bit literal the request's JSON kept exact: stored as its digits
      if (typeof v === 'bigint') {
        if (v < -(2n ** 63n) || v >= 2n ** 64n) throw new FieldError(field, 'must be a 64-bit integer');
        return v.toString();
      }
      const s = wantString(v, field);
      if (!/^-?\d{1,20}$/.test(s)) throw new FieldError(field, 'must be an integer');
      return s;
    }
  }
}

/** True for a rule object of a type this controller knows (stock drops any other silently). */
export function isKnownRule(raw: unknown): boolean {
  return isObject(raw) && typeof raw.type === 'string' && Object.hasOwn(RULE_FIELDS, raw.type);
}

/** Validates one rules-engine object into stock's rendered shape. */
export function normalizeRule(raw: unknown, field: string): RuleObject {
  if (!isObject(raw)) throw new FieldError(field, 'must be an object');
  const type = raw.type;
  const fields = typeof type === 'string' && Object.hasOwn(RULE_FIELDS, type) ? RULE_FIELDS[type] : undefined;
  if (typeof type !== 'string' || fields === undefined) throw new FieldError(`${field}.type`, `unknown rule type ${JSON.stringify(type)}`);
  const out: RuleObject = { type };
  for (const [name, kind] of Object.entries(fields)) {
    const v = raw[name];
    if (v === undefined) {
      if (kind === 'icmpCode') out[name] = null;
      else if (kind === 'bool') out[name] = false;
      else if (name === 'flags' || name === 'length' || name === 'end' || name === 'idx') out[name] = 0;
      else throw new FieldError(`${field}.${name}`, `required for ${type}`);
      continue;
    }
    out[name] = checkField(kind, v, `${field}.${name}`);
  }
  if (!type.startsWith('ACTION_')) {
    out.not = raw.not === undefined ? false : wantBool(raw.not, `${field}.not`);
    out.or = raw.or === undefined ? false : wantBool(raw.or, `${field}.or`);
  }
  return out;
}

/** True when the list uses the 2016 shape: objects with `ruleNo`/`action` and no `type`. */
export function isLegacyRuleList(list: readonly unknown[]): boolean {
  return list.length > 0 && list.every((r) => isObject(r) && r.type === undefined && (r.ruleNo !== undefined || r.action !== undefined));
}

const LEGACY_ACTIONS: Record<string, string> = { accept: 'ACTION_ACCEPT', drop: 'ACTION_DROP', break: 'ACTION_BREAK' };

/**
 * Converts 2016 rules, in `ruleNo` order: each becomes its matches (etherType, nodeId,
 * ipProtocol, macSource/macDest, vlanId) followed by its action.
 */
export function convertLegacyRules(list: readonly unknown[], field: string): RuleObject[] {
  const entries = list.map((raw, i) => {
    const f = `${field}[${i}]`;
    if (!isObject(raw)) throw new FieldError(f, 'must be an object');
    const ruleNo = raw.ruleNo === undefined ? i : wantInt(raw.ruleNo, `${f}.ruleNo`, 0, Number.MAX_SAFE_INTEGER);
    return { raw, f, ruleNo, index: i };
  });
  entries.sort((a, b) => a.ruleNo - b.ruleNo || a.index - b.index);
  const out: RuleObject[] = [];
  for (const { raw, f } of entries) {
    const match = (type: string, name: string, kind: FieldKind, src: string): void => {
      if (raw[src] === undefined || raw[src] === null) return;
      out.push({ type, [name]: checkField(kind, raw[src], `${f}.${src}`), not: false, or: false });
    };
    match('MATCH_ETHERTYPE', 'etherType', 'u16', 'etherType');
    match('MATCH_SOURCE_ZEROTIER_ADDRESS', 'zt', 'zt', 'nodeId');
    match('MATCH_IP_PROTOCOL', 'ipProtocol', 'u8', 'ipProtocol');
    match('MATCH_MAC_SOURCE', 'mac', 'mac', 'macSource');
    match('MATCH_MAC_DEST', 'mac', 'mac', 'macDest');
    match('MATCH_VLAN_ID', 'vlanId', 'u16', 'vlanId');
    const action = raw.action === undefined ? 'accept' : wantString(raw.action, `${f}.action`).toLowerCase();
    const type = LEGACY_ACTIONS[action];
    if (!type) throw new FieldError(`${f}.action`, `unknown action ${JSON.stringify(raw.action)} (accept, drop or break)`);
    out.push({ type });
  }
  return out;
}

/**
 * Validates a `rules` array in either shape into rules-engine objects. As stock, entries that are
 * not rule objects of a known type (ACTION_PRIORITY from a newer rule compiler, say) are left out
 * of the stored rules; a known rule with a bad field is a FieldError naming it.
 */
export function parseRules(raw: unknown, field: string): RuleObject[] {
  if (!Array.isArray(raw)) throw new FieldError(field, 'must be an array');
  if (raw.length > MAX_RULES) throw new FieldError(field, `must have at most ${MAX_RULES} rules`);
  if (isLegacyRuleList(raw)) return convertLegacyRules(raw, field);
  const out: RuleObject[] = [];
  raw.forEach((r, i) => {
    if (isKnownRule(r)) out.push(normalizeRule(r, `${field}[${i}]`));
  });
  return out;
}
