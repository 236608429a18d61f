// Predictor-corrector and stochastic high-order solvers: DEIS, UniPC, SA-Solver.

import { DEIS_SCHEDULERS } from "./deis.ts";
import { SASOLVER_SCHEDULERS } from "./sasolver.ts";
import type { SchedulerFactory } from "./types.ts";
import { UNIPC_SCHEDULERS } from "./unipc.ts";

export const HIGHORDER_SCHEDULERS: Record<string, SchedulerFactory> = {
  ...DEIS_SCHEDULERS,
  ...UNIPC_SCHEDULERS,
  ...SASOLVER_SCHEDULERS,
};
