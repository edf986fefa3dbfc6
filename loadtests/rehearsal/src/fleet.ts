import { Pod, type Slot } from './pods';

/**
 * The Deployment: as many pods as it is told, in fixed slots (so haproxy and Prometheus know
 * every address a pod may have), started and stopped as a ReplicaSet would. One process stands
 * for `podsPerProcess` pods of the manifest: the scaler counts in the manifest's pods, the
 * machine runs a process per `podsPerProcess` of them.
 */
export class FleetOfPods {
  private readonly pods = new Map<number, Pod>();
  private readonly stopping = new Set<Promise<void>>();
  /** how long each pod took from spawn to ready, ms */
  readonly startTimesMs: number[] = [];

  constructor(
    private readonly root: string,
    private readonly slots: readonly Slot[],
    private readonly share: number,
    private readonly env: Record<string, string>,
    readonly podsPerProcess: number,
    private readonly runTag: string,
  ) {}

  /** Processes for `replicas` pods of the manifest. */
  processesFor(replicas: number): number {
    return Math.min(this.slots.length, Math.ceil(replicas / this.podsPerProcess));
  }

  get running(): number {
    return this.pods.size;
  }

  get ready(): number {
    let n = 0;
    for (const pod of this.pods.values()) if (pod.ready) n += 1;
    return n;
  }

  /** Starts or stops processes so that `processes` run (the newest stop first). */
  scaleTo(processes: number): void {
    for (const [slot, pod] of this.pods) if (!pod.alive) this.pods.delete(slot);
    while (this.pods.size < processes) {
      const slot = this.slots.find((s) => !this.pods.has(s.index));
      if (slot === undefined) return;
      const pod = Pod.start({
        root: this.root,
        slot: slot.index,
        port: slot.port,
        metricsPort: slot.metricsPort,
        share: this.share,
        cgroupName: `coupons-rehearsal-${this.runTag}-pod${slot.index}`,
        env: this.env,
      });
      void pod.exited.then(() => {
        if (pod.readyAfterMs === undefined && this.pods.get(slot.index) === pod)
          process.stderr.write(`pod ${slot.index} exited before ready:\n${pod.tail()}\n`);
      });
      const watch = setInterval(() => {
        if (pod.readyAfterMs !== undefined) {
          this.startTimesMs.push(pod.readyAfterMs);
          clearInterval(watch);
        } else if (!pod.alive) clearInterval(watch);
      }, 50);
      this.pods.set(slot.index, pod);
    }
    const newest = [...this.pods.keys()].sort((a, b) => b - a);
    while (this.pods.size > processes) {
      const slot = newest.shift()!;
      const pod = this.pods.get(slot)!;
      this.pods.delete(slot);
      const stopped = pod.stop();
      this.stopping.add(stopped);
      void stopped.then(() => this.stopping.delete(stopped));
    }
  }

  /** Waits until every process asked for is ready (or `timeoutMs` passes). */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.ready < this.pods.size) {
      if (performance.now() > deadline) throw new Error(`pods not ready within ${timeoutMs} ms`);
      await new Promise((done) => setTimeout(done, 100));
    }
  }

  async stop(): Promise<void> {
    this.scaleTo(0);
    await Promise.all([...this.stopping]);
  }
}
