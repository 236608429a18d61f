// Exponential-integrator solvers: DPM-Solver (multistep, singlestep, inverse), EDM DPM-Solver.

import { DpmSolverMultistepInverse } from "./dpm-inverse.ts";
import { DpmSolverMultistep } from "./dpm-multistep.ts";
import { DpmSolverSinglestep } from "./dpm-singlestep.ts";
import { EdmDpmSolverMultistep } from "./edm-dpmsolver.ts";
import type { SchedulerFactory } from "./types.ts";

export const MULTISTEP_SCHEDULERS: Record<string, SchedulerFactory> = {
  DPMSolverMultistepScheduler: (config) => new DpmSolverMultistep(config),
  DPMSolverMultistepInverseScheduler: (config) => new DpmSolverMultistepInverse(config),
  DPMSolverSinglestepScheduler: (config) => new DpmSolverSinglestep(config),
  EDMDPMSolverMultistepScheduler: (config) => new EdmDpmSolverMultistep(config),
};
