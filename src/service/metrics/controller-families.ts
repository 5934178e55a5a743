/**
 * The controller's families, with stock's names (`controller/DB.cpp` counts them the same way):
 * networks and members served (read from the store when scraped), and changes, authorizations
 * and deauthorizations (counted from the store's change events since this daemon started); and
 * ztnc's join tokens accepted and refused.
 */
import type { Registry } from 'prom-client';
import type { NetworkController } from '../../controller/index.js';
import type { StoreChange } from '../../controller/store.js';
import { scrapedCounter, scrapedGauge } from './scrape-families.js';

export class ControllerChangeCounts {
  networkChanges = 0;
  memberChanges = 0;
  memberAuths = 0;
  memberDeauths = 0;

  /** Stock's rule: a member that becomes authorized is an auth, one that stops being (deleted too) a deauth, anything else a change. */
  count(c: StoreChange): void {
    if (c.kind === 'network') {
      if (!c.deleted && !c.created) this.networkChanges++;
      return;
    }
    const was = c.wasAuthorized === true;
    const is = c.authorized === true;
    if (!was && is) this.memberAuths++;
    else if (was && !is) this.memberDeauths++;
    else this.memberChanges++;
  }
}

export function registerControllerFamilies(registry: Registry, controller: NetworkController): void {
  const counts = new ControllerChangeCounts();
  controller.store.onChange((c) => counts.count(c));
  const store = controller.store;
  scrapedGauge(registry, 'controller_network_count', 'number of networks the controller is serving', [], (emit) =>
    emit({}, store.listNetworkIds().length),
  );
  scrapedGauge(registry, 'controller_member_count', 'number of network members the controller is serving', [], (emit) => {
    let n = 0;
    for (const nwid of store.listNetworkIds()) n += Object.keys(store.memberRevisions(nwid)).length;
    emit({}, n);
  });
  const counter = (name: string, help: string, read: () => number) => scrapedCounter(registry, name, help, [], (emit) => emit({}, read()));
  counter('controller_network_change_count', 'number of times a network configuration is changed', () => counts.networkChanges);
  counter('controller_member_change_count', 'number of times a network member configuration is changed', () => counts.memberChanges);
  counter('controller_member_auth_count', 'number of network member auths', () => counts.memberAuths);
  counter('controller_member_deauth_count', 'number of network member deauths', () => counts.memberDeauths);
  counter('ztnc_join_tokens_accepted_total', 'members authorized by a join token', () => controller.joinTokenCounts().accepted);
  scrapedCounter(registry, 'ztnc_join_tokens_refused_total', 'join tokens presented and refused, by reason', ['reason'], (emit) => {
    for (const [reason, n] of Object.entries(controller.joinTokenCounts().refused)) emit({ reason }, n);
  });
}
