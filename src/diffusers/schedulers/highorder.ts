// Predictor-corrector and stochastic high-order solvers: DEIS, UniPC, SA-Solver.

import type { SchedulerFactory } from "./types.ts";

export const HIGHORDER_SCHEDULERS: Record<string, SchedulerFactory> = {};
