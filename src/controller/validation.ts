/** Field validation for API bodies: each failure names the field and the problem. */

export class FieldError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'FieldError';
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function wantBool(v: unknown, field: string): boolean {
  if (typeof v === 'boolean') return v;
  // Stock accepts 0/1 and "true"/"false" for booleans; so do we.
  if (v === 0 || v === 1) return v === 1;
  if (v === 'true' || v === 'false') return v === 'true';
  throw new FieldError(field, 'must be a boolean');
}

export function wantInt(v: unknown, field: string, min: number, max: number): number {
  // the request's JSON keeps integers beyond 2^53 as bigints: out of every range here
  if (typeof v === 'bigint') throw new FieldError(field, `must be between ${min} and ${max}`);
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new FieldError(field, 'must be an integer');
  if (v < min || v > max) throw new FieldError(field, `must be between ${min} and ${max}`);
  return v;
}

export function wantString(v: unknown, field: string, maxLength = 1024): string {
  if (typeof v !== 'string') throw new FieldError(field, 'must be a string');
  if (v.length > maxLength) throw new FieldError(field, `must be at most ${maxLength} characters`);
  return v;
}

export function wantArray(v: unknown, field: string, maxLength: number): unknown[] {
  if (!Array.isArray(v)) throw new FieldError(field, 'must be an array');
  if (v.length > maxLength) throw new FieldError(field, `must have at most ${maxLength} entries`);
  return v;
}

export function wantObject(v: unknown, field: string): Record<string, unknown> {
  if (!isObject(v)) throw new FieldError(field, 'must be an object');
  return v;
}

const ADDRESS_RE = /^[0-9a-f]{10}$/;
export function isZtAddress(text: string): boolean {
  return ADDRESS_RE.test(text) && !text.startsWith('ff') && text !== '0000000000';
}

export function wantZtAddress(v: unknown, field: string): string {
  const s = wantString(v, field).toLowerCase();
  if (!isZtAddress(s)) throw new FieldError(field, 'must be a 10-digit hex ZeroTier address');
  return s;
}
