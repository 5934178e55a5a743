/**
 * ztnc-cni's pure parts that a runtime's input reaches: CNI_ARGS (IP, IgnoreUnknown, the K8S_POD_*
 * keys podman and kubelet send, malformed pairs) and the endpoint name made from a container id
 * (unique for ids sharing their first 12 characters, the same for the same id).
 */
import { describe, expect, it } from 'vitest';
import { endpointName } from '../../src/namespace/cni-commands.js';
import { CniCode, CniError, parseCniArgs, readCniEnv } from '../../src/namespace/cni-protocol.js';
import { isEndpointName } from '../../src/netcon/socket-path.js';

const code = (f: () => unknown): number | string => {
  try {
    f();
    return 'no error';
  } catch (e) {
    return e instanceof CniError ? e.code : String(e);
  }
};

describe('CNI_ARGS', () => {
  it('takes IP as one or several addresses, with or without a prefix length', () => {
    expect(parseCniArgs('')).toEqual({ ips: [] });
    expect(parseCniArgs('IP=10.1.2.3')).toEqual({ ips: ['10.1.2.3'] });
    expect(parseCniArgs('IP=10.1.2.3/24,FD00::5')).toEqual({ ips: ['10.1.2.3', 'fd00::5'] });
  });

  it("passes podman's and kubelet's keys, and unknown keys only with IgnoreUnknown", () => {
    const podman = 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=abc;IP=10.0.0.9';
    expect(parseCniArgs(podman)).toEqual({ ips: ['10.0.0.9'] });
    expect(parseCniArgs('K8S_POD_NAME=web')).toEqual({ ips: [] });
    expect(parseCniArgs('MAC=02:00:00:00:00:01;IgnoreUnknown=true')).toEqual({ ips: [] });
    expect(code(() => parseCniArgs('MAC=02:00:00:00:00:01'))).toBe(CniCode.INVALID_ENV);
  });

  it('refuses malformed pairs and addresses with INVALID_ENV', () => {
    for (const bad of ['IP', '=10.0.0.1', 'IP=10.0.0', 'IP=10.0.0.1,', 'IP=fd00:::1:::', 'IP=example.com'])
      expect([bad, code(() => parseCniArgs(bad))]).toEqual([bad, CniCode.INVALID_ENV]);
  });

  it('is read for ADD and CHECK from the environment', () => {
    const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c', CNI_NETNS: '/n', CNI_IFNAME: 'eth0', CNI_ARGS: 'IP=10.9.9.9' };
    expect(readCniEnv(env).ips).toEqual(['10.9.9.9']);
    expect(code(() => readCniEnv({ ...env, CNI_ARGS: 'IP;x' }))).toBe(CniCode.INVALID_ENV);
    // DEL must succeed whatever the runtime passes
    expect(readCniEnv({ ...env, CNI_COMMAND: 'DEL', CNI_ARGS: 'garbage' }).ips).toEqual([]);
  });
});

describe('endpoint names of containers', () => {
  it('differ for ids sharing their first 12 characters and stay the same for one id', () => {
    const a = 'abcdef0123456789aaaa';
    const b = 'abcdef0123456789bbbb';
    expect(endpointName(a)).not.toBe(endpointName(b));
    expect(endpointName(a)).toBe(endpointName(a));
    expect(endpointName(a).startsWith('cni-abcdef012345-')).toBe(true);
  });

  it('are usable endpoint names whatever the id holds', () => {
    for (const id of ['ABC/def:ghi jkl', 'x', 'é'.repeat(80), '-leading'])
      expect([id, isEndpointName(endpointName(id))]).toEqual([id, true]);
  });
});
