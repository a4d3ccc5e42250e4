import type { Principal } from '../kernel/principal';

/** The only place the Hono environment is declared. */
export interface AppEnv {
  Variables: {
    requestId: string;
    clientAddr: string | null;
    principal: Principal;
    /** The error code a refused request ended with, for the request log and metrics. */
    errorCode?: string;
    /** When this request must have finished (epoch ms); no transaction may commit after it. */
    deadline?: number;
  };
}
