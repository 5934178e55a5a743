import { describe, expect, it } from 'vitest';
import { memberLabel } from '../../src/controller/member-names.js';

describe('member names as DNS labels', () => {
  it('makes a DNS label of a free-text member name, or none', () => {
    expect(memberLabel('Web Server_1')).toBe('web-server-1');
    expect(memberLabel('  ..alpha..  ')).toBe('alpha');
    expect(memberLabel('ünïcode!')).toBe('ncode');
    expect(memberLabel('***')).toBeNull();
    expect(memberLabel('')).toBeNull();
    expect(memberLabel('x'.repeat(80))).toHaveLength(63);
  });
});
