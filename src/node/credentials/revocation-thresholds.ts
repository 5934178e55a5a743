/**
 * One network's revocations as a member holds them: per member, the highest threshold the
 * network's controller has revoked (stock Membership::_comRevocationThreshold). A member's
 * certificate of membership with a timestamp at or before its threshold no longer admits it.
 *
 * Only revocations signed by the controller enter, so the table grows with the controller's
 * de-authorizations, not with what strangers send; it is still bounded, and a threshold is
 * forgotten once it cannot matter: when our own certificate is newer than it by more than the
 * certificate's max delta, every certificate it revokes disagrees with ours anyway.
 */
import { CredentialType } from './revocation.js';

/** Most members with a live revocation on one network. */
export const MAX_REVOKED_MEMBERS = 65_536;

/** Credential types whose revocation cuts the member off (stock revokes the COM for each). */
export function revokesMembership(credentialType: number): boolean {
  return (
    credentialType === CredentialType.COM ||
    credentialType === CredentialType.CAPABILITY ||
    credentialType === CredentialType.TAG ||
    credentialType === CredentialType.COO
  );
}

export class RevocationThresholds {
  private readonly byMember = new Map<bigint, bigint>();

  get size(): number {
    return this.byMember.size;
  }

  threshold(member: bigint): bigint | undefined {
    return this.byMember.get(member);
  }

  /** Would `threshold` revoke more of `member`'s credentials than already are? */
  raises(member: bigint, threshold: bigint): boolean {
    const have = this.byMember.get(member);
    return have === undefined || threshold > have;
  }

  /** Records a (verified) threshold; false when it raises nothing or the table is full. */
  raise(member: bigint, threshold: bigint): boolean {
    if (!this.raises(member, threshold)) return false;
    if (!this.byMember.has(member) && this.byMember.size >= MAX_REVOKED_MEMBERS) return false;
    this.byMember.set(member, threshold);
    return true;
  }

  /** Is a certificate of `member` issued at `timestamp` revoked? */
  revokes(member: bigint, timestamp: bigint | undefined): boolean {
    const t = this.byMember.get(member);
    return t !== undefined && (timestamp === undefined || timestamp <= t);
  }

  /** Forgets thresholds older than our own certificate's timestamp by more than its max delta. */
  prune(ourTimestamp: bigint, maxDelta: bigint): void {
    for (const [member, t] of this.byMember) if (ourTimestamp - t > maxDelta) this.byMember.delete(member);
  }
}
