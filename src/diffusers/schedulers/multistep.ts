// Exponential-integrator solvers: DPM-Solver (multistep, singlestep, inverse), DEIS, UniPC, SA-Solver,
// EDM DPM-Solver.

import type { SchedulerFactory } from "./types.ts";

export const MULTISTEP_SCHEDULERS: Record<string, SchedulerFactory> = {};
