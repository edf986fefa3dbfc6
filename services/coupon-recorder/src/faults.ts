/**
 * Every fault the recorder reports as one error type: what failed (`step`) and on which shard,
 * so a log line says where to look. The loop catches them per shard and carries on with the
 * others; nothing of a failed batch is acknowledged.
 */
export type RecorderStep = 'group' | 'read' | 'record' | 'ack' | 'trim' | 'check' | 'sample';

export class RecorderFault extends Error {
  constructor(
    readonly step: RecorderStep,
    readonly campaignId: string,
    readonly shard: number,
    override readonly cause: unknown,
  ) {
    super(
      `${step} failed on campaign ${campaignId} shard ${shard}: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
    this.name = 'RecorderFault';
  }
}
