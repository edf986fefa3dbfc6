import type { CallContext } from '../ledger/ledgerGateway';
import { contextOf } from '../frontDoor/frontDoor';
import { logOf } from './requestLog';

/** The context of a ledger call made for a request: its logger (made on first use) and deadline. */
export function callContext(_req: object, res: { locals: Record<string, unknown> }): CallContext {
  const context = contextOf(res);
  return {
    // Read only when something is logged: the request's logger is made on first use.
    get log() {
      return logOf(res);
    },
    deadline: context.admitted?.deadline,
    startedAt: context.startedAt,
  };
}
