// Sigma-space (k-diffusion style) schedulers: LMS, Euler, Euler ancestral, Heun, KDPM2 (and ancestral),
// EDM Euler, consistency models. Each family file holds its classes; this one joins them.

import { CM_SCHEDULERS } from "./cm-stochastic.ts";
import { EDM_EULER_SCHEDULERS } from "./edm-euler.ts";
import { EULER_SCHEDULERS } from "./euler.ts";
import { HEUN_SCHEDULERS } from "./heun.ts";
import { KDPM2_SCHEDULERS } from "./kdpm2.ts";
import { LMS_SCHEDULERS } from "./lms.ts";
import type { SchedulerFactory } from "./types.ts";

export const KARRAS_SCHEDULERS: Record<string, SchedulerFactory> = {
  ...LMS_SCHEDULERS,
  ...EULER_SCHEDULERS,
  ...HEUN_SCHEDULERS,
  ...KDPM2_SCHEDULERS,
  ...EDM_EULER_SCHEDULERS,
  ...CM_SCHEDULERS,
};
