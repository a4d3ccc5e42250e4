import type { Principal } from '../domain/principal';

/** The only place the Hono environment is declared. */
export interface AppEnv {
  Variables: {
    requestId: string;
    clientAddr: string | null;
    principal: Principal;
  };
}
