// VP-space schedulers stepping in diffusers' sample space: DDPM, DDIM (and inverse, parallel), PNDM,
// IPNDM, LCM, TCD.

import type { SchedulerFactory } from "./types.ts";

export const VP_SCHEDULERS: Record<string, SchedulerFactory> = {};
