// Flow matching (rectified flow) and score-SDE VE schedulers.

import type { SchedulerFactory } from "./types.ts";

export const FLOW_SCHEDULERS: Record<string, SchedulerFactory> = {};
