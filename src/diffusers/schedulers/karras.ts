// Sigma-space (k-diffusion style) schedulers: LMS, Euler, Euler ancestral, Heun, KDPM2 (and ancestral),
// EDM Euler, consistency models.

import type { SchedulerFactory } from "./types.ts";

export const KARRAS_SCHEDULERS: Record<string, SchedulerFactory> = {};
