/**
 * Namespace mode's port: a TAP device (its fd received from `ztnc-run` or the CNI plugin, the
 * interface itself living in another network namespace) that takes the place of the network's
 * userspace stack. Frames the network delivers are written to the TAP; frames the namespace's
 * kernel sends are handed to the network as if the stack had sent them. Writes never block: a full
 * TAP queue drops the frame and counts it (TapStats.writeDrops), as a congested link would.
 */
import type { Logger } from 'pino';
import { tapDevice, type TapDevice, type TapStats } from '../native/binding.js';
import type { LinkOutput } from '../netstack/index.js';

const NO_LINK: LinkOutput = () => {};

export class TapPort {
  private device: TapDevice | null = null;
  private toNetwork: LinkOutput = NO_LINK;
  /** The interface's name inside its namespace (shown as the network's portDeviceName). */
  name: string | null = null;

  constructor(private readonly log: Logger) {}

  get attached(): boolean {
    return this.device !== null;
  }

  /** Takes ownership of `fd`; `onError` hears a read failure (the TAP is then closed). */
  attach(fd: number, name: string, onError: (message: string) => void): void {
    if (this.device) throw new Error('a TAP is already attached');
    this.name = name;
    this.device = tapDevice(
      fd,
      (frames) => {
        // headroom 0: the network copies what it must put a header in front of
        for (const f of frames) this.toNetwork(f, 0);
      },
      {
        batch: 64,
        onError: (err) => {
          this.log.warn({ tap: name, err: err.message }, 'TAP read failed: namespace port closed');
          this.close();
          onError(err.message);
        },
      },
    );
  }

  /** Where the namespace's frames go (the network's link input; nowhere while it is down). */
  setNetworkOutput(send: LinkOutput): void {
    this.toNetwork = send;
  }

  /** A frame from the network for the namespace. */
  write(frame: Buffer): void {
    this.device?.write(frame);
  }

  stats(): TapStats | null {
    return this.device?.stats() ?? null;
  }

  close(): void {
    const d = this.device;
    this.device = null;
    this.name = null;
    d?.close();
  }
}
