/**
 * Applies a member POST body to a member's settings, as stock does: authorization changes stamp
 * lastAuthorizedTime/lastDeauthorizedTime and credential type "api"; unknown and read-only
 * fields are ignored; a wrong type or impossible value is a FieldError naming the field.
 */
import { formatIp, parseIp } from './ip-assignment.js';
import type { MemberSettings } from './types.js';
import { FieldError, wantArray, wantBool, wantInt, wantObject, wantString, wantZtAddress } from './validation.js';

const MAX_IPS = 64;

export function applyMemberBody(m: MemberSettings, body: unknown, now: number): void {
  if (body === undefined) return;
  const b = wantObject(body, 'body');
  // Validate everything before touching the member, so a bad field changes nothing.
  const next: Partial<MemberSettings> = {};
  if (b.authorized !== undefined) next.authorized = wantBool(b.authorized, 'authorized');
  if (b.activeBridge !== undefined) next.activeBridge = wantBool(b.activeBridge, 'activeBridge');
  if (b.noAutoAssignIps !== undefined) next.noAutoAssignIps = wantBool(b.noAutoAssignIps, 'noAutoAssignIps');
  if (b.ssoExempt !== undefined) next.ssoExempt = wantBool(b.ssoExempt, 'ssoExempt');
  if (b.name !== undefined) next.name = wantString(b.name, 'name', 127);
  if (b.authenticationExpiryTime !== undefined) {
    next.authenticationExpiryTime = wantInt(b.authenticationExpiryTime, 'authenticationExpiryTime', 0, Number.MAX_SAFE_INTEGER);
  }
  if (b.ipAssignments !== undefined) {
    const seen = new Set<string>();
    for (const [i, raw] of wantArray(b.ipAssignments, 'ipAssignments', MAX_IPS).entries()) {
      const ip = parseIp(wantString(raw, `ipAssignments[${i}]`));
      if (!ip) throw new FieldError(`ipAssignments[${i}]`, `${JSON.stringify(raw)} is not an IP address`);
      seen.add(formatIp(ip));
    }
    next.ipAssignments = [...seen];
  }
  if (b.capabilities !== undefined) {
    next.capabilities = [
      ...new Set(wantArray(b.capabilities, 'capabilities', 1024).map((c, i) => wantInt(c, `capabilities[${i}]`, 0, 0xffffffff))),
    ];
  }
  if (b.tags !== undefined) {
    const byId = new Map<number, number>();
    wantArray(b.tags, 'tags', 1024).forEach((t, i) => {
      if (!Array.isArray(t) || t.length !== 2) throw new FieldError(`tags[${i}]`, 'must be [id, value]');
      byId.set(wantInt(t[0], `tags[${i}][0]`, 0, 0xffffffff), wantInt(t[1], `tags[${i}][1]`, 0, 0xffffffff));
    });
    next.tags = [...byId.entries()].sort((a, c) => a[0] - c[0]);
  }
  if (b.remoteTraceTarget !== undefined) {
    next.remoteTraceTarget =
      b.remoteTraceTarget === null || b.remoteTraceTarget === '' ? null : wantZtAddress(b.remoteTraceTarget, 'remoteTraceTarget');
  }
  if (b.remoteTraceLevel !== undefined) next.remoteTraceLevel = wantInt(b.remoteTraceLevel, 'remoteTraceLevel', 0, 255);

  const { authorized, ...rest } = next;
  Object.assign(m, rest);
  if (authorized !== undefined && authorized !== m.authorized) {
    m.authorized = authorized;
    if (authorized) {
      m.lastAuthorizedTime = now;
      m.lastAuthorizedCredentialType = 'api';
      m.lastAuthorizedCredential = null;
    } else {
      m.lastDeauthorizedTime = now;
    }
  }
}
